//! The firmware core runs in virtual time: `firmware::harness` (a virtual clock, an in-memory
//! UART, polling to the next deadline) against a hand-scripted modem that knows start-up,
//! bring-up, connect and send, and can be told to answer late: an oracle written apart from
//! sim-modem, which `scenarios` uses (firmware does not depend on it). This proves
//! the core is drivable and progresses, and pins the AT client's robustness (late answers, a
//! late data prompt), the outbox taking replies during a send, the clock sync's bearer and
//! the watchdog reports.

use std::collections::VecDeque;
use std::future::Future;
use std::task::{Context, Poll};
use std::time::Duration;

use embedded_io_async::{ErrorKind, ErrorType, Read, Write};
use firmware::harness::{Harness, Output, Peer, VirtualUart, Wire};
use firmware::{Board, Config, Instant, LedState, Report};
use protocol::app::Framing;

#[derive(Default)]
struct TestBoard {
    wire: Wire,
    reports: Vec<(Instant, String)>,
    feeds: Vec<Instant>,
    /// When `Report::WatchdogFed` was reported (kept out of `reports`).
    fed_reports: Vec<Instant>,
    reset_line: Vec<(Instant, bool)>,
    power_key: Vec<(Instant, bool)>,
}

impl TestBoard {
    fn now(&self) -> Instant {
        Instant::ZERO + self.wire.now()
    }

    /// When the first report containing `text` came.
    fn first(&self, text: &str) -> Option<Instant> {
        self.first_after(text, Instant::ZERO)
    }

    /// The reports that start with `prefix`, in order.
    fn all(&self, prefix: &str) -> Vec<&str> {
        let reports = self.reports.iter().map(|(_, r)| r.as_str());
        reports.filter(|r| r.starts_with(prefix)).collect()
    }

    /// When the first report containing `text` came at or after `t`.
    fn first_after(&self, text: &str, t: Instant) -> Option<Instant> {
        self.reports
            .iter()
            .find(|(at, r)| *at >= t && r.contains(text))
            .map(|(at, _)| *at)
    }
}

impl Board for TestBoard {
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
        if report == Report::WatchdogFed {
            self.fed_reports.push(self.now());
        } else {
            self.reports.push((self.now(), report.to_string()));
        }
    }
}

/// A hand-scripted modem: it knows the start-up commands, `OK`s the rest, and can be told to
/// register, connect, answer slowly, and to carry data. It holds the host's bytes while it is
/// busy with a slow command, as a real modem's UART buffer does. `boots_at: None` is a modem
/// that never answers.
#[derive(Default)]
struct ScriptedModem {
    boots_at: Option<Instant>,
    booted: bool,
    echo: bool,
    /// `+CREG: 2,1` (home) rather than `+CREG: 2,2` (searching).
    registered: bool,
    /// Commands answered late: the command, the delay, the answer.
    slow: Vec<(&'static str, Duration, &'static str)>,
    /// `slow` only once connected: the clock sync's steps are slow in the session, not in
    /// the first sync, before the first connection.
    slow_connected: bool,
    /// How long the `> ` prompt of `AT+CIPSEND` takes.
    prompt_delay: Duration,
    /// A line written at once after each `AT+CIPSEND`, before its prompt (a stray answer).
    before_prompt: Option<&'static str>,
    /// What the modem writes for the prompt (a garbled one if not `\r\n> `).
    prompt: Option<&'static [u8]>,
    /// Data the server sends: `+RECEIVE`d once the next send's data is in, while its bytes
    /// wait `ack_delay` for the server's TCP acknowledgement.
    incoming: Vec<&'static [u8]>,
    ack_delay: Duration,
    /// `AT+CIPQSEND=1`: `DATA ACCEPT` at once after the data, else `SEND OK` on the
    /// acknowledgement.
    quick: bool,
    /// Bytes written on the link, and the acknowledged count with when it moves on.
    tx: u32,
    acks: VecDeque<(Instant, u32)>,
    /// The next this many `AT+CIPACK=0` answer `ERROR` (line noise; `usize::MAX`, a modem
    /// without it).
    refused_cipack: usize,
    /// The next this many `+CCLK:` answers come with a digit of the minutes changed (line
    /// noise that leaves a line that parses: `00:20:00` for `00:00:00`).
    garbled_cclk: usize,
    /// The next this many `+CIPACK:` answers come with a digit of `txlen` doubled (line
    /// noise that leaves a line that parses).
    garbled_cipack: usize,
    /// Manual receive: what the modem holds for `AT+CIPRXGET=2,0,<len>`, and from when
    /// (its `+CIPRXGET: 1,0` notice, if any, is the test's to write in `timed`).
    rx_held: Option<(Instant, &'static [u8])>,
    /// The answers to this many more sends' data come garbled (line noise).
    garbled_answers: usize,
    /// The first byte of the data of this many more sends is lost on the wire.
    lose_data_byte: usize,
    /// The `<len>` of this many more `AT+CIPSEND`s is read with its last digit doubled
    /// (line noise toward the modem: `0,10` read as `0,100`).
    longer_send: usize,
    /// Every send's data gets `SEND FAIL`.
    send_fails: bool,
    /// From then on the modem answers nothing (a hang).
    hangs_at: Option<Instant>,
    /// `AT+CIPSTART` answers `0, ALREADY CONNECT` this many more times.
    already_connected: usize,
    /// `AT+CIPSTART` answers `OK`, then `0, CONNECT FAIL` (a stack stuck, the IP ready).
    connect_fails: bool,
    /// The answer to `AT+CIPHEAD=1` is followed by `RDY` this many more times: the modem
    /// restarts in the middle of start-up, and its settings are lost (echo on again).
    reboots_in_startup: usize,
    /// Bytes the modem writes by itself at a time (a URC, a `+RECEIVE`), in time order.
    timed: VecDeque<(Instant, Vec<u8>)>,
    /// Busy until then; then writes the bytes, and takes `n` bytes of data if `Some(n)`.
    busy: Option<(Instant, Vec<u8>, Option<usize>)>,
    /// Host bytes not yet taken.
    held: VecDeque<u8>,
    /// Reading the data of a send: how many bytes are still due.
    data_due: Option<usize>,
    /// A byte of this send's data was lost.
    dropped: bool,
    data: Vec<u8>,
    line: Vec<u8>,
    /// The command lines received, in order, and when.
    commands: Vec<String>,
    times: Vec<Instant>,
    /// Every byte the firmware wrote, in order.
    raw: Vec<u8>,
    /// What went to the server, and when.
    sent: Vec<Vec<u8>>,
    sent_at: Vec<Instant>,
    /// How many sends went before each `AT+CIPSTART`.
    connects: Vec<usize>,
}

impl ScriptedModem {
    fn new(boots_at: Option<Instant>) -> Self {
        ScriptedModem {
            boots_at,
            echo: true,
            ..ScriptedModem::default()
        }
    }

    /// A modem that boots at 1.5 s, registers, attaches and connects.
    fn connecting() -> Self {
        ScriptedModem {
            registered: true,
            ..ScriptedModem::new(Some(secs(1.5)))
        }
    }

