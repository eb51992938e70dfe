//! A run as lanes of rows, each row a list of spans (a state from one time to another) and
//! ticks (one event): what the timeline draws, read from the typed trace and the check
//! results. No drawing here: times, paint and the text shown on hover.

use std::time::Duration;

use firmware::Phase;
use protocol::text::Quoted;
use protocol::types::RegStat;
use sim_modem::fault::Fault;
use sim_modem::modem::ModemEvent;

use crate::check::CheckResult;
use crate::format::Check;
use crate::replay::Replay;
use crate::trace::{secs, Dir, Event, FwReport, Pin, Record, SmsDir};

/// A part of the system: the network, the modem, the firmware, the server, the scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Lane {
    pub name: &'static str,
    pub rows: Vec<Row>,
}

/// One line of a lane.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Row {
    /// The label on its left.
    pub name: String,
    /// What the label says on hover (empty: its name).
    pub title: String,
    pub spans: Vec<Span>,
    pub ticks: Vec<Tick>,
}

/// A state from `from` to `to` (an instant when they are equal).
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub from: Duration,
    pub to: Duration,
    pub paint: Paint,
    pub title: String,
}

/// One event.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    pub at: Duration,
    pub paint: Paint,
    /// What happened (its hover text is its time and this).
    pub what: String,
}

impl Tick {
    /// Its hover text: when and what.
    pub fn title(&self) -> String {
        format!("{} {}", secs(self.at), self.what)
    }
}

/// How a span or a tick is coloured: a class of the page's style sheet, or, for a fault,
/// a hue of its own kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paint {
    Class(String),
    Hue(u16),
}

fn class(name: impl Into<String>) -> Paint {
    Paint::Class(name.into())
}

impl Row {
    fn named(name: &str) -> Row {
        Row {
            name: name.to_string(),
            ..Row::default()
        }
    }

    fn tick(&mut self, at: Duration, paint: Paint, what: impl std::fmt::Display) {
        self.ticks.push(Tick {
            at,
            paint,
            what: what.to_string(),
        });
    }
}

/// A row of states: each lasts until the next one (or `None`, no state) begins.
struct States {
    row: Row,
    open: Option<(Duration, String, String)>,
}

impl States {
    fn new(name: &str) -> States {
        States {
            row: Row::named(name),
            open: None,
        }
    }

    /// From `at` on, the state painted `paint` and called `what` (or none).
    fn set(&mut self, at: Duration, state: Option<(&str, String)>) {
        if let (Some((_, open_class, open_what)), Some((class, what))) = (&self.open, &state) {
            if open_class == class && open_what == what {
                return;
            }
        }
        self.close(at);
        self.open = state.map(|(class, what)| (at, class.to_string(), what));
    }

    fn close(&mut self, at: Duration) {
        if let Some((from, paint, what)) = self.open.take() {
            self.row.spans.push(Span {
                from,
                to: at,
                paint: class(paint),
                title: format!("{what}: {} to {}", secs(from), secs(at)),
            });
        }
    }

    fn finish(mut self, end: Duration) -> Row {
        self.close(end);
        self.row
    }
}

/// The lanes of a finished run: network, modem, firmware, server, and the scenario's steps
/// and expectations.
pub fn lanes(replay: &Replay) -> Vec<Lane> {
    let records = &replay.records;
    let end = replay.end;
    vec![
        Lane {
            name: "network",
            rows: network(records, end),
        },
        Lane {
            name: "modem",
            rows: modem(records, end),
        },
        Lane {
            name: "firmware",
            rows: firmware(records, end),
        },
        Lane {
            name: "server",
            rows: server(records, end),
        },
        Lane {
            name: "scenario",
            rows: scenario(replay),
        },
    ]
}

fn registration_class(stat: RegStat) -> &'static str {
    match stat {
        RegStat::Home => "good",
        RegStat::Roaming => "fair",
        RegStat::Searching | RegStat::Unknown => "wait",
        RegStat::NotRegistered => "off",
        RegStat::Denied => "bad",
    }
}

