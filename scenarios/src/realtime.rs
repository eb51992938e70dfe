//! Runs a scenario against the wall clock: the same [`World`](crate::world::World) as a replay (modem, network,
//! lab server, faults, timeline), with `now` the time since the start, and the same checks at
//! the end.
//!
//! The device is either the firmware core in this process (`cargo xtask sim --realtime`) or
//! a device outside it ([`External`]): a byte stream carrying the modem's UART (a TCP socket
//! that QEMU's chardev connects to, a pty that `longlink-host` opens), and optionally the
//! device's log. The loop sleeps until the simulation's next timeout or timeline step, or
//! until bytes, a log line or a console line arrive; `select!` is `biased` so that the
//! device's bytes are served first, in order.
//!
//! With [`Options::lab`] the lab server is real too, as in `sim-modem`'s live mode: it
//! listens on real TCP and UDP sockets (loopback), the modem's connections to it go through
//! real sockets ([`sim_modem::live::NetBridge`]), and anyone can connect to it with ordinary
//! tools. It is still the simulation's lab server, so its records, the console and the
//! timeline's lab steps work as in a replay.
//!
//! With [`Options::web`] the lab is also a web page (sim-modem's [`Web`]): the devices, their
//! data, the AT log, the modem's state and the firmware's phase, with what the page asks for
//! (send, close, reset, a fault) run as console lines.
//!
//! What an external run cannot see, it does not pretend to check ([`Observation`]): the
//! firmware's reports are only known from the device's log (a QEMU board writes them on its
//! UART1 as the trace writes them), so without a log every expectation on `report` is
//! skipped, and says so. Wall-clock times jitter by milliseconds where a replay's are exact:
//! [`Options::slack`] loosens every time bound by that much (none by default).
#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // the real-time runner is the replay's edge: the wall clock, real sockets (clippy.toml)

use std::future::pending;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::io::{Lines, ReadHalf, WriteHalf};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::Instant;

use sim_modem::live::web;
use sim_modem::live::{Feed, LabListen, NetBridge, NetInput, Web};

use crate::check::{secs, Observation};
use crate::replay::{conclude_observed, external_world, sim_config, world, Planned};
use crate::trace::{Event, Pin, Record, Reported, SmsDir};
use crate::view::{self, Console};
use crate::{Replay, Scenario};

/// The slack ([`Options::slack`]) a run on an external device gets unless told otherwise.
/// Its bytes and log lines are stamped when they arrive, a few milliseconds after the device
/// acted (QEMU's chardev, the log pipe, the scheduler), where a replay stamps them exactly.
pub const EXTERNAL_SLACK: Duration = Duration::from_millis(100);

/// The least slack a run with a real lab server ([`Options::lab`]) gets: the lab's records
/// are stamped when the bytes come out of its real sockets, a fraction of a millisecond after
/// the simulated network delivered them (more on a loaded machine), where a replay stamps
/// them exactly.
pub const REAL_LAB_SLACK: Duration = Duration::from_millis(20);

/// A byte stream both ways: the modem's UART as an external device sees it.
pub trait Line: AsyncRead + AsyncWrite + Unpin {}
impl<T: AsyncRead + AsyncWrite + Unpin> Line for T {}

/// A device outside the process.
pub struct External {
    /// The modem's UART.
    pub line: Box<dyn Line>,
    /// The device's log, one line per report, each stamped with the device's time:
    /// `12.345s Phase(Connecting)` (as a QEMU board writes it). Reports become `fw` records,
    /// `power key down|up` and `modem reset on|off` become `pin` records. The records are
    /// stamped with the time the line arrived.
    pub log: Option<Box<dyn AsyncRead + Unpin>>,
    pub start: Start,
}

/// When the run (and the simulated modem's power-on) starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// At once: the device is there (a TCP peer that has connected, booting now).
    Now,
    /// When the device writes its first byte, waiting at most this long (a pty that a
    /// program opens some time later).
    FirstByte(Duration),
}

/// How to run.
pub struct Options {
    /// The device: `None` runs the firmware core in this process.
    pub device: Option<External>,
    /// Lines typed at a console ([`view::console`]); `quit` stops the run.
    pub console: Option<UnboundedReceiver<String>>,
    /// How much every time bound of the expectations is loosened ([`Observation::slack`]).
    pub slack: Duration,
    /// Where a real lab server listens (TCP and UDP as the scenario's lab allows; port 0
    /// picks a free one): the modem's connections to the lab's name or address go to it
    /// through real sockets, and other programs may connect to it too. `None`: the lab
    /// server is simulated inside the process, as in a replay.
    pub lab: Option<SocketAddr>,
    /// The lab's web page, already listening ([`Web::serve`]): it shows the run and its
    /// requests are run as console lines.
    pub web: Option<Web>,
}