    fn step(&mut self, now: Instant, input: &[u8], out: &mut Vec<u8>) {
        if !self.booted && self.boots_at.is_some_and(|t| now >= t) {
            self.booted = true;
            out.extend(b"\r\nRDY\r\n");
        }
        if !self.booted || self.hangs_at.is_some_and(|t| now >= t) {
            return;
        }
        while self.timed.front().is_some_and(|(at, _)| *at <= now) {
            out.extend(self.timed.pop_front().unwrap().1);
        }
        self.raw.extend_from_slice(input);
        self.held.extend(input);
        loop {
            if let Some((until, _, _)) = &self.busy {
                if now < *until {
                    return;
                }
                let (_, answer, data) = self.busy.take().unwrap();
                out.extend(answer);
                self.data_due = data;
            }
            let Some(b) = self.held.pop_front() else {
                return;
            };
            if let Some(due) = self.data_due {
                if self.send_fails && self.data.len() + 1 == due {
                    self.data_due = None;
                    self.data.clear();
                    out.extend(b"\r\n0, SEND FAIL\r\n");
                    continue;
                }
                if self.data.is_empty() && self.lose_data_byte > 0 && !self.dropped {
                    // Line noise: this byte never reaches the modem.
                    self.lose_data_byte -= 1;
                    self.dropped = true;
                    continue;
                }
                // Fixed-length data, as a SIM800 takes it: every byte is data, ESC too.
                self.data.push(b);
                if self.data.len() == due {
                    self.data_due = None;
                    self.dropped = false;
                    self.sent.push(std::mem::take(&mut self.data));
                    self.sent_at.push(now);
                    for data in self.incoming.drain(..) {
                        let head = format!("\r\n+RECEIVE,0,{}:\r\n", data.len());
                        out.extend(head.as_bytes());
                        out.extend(data);
                    }
                    self.tx += due as u32;
                    self.acks.push_back((now + self.ack_delay, self.tx));
                    let garble = self.garbled_answers > 0;
                    self.garbled_answers -= usize::from(garble);
                    if self.quick {
                        let answer = if garble { "DATA ACCEPX" } else { "DATA ACCEPT" };
                        out.extend(format!("\r\n{answer}:0,{due}\r\n").as_bytes());
                    } else {
                        let answer = if garble { "0, SEND MK" } else { "0, SEND OK" };
                        let ok = format!("\r\n{answer}\r\n").into_bytes();
                        self.busy = Some((now + self.ack_delay, ok, None));
                    }
                }
                continue;
            }
            if b != b'\r' {
                // Line noise before a command (an ESC outside data mode) is dropped.
                if b.is_ascii_graphic() || b == b' ' {
                    self.line.push(b);
                }
                continue;
            }
            let line = String::from_utf8_lossy(&std::mem::take(&mut self.line)).into_owned();
            if line.is_empty() {
                continue;
            }
            if self.echo {
                out.extend(line.as_bytes());
                out.push(b'\r');
            }
            self.answer(now, &line, out);
            self.commands.push(line);
            self.times.push(now);
        }
    }

    fn answer(&mut self, now: Instant, line: &str, out: &mut Vec<u8>) {
        let connected = !self.slow_connected || !self.connects.is_empty();
        let mut slow = self.slow.iter().filter(|_| connected);
        if let Some(&(_, delay, answer)) = slow.find(|(c, ..)| *c == line) {
            let answer = format!("\r\n{answer}\r\n").into_bytes();
            self.busy = Some((now + delay, answer, None));
            return;
        }
        if let Some(len) = line.strip_prefix("AT+CIPSEND=0,") {
            let mut len = len.to_string();
            if self.longer_send > 0 {
                self.longer_send -= 1;
                len.push(len.as_bytes()[len.len() - 1] as char);
            }
            let len = len.parse().unwrap();
            if let Some(stray) = self.before_prompt {
                out.extend(format!("\r\n{stray}\r\n").as_bytes());
            }
            let prompt = self.prompt.unwrap_or(b"\r\n> ").to_vec();
            self.busy = Some((now + self.prompt_delay, prompt, Some(len)));
            return;
        }
        let status;
        let answer: &str = match line {
            "AT+CIPQSEND=1" => {
                self.quick = true;
                "OK"
            }
            "AT+CIPACK=0" if self.refused_cipack > 0 => {
                self.refused_cipack -= 1;
                "ERROR"
            }
            "AT+CIPACK=0" => {
                let mut acked = 0;
                for (at, end) in &self.acks {
                    if *at <= now {
                        acked = *end;
                    }
                }
                let mut tx = self.tx.to_string();
                if self.garbled_cipack > 0 {
                    self.garbled_cipack -= 1;
                    tx.insert(0, tx.as_bytes()[0] as char);
                }
                status = format!("+CIPACK: {tx},{acked},{}\r\n\r\nOK", self.tx - acked);
                &status
            }
            l if l.starts_with("AT+CIPRXGET=2,0,") => {
                let len: usize = l["AT+CIPRXGET=2,0,".len()..].parse().unwrap();
                let data = match self.rx_held {
                    Some((from, data)) if now >= from => data,
                    _ => &[],
                };
                let (now_read, rest) = data.split_at(len.min(data.len()));
                let head = format!("+CIPRXGET: 2,0,{},{}\r\n", now_read.len(), rest.len());
                self.rx_held = self.rx_held.map(|(from, _)| (from, rest));
                out.extend(b"\r\n");
                out.extend(head.as_bytes());
                out.extend(now_read);
                "OK"
            }
            "ATE0" => {
                self.echo = false;
                "OK"
            }
            "ATI" => "SIM800 R14.18\r\n\r\nOK",
            "AT+CGMR" => "Revision:1418B04SIM800L24\r\n\r\nOK",
            "AT+CPIN?" => "+CPIN: READY\r\n\r\nOK",
            "AT+CREG?" if self.registered => "+CREG: 2,1\r\n\r\nOK",
            "AT+CREG?" => "+CREG: 2,2\r\n\r\nOK",
            "AT+CGATT?" => "+CGATT: 1\r\n\r\nOK",
            "AT+CIPSTATUS" => {
                let mut lines = String::from("OK\r\n\r\nSTATE: IP STATUS");
                for n in 0..6 {
                    lines += &format!("\r\n\r\nC: {n},,\"\",\"\",\"\",\"INITIAL\"");
                }
                status = lines;
                &status
            }
            "AT+CIPSHUT" => "SHUT OK",
            "AT+CSQ" => "+CSQ: 20,0\r\n\r\nOK",
            // Open already (TinyGSM's experience with a SIM800 whose bearer is up).
            "AT+SAPBR=1,1" => "ERROR",
            "AT+CNTP" => "OK\r\n\r\n+CNTP: 1",
            "AT+CCLK?" if self.garbled_cclk > 0 => {
                self.garbled_cclk -= 1;
                "+CCLK: \"24/01/01,00:20:00+00\"\r\n\r\nOK"
            }
            "AT+CCLK?" => "+CCLK: \"24/01/01,00:00:00+00\"\r\n\r\nOK",
            l if l.starts_with("AT+CIPSTART=") && self.connect_fails => "OK\r\n\r\n0, CONNECT FAIL",
            "AT+CIPHEAD=1" if self.reboots_in_startup > 0 => {
                self.reboots_in_startup -= 1;
                self.echo = true;
                "OK\r\n\r\nRDY"
            }
            l if l.starts_with("AT+CIPSTART=") && self.already_connected > 0 => {
                self.tx = 0;
                self.acks.clear();
                self.already_connected -= 1;
                "OK\r\n\r\n0, ALREADY CONNECT"
            }
            l if l.starts_with("AT+CIPSTART=") => {
                self.connects.push(self.sent.len());
                self.tx = 0;
                self.acks.clear();
                "OK\r\n\r\n0, CONNECT OK"
            }
            _ => "OK",
        };
        out.extend(format!("\r\n{answer}\r\n").as_bytes());
    }