/// Registration and the PDP context as the simulated modem had them, and every fault.
fn network(records: &[Record], end: Duration) -> Vec<Row> {
    let mut registration = States::new("registration");
    let mut pdp = States::new("PDP context");
    for r in records {
        let Event::Modem { event } = &r.event else {
            continue;
        };
        match event {
            ModemEvent::Registration(stat) => registration.set(
                r.at,
                Some((registration_class(*stat), format!("registration {stat:?}"))),
            ),
            ModemEvent::PdpActivated { ip } => {
                let [a, b, c, d] = ip;
                pdp.set(r.at, Some(("good", format!("PDP active, {a}.{b}.{c}.{d}"))));
            }
            ModemEvent::PdpDeactivated => pdp.set(r.at, None),
            ModemEvent::PoweredOff(_) => {
                registration.set(r.at, None);
                pdp.set(r.at, None);
            }
            _ => {}
        }
    }
    let mut rows = vec![registration.finish(end), pdp.finish(end)];
    rows.extend(faults(records, end));
    rows
}

/// A fault's kind, as scenario files name it (`registration_lost`).
pub fn fault_kind(fault: &Fault) -> String {
    match serde_json::to_value(fault) {
        Ok(serde_json::Value::Object(map)) => map
            .get("kind")
            .and_then(|k| k.as_str())
            .unwrap_or("fault")
            .to_string(),
        _ => "fault".into(),
    }
}

/// A hue for each fault kind, the same in every report (FNV-1a of its name).
fn hue(kind: &str) -> u16 {
    let hash = kind.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    (hash % 360) as u16
}

/// Each fault as a span from when it was applied to when it ended (an instant if it has no
/// duration), stacked in as many rows as overlap; line noise and full UART buffers as ticks.
fn faults(records: &[Record], end: Duration) -> Vec<Row> {
    let mut spans: Vec<Span> = Vec::new();
    // Faults applied and not ended yet: their index in `spans`.
    let mut open: Vec<(usize, &Fault)> = Vec::new();
    let mut line = Row::named("line");
    for r in records {
        match &r.event {
            Event::Fault { fault } => {
                let kind = fault_kind(fault);
                let lasts = fault.duration().is_some_and(|d| !d.is_zero());
                // Until its end is seen (a run may stop first): as long as it says.
                let to = if lasts {
                    open.push((spans.len(), fault));
                    (r.at + fault.duration().unwrap_or_default()).min(end)
                } else {
                    r.at
                };
                spans.push(Span {
                    from: r.at,
                    to,
                    paint: Paint::Hue(hue(&kind)),
                    title: format!("{kind}: {}", fault.to_json()),
                });
            }
            Event::FaultEnd { fault } => {
                if let Some(at) = open.iter().position(|(_, f)| *f == fault) {
                    let (index, _) = open.remove(at);
                    spans[index].to = r.at;
                }
            }
            Event::Noise {
                dir,
                flipped,
                dropped,
                duplicated,
            } => line.tick(
                r.at,
                class("bad"),
                format_args!(
                    "line noise {dir:?}: {flipped} flipped, {dropped} dropped, {duplicated} duplicated"
                ),
            ),
            Event::UartOverflow { dir, lost } => line.tick(
                r.at,
                class("bad"),
                format_args!("UART buffer full {dir:?}: {lost} bytes lost"),
            ),
            _ => {}
        }
    }
    for span in &mut spans {
        span.title = format!(
            "{} to {} {}",
            secs(span.from),
            secs(span.to),
            std::mem::take(&mut span.title)
        );
    }
    // Greedy stacking: each fault in the first row free at its start.
    let mut rows: Vec<Row> = Vec::new();
    for span in spans {
        let free = rows
            .iter()
            .position(|row| row.spans.last().is_none_or(|last| last.to < span.from));
        let row = match free {
            Some(i) => &mut rows[i],
            None => {
                let name = match rows.len() {
                    0 => "faults".to_string(),
                    n => format!("faults ({})", n + 1),
                };
                rows.push(Row::named(&name));
                rows.last_mut().expect("just pushed")
            }
        };
        row.spans.push(span);
    }
    if rows.is_empty() {
        rows.push(Row::named("faults"));
    }
    if !line.ticks.is_empty() {
        rows.push(line);
    }
    rows
}