/// Runs `scenario` (from `path`, for messages) with `seed` until its duration, handing every
/// line of the live view to `show`, and checks its expectations. Errors (the device did not
/// show up, closed the line, panicked, or the run was stopped) are in [`Replay::error`].
pub async fn run(
    scenario: &Scenario,
    path: &str,
    seed: u64,
    mut options: Options,
    mut show: impl FnMut(&str),
) -> Replay {
    let started = std::time::Instant::now();
    let external = options.device.is_some();
    let built = if external {
        external_world(scenario, seed)
    } else {
        world(scenario, seed, true)
    };
    let observation = Observation {
        reports: options.device.as_ref().is_none_or(|d| d.log.is_some()),
        typed_reports: !external,
        slack: match options.lab {
            Some(_) => options.slack.max(REAL_LAB_SLACK),
            None => options.slack,
        },
    };
    let conclude = |planned: &[Planned], end, records, error: Option<String>| {
        let mut replay =
            conclude_observed(scenario, path, seed, planned, end, records, observation);
        replay.error = error;
        replay.wall = started.elapsed();
        replay
    };
    let (mut world, planned) = match built {
        Ok(built) => built,
        Err(e) => return conclude(&[], Duration::ZERO, Vec::new(), Some(e)),
    };
    if external && !scenario.device.is_empty() {
        show("note: the file's `device` section cannot reach an external device: it runs with the configuration built into it");
    }
    let mut bridge = None;
    if let Some(address) = options.lab {
        let config = sim_config(scenario, seed);
        let listen = LabListen {
            address,
            tcp: config.lab.tcp,
            udp: config.lab.udp,
        };
        let timeout = config.network.connect_timeout;
        match NetBridge::new(&config.lab, Some(listen), None, false, timeout).await {
            Ok(real) => {
                world.with_sim(|sim, _| sim.set_external_internet());
                if let Some(local) = real.lab_address() {
                    let transports = match (config.lab.tcp, config.lab.udp) {
                        (true, true) => "TCP and UDP",
                        (true, false) => "TCP",
                        _ => "UDP",
                    };
                    show(&format!(
                        "lab server on {local} ({transports}); the modem reaches it as {}:{}",
                        config.lab.name, config.lab.port
                    ));
                }
                bridge = Some(real);
            }
            Err(e) => {
                let error = format!("the lab server cannot listen on {address}: {e}");
                return conclude(&planned, Duration::ZERO, Vec::new(), Some(error));
            }
        }
    }
    let (mut rx, mut tx, mut log, first) = match options.device.take() {
        None => (None, None, None, Vec::new()),
        Some(device) => {
            let (mut rx, tx) = tokio::io::split(device.line);
            let first = match device.start {
                Start::Now => Vec::new(),
                Start::FirstByte(wait) => match first_bytes(&mut rx, wait).await {
                    Ok(bytes) => bytes,
                    Err(e) => return conclude(&planned, Duration::ZERO, Vec::new(), Some(e)),
                },
            };
            let log = device.log.map(|log| BufReader::new(log).lines());
            (Some(rx), Some(tx), log, first)
        }
    };
    if !first.is_empty() {
        world.device_wrote(&first);
    }
    let terminator = scenario.device_config().framing.terminator();
    let end = scenario.duration;
    let start = Instant::now();
    let mut records = Vec::new();
    let mut to_device = Vec::new();
    let mut buf = vec![0u8; 4096];
    let mut stopped = None;
    let mut phase = None;
    loop {
        world.run_until(start.elapsed().min(end));
        if let Some(bridge) = &mut bridge {
            world.with_sim(|sim, now| bridge.flush(sim, now));
        }
        to_device.extend(world.take_device_bound());
        let new = world.take_records();
        for line in new.iter().filter_map(view::line) {
            show(&line);
        }
        if let Some(web) = &options.web {
            for record in &new {
                show_on_page(web, record, &mut phase);
            }
            web.status(world.sim(), phase.as_deref());
        }
        records.extend(new);
        if world.now() >= end || stopped.is_some() {
            break;
        }
        let next = world.next_wakeup().unwrap_or(end).min(end);
        tokio::select! {
            biased;
            read = read_from(&mut rx, &mut buf) => {
                world.run_until(start.elapsed().min(end));
                match read {
                    Ok(0) => stopped = Some("the device closed the line".to_string()),
                    Ok(n) => world.device_wrote(&buf[..n]),
                    Err(e) => stopped = Some(format!("the device's line failed: {e}")),
                }
            }
            written = write_to(&mut tx, &to_device), if !to_device.is_empty() => match written {
                Ok(n) => drop(to_device.drain(..n)),
                Err(e) => stopped = Some(format!("the device's line failed: {e}")),
            },
            input = net_input(&mut bridge) => {
                world.run_until(start.elapsed().min(end));
                if let Some(bridge) = &mut bridge {
                    world.with_sim(|sim, now| bridge.handle(sim, now, input));
                }
            }
            line = next_line(&mut log) => {
                world.run_until(start.elapsed().min(end));
                match line {
                    Ok(Some(line)) => {
                        let event = log_event(&line);
                        if let Event::Fw { report } = &event {
                            if report.starts_with("panic:") {
                                stopped = Some(format!("the device panicked: {report}"));
                            }
                        }
                        world.note(event);
                    }
                    // The log ended (QEMU quit?); the line will tell.
                    _ => log = None,
                }
            }
            command = web::next_command(&mut options.web) => {
                world.run_until(start.elapsed().min(end));
                // The page sends no `quit`.
                let answer = match view::console(&mut world, &command.line, terminator) {
                    Console::Answer(text) => text,
                    Console::Quit => String::new(),
                };
                command.answer(answer);
            }
            line = console_line(&mut options.console) => {
                world.run_until(start.elapsed().min(end));
                match line.map(|line| view::console(&mut world, &line, terminator)) {
                    Some(Console::Answer(text)) => {
                        if !text.is_empty() {
                            show(&text);
                        }
                    }
                    Some(Console::Quit) => stopped = Some("stopped from the console".to_string()),
                    // End of input: the run goes on without a console.
                    None => options.console = None,
                }
            }
            _ = tokio::time::sleep_until(start + next) => {}
        }
    }
    world.flush_device_line();
    records.extend(world.take_records());
    let error = stopped.map(|why| {
        format!(
            "{why} at {}, before the scenario's end at {}",
            secs(world.now()),
            secs(end)
        )
    });
    conclude(&planned, world.now(), records, error)
}