    /// The commands after the start-up probes.
    fn after_probes(&self) -> Vec<&str> {
        self.commands
            .iter()
            .map(String::as_str)
            .skip_while(|c| *c == "AT")
            .collect()
    }
}

/// The scripted modem at the other end of the harness's UART.
impl Peer for ScriptedModem {
    fn exchange(&mut self, now: Duration, drove: Vec<Output>, to_firmware: &mut Vec<u8>) {
        let input: Vec<u8> = drove
            .into_iter()
            .flat_map(|output| match output {
                Output::Uart(bytes) => bytes,
                Output::PowerKey(_) | Output::Reset(_) => Vec::new(),
            })
            .collect();
        self.step(Instant::ZERO + now, &input, to_firmware);
    }

    fn next_event(&self) -> Option<Duration> {
        let at = match &self.busy {
            Some((until, ..)) => Some(*until),
            None => self.boots_at.filter(|_| !self.booted),
        };
        let timed = self.timed.front().map(|(t, _)| *t);
        [at, timed]
            .into_iter()
            .flatten()
            .min()
            .map(|at| at - Instant::ZERO)
    }

    // Its timers are checked on every exchange.
    fn advance(&mut self, _: Duration) {}
}

/// Runs the firmware against `modem` until `until`; returns the board's record.
fn simulate(modem: &mut ScriptedModem, until: Duration) -> TestBoard {
    simulate_on(modem, until, Config::default(), |uart, _| uart)
}

/// [`simulate`] with `config`, the firmware's UART made by `uart` from the harness's (and
/// its wire).
fn simulate_on<U: Read + Write>(
    modem: &mut ScriptedModem,
    until: Duration,
    config: Config,
    uart: impl FnOnce(VirtualUart, Wire) -> U,
) -> TestBoard {
    let wire = Wire::default();
    let mut board = TestBoard {
        wire: wire.clone(),
        ..TestBoard::default()
    };
    let uart = uart(wire.uart(), wire.clone());
    let (clock, board_ref) = (wire.clock(), &mut board);
    let mut harness = Harness::new(wire, async {
        firmware::run(&config, uart, &clock, board_ref).await;
    });
    harness.run_until(modem, until);
    drop(harness);
    board
}

fn secs(s: f64) -> Instant {
    Instant::from_micros((s * 1e6) as u64)
}

#[test]
fn starts_up_and_keeps_going_in_virtual_time() {
    let mut modem = ScriptedModem::new(Some(secs(1.5)));
    // Speed is `cargo xtask bench`'s to measure: a wall-clock bound here fails on a loaded
    // machine without a bug.
    let board = simulate(&mut modem, Duration::from_secs(400));

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
    assert!(has("ModemReady(ModemKind { model: Sim800, links: 6 })").is_some());
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

    // Every minute B10's query comes due during bring-up: its `AT+CREG?` is bring-up's too,
    // so `AT+CREG?` goes out once per 2 s poll, never twice back to back.
    let commands = modem.after_probes();
    assert!(commands.windows(2).any(|w| w == ["AT+CSQ", "AT+CREG?"]));
    let cregs: Vec<_> = (modem.times.iter().zip(&modem.commands))
        .filter(|(_, c)| *c == "AT+CREG?")
        .map(|(t, _)| *t)
        .collect();
    let gaps = cregs.windows(2).map(|w| w[1] - w[0]);
    assert!(gaps.min().unwrap() >= Duration::from_secs(1), "{cregs:?}");
}

#[test]
fn the_watchdog_is_fed_on_every_wake_and_reported_at_most_once_a_second() {
    let mut modem = ScriptedModem::connecting();
    let board = simulate(&mut modem, Duration::from_secs(300));
    assert!(board.first("Phase(Connected)").is_some());
    let reported = &board.fed_reports;
    let gaps: Vec<_> = reported.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps.iter().all(|&g| g >= Duration::from_secs(1)),
        "{gaps:?}"
    );
    // ... and still at least every `watchdog_feed_interval` (4 s).
    assert!(
        gaps.iter().all(|&g| g <= Duration::from_secs(4)),
        "{gaps:?}"
    );
    assert!(*reported.last().unwrap() >= secs(296.0));
    // Fed far more often: on every wake (every answer, every received byte run).
    assert!(board.feeds.len() > 2 * reported.len());
    let feed_gaps = board.feeds.windows(2).map(|w| w[1] - w[0]);
    assert!(feed_gaps.max().unwrap() <= Duration::from_secs(4));
}

#[test]
fn a_late_answer_is_not_taken_for_the_next_commands() {
    // `AT+CIPSHUT` answers `ERROR` after 66 s, past its 65 s timeout; the busy modem holds
    // what comes meanwhile. Taken for the answer to `AT+CIPMUX=1`, that `ERROR` would make
    // start-up fail (`SetupRefused`) and restart the modem.
    let mut modem = ScriptedModem {
        slow: vec![("AT+CIPSHUT", Duration::from_secs(66), "ERROR")],
        ..ScriptedModem::new(Some(secs(1.5)))
    };
    let board = simulate(&mut modem, Duration::from_secs(90));
    assert_eq!(board.first("ModemRestart"), None, "{:#?}", board.reports);
    let shut = board.first("AtTimeout(Exec(Cipshut))").expect("timed out");
    let resync = board.first_after("AtResync", shut).expect("resynchronised");
    let ready = board.first("ModemReady").expect("started");
    // The late answer came 1 s after the timeout; the line was then quiet for 200 ms.
    assert_eq!(resync - shut, Duration::from_millis(1200));
    assert!(resync <= ready);
    // The probe comes between the command that timed out and the next one, and the next
    // one is sent once the line has been quiet for `resync_quiet` after the late answer.
    let commands = modem.after_probes();
    let at = commands.iter().position(|c| *c == "AT+CIPSHUT").unwrap();
    assert_eq!(commands[at..at + 3], ["AT+CIPSHUT", "AT", "AT+CIPMUX=1"]);
    assert_eq!(board.first("AtRejected"), None);
}

/// Whether any byte the firmware meant as a command reached the server: the data of every
/// send is a message, the filler (line ends), or a message the filler completed.
fn no_command_as_data(modem: &ScriptedModem) -> bool {
    modem.sent.iter().all(|data| {
        let end = data.iter().rposition(|&b| b != b'\n').map_or(0, |i| i + 1);
        matches!(&data[..end], b"" | b"heart beat")
    })
}