/// The modem's power, its links, and the AT lines each way.
fn modem(records: &[Record], end: Duration) -> Vec<Row> {
    let mut power = States::new("power");
    let mut links = Row::named("links");
    let mut open_links: Vec<(u8, Duration, String)> = Vec::new();
    let mut commands = Row::named("commands");
    let mut replies = Row::named("replies, URCs");
    for r in records {
        match &r.event {
            Event::Modem { event } => match event {
                ModemEvent::PoweredOn => power.set(r.at, Some(("wait", "booting".into()))),
                ModemEvent::Ready => power.set(r.at, Some(("good", "ready".into()))),
                ModemEvent::Hung => power.set(r.at, Some(("bad", "hung".into()))),
                ModemEvent::PoweredOff(cause) => {
                    power.set(r.at, Some(("off", format!("off ({cause:?})"))))
                }
                ModemEvent::UnderVoltage | ModemEvent::Cfun(_) | ModemEvent::Asleep(_) => power
                    .row
                    .tick(r.at, class("mark"), format_args!("{event:?}")),
                ModemEvent::LinkOpened {
                    link,
                    transport,
                    host,
                    port,
                } => open_links.push((
                    *link,
                    r.at,
                    format!("link {} {transport:?} to {host}:{port}", *link),
                )),
                ModemEvent::LinkClosed { link, cause } => {
                    if let Some(i) = open_links.iter().position(|(l, ..)| *l == *link) {
                        let (_, from, what) = open_links.remove(i);
                        links
                            .spans
                            .push(link_span(from, r.at, what, &format!("{cause:?}")));
                    }
                }
                _ => {}
            },
            Event::Pin { pin, level } => {
                let pin = match pin {
                    Pin::PowerKey => "power key",
                    Pin::Reset => "reset line",
                };
                let level = if *level { "high" } else { "low" };
                power.row.tick(
                    r.at,
                    class("pin"),
                    format_args!("the firmware drove the {pin} {level}"),
                );
            }
            Event::At { dir, line } => {
                let (row, paint) = match dir {
                    Dir::ToModem => (&mut commands, "cmd"),
                    Dir::FromModem => (&mut replies, "reply"),
                };
                row.tick(r.at, class(paint), Quoted(&line.0));
            }
            _ => {}
        }
    }
    for (_, from, what) in open_links {
        links
            .spans
            .push(link_span(from, end, what, "open at the end"));
    }
    links.spans.sort_by_key(|s| s.from);
    vec![power.finish(end), links, commands, replies]
}

fn link_span(from: Duration, to: Duration, what: String, closed: &str) -> Span {
    Span {
        from,
        to,
        paint: class("good"),
        title: format!("{} to {} {what}, closed: {closed}", secs(from), secs(to)),
    }
}

/// Reports that mean trouble: drawn in their own row, in red.
fn trouble(report: &FwReport) -> bool {
    matches!(
        report,
        FwReport::ModemRestart { .. }
            | FwReport::LinkLost { .. }
            | FwReport::Dropped { .. }
            | FwReport::ConnectFailed { .. }
            | FwReport::DataLinkShut
            | FwReport::AtTimeout { .. }
            | FwReport::AtRejected { .. }
            | FwReport::AtResync
            | FwReport::Decode { .. }
            | FwReport::UartError { .. }
            | FwReport::ClockSyncFailed { .. }
            | FwReport::ReceivedTooLong
    )
}

/// How a phase is called on the page.
fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Starting => "start-up",
        Phase::BringingUp => "bring-up",
        Phase::FlightMode => "flight mode",
        Phase::Connecting => "connecting",
        Phase::Connected => "connected",
        Phase::Pausing => "pausing",
        Phase::Restarting => "restart",
    }
}