/// Waits for a device's first bytes.
async fn first_bytes(rx: &mut ReadHalf<Box<dyn Line>>, wait: Duration) -> Result<Vec<u8>, String> {
    let mut buf = vec![0u8; 4096];
    match tokio::time::timeout(wait, rx.read(&mut buf)).await {
        Ok(Ok(n)) if n > 0 => Ok(buf[..n].to_vec()),
        Ok(Ok(_)) => Err("the device closed the line before it wrote anything".into()),
        Ok(Err(e)) => Err(format!("the device's line failed: {e}")),
        Err(_) => Err(format!(
            "the device wrote nothing within {}",
            units::format_duration(wait)
        )),
    }
}

// `select!` evaluates every branch's future, enabled or not: these wait forever on what is
// absent instead.

async fn read_from(rx: &mut Option<ReadHalf<Box<dyn Line>>>, buf: &mut [u8]) -> io::Result<usize> {
    match rx {
        Some(rx) => rx.read(buf).await,
        None => pending().await,
    }
}

async fn write_to(tx: &mut Option<WriteHalf<Box<dyn Line>>>, bytes: &[u8]) -> io::Result<usize> {
    match tx {
        Some(tx) => tx.write(bytes).await,
        None => pending().await,
    }
}

async fn net_input(bridge: &mut Option<NetBridge>) -> NetInput {
    match bridge {
        Some(bridge) => bridge.recv().await,
        None => pending().await,
    }
}

type LogLines = Lines<BufReader<Box<dyn AsyncRead + Unpin>>>;

async fn next_line(log: &mut Option<LogLines>) -> io::Result<Option<String>> {
    match log {
        Some(log) => log.next_line().await,
        None => pending().await,
    }
}