/// The first send's data was the filler, and the command after that send was an `AT`
/// probe: the firmware resynchronised before going on.
fn filler_then_probe(modem: &ScriptedModem) {
    assert!(no_command_as_data(modem), "sent {:?}", modem.sent);
    assert_eq!(modem.sent.first().map(Vec::len), Some(10));
    let commands = modem.after_probes();
    let at = commands
        .iter()
        .position(|c| *c == "AT+CIPSEND=0,10")
        .unwrap();
    assert_eq!(commands[at + 1], "AT", "a probe before the next command");
}

#[test]
fn a_late_prompt_takes_filler_never_a_command() {
    // The `> ` of the first send (the heartbeat) comes after 31 s, long past the prompt's
    // timeout. A SIM800 takes every byte after a fixed-length prompt for data (ESC too):
    // whatever the firmware writes next goes to the server. So the firmware writes the
    // send's length in filler at once after the timeout: the late prompt takes it, and the
    // probe and the close after it are commands. (With ESC and then `AT` probes, the modem
    // sent `ESC AT\r AT\r AT` to the server.)
    let mut modem = ScriptedModem {
        prompt_delay: Duration::from_secs(31),
        ..ScriptedModem::connecting()
    };
    let board = simulate(&mut modem, Duration::from_secs(60));
    let timed_out = board.first("AtTimeout(Cipsend").expect("prompt timed out");
    assert!(board.first_after("AtResync", timed_out).is_some());
    let send = b"AT+CIPSEND=0,10\r";
    let at = modem
        .raw
        .windows(send.len())
        .position(|w| w == send)
        .unwrap();
    // As much as any send can take: whatever length the modem understood.
    let filler = modem.raw[at + send.len()..]
        .iter()
        .take_while(|&&b| b == b'\n');
    assert!(
        filler.count() >= 1460,
        "filler right after the timed-out send"
    );
    filler_then_probe(&modem);
}

#[test]
fn a_garbled_prompt_takes_filler_never_a_command() {
    // Line noise turns every prompt into `>!`: the firmware does not see it, but the modem
    // waits for the data. The filler written after the prompt's timeout is the data; no
    // command byte reaches the server, and the firmware stays in step.
    let mut modem = ScriptedModem {
        prompt: Some(b"\r\n>!"),
        ..ScriptedModem::connecting()
    };
    let board = simulate(&mut modem, Duration::from_secs(60));
    assert!(board.first("AtTimeout(Cipsend").is_some());
    assert!(!modem.sent.is_empty());
    assert!(no_command_as_data(&modem), "sent {:?}", modem.sent);
    assert_eq!(board.first("ModemRestart"), None, "{:#?}", board.reports);
}

#[test]
fn an_aborted_send_writes_filler_then_resyncs() {
    // `0, CLOSED` arrives while the heartbeat's `AT+CIPSEND` waits for its prompt, which
    // the modem sends anyway 200 ms later: the filler is its data, and before the next
    // command the firmware probes and lets the line go quiet (the send's late answer).
    let mut modem = ScriptedModem {
        prompt_delay: Duration::from_millis(200),
        timed: [(secs(1.75), b"\r\n0, CLOSED\r\n".to_vec())].into(),
        ..ScriptedModem::connecting()
    };
    let board = simulate(&mut modem, Duration::from_secs(15));
    assert!(board.first("LinkLost(Closed)").is_some());
    filler_then_probe(&modem);
    let lost = board.first("LinkLost(Closed)").unwrap();
    assert!(board.first_after("AtResync", lost).is_some());
}

#[test]
fn replies_are_written_while_earlier_ones_wait_for_their_acknowledgement() {
    // Newline framing. The heartbeat's bytes wait 2 s for the server's TCP acknowledgement;
    // the server's two requests arrive meanwhile: their replies are written at once, in
    // order, behind it (the AT channel is never held by a send), joined in one send (never
    // written, the second joins the first), and leave the outbox (`Sent`) only when
    // `AT+CIPACK` shows them acknowledged.
    let mut modem = ScriptedModem {
        incoming: vec![b"back 1\n", b"bin\n"],
        ack_delay: Duration::from_secs(2),
        ..ScriptedModem::connecting()
    };
    let config = Config {
        framing: Framing::Newline,
        ..Config::default()
    };
    let board = simulate_on(&mut modem, Duration::from_secs(20), config, |uart, _| uart);
    let queued = board.first("Queued { kind: Reply").expect("queued");
    let heartbeat = board
        .first("Sent(Heartbeat,")
        .expect("heartbeat acknowledged");
    assert!(queued + Duration::from_secs(2) <= heartbeat);
    assert_eq!(
        modem.sent[..2],
        [&b"heart beat\n"[..], b"back 1\n\x11\x22\x33\n"]
    );
    // Written before the heartbeat was acknowledged: 2 `AT+CIPSEND` before any
    // `AT+CIPACK` that saw it.
    let commands = modem.after_probes();
    let first_ack = commands.iter().position(|c| *c == "AT+CIPACK=0").unwrap();
    let sends_before = commands[..first_ack]
        .iter()
        .filter(|c| c.starts_with("AT+CIPSEND"));
    assert_eq!(sends_before.count(), 2, "{commands:?}");
    let replies = board
        .first("Sent(Reply, \"back 1\\n\\x11")
        .expect("replies acknowledged");
    assert!(replies >= heartbeat);
}

#[test]
fn the_clock_sync_opens_the_bearer_first() {
    let mut modem = ScriptedModem::connecting();
    let board = simulate(&mut modem, Duration::from_secs(30));
    let commands = modem.after_probes();
    let at = commands
        .iter()
        .position(|c| c.starts_with("AT+SAPBR"))
        .expect("bearer");
    assert_eq!(
        commands[at..at + 9],
        [
            "AT+SAPBR=3,1,\"Contype\",\"GPRS\"",
            "AT+SAPBR=3,1,\"APN\",\"CMIOT\"",
            "AT+SAPBR=1,1",
            "AT+CNTPCID=1",
            "AT+CNTP=\"pool.ntp.org\",0",
            "AT+CNTP",
            // Read twice: two reads that agree are not line noise.
            "AT+CCLK?",
            "AT+CCLK?",
            // Closed after the sync: an open bearer holds the PDP context (B7).
            "AT+SAPBR=0,1",
        ]
    );
    // B4, at boot: before the connection opens, so no `time` finds the clock unset.
    let connect = commands.iter().position(|c| c.starts_with("AT+CIPSTART"));
    assert!(connect > Some(at + 8), "{commands:?}");
    // `ERROR` to `AT+SAPBR=1,1` (the bearer is open already) does not stop the sync.
    assert!(board.first("ClockSet { unix: 1704067200 }").is_some());
    assert_eq!(board.first("ClockSyncFailed"), None);
}

