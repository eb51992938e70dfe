//! The firmware core runs in virtual time: a tiny deterministic executor, a virtual clock, an
//! in-memory UART and a hand-scripted modem that knows only the start-up sequence. The real
//! modem is sim-modem's, in `scenarios`; this only proves the core is drivable and progresses.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use firmware::{Board, Clock, Config, Instant, LedState, Report};

/// Time is a number the executor moves; `sleep_until` records the earliest deadline asked.
#[derive(Default)]
struct VirtualClock {
    now: Cell<Instant>,
    wake: Cell<Option<Instant>>,
}

impl Clock for VirtualClock {
    fn now(&self) -> Instant {
        self.now.get()
    }

    fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()> {
        poll_fn(move |_| {
            if self.now.get() >= deadline {
                return Poll::Ready(());
            }
            let earliest = self.wake.get().map_or(deadline, |w| w.min(deadline));
            self.wake.set(Some(earliest));
            Poll::Pending
        })
    }
}

/// The two directions of the UART.
#[derive(Default)]
struct Wire {
    to_firmware: RefCell<VecDeque<u8>>,
    from_firmware: RefCell<Vec<u8>>,
}

struct Uart<'a>(&'a Wire);

impl embedded_io_async::ErrorType for Uart<'_> {
    type Error = Infallible;
}

impl embedded_io_async::Read for Uart<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        poll_fn(|_| {
            let mut queue = self.0.to_firmware.borrow_mut();
            if queue.is_empty() {
                return Poll::Pending;
            }
            let n = buf.len().min(queue.len());
            for (dst, src) in buf.iter_mut().zip(queue.drain(..n)) {
                *dst = src;
            }
            Poll::Ready(Ok(n))
        })
        .await
    }
}

impl embedded_io_async::Write for Uart<'_> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        self.0.from_firmware.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }

    async fn flush(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

#[derive(Default)]
struct TestBoard<'c> {
    clock: Option<&'c VirtualClock>,
    reports: Vec<(Instant, String)>,
    feeds: Vec<Instant>,
    reset_line: Vec<(Instant, bool)>,
    power_key: Vec<(Instant, bool)>,
}

impl TestBoard<'_> {
    fn now(&self) -> Instant {
        self.clock.map_or(Instant::ZERO, |c| c.now())
    }
}

impl Board for TestBoard<'_> {
    fn set_led(&mut self, _: LedState) {}
    fn feed_watchdog(&mut self) {
        self.feeds.push(self.now());
    }
    fn set_power_key(&mut self, pressed: bool) {
        self.power_key.push((self.now(), pressed));
    }
    fn set_modem_reset(&mut self, asserted: bool) {
        self.reset_line.push((self.now(), asserted));
    }
    fn report(&mut self, report: Report<'_>) {
        if report != Report::WatchdogFed {
            self.reports.push((self.now(), format!("{report:?}")));
        }
    }
}

/// A modem that knows the start-up commands, says `OK` to the rest and is never registered.
/// `boots_at: None` is a modem that never answers.
struct ScriptedModem {
    boots_at: Option<Instant>,
    booted: bool,
    echo: bool,
    line: Vec<u8>,
    commands: Vec<String>,
}

impl ScriptedModem {
    fn new(boots_at: Option<Instant>) -> Self {
        ScriptedModem {
            boots_at,
            booted: false,
            echo: true,
            line: Vec::new(),
            commands: Vec::new(),
        }
    }

    fn next_event(&self) -> Option<Instant> {
        self.boots_at.filter(|_| !self.booted)
    }

    fn step(&mut self, now: Instant, input: &[u8], out: &mut VecDeque<u8>) {
        if !self.booted && self.boots_at.is_some_and(|t| now >= t) {
            self.booted = true;
            out.extend(b"\r\nRDY\r\n");
        }
        if !self.booted {
            return;
        }
        for &b in input {
            if b != b'\r' {
                self.line.push(b);
                continue;
            }
            let line = String::from_utf8_lossy(&std::mem::take(&mut self.line)).into_owned();
            if self.echo {
                out.extend(line.as_bytes());
                out.push_back(b'\r');
            }
            let answer: &str = match line.as_str() {
                "ATE0" => {
                    self.echo = false;
                    "OK"
                }
                "ATI" => "SIM800 R14.18\r\n\r\nOK",
                "AT+CGMR" => "Revision:1418B04SIM800L24\r\n\r\nOK",
                "AT+CPIN?" => "+CPIN: READY\r\n\r\nOK",
                "AT+CREG?" => "+CREG: 2,2\r\n\r\nOK",
                "AT+CIPSHUT" => "SHUT OK",
                _ => "OK",
            };
            out.extend(format!("\r\n{answer}\r\n").as_bytes());
            self.commands.push(line);
        }
    }
}