/// The firmware's phases and LED (from its typed reports), and its other reports as ticks:
/// the troubling ones in a row of their own. Watchdog feeds and outbox depths are left out
/// (as in the live view): they are many and say little.
fn firmware(records: &[Record], end: Duration) -> Vec<Row> {
    let mut phases = States::new("phase");
    let mut led = States::new("LED");
    let mut reports = Row::named("reports");
    let mut troubles = Row::named("trouble");
    for r in records {
        let Event::Fw { report } = &r.event else {
            continue;
        };
        match &report.typed {
            Some(FwReport::Phase { phase }) => phases.set(
                r.at,
                Some((
                    &format!("ph-{phase:?}"),
                    format!("phase {}", phase_name(*phase)),
                )),
            ),
            Some(FwReport::Led { state }) => led.set(
                r.at,
                Some((&format!("led-{state:?}"), format!("LED {state:?}"))),
            ),
            Some(FwReport::WatchdogFed | FwReport::Outbox { .. } | FwReport::Queued { .. }) => {}
            Some(typed) if trouble(typed) => troubles.tick(r.at, class("bad"), &report.text),
            _ => reports.tick(r.at, class("rep"), &report.text),
        }
    }
    vec![phases.finish(end), led.finish(end), reports, troubles]
}

/// The lab server's connections, and each chunk it received and sent.
fn server(records: &[Record], end: Duration) -> Vec<Row> {
    let mut connections = Row::named("connections");
    let mut open: Vec<(u32, Duration, String)> = Vec::new();
    let mut received = Row::named("received");
    let mut sent = Row::named("sent");
    let span = |from: Duration, to: Duration, what: String, how: &str| Span {
        from,
        to,
        paint: class("good"),
        title: format!("{} to {} {what}: {how}", secs(from), secs(to)),
    };
    for r in records {
        match &r.event {
            Event::LabAccepted {
                client,
                transport,
                peer,
            } => open.push((
                *client,
                r.at,
                format!("client {client} ({transport} from {peer})"),
            )),
            Event::LabClosed { client, reason } => {
                if let Some(i) = open.iter().position(|(c, ..)| c == client) {
                    let (_, from, what) = open.remove(i);
                    connections.spans.push(span(from, r.at, what, reason));
                }
            }
            Event::LabReceived { client, data } => received.tick(
                r.at,
                class("recv"),
                format_args!("client {client} sent {}", Quoted(&data.0)),
            ),
            Event::LabSent { client, data } => sent.tick(
                r.at,
                class("sent"),
                format_args!("to client {client}: {}", Quoted(&data.0)),
            ),
            Event::LabSms { dir, number, text } => match dir {
                SmsDir::FromDevice => received.tick(
                    r.at,
                    class("recv"),
                    format_args!("SMS from {number}: {text:?}"),
                ),
                SmsDir::ToDevice => sent.tick(
                    r.at,
                    class("sent"),
                    format_args!("SMS to {number}: {text:?}"),
                ),
            },
            _ => {}
        }
    }
    for (_, from, what) in open {
        connections
            .spans
            .push(span(from, end, what, "open at the end"));
    }
    connections.spans.sort_by_key(|s| s.from);
    vec![connections, received, sent]
}

/// What an expectation's result is called, and painted.
pub fn outcome(replay: &Replay, result: &CheckResult) -> &'static str {
    match (&result.skipped, result.passed()) {
        (Some(_), _) => "skip",
        (None, true) => "pass",
        (None, false) if replay.known(result) => "known",
        (None, false) => "fail",
    }
}