#[test]
fn a_clock_read_changed_by_noise_is_read_again() {
    // Line noise turns the first `+CCLK:` answer's `00:00:00` into `00:20:00`, a line that
    // parses. The second read disagrees with it, the third agrees with the second: the clock
    // is set once, to the network's time. (Taken at once, `time` was answered 20 minutes
    // off until the next sync: the swarm's seed 7277.)
    let mut modem = ScriptedModem {
        garbled_cclk: 1,
        ..ScriptedModem::connecting()
    };
    let board = simulate(&mut modem, Duration::from_secs(30));
    assert_eq!(board.all("ClockSet"), ["ClockSet { unix: 1704067200 }"]);
    let reads = modem.commands.iter().filter(|c| *c == "AT+CCLK?");
    assert_eq!(reads.count(), 3);
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

#[test]
fn a_reboot_during_a_pending_command_goes_straight_to_start_up() {
    // The modem reboots while `AT+CSQ` (B10's first query) waits for its answer: its `RDY`
    // ends the command at once, and start-up begins with no close and no pause.
    let mut modem = ScriptedModem {
        slow: vec![("AT+CSQ", Duration::from_secs(1), "RDY")],
        ..ScriptedModem::connecting()
    };
    let board = simulate(&mut modem, Duration::from_secs(8));
    let csq = modem
        .commands
        .iter()
        .position(|c| c == "AT+CSQ")
        .expect("AT+CSQ");
    let rdy = modem.times[csq] + Duration::from_secs(1);
    let restart = board
        .first("ModemRestart { reason: Rebooted, action: None }")
        .expect("restart");
    assert_eq!(restart, rdy);
    // The next command is start-up's probe.
    assert_eq!(modem.commands[csq + 1], "AT");
    assert!(!modem.commands.iter().any(|c| c.starts_with("AT+CIPCLOSE")));
}

/// A UART whose read fails once, at the first poll of a read from `fails_at` on, and whose
/// reception then stays off until the next read: what arrives meanwhile is lost beyond the
/// 32-byte hardware FIFO (what had arrived before the error is safe in the driver's buffer).
/// An RP2040 driver that switches its receive interrupt off on an error behaves so; embassy-
/// rp's `BufferedUart` switches it back on in the read that reports the error, and loses
/// bytes only once its ring buffer is full, which a core that does not read soon enough
/// lets happen.
struct FailingUart {
    inner: VirtualUart,
    wire: Wire,
    fails_at: Instant,
    failed: bool,
    /// Reception is off: the last read failed and no read has come since.
    off: bool,
    /// Bytes received and not yet handed over.
    kept: VecDeque<u8>,
}

const FIFO: usize = 32;

impl FailingUart {
    fn new(inner: VirtualUart, wire: Wire, fails_at: Instant) -> Self {
        FailingUart {
            inner,
            wire,
            fails_at,
            failed: false,
            off: false,
            kept: VecDeque::new(),
        }
    }

    /// What the modem wrote and the harness has queued, taken now.
    fn arrived(&mut self) -> Vec<u8> {
        let mut arrived = vec![0u8; 1 << 16];
        let read = std::pin::pin!(self.inner.read(&mut arrived))
            .poll(&mut Context::from_waker(std::task::Waker::noop()));
        let n = match read {
            Poll::Ready(Ok(n)) => n,
            _ => 0,
        };
        arrived.truncate(n);
        arrived
    }
}

impl ErrorType for FailingUart {
    type Error = ErrorKind;
}

impl Read for FailingUart {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        std::future::poll_fn(|cx| {
            if !self.failed && Instant::ZERO + self.wire.now() >= self.fails_at {
                self.failed = true;
                self.off = true;
                let before = self.arrived();
                self.kept.extend(before);
                return Poll::Ready(Err(ErrorKind::Other));
            }
            if std::mem::take(&mut self.off) {
                let meanwhile = self.arrived();
                self.kept.extend(meanwhile.iter().take(FIFO));
            }
            if !self.kept.is_empty() {
                let n = buf.len().min(self.kept.len());
                for (dst, src) in buf.iter_mut().zip(self.kept.drain(..n)) {
                    *dst = src;
                }
                return Poll::Ready(Ok(n));
            }
            std::pin::pin!(self.inner.read(buf)).poll(cx)
        })
        .await
    }
}

impl Write for FailingUart {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        self.inner.write(buf).await
    }

    async fn flush(&mut self) -> Result<(), ErrorKind> {
        Ok(())
    }
}

#[test]
fn a_uart_read_error_is_retried_at_once() {
    // Connected and idle at 20 s, a read fails; 100 ms later the server's `back` with 200
    // bytes of payload arrives. The core reads again at once after the error, so nothing is
    // lost: the message is echoed whole. (Waiting out the 4 s slice after the error, it lost
    // all but 32 bytes and echoed nothing.)
    let message = [b"back ".as_slice(), &[b'x'; 195]].concat();
    let head = format!("\r\n+RECEIVE,0,{}:\r\n", message.len());
    let mut modem = ScriptedModem {
        timed: [
            // A URC makes the core read at 20 s: that read fails.
            (secs(20.0), b"\r\n+CREG: 1\r\n".to_vec()),
            (secs(20.1), [head.as_bytes(), &message].concat()),
        ]
        .into(),
        ..ScriptedModem::connecting()
    };
    let board = simulate_on(
        &mut modem,
        Duration::from_secs(30),
        Config::default(),
        |inner, wire| FailingUart::new(inner, wire, secs(20.0)),
    );
    let failed = board.first("UartError").expect("the read failed");
    assert!(failed >= secs(20.0), "{failed}");
    assert!(
        modem.sent.contains(&message),
        "sent {:?} {:#?}",
        modem.sent,
        board.reports
    );
    assert_eq!(board.first("Decode"), None, "{:#?}", board.reports);
}

#[test]
fn a_stray_ok_before_the_prompt_sends_nothing() {
    // A stray `OK` (or a late `0, SEND OK`) right after `AT+CIPSEND=0,10`, the prompt 100 ms
    // later: the send is not over, the data goes after the prompt, and `Sent` comes only
    // with the send's own answer. (Taken for the answer, the `OK` made the heartbeat "sent"
    // without its bytes, and the prompt then took the next command for data.)
    for stray in ["OK", "0, SEND OK"] {
        let mut modem = ScriptedModem {
            before_prompt: Some(stray),
            prompt_delay: Duration::from_millis(100),
            ..ScriptedModem::connecting()
        };
        let board = simulate(&mut modem, Duration::from_secs(15));
        assert_eq!(modem.sent, [b"heart beat", b"heart beat"], "{stray}");
        assert_eq!(board.all("Sent(").len(), 2, "{stray}: {:#?}", board.reports);
        assert!(
            !modem.commands.iter().any(|c| c.contains("heart")),
            "{stray}"
        );
    }
}