/// Runs the firmware against `modem` until `until`; returns the board's record.
fn simulate(modem: &mut ScriptedModem, until: Duration) -> TestBoard<'static> {
    let config = Config::default();
    let clock = VirtualClock::default();
    let wire = Wire::default();
    let mut board = TestBoard {
        clock: Some(&clock),
        ..TestBoard::default()
    };
    let until = Instant::ZERO + until;
    {
        let mut firmware = pin!(firmware::run(&config, Uart(&wire), &clock, &mut board));
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            // Poll until the firmware waits; collect the deadlines it asks for on the way.
            clock.wake.set(None);
            let _ = firmware.as_mut().poll(&mut cx);
            let now = clock.now();
            let written = std::mem::take(&mut *wire.from_firmware.borrow_mut());
            let mut to_firmware = wire.to_firmware.borrow_mut();
            let before = to_firmware.len();
            modem.step(now, &written, &mut to_firmware);
            if to_firmware.len() > before {
                continue; // bytes to read now: same instant
            }
            drop(to_firmware);
            // Nothing more at this instant: jump to the next deadline.
            let next = [clock.wake.get(), modem.next_event()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(next) if next <= until => clock.now.set(next.max(now)),
                _ => break,
            }
        }
    }
    let TestBoard {
        reports,
        feeds,
        reset_line,
        power_key,
        ..
    } = board;
    TestBoard {
        clock: None,
        reports,
        feeds,
        reset_line,
        power_key,
    }
}

fn secs(s: f64) -> Instant {
    Instant::from_micros((s * 1e6) as u64)
}

#[test]
fn starts_up_and_keeps_going_in_virtual_time() {
    let mut modem = ScriptedModem::new(Some(secs(1.5)));
    let wall = std::time::Instant::now();
    let board = simulate(&mut modem, Duration::from_secs(400));
    assert!(
        wall.elapsed() < Duration::from_secs(2),
        "400 virtual seconds took {:?}",
        wall.elapsed()
    );

    // Probes until the modem is up, then the start-up sequence.
    let mut commands = modem
        .commands
        .iter()
        .map(String::as_str)
        .skip_while(|c| *c == "AT");
    let start: Vec<_> = commands.by_ref().take(5).collect();
    assert_eq!(start, ["ATE0", "AT+CMEE=0", "ATI", "AT+CGMR", "AT+CPIN?"]);
    let has = |text: &str| {
        board
            .reports
            .iter()
            .find(|(_, r)| r.contains(text))
            .map(|(t, _)| *t)
    };
    assert!(has("ModemReady(Profile { model: Sim800, links: 6 })").is_some());
    assert!(has("Led(Searching)").is_some());

    // Never registered: flight mode after B6's 5 minutes.
    let flight = has("FlightMode(true)").expect("flight mode");
    assert!(
        flight >= secs(300.0) && flight < secs(310.0),
        "flight mode at {flight}"
    );

    // The watchdog was fed all along, never more than 4 s apart.
    let gaps = board.feeds.windows(2).map(|w| w[1] - w[0]);
    assert!(gaps.max().unwrap() <= Duration::from_secs(4));
    assert!(*board.feeds.last().unwrap() >= secs(396.0));
}

#[test]
fn a_silent_modem_is_reset_then_powered_on() {
    let mut modem = ScriptedModem::new(None);
    let board = simulate(&mut modem, Duration::from_secs(25));
    // Probed for 10 s, RESET pulsed for 200 ms; probed again, then the power key for 1.5 s.
    let [(t0, true), (t1, false)] = board.reset_line[..] else {
        panic!("{:?}", board.reset_line)
    };
    assert!(t0 >= secs(10.0) && t0 < secs(11.0), "reset at {t0}");
    assert_eq!(t1 - t0, Duration::from_millis(200));
    let [(k0, true), (k1, false)] = board.power_key[..] else {
        panic!("{:?}", board.power_key)
    };
    assert!(
        k0 >= t1 + Duration::from_secs(10) && k0 < t1 + Duration::from_secs(11),
        "key at {k0}"
    );
    assert_eq!(k1 - k0, Duration::from_millis(1500));
}
