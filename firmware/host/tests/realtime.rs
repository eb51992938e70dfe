//! The host runner against the scenarios' real-time runner, without QEMU: a short scenario (18 s of wall time) against the
//! firmware core running in this process as an external device, over a loopback TCP socket
//! with its log on a socket pair (as a QEMU board's UART0 and UART1), and the same scenario
//! with the firmware inside the world. Every wait is bounded, so a failure cannot hang.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // this test runs in real time (clippy.toml)

use std::os::unix::net::UnixStream as StdUnixStream;
use std::time::Duration;

use firmware_host::{LogBoard, TokioClock, TokioUart};
use scenarios::realtime::{self, External, Options, Start};
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
            let clock = TokioClock::starting_now();
            // As a QEMU board: its log on a second line.
            let mut board = LogBoard::new(clock, log_out);
            let (uart, _closed) = TokioUart::new(uart);
            firmware::run(&config, uart, &clock, &mut board).await
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
            lab: None,
            web: None,
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
        lab: None,
        web: None,
    };
    let run = realtime::run(&scenario, "realtime_short.json", 1, options, |_| {});
    let replay = runtime
        .block_on(async { tokio::time::timeout(BOUND, run).await })
        .expect("the run ends");
    check(&replay);
}

/// The device's side of [`the_lab_server_on_real_loopback_sockets`]: connected by 15 s, its
/// heartbeat at the lab within a second.
const REAL_LAB: &str = r#"{
  "name": "realtime_real_lab",
  "duration": "18s",
  "network": { "pdp_activation": "500ms" },
  "expect": [
    { "expect": "happens", "id": "connected", "what": "accepted", "to": "15s" },
    { "expect": "happens", "what": { "received": { "text": "heart beat" } }, "after": "connected", "to": "1s" },
    { "expect": "happens", "what": { "report": { "text": "Connected" } }, "count": 1 },
    { "expect": "never", "what": { "report": { "prefix": "ModemRestart" } } }
  ]
}"#;

/// How long one step of the talk may take.
const STEP: Duration = Duration::from_secs(16);

/// Waits for a live view line containing `text`.
async fn line_with(
    lines: &mut tokio::sync::mpsc::UnboundedReceiver<String>,
    text: &str,
) -> Result<String, String> {
    let wait = async {
        while let Some(line) = lines.recv().await {
            if line.contains(text) {
                return Ok(line);
            }
        }
        Err(format!("the run ended before {text:?}"))
    };
    tokio::time::timeout(STEP, wait)
        .await
        .unwrap_or_else(|_| Err(format!("no {text:?} within {STEP:?}")))
}

#[test]
fn the_lab_server_on_real_loopback_sockets() {
    use scenarios::trace::Event;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::sync::mpsc;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let scenario = scenarios::parse("realtime_real_lab.json", REAL_LAB).unwrap();
    let (shown, mut lines) = mpsc::unbounded_channel::<String>();
    let (console, console_rx) = mpsc::unbounded_channel::<String>();
    let options = Options {
        device: None,
        console: Some(console_rx),
        slack: Duration::ZERO,
        // Any free port, on loopback.
        lab: Some("127.0.0.1:0".parse().unwrap()),
        web: None,
    };
    let run = realtime::run(
        &scenario,
        "realtime_real_lab.json",
        1,
        options,
        move |line| {
            let _ = shown.send(line.to_string());
        },
    );
    // A person at the console, and a plain TCP client on the lab's port.
    let talk = async move {
        let line = line_with(&mut lines, "lab server on ").await?;
        let address: std::net::SocketAddr = line
            .split_whitespace()
            .nth(3)
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| format!("no address in {line:?}"))?;
        assert!(address.ip().is_loopback(), "{line}");
        // The device's heartbeat came through a real socket.
        line_with(&mut lines, "SERVER <- device  client 1: \"heart beat\"").await?;
        console.send("hello from the console".into()).unwrap();
        line_with(&mut lines, "Received(\"hello from the console\")").await?;
        let mut plain = tokio::time::timeout(STEP, TcpStream::connect(address))
            .await
            .map_err(|_| "connect timed out".to_string())?
            .map_err(|e| format!("connect to {address}: {e}"))?;
        plain.write_all(b"ping\n").await.unwrap();
        line_with(&mut lines, "client 2: \"ping\\n\"").await?;
        console.send("send 2 pong".into()).unwrap();
        let mut got = [0u8; 4];
        tokio::time::timeout(STEP, plain.read_exact(&mut got))
            .await
            .map_err(|_| "no answer on the plain client".to_string())?
            .map_err(|e| e.to_string())?;
        assert_eq!(&got, b"pong");
        Ok::<_, String>(())
    };
    let (replay, talked) = runtime
        .block_on(async { tokio::time::timeout(BOUND, async { tokio::join!(run, talk) }).await })
        .expect("the run ends");
    talked.unwrap_or_else(|e| panic!("{e}\n{}", scenarios::report::failures(&replay)));
    check(&replay);
    let has = |f: &dyn Fn(&Event) -> bool| replay.records.iter().any(|r| f(&r.event));
    assert!(has(
        &|e| matches!(e, Event::LabAccepted { client: 1, peer, .. } if peer.starts_with("127.0.0.1:"))
    ));
    assert!(has(
        &|e| matches!(e, Event::LabReceived { client: 2, data } if data.0 == b"ping\n")
    ));
    assert!(has(
        &|e| matches!(e, Event::LabSent { client: 2, data } if data.0 == b"pong")
    ));
    assert!(has(
        &|e| matches!(e, Event::Fw { report } if report == "Received(\"hello from the console\")")
    ));
}