#[test]
fn already_connect_is_closed_and_counted_as_a_failure() {
    // `0, ALREADY CONNECT` is a link the firmware did not open this time (one it gave up
    // on, whose close failed): it is closed and the connect counted as failed; the next
    // attempt, after `connect_pause`, opens a fresh one.
    let mut modem = ScriptedModem {
        already_connected: 1,
        ..ScriptedModem::connecting()
    };
    let board = simulate(&mut modem, Duration::from_secs(15));
    let failed = board
        .first("ConnectFailed { failures: 1 }")
        .expect("counted");
    let connected = board.first("Connected").expect("connected after");
    assert!(
        connected >= failed + Duration::from_secs(5),
        "{connected} {failed}"
    );
    let commands = modem.after_probes();
    let start = commands
        .iter()
        .position(|c| c.starts_with("AT+CIPSTART="))
        .unwrap();
    assert_eq!(commands[start + 1], "AT+CIPCLOSE=0,1");
}

impl ScriptedModem {
    /// The first heartbeats were written at these times (seconds), within 100 ms each.
    fn heartbeats_written_at(&self, expected: &[f64]) {
        let beats: Vec<_> = (self.sent.iter().zip(&self.sent_at))
            .filter(|(d, _)| *d == b"heart beat")
            .map(|(_, t)| *t)
            .collect();
        assert!(beats.len() >= expected.len(), "{beats:?}");
        for (at, due) in beats.iter().zip(expected) {
            assert!(*at >= secs(*due) && *at < secs(due + 0.1), "{beats:?}");
        }
    }

    /// What went to the server on the `n`th connection (from 0).
    fn sent_on(&self, n: usize) -> &[Vec<u8>] {
        let start = self.connects[n];
        let end = self.connects.get(n + 1).copied().unwrap_or(self.sent.len());
        &self.sent[start..end]
    }
}

#[test]
fn only_what_was_not_acknowledged_is_written_again_after_a_reconnect() {
    // The heartbeat (written at 1.7 s) is acknowledged at 3.7 s, the reply to `back 1`
    // (written at 2.7 s) would be at 4.7 s, but the link closes at 4 s. The counts stay
    // readable after the close: the heartbeat is not written again on the next connection,
    // the reply is, first.
    let back = b"\r\n+RECEIVE,0,6:\r\nback 1".to_vec();
    let mut modem = ScriptedModem {
        ack_delay: Duration::from_secs(2),
        timed: [
            (secs(2.7), back),
            (secs(4.0), b"\r\n0, CLOSED\r\n".to_vec()),
        ]
        .into(),
        ..ScriptedModem::connecting()
    };
    let board = simulate(&mut modem, Duration::from_secs(12));
    assert!(board.first("LinkLost(Closed)").is_some());
    assert_eq!(modem.sent_on(0), [&b"heart beat"[..], b"back 1"]);
    let again = modem.sent_on(1);
    assert_eq!(
        again.iter().filter(|d| *d == b"back 1").count(),
        1,
        "{again:?}"
    );
    // One heartbeat on the new connection: its own, not the old one again.
    assert_eq!(
        again.iter().filter(|d| *d == b"heart beat").count(),
        1,
        "{again:?}"
    );
    assert_eq!(
        board.all("Sent(")[..2],
        ["Sent(Heartbeat, \"heart beat\")", "Sent(Reply, \"back 1\")"]
    );
}

#[test]
fn a_send_whose_answer_is_garbled_is_settled_by_the_acknowledged_count() {
    // The answer to the first send's data (the heartbeat's) comes garbled: the firmware
    // asks `AT+CIPACK` instead of waiting and sending again, sees the bytes were taken and
    // then acknowledged, and writes them only once. (Waiting for a `SEND OK` that never came,
    // it took the link for dead and sent them again on a new connection.)
    let mut modem = ScriptedModem {
        garbled_answers: 1,
        ..ScriptedModem::connecting()
    };
    let board = simulate(&mut modem, Duration::from_secs(15));
    assert_eq!(modem.connects.len(), 1, "{:#?}", board.reports);
    assert_eq!(modem.sent, [b"heart beat", b"heart beat"]);
    assert_eq!(board.all("Sent(").len(), 2);
    assert_eq!(board.first("LinkLost"), None);
}

#[test]
fn a_garbled_acknowledged_count_is_left_aside() {
    // Line noise doubles a digit of the first `+CIPACK:` answer's `txlen` (`110` for `10`):
    // a line that parses, with a count the firmware never wrote. Taken as true, it moved
    // the stream's end past what the modem will ever acknowledge: no message after it left
    // the outbox, and heartbeats piled up. Left aside, the next poll settles each one.
    let mut modem = ScriptedModem {
        garbled_cipack: 1,
        ..ScriptedModem::connecting()
    };
    let board = simulate(&mut modem, Duration::from_secs(35));
    assert_eq!(modem.sent.len(), 4, "{:#?}", board.reports);
    assert_eq!(board.all("Sent(").len(), 4, "{:#?}", board.reports);
    assert_eq!(board.first("LinkLost"), None);
}

#[test]
fn a_modem_without_cipack_delivers_at_data_accept() {
    // Every `AT+CIPACK=0` gets `ERROR`: after three in a row the firmware counts what the
    // modem took as delivered, then and at each later `DATA ACCEPT`. (Every message after
    // the switch stayed in the outbox for good: its count was never asked again.)
    let mut modem = ScriptedModem {
        refused_cipack: usize::MAX,
        ..ScriptedModem::connecting()
    };
    let board = simulate(&mut modem, Duration::from_secs(55));
    assert_eq!(modem.sent.len(), 6, "{:#?}", board.reports);
    assert_eq!(board.all("Sent(").len(), 6, "{:#?}", board.reports);
    let polls = modem.commands.iter().filter(|c| *c == "AT+CIPACK=0");
    assert_eq!(polls.count(), 3, "asked until decided, then no more");
}

#[test]
fn two_refused_cipacks_are_line_noise() {
    // Line noise garbles two `AT+CIPACK=0` in a row into `ERROR`s: not enough to decide the
    // modem has none. The polls go on, and each message leaves the outbox when the server's
    // TCP acknowledged it. (The swarm's seed 353: two were taken for a modem without it.)
    let mut modem = ScriptedModem {
        refused_cipack: 2,
        ack_delay: Duration::from_secs(3),
        ..ScriptedModem::connecting()
    };
    let board = simulate(&mut modem, Duration::from_secs(35));
    assert_eq!(modem.sent.len(), 4, "{:#?}", board.reports);
    let sent = board.reports.iter().filter(|(_, r)| r.starts_with("Sent("));
    let sent: Vec<Instant> = sent.map(|(at, _)| *at).collect();
    assert_eq!(sent.len(), 4, "{:#?}", board.reports);
    for (written, reported) in modem.sent_at.iter().zip(sent) {
        assert!(
            reported >= *written + Duration::from_secs(3),
            "before its ack"
        );
    }
}