/// Shows a record in the web page: the lab's events, the AT lines, faults, the modem's
/// states, the firmware's reports (as [`view::line`] filters them) and the timeline's steps.
/// `phase` keeps the firmware's last `Phase(..)` for the page's status.
fn show_on_page(web: &Web, record: &Record, phase: &mut Option<String>) {
    let at = record.at;
    let note = |source, text: &str| web.publish(at, Feed::Note { source, text });
    match &record.event {
        Event::At { dir, line } => web.publish(
            at,
            Feed::At {
                to_modem: *dir == crate::trace::Dir::ToModem,
                line: &line.0,
            },
        ),
        Event::LabAccepted {
            client,
            transport,
            peer,
        } => web.publish(
            at,
            Feed::Accepted {
                client: *client,
                transport,
                peer,
            },
        ),
        Event::LabReceived { client, data } => web.publish(
            at,
            Feed::Received {
                client: *client,
                data: &data.0,
            },
        ),
        Event::LabSent { client, data } => web.publish(
            at,
            Feed::Sent {
                client: *client,
                data: &data.0,
            },
        ),
        Event::LabClosed { client, reason } => web.publish(
            at,
            Feed::Closed {
                client: *client,
                reason,
            },
        ),
        Event::Fault { fault } => note("fault", &format!("applied {}", fault.to_json())),
        Event::FaultEnd { fault } => note("fault", &format!("ended {}", fault.to_json())),
        Event::Modem { event } => note("modem", &format!("{event:?}")),
        Event::Fw { report } => {
            if report.text.starts_with("Phase(") {
                *phase = Some(report.text.clone());
            }
            if view::line(record).is_some() {
                note("device", &report.text);
            }
        }
        Event::Pin { pin, level } => note("device", &format!("pin {pin:?} = {level}")),
        Event::Step { id, action, error } => {
            let id = id.as_ref().map_or(String::new(), |id| format!("[{id}] "));
            let error = error
                .as_ref()
                .map_or(String::new(), |e| format!(" FAILED: {e}"));
            note("scenario", &format!("{id}{action}{error}"));
        }
        Event::Noise {
            dir,
            flipped,
            dropped,
            duplicated,
        } => note(
            "uart",
            &format!(
                "line noise {dir:?}: {flipped} flipped, {dropped} dropped, {duplicated} duplicated"
            ),
        ),
        Event::UartOverflow { dir, lost } => {
            note("uart", &format!("overflow {dir:?}: {lost} bytes lost"))
        }
        Event::LabSms { dir, number, text } => {
            let way = match dir {
                SmsDir::FromDevice => "from the device to",
                SmsDir::ToDevice => "to the device from",
            };
            note("sms", &format!("{way} {number}: {text:?}"));
        }
        Event::Client {
            step,
            action,
            error,
            ..
        } => {
            let error = error
                .as_ref()
                .map_or(String::new(), |e| format!(" FAILED: {e}"));
            note("scenario", &format!("client [{step}] {action}{error}"));
        }
        Event::Uart { .. } | Event::Net { .. } => {}
    }
}

async fn console_line(console: &mut Option<UnboundedReceiver<String>>) -> Option<String> {
    match console {
        Some(console) => console.recv().await,
        None => pending().await,
    }
}

/// A line of a device's log as a record's event: its time stamp (the device's clock) left
/// out, a pin line as a pin, anything else as a report.
pub fn log_event(line: &str) -> Event {
    let line = line.trim_end_matches(['\r', '\n']);
    let text = match line.split_once(' ') {
        Some((stamp, rest)) if is_stamp(stamp) => rest,
        _ => line,
    };
    let pin = |pin, level| Event::Pin { pin, level };
    match text {
        "power key down" => pin(Pin::PowerKey, true),
        "power key up" => pin(Pin::PowerKey, false),
        "modem reset on" => pin(Pin::Reset, true),
        "modem reset off" => pin(Pin::Reset, false),
        _ => Event::Fw {
            report: Reported::text(text),
        },
    }
}

/// `12.345s`: seconds, a dot, milliseconds, `s`.
fn is_stamp(word: &str) -> bool {
    let Some((whole, millis)) = word.strip_suffix('s').and_then(|w| w.split_once('.')) else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && digits(millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_become_reports_and_pins() {
        let report = |text: &str| Event::Fw {
            report: Reported::text(text),
        };
        assert_eq!(
            log_event("12.345s Phase(Connecting)\r"),
            report("Phase(Connecting)")
        );
        assert_eq!(
            log_event("0.002s Sent(Heartbeat, \"heart beat\")"),
            report("Sent(Heartbeat, \"heart beat\")")
        );
        assert_eq!(
            log_event("3.000s power key down"),
            Event::Pin {
                pin: Pin::PowerKey,
                level: true
            }
        );
        assert_eq!(
            log_event("3.000s modem reset off"),
            Event::Pin {
                pin: Pin::Reset,
                level: false
            }
        );
        // No stamp: the whole line.
        assert_eq!(log_event("12s x"), report("12s x"));
        assert_eq!(log_event("panic: oops"), report("panic: oops"));
    }

    /// A QEMU board logs a report as `<Instant> <Report>` (`firmware/boards/qemu/src/log.rs`
    /// and its `QemuBoard::report`): the record it becomes holds the report's trace form,
    /// as a replay's does, whatever bytes it carries.
    #[test]
    fn a_board_log_line_gives_back_the_trace_form() {
        use firmware::outbox::Kind;
        use firmware::{Instant, Phase, PowerAction, Report, RestartReason};
        for (at, report) in [
            (0, Report::Phase(Phase::Starting)),
            (
                12_345,
                Report::ModemRestart {
                    reason: RestartReason::Unresponsive,
                    action: PowerAction::Reset,
                },
            ),
            (
                86_400_000,
                Report::Sent {
                    kind: Kind::Reply,
                    data: b"back 1 2\n\r\n",
                },
            ),
            (7, Report::Received(b" \"x\" \x00\xff\t")),
        ] {
            let line = format!("{} {report}\r\n", Instant::from_millis(at));
            let expected = Event::Fw {
                report: Reported::text(report.to_string()),
            };
            assert_eq!(log_event(&line), expected, "{line}");
        }
    }
}
