//! The real-time runner, without QEMU: a short scenario (18 s of wall time) against the
//! firmware core running in this process as an external device, over a loopback TCP socket
//! with its log on a socket pair (as a QEMU board's UART0 and UART1), and the same scenario
//! with the firmware inside the world. Every wait is bounded, so a failure cannot hang.

use std::future::Future;
use std::io::Write as _;
use std::os::unix::net::UnixStream as StdUnixStream;
use std::time::Duration;

use embedded_io_adapters::tokio_1::FromTokio;
use firmware::{Board, Clock, Instant, LedState, Report};
use scenarios::realtime::{self, External, Options, Start};
use scenarios::world::render_report;
use tokio::net::{TcpListener, TcpStream, UnixStream};
use tokio::task::LocalSet;

/// Connected by 15 s (a shorter PDP activation helps), asked `back hi` at 14 s. The report
/// expectations need the device's log.
const SCENARIO: &str = r#"{
  "name": "realtime_short",
  "duration": "18s",
  "network": { "pdp_activation": "500ms" },
  "timeline": [ { "at": "14s", "id": "hello", "lab": { "send": "back hi" } } ],
  "expect": [
    { "expect": "happens", "id": "connected", "what": "accepted", "count": 1, "to": "15s" },
    { "expect": "happens", "what": { "received": { "text": "heart beat" } }, "after": "connected", "to": "1s" },
    { "expect": "happens", "what": { "received": { "text": "back hi" } }, "count": 1, "after": "hello", "to": "1s" },
    { "expect": "answered", "within": "1s" },
    { "expect": "happens", "what": { "report": { "text": "Connected" } }, "count": 1 },
    { "expect": "happens", "what": { "at": { "text": "AT+CIICR" } }, "count": 1 },
    { "expect": "never", "what": { "report": { "prefix": "ModemRestart" } } }
  ]
}"#;

/// More than the scenario takes, less than forever.
const BOUND: Duration = Duration::from_secs(60);

/// The firmware's clock: tokio's, from the device's start.
struct TokioClock(tokio::time::Instant);

impl Clock for TokioClock {
    fn now(&self) -> Instant {
        Instant::from_micros(self.0.elapsed().as_micros() as u64)
    }

    fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()> {
        tokio::time::sleep_until(self.0 + Duration::from_micros(deadline.as_micros()))
    }
}

/// Writes a log as the QEMU board does: `12.345s <report as the trace writes it>`.
struct LogBoard {
    start: tokio::time::Instant,
    log: StdUnixStream,
}

impl LogBoard {
    fn line(&mut self, text: &str) {
        let now = TokioClock(self.start).now();
        let _ = writeln!(self.log, "{now} {text}");
    }
}

impl Board for LogBoard {
    fn set_led(&mut self, _: LedState) {}

    fn feed_watchdog(&mut self) {}

    fn set_power_key(&mut self, pressed: bool) {
        self.line(if pressed {
            "power key down"
        } else {
            "power key up"
        });
    }

    fn set_modem_reset(&mut self, asserted: bool) {
        self.line(if asserted {
            "modem reset on"
        } else {
            "modem reset off"
        });
    }

    fn report(&mut self, report: Report<'_>) {
        self.line(&render_report(&report));
    }
}

fn scenario() -> scenarios::Scenario {
    scenarios::parse("realtime_short.json", SCENARIO).unwrap_or_else(|e| panic!("{e}"))
}

fn check(replay: &scenarios::Replay) {
    let failures = scenarios::report::failures(replay);
    assert!(replay.verdict().is_ok(), "\n{failures}");
    assert!(
        replay.results.iter().all(|r| r.checked()),
        "{}",
        scenarios::report::results(replay)
    );
}

#[test]
fn an_external_device_over_tcp_with_its_log() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let scenario = scenario();
    let config = scenarios::replay::device_config(&scenario).unwrap();
    let replay = LocalSet::new().block_on(&runtime, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (log_out, log_in) = StdUnixStream::pair().unwrap();
        log_in.set_nonblocking(true).unwrap();
        let log_in = UnixStream::from_std(log_in).unwrap();
        // The device: the firmware core under tokio, its UART a TCP connection to the runner.
        tokio::task::spawn_local(async move {
            let uart = TcpStream::connect(address).await.unwrap();
            uart.set_nodelay(true).unwrap();
            let start = tokio::time::Instant::now();
            let mut board = LogBoard {
                start,
                log: log_out,
            };
            firmware::run(
                &config,
                FromTokio::new(uart),
                &TokioClock(start),
                &mut board,
            )
            .await
        });
        let (line, _) = tokio::time::timeout(Duration::from_secs(10), listener.accept())
            .await
            .expect("the device connects")
            .unwrap();
        let options = Options {
            device: Some(External {
                line: Box::new(line),
                log: Some(Box::new(log_in)),
                start: Start::Now,
            }),
            console: None,
            slack: realtime::EXTERNAL_SLACK,
        };
        let run = realtime::run(&scenario, "realtime_short.json", 1, options, |_| {});
        tokio::time::timeout(BOUND, run)
            .await
            .expect("the run ends")
    });
    check(&replay);
    // What only the log shows, and what only the line shows.
    let has =
        |f: &dyn Fn(&scenarios::trace::Event) -> bool| replay.records.iter().any(|r| f(&r.event));
    use scenarios::trace::Event;
    assert!(has(
        &|e| matches!(e, Event::Fw { report } if report.starts_with("Sent(Reply, \"back hi\")"))
    ));
    assert!(has(
        &|e| matches!(e, Event::At { line, .. } if line.0 == b"AT+CIPSEND=0,7")
    ));
}

#[test]
fn the_firmware_in_the_world_in_real_time() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let scenario = scenario();
    let options = Options {
        device: None,
        console: None,
        slack: Duration::ZERO,
    };
    let run = realtime::run(&scenario, "realtime_short.json", 1, options, |_| {});
    let replay = runtime
        .block_on(async { tokio::time::timeout(BOUND, run).await })
        .expect("the run ends");
    check(&replay);
}