#[test]
fn received_data_whose_notice_was_lost_is_read() {
    // Manual receive: the modem says `+CIPRXGET: 1,0` once, when its empty buffer gets
    // data. Here the notice comes garbled: as a line that is no error (`+CIPRXGOT: 1,0`,
    // found by B10's query within the minute), or as one the decoder refuses (a notice
    // without its link: read at the session loop's next turn, the next heartbeat's at the
    // latest). Before, the data waited in the modem for good.
    let cases: [(&[u8], f64); 2] = [
        (b"\r\n+CIPRXGOT: 1,0\r\n", 62.0),
        (b"\r\n+CIPRXGET: 1,\r\n", 12.0),
    ];
    for (notice, by) in cases {
        let mut modem = ScriptedModem {
            rx_held: Some((secs(2.5), b"back 1")),
            timed: [(secs(2.5), notice.to_vec())].into(),
            ..ScriptedModem::connecting()
        };
        let board = simulate(&mut modem, Duration::from_secs(70));
        let got = board.first("Received(\"back 1\")");
        assert!(
            got.is_some_and(|t| t <= secs(by)),
            "{notice:?}: {got:?} {:#?}",
            board.reports
        );
        assert!(modem.sent.iter().any(|d| d == b"back 1"), "{notice:?}");
    }
}

#[test]
fn a_modem_waiting_for_the_network_is_never_reset() {
    // The server never acknowledges anything (a dead link): the heartbeat's bytes wait in
    // the modem, which answers every command at once. The link is taken for dead within
    // `dead_link_bound` (40.25 s), closed and connected again, again and again (after 15 of
    // those, the ladder runs start-up again: no power action); the modem, only waiting for
    // the network, is never power-cycled and never taken for hung.
    let mut modem = ScriptedModem {
        ack_delay: Duration::from_secs(100_000),
        ..ScriptedModem::connecting()
    };
    let board = simulate(&mut modem, Duration::from_secs(1200));
    let lost = board
        .first("LinkLost(SendTimeout)")
        .expect("dead link noticed");
    let connected = board.first("Connected").unwrap();
    assert!(lost <= connected + Duration::from_secs(41), "{lost}");
    assert!(board.reset_line.is_empty() && board.power_key.is_empty());
    assert_eq!(board.first("Unresponsive"), None, "{:#?}", board.reports);
    assert_eq!(board.first_after("AtTimeout", connected), None);
    assert!(modem.connects.len() >= 10);
}

#[test]
fn a_late_heartbeat_does_not_move_the_next() {
    // `AT+SAPBR=1,1` (the clock sync's bearer) takes 7 s on this modem once connected: the
    // heartbeat due at 11.7 s waits for the session's resync (from 10.7 s). The next ones
    // stay on the 10 s grid from the connect (21.7 s), not 10 s after the late one.
    let mut modem = ScriptedModem {
        slow: vec![("AT+SAPBR=1,1", Duration::from_secs(7), "OK")],
        slow_connected: true,
        ..ScriptedModem::connecting()
    };
    simulate_on(&mut modem, Duration::from_secs(40), resync_soon(), |u, _| u);
    // Connected at 1.7 s; the bearer is answered at 17.7 s, and the next resync's at 33.7 s.
    modem.heartbeats_written_at(&[1.7, 17.7, 21.7, 33.7]);
}

/// The default configuration, with the clock synced again 9 s after a sync (the first is
/// before the first connection, at 1.7 s): a sync in the session, from 10.7 s.
fn resync_soon() -> Config {
    Config {
        ntp_resync: Duration::from_secs(9),
        ..Config::default()
    }
}

/// The clock sync's first two steps, the bearer's settings.
const CONTYPE: &str = "AT+SAPBR=3,1,\"Contype\",\"GPRS\"";
const APN: &str = "AT+SAPBR=3,1,\"APN\",\"CMIOT\"";