/// The timeline's steps, and each expectation as a row: its window (green when met, red
/// when not), when it matched and where its failure is.
fn scenario(replay: &Replay) -> Vec<Row> {
    let mut steps = Row::named("steps");
    for r in &replay.records {
        let (what, error) = match &r.event {
            Event::Step { id, action, error } => {
                let id = id.as_ref().map_or(String::new(), |id| format!("[{id}] "));
                (format!("{id}{action}"), error)
            }
            // The scripted client's steps (a file's `client` section).
            Event::Client {
                step,
                action,
                error,
                ..
            } => (format!("client step {step}: {action}"), error),
            _ => continue,
        };
        match error {
            Some(error) => steps.tick(r.at, class("bad"), format_args!("{what} FAILED: {error}")),
            None => steps.tick(r.at, class("step"), what),
        }
    }
    let mut rows = vec![steps];
    for result in &replay.results {
        let expectation = replay.scenario.expect.get(result.index);
        let id = expectation.and_then(|e| e.id.as_deref());
        let outcome = outcome(replay, result);
        // Named by its id, else by what it checks.
        let name = id.map(str::to_string).or_else(|| {
            expectation.map(|e| match &e.check {
                Check::Happens { .. } => "happens".into(),
                Check::Never { .. } => "never".into(),
                Check::Periodic { .. } => "periodic".into(),
                Check::Answered { .. } => "answered".into(),
                Check::Invariant { name } => name.clone(),
            })
        });
        let label = format!("#{} {}", result.index + 1, name.unwrap_or_default());
        let mut row = Row::named(label.trim_end());
        let mut title = format!("#{} {outcome}: {}", result.index + 1, result.summary);
        if let Some(failure) = &result.failure {
            title = format!("{title}\n{}", failure.message);
        }
        if let Some(why) = &result.skipped {
            title = format!("{title}\n{why}");
        }
        row.title = title.clone();
        if let Some((from, to)) = result.window {
            let to = to.max(from);
            row.spans.push(Span {
                from,
                to,
                paint: class(format!("x-{outcome}")),
                title: format!("{} to {} {title}", secs(from), secs(to)),
            });
        }
        if let Some(at) = result.matched_at {
            row.tick(at, class("mark"), "first match");
        }
        if let Some(at) = result.failure.as_ref().and_then(|f| f.around) {
            let message = &result.failure.as_ref().expect("a failure").message;
            row.tick(at, class("bad"), format_args!("failed here: {message}"));
        }
        rows.push(row);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn record(s: u64, event: Event) -> Record {
        Record { at: at(s), event }
    }

    /// The spans of each fault row, as `(from, to)` in seconds.
    fn fault_rows(records: &[Record], end: u64) -> Vec<(String, Vec<(u64, u64)>)> {
        faults(records, at(end))
            .into_iter()
            .map(|row| {
                let spans = row
                    .spans
                    .iter()
                    .map(|s| (s.from.as_secs(), s.to.as_secs()))
                    .collect();
                (row.name, spans)
            })
            .collect()
    }

    #[test]
    fn faults_last_until_they_end_and_stack_when_they_overlap() {
        let lost = Fault::RegistrationLost { duration: at(30) };
        let blackhole = Fault::Blackhole { duration: at(100) };
        let check = |records: Vec<Record>, want: &[(&str, &[(u64, u64)])]| {
            let want: Vec<(String, Vec<(u64, u64)>)> = want
                .iter()
                .map(|(name, spans)| (name.to_string(), spans.to_vec()))
                .collect();
            assert_eq!(fault_rows(&records, 200), want);
        };
        let fault = |s, fault: &Fault| {
            record(
                s,
                Event::Fault {
                    fault: fault.clone(),
                },
            )
        };
        let end = |s, fault: &Fault| {
            record(
                s,
                Event::FaultEnd {
                    fault: fault.clone(),
                },
            )
        };
        check(vec![], &[("faults", &[])]);
        // Ended when its end is seen; an instant has no end.
        check(
            vec![fault(10, &lost), end(40, &lost), fault(50, &Fault::Reboot)],
            &[("faults", &[(10, 40), (50, 50)])],
        );
        // Overlapping: a second row. Not ended by the end of the run: as long as it says,
        // cut at the end.
        check(
            vec![
                fault(10, &lost),
                fault(20, &blackhole),
                end(40, &lost),
                fault(150, &lost),
            ],
            &[
                ("faults", &[(10, 40), (150, 180)]),
                ("faults (2)", &[(20, 120)]),
            ],
        );
        check(vec![fault(150, &blackhole)], &[("faults", &[(150, 200)])]);
    }

    #[test]
    fn states_run_until_the_next_and_repeat_only_on_change() {
        let mut states = States::new("s");
        states.set(at(0), Some(("a", "A".into())));
        states.set(at(5), Some(("a", "A".into())));
        states.set(at(10), Some(("b", "B".into())));
        states.set(at(20), None);
        states.set(at(30), Some(("a", "A".into())));
        let row = states.finish(at(40));
        let spans: Vec<(u64, u64, Paint)> = row
            .spans
            .iter()
            .map(|s| (s.from.as_secs(), s.to.as_secs(), s.paint.clone()))
            .collect();
        assert_eq!(
            spans,
            [
                (0, 10, class("a")),
                (10, 20, class("b")),
                (30, 40, class("a"))
            ]
        );
        assert_eq!(row.spans[1].title, "B: 10.000000s to 20.000000s");
    }
}