/// `commands` answered `OK` after `secs` seconds each.
fn slow_ok(commands: &[&'static str], secs: u64) -> Vec<(&'static str, Duration, &'static str)> {
    let delay = Duration::from_secs(secs);
    commands.iter().map(|c| (*c, delay, "OK")).collect()
}

#[test]
fn the_clock_sync_is_abandoned_when_the_link_is_lost() {
    // The session's clock sync starts at 10.7 s; on this modem its bearer settings take 2 s
    // each. `0, CLOSED` arrives during the second: the session ends as soon as that command
    // is answered, and the rest of the sync is abandoned (retried on the next connection).
    // (Its nine steps ran back to back, and the loss was seen after them.)
    let mut modem = ScriptedModem {
        slow: slow_ok(&[CONTYPE, APN], 2),
        slow_connected: true,
        timed: [(secs(13.2), b"\r\n0, CLOSED\r\n".to_vec())].into(),
        ..ScriptedModem::connecting()
    };
    let board = simulate_on(&mut modem, Duration::from_secs(17), resync_soon(), |u, _| u);
    let lost = board.first("LinkLost(Closed)").expect("link lost");
    assert!(lost <= secs(14.75), "lost at {lost}");
    let commands = modem.after_probes();
    let apn = commands
        .iter()
        .rposition(|c| c.contains("\"APN\""))
        .unwrap();
    let later = &commands[apn + 1..];
    assert!(
        !later
            .iter()
            .any(|c| c.starts_with("AT+SAPBR=1") || c.starts_with("AT+CNTP")),
        "{later:?}"
    );
}

#[test]
fn heartbeats_stay_on_time_while_the_clock_syncs() {
    // Four of the sync's steps take 4 s each once connected, and the session's sync starts
    // at 10.7 s: the heartbeats due meanwhile are late by at most the step in progress, and
    // on the grid after it.
    let mut modem = ScriptedModem {
        slow: slow_ok(
            &[CONTYPE, APN, "AT+CNTPCID=1", "AT+CNTP=\"pool.ntp.org\",0"],
            4,
        ),
        slow_connected: true,
        ..ScriptedModem::connecting()
    };
    let board = simulate_on(&mut modem, Duration::from_secs(40), resync_soon(), |u, _| u);
    assert_eq!(board.all("ClockSet").len(), 2, "{:#?}", board.reports);
    // The steps end at 14.7, 18.7, 22.7 and 26.7 s (when the nine steps ran back to back,
    // the heartbeat due at 11.7 s waited until 26.7 s).
    modem.heartbeats_written_at(&[1.7, 14.7, 22.7, 31.7]);
}

#[test]
fn raw_framing_keeps_one_message_on_the_way() {
    // Raw framing: a message is what arrives in one piece, and TCP joins the bytes it has in
    // flight (a retransmission carries them together). So the replies to the two requests
    // that arrive while the heartbeat waits for its acknowledgement are written one at a
    // time, each once the one before is acknowledged.
    let mut modem = ScriptedModem {
        incoming: vec![b"back 1", b"bin"],
        ack_delay: Duration::from_secs(2),
        ..ScriptedModem::connecting()
    };
    simulate(&mut modem, Duration::from_secs(20));
    assert_eq!(
        modem.sent[..3],
        [&b"heart beat"[..], b"back 1", &[0x11, 0x22, 0x33]]
    );
    for pair in modem.sent_at.windows(2).take(2) {
        assert!(
            pair[1] >= pair[0] + Duration::from_secs(2),
            "{:?}",
            modem.sent_at
        );
    }
}

#[test]
fn no_heartbeat_goes_while_the_modem_says_the_cell_is_lost() {
    // The cell is lost from 10 s to 35 s (`+CREG: 2`, `+CREG: 1`): the heartbeats due at
    // 11.7, 21.7 and 31.7 s are not written (B1: while the network is up; written, they
    // could only wait, unacknowledged, and hold the next back); the grid goes on after.
    let mut modem = ScriptedModem {
        timed: [
            (secs(10.0), b"\r\n+CREG: 2\r\n".to_vec()),
            (secs(35.0), b"\r\n+CREG: 1\r\n".to_vec()),
        ]
        .into(),
        ..ScriptedModem::connecting()
    };
    let board = simulate(&mut modem, Duration::from_secs(50));
    modem.heartbeats_written_at(&[1.7, 41.7]);
    assert_eq!(board.first("Dropped"), None, "{:#?}", board.reports);
}

#[test]
fn a_send_length_changed_by_noise_is_completed_by_filler_never_by_a_command() {
    // Line noise doubles a digit of `AT+CIPSEND=0,10`: the modem waits for 100 bytes. No
    // `DATA ACCEPT` comes after the heartbeat's 10, so the firmware writes filler, which
    // makes up the other 90 (its rest is empty lines to the modem): the probes after it are
    // commands, the late `DATA ACCEPT:0,100` and `AT+CIPACK` say the data was padded, and
    // the heartbeat goes again, whole. (Filler of the send's own length left the modem 80
    // bytes short: the swarm's seed 159 had 26 `AT` probes sent to the server.)
    let mut modem = ScriptedModem {
        longer_send: 1,
        ..ScriptedModem::connecting()
    };
    let board = simulate(&mut modem, Duration::from_secs(15));
    let first = &modem.sent[0];
    assert_eq!(first.len(), 100, "{:?}", modem.sent);
    assert_eq!(first[..10], *b"heart beat");
    assert!(no_command_as_data(&modem), "sent {:?}", modem.sent);
    assert_eq!(modem.sent.get(1).map(|d| &d[..]), Some(&b"heart beat"[..]));
    assert_eq!(board.first("ModemRestart"), None, "{:#?}", board.reports);
}

#[test]
fn a_data_byte_lost_on_the_wire_is_padded_with_filler_and_the_message_sent_again() {
    // Line noise drops the first byte of the heartbeat's data: the modem, one byte short,
    // waits. No `DATA ACCEPT` comes, so the firmware writes filler before anything else (a
    // command byte would otherwise complete the data: the probe's `A` went to the server),
    // the modem's late `DATA ACCEPT` says the data was padded, and the heartbeat is written
    // again, whole.
    let mut modem = ScriptedModem {
        lose_data_byte: 1,
        ..ScriptedModem::connecting()
    };
    simulate(&mut modem, Duration::from_secs(15));
    let first = &modem.sent[0];
    assert_eq!(first[..9], *b"eart beat", "{:?}", modem.sent);
    assert!(
        first[9..].iter().all(|&b| b == 0 || b == b'\n'),
        "padded with filler, not a command: {first:?}"
    );
    assert_eq!(modem.sent[1], b"heart beat", "{:?}", modem.sent);
}

#[test]
fn rdy_during_start_up_starts_it_again() {
    // The modem restarts right after `AT+CIPHEAD=1` was accepted (its `RDY` follows the
    // `OK`), losing what was set: start-up begins again from `ATE0`, and the modem is ready
    // only after the second, whole sequence. (The `RDY` was thrown away with everything
    // said while starting, and the device went on with an unconfigured modem.)
    let mut modem = ScriptedModem {
        reboots_in_startup: 1,
        ..ScriptedModem::connecting()
    };
    let board = simulate(&mut modem, Duration::from_secs(15));
    let commands = modem.after_probes();
    let ate0: Vec<_> = commands
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == "ATE0")
        .collect();
    assert_eq!(ate0.len(), 2, "{commands:?}");
    assert!(commands[ate0[1].0..].contains(&"AT+CIPMUX=1"));
    assert_eq!(board.all("ModemReady").len(), 1);
    let at = |text: &str| board.reports.iter().position(|(_, r)| r.contains(text));
    assert!(at("ModemRestart { reason: Rebooted, action: None }") < at("ModemReady"));
}

#[test]
fn connects_failing_with_the_ip_ready_climb_the_ladder() {
    // Every `AT+CIPSTART` ends in `CONNECT FAIL` although the IP is ready (a stuck stack):
    // `AT+CIPSHUT` after every 5th failure (B7); after 3 such rounds start-up runs again
    // (no power action), and after 2 of those the modem is power-cycled: no loop is endless.
    let mut modem = ScriptedModem {
        connect_fails: true,
        ..ScriptedModem::connecting()
    };
    let board = simulate(&mut modem, Duration::from_secs(250));
    let cycle = board
        .first("ModemRestart { reason: NoProgress, action: Reset }")
        .expect("power-cycled");
    let startups = board
        .reports
        .iter()
        .filter(|(t, r)| *t < cycle && r == "ModemRestart { reason: NoProgress, action: None }");
    assert_eq!(startups.count(), 2, "{:#?}", board.reports);
    assert_eq!(board.reset_line.first().map(|(t, _)| *t), Some(cycle));
    // 3 rounds of 5 failures before each start-up.
    let shuts = board
        .reports
        .iter()
        .filter(|(t, r)| *t <= cycle && r == "DataLinkShut");
    assert_eq!(shuts.count(), 9);
}

#[test]
fn sends_failing_on_a_connected_link_climb_the_ladder() {
    // The link connects, but every send fails (`SEND FAIL`): a session that delivers
    // nothing counts as a failed connect, so the send-fail loop escalates as B7 does, and
    // on up the ladder. (It reconnected forever: each connect reset the count.)
    let mut modem = ScriptedModem {
        send_fails: true,
        ..ScriptedModem::connecting()
    };
    let board = simulate(&mut modem, Duration::from_secs(300));
    assert!(board.all("DataLinkShut").len() >= 3, "{:#?}", board.reports);
    assert!(board.first("ModemRestart { reason: NoProgress").is_some());
}

#[test]
fn a_livelock_stops_feeding_the_watchdog() {
    // A livelock: the modem stops answering at 30 s, and `at_no_answer_limit` is a day, so
    // the firmware never gives up on it: it probes, and probes, with no answer, no phase
    // change, nothing delivered. The watchdog is fed only while the loop makes progress,
    // so feeding stops `progress_timeout` (5 min) after the last answer, and the hardware
    // watchdog resets the MCU. (It was fed on every wake, forever.)
    let mut modem = ScriptedModem {
        hangs_at: Some(secs(30.0)),
        ..ScriptedModem::connecting()
    };
    let config = Config {
        at_no_answer_limit: Duration::from_secs(24 * 3600),
        ..Config::default()
    };
    let board = simulate_on(&mut modem, Duration::from_secs(900), config, |uart, _| uart);
    // The last answer came between 20 s (the heartbeat's acknowledgement) and the hang.
    let last = *board.feeds.last().unwrap();
    assert!(
        last >= secs(320.0) && last <= secs(330.0),
        "last fed at {last}"
    );
    let reported = *board.fed_reports.last().unwrap();
    assert!(
        reported <= last,
        "WatchdogFed reported at {reported} without a feed"
    );
}
