//! The invariants every run must keep (DESIGN.md, "What every run must keep"), each with a
//! name, a one-line statement and its bound from the device's configuration, judged from the
//! run's typed trace: the firmware's reports as values ([`FwReport`]), the bytes the lab
//! server sent and received, the modem's lines, and the steps the run applied.
//!
//! | invariant | kind | judged |
//! |---|---|---|
//! | `answered` | safety | every request the device received (`back…`, `bin`, `time`) is answered: a `Sent` reply with its bytes, unless the firmware reported the reply `Dropped` |
//! | `no_command_in_data` | safety | no AT command reaches the server: what it receives holds no command line the firmware meant for the modem |
//! | `only_asked_for` | safety | the server receives nothing but heartbeats and replies to what the device received (bytes corrupted on the way included) |
//! | `replies_unchanged` | safety | what the device takes for a request is bytes the server sent; a `time` reply is the network's time (`0`, "no clock yet", only after a failed sync and before any success) |
//! | `outbox_bounded` | safety | the outbox never holds more than its bound |
//! | `healthy_modem_kept` | safety | a modem that answered within the no-answer limit, or could answer throughout it (the simulator says it was neither hung, off nor booting, and no line noise is to blame), is never power-cycled |
//! | `no_panic` | safety | nothing panics (the run's own result: the swarm checks it) |
//! | `deterministic` | safety | the same seed gives the same trace (the swarm reruns a sample) |
//! | `reconnected` | liveness | once the last fault is over, the device is connected within the recovery bound, and back within it whenever it loses the connection (a lossy network may still drop one) |
//! | `heartbeat_grid` | liveness | then heartbeats reach the server every `heartbeat_interval`, ± `send_timeout` (a copy of one sent again is no violation) |
//! | `replies_delivered` | liveness | every request is answered within the recovery bound of its arrival or of the last fault's end, whichever is later |
//!
//! "Answered" follows the framing: with `raw` and `newline` framing the firmware promises
//! at least once (a reply whose `SEND OK` was lost may come twice), so a second copy is no
//! violation. The quiet phase starts when the last fault is over: a fault's end, a one-off
//! fault's moment, a `send_fail`'s last failure, a lab close or reset (see [`quiet_start`]).
//! The liveness invariants are judged only when the run goes on for the recovery bound
//! after it.

use std::collections::BTreeMap;
use std::time::Duration;

use firmware::config::{OUTBOX_BYTES, OUTBOX_ENTRIES};
use firmware::outbox::Kind;
use firmware::{Config, Phase, PowerAction, RestartReason};
use protocol::app::{reply_to, Reply, BIN_REPLY, HEARTBEAT};
use sim_modem::fault::Fault;
use sim_modem::modem::ModemEvent;

use crate::trace::{secs, Dir, Event, FwReport, Record};
use crate::world::Action;

/// One invariant: its name (as files and reports name it), what it says, its bound.
#[derive(Debug, Clone, Copy)]
pub struct Invariant {
    pub name: &'static str,
    /// The statement, one line.
    pub statement: &'static str,
    /// The bound it holds to, from the configuration.
    pub bound: fn(&Config) -> String,
    pub judged: Judged,
}

/// How an invariant is judged.
#[derive(Debug, Clone, Copy)]
pub enum Judged {
    /// From a run's trace ([`Evidence`]): an `"expect": "invariant"` in a file can name it.
    Trace(fn(&Evidence<'_>) -> Vec<Violation>),
    /// By the run itself: a replay that panicked (its error).
    Panic,
    /// By running the same seed again.
    Rerun,
}

/// An invariant broken: which, when, how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub invariant: &'static str,
    pub at: Duration,
    pub message: String,
}

/// A step the run applied: when, when its fault ended (if it has a duration), what it did.
#[derive(Debug, Clone, Copy)]
pub struct Applied<'a> {
    pub at: Duration,
    pub end: Option<Duration>,
    pub action: &'a Action,
}

/// What the invariants judge: a run's configuration, trace and steps.
pub struct Evidence<'a> {
    pub config: &'a Config,
    pub records: &'a [Record],
    pub steps: Vec<Applied<'a>>,
    pub end: Duration,
    /// Unix time at virtual time 0 (the network's clock, `time` replies are held to it).
    pub unix_start: u64,
}

/// Every invariant, safety first.
pub const INVARIANTS: &[Invariant] = &[
    Invariant {
        name: "answered",
        statement: "every request the device received is answered (at least once), unless the firmware reported the reply dropped",
        bound: |c| {
            format!(
                "requests received up to the recovery bound ({}) before the end",
                units::format_duration(recovery_bound(c))
            )
        },
        judged: Judged::Trace(answered),
    },
    Invariant {
        name: "no_command_in_data",
        statement: "no AT command the firmware meant for the modem reaches the server as data",
        bound: |_| "every byte, on every connection".into(),
        judged: Judged::Trace(no_command_in_data),
    },
    Invariant {
        name: "only_asked_for",
        statement: "the server receives nothing but heartbeats and replies to what the device received",
        bound: |_| "every byte, on every connection".into(),
        judged: Judged::Trace(only_asked_for),
    },
    Invariant {
        name: "replies_unchanged",
        statement: "what the device takes for a request is bytes the server sent, and a time reply is the network's time",
        bound: |_| format!("time ± {TIME_SLACK} s of the network's when the request arrived"),
        judged: Judged::Trace(replies_unchanged),
    },
    Invariant {
        name: "outbox_bounded",
        statement: "the outbox never holds more than its bound",
        bound: |_| format!("{OUTBOX_ENTRIES} messages, {OUTBOX_BYTES} bytes"),
        judged: Judged::Trace(outbox_bounded),
    },
    Invariant {
        name: "healthy_modem_kept",
        statement: "a modem that answered within the no-answer limit, or could answer throughout it, is never power-cycled",
        bound: |c| {
            format!(
                "no answer for at_no_answer_limit ({}) before a reset for Unresponsive, boot_timeout ({}) for NoAnswer",
                units::format_duration(c.at_no_answer_limit),
                units::format_duration(c.boot_timeout)
            )
        },
        judged: Judged::Trace(healthy_modem_kept),
    },
    Invariant {
        name: "no_panic",
        statement: "nothing panics: the firmware, the simulation, the harness",
        bound: |_| "every run".into(),
        judged: Judged::Panic,
    },
    Invariant {
        name: "deterministic",
        statement: "the same seed gives the same trace, byte for byte",
        bound: |_| "a sample of the seeds, run twice".into(),
        judged: Judged::Rerun,
    },
    Invariant {
        name: "reconnected",
        statement: "once the last fault is over, the device is connected within the recovery bound, and back within it whenever it loses the connection",
        bound: |c| units::format_duration(recovery_bound(c)),
        judged: Judged::Trace(reconnected),
    },
    Invariant {
        name: "heartbeat_grid",
        statement: "once reconnected after the last fault, heartbeats reach the server on their grid",
        bound: |c| {
            format!(
                "every heartbeat_interval ({}) ± send_timeout ({})",
                units::format_duration(c.heartbeat_interval),
                units::format_duration(c.send_timeout)
            )
        },
        judged: Judged::Trace(heartbeat_grid),
    },
    Invariant {
        name: "replies_delivered",
        statement: "every request is answered within the recovery bound of its arrival or of the last fault's end, whichever is later",
        bound: |c| units::format_duration(recovery_bound(c)),
        judged: Judged::Trace(replies_delivered),
    },
];

/// The invariant of that name.
pub fn invariant(name: &str) -> Option<&'static Invariant> {
    INVARIANTS.iter().find(|i| i.name == name)
}

/// The invariants judged from a trace, each with its violations (empty: kept).
pub fn judge(evidence: &Evidence<'_>) -> Vec<(&'static Invariant, Vec<Violation>)> {
    INVARIANTS
        .iter()
        .filter_map(|invariant| match invariant.judged {
            Judged::Trace(judge) => Some((invariant, judge(evidence))),
            Judged::Panic | Judged::Rerun => None,
        })
        .collect()
}

/// How far a `time` reply may be from the network's time when the request arrived.
pub const TIME_SLACK: u64 = 5;

/// The longest the device may take, once the last fault is over, to be connected again with
/// its queue sent: every step of the recovery ladder that may be in progress when the
/// faults end, one after the other. A hung modem is noticed (`hung_modem_bound`) and
/// restarted (a RESET pulse, then the power key, each followed by `boot_timeout` of probing,
/// and the SIM's `sim_timeout`); flight mode ends (`flight_mode`, `AT+CFUN` twice); the data
/// link is shut and brought up (`AT+CIPSHUT`, `AT+CIICR`); a connect times out and pauses
/// before the next; the clock is synced (`ntp_timeout`); a link dead with nothing said (a
/// peer gone, a PDP context lost silently) is noticed (`dead_link_bound`: the next
/// heartbeat and its send timeout); and a minute for the modem's own start-up and the
/// network's answers.
pub fn recovery_bound(c: &Config) -> Duration {
    c.hung_modem_bound()
        + c.reset_pulse
        + c.power_key_press
        + 2 * c.boot_timeout
        + c.sim_timeout
        + c.flight_mode
        + 2 * c.cfun_timeout
        + c.cipshut_timeout
        + c.ciicr_timeout
        + c.connect_timeout
        + c.longest_connect_pause()
        + c.ntp_timeout
        + c.dead_link_bound()
        + Duration::from_secs(60)
}

/// When the last fault is over: the latest of a fault's end (a latency spike's end plus its
/// extra latency), a one-off fault, a `send_fail`'s last `SEND FAIL`, a lab close or reset,
/// and the modem hanging by itself (the simulator's `Hung`: a `hang_after` recurs).
/// `None` when a `send_fail` still had failures left at the end.
pub fn quiet_start(e: &Evidence<'_>) -> Option<Duration> {
    let mut quiet = Duration::ZERO;
    for planned in &e.steps {
        let over = match planned.action {
            Action::Fault(Fault::SendFail { count }) => send_fails_end(e, planned.at, *count)?,
            Action::Fault(Fault::LatencySpike { extra, .. }) => {
                planned.end.unwrap_or(planned.at) + *extra
            }
            Action::Fault(_) => planned.end.unwrap_or(planned.at),
            Action::LabClose { .. } | Action::LabReset { .. } => planned.at,
            Action::LabSend { .. } | Action::LabSms { .. } => continue,
        };
        quiet = quiet.max(over);
    }
    // A modem that hangs by itself (`hang_after` comes back after every power-up) is a fault
    // too, when it comes.
    let hung = e.records.iter().filter(|r| {
        matches!(
            &r.event,
            Event::Modem {
                event: ModemEvent::Hung
            }
        )
    });
    Some(hung.map(|r| r.at).fold(quiet, Duration::max))
}

/// When the `count`-th `SEND FAIL` after `from` came, if it did.
fn send_fails_end(e: &Evidence<'_>, from: Duration, count: u32) -> Option<Duration> {
    if count == 0 {
        return Some(from);
    }
    modem_lines(e.records)
        .filter(|(at, line)| *at >= from && line.ends_with(b"SEND FAIL"))
        .nth(count as usize - 1)
        .map(|(at, _)| at)
}

/// The liveness invariants: judged only when the run goes on for the recovery bound after
/// the quiet phase's start ([`liveness_unjudged`]).
pub const LIVENESS: [&str; 3] = ["reconnected", "heartbeat_grid", "replies_delivered"];

/// Why the liveness invariants cannot be judged on this run, if they cannot: it ends before
/// the quiet phase's start plus the recovery bound (a file that names one would pass
/// without a check).
pub fn liveness_unjudged(e: &Evidence<'_>) -> Option<String> {
    if quiet_window(e).is_some() {
        return None;
    }
    let bound = units::format_duration(recovery_bound(e.config));
    Some(match quiet_start(e) {
        Some(quiet) => format!(
            "not judged: the run ends at {}, before the quiet phase (from {}) plus the recovery bound ({bound})",
            secs(e.end),
            secs(quiet)
        ),
        None => "not judged: a send_fail still had failures left at the end".to_string(),
    })
}

/// The window the liveness invariants judge: from the quiet phase's start, if the run goes
/// on for the recovery bound after it.
fn quiet_window(e: &Evidence<'_>) -> Option<Duration> {
    let quiet = quiet_start(e)?;
    (quiet + recovery_bound(e.config) <= e.end).then_some(quiet)
}

// ---- what the trace says ----

/// The firmware's typed reports, with their times.
fn reports(records: &[Record]) -> impl Iterator<Item = (Duration, &FwReport)> {
    records.iter().filter_map(|r| match &r.event {
        Event::Fw { report } => report.typed.as_ref().map(|typed| (r.at, typed)),
        _ => None,
    })
}

/// The lines the modem wrote to the firmware (as the firmware got them).
fn modem_lines(records: &[Record]) -> impl Iterator<Item = (Duration, &[u8])> {
    records.iter().filter_map(|r| match &r.event {
        Event::At {
            dir: Dir::FromModem,
            line,
        } => Some((r.at, line.0.as_slice())),
        _ => None,
    })
}

/// A message the device received that asks for a reply.
#[derive(Debug, Clone)]
struct Request {
    at: Duration,
    data: Vec<u8>,
    /// The firmware reported its reply dropped (the outbox was full, or it was too long).
    dropped: bool,
}

impl Request {
    fn reply(&self) -> Reply<'_> {
        reply_to(&self.data).expect("requests ask for a reply")
    }

    /// Whether `sent` (a reply's bytes, without the framing's terminator) answers it.
    fn answered_by(&self, sent: &[u8]) -> bool {
        match self.reply() {
            Reply::Echo(message) => sent == message,
            Reply::Bin => sent == BIN_REPLY,
            Reply::Time => !sent.is_empty() && sent.iter().all(u8::is_ascii_digit),
        }
    }

    fn describe(&self) -> String {
        format!(
            "{} received at {}",
            sim_modem::lab::escape(&self.data),
            secs(self.at)
        )
    }
}

/// The requests the device received, in order; a reply reported `Dropped` right after its
/// request (before the next message) marks it dropped.
fn requests(records: &[Record]) -> Vec<Request> {
    let mut requests: Vec<Request> = Vec::new();
    let mut last_was_request = false;
    for (at, report) in reports(records) {
        match report {
            FwReport::Received { data } => {
                last_was_request = reply_to(&data.0).is_some();
                if last_was_request {
                    requests.push(Request {
                        at,
                        data: data.0.clone(),
                        dropped: false,
                    });
                }
            }
            FwReport::Dropped {
                message: Kind::Reply,
                ..
            } if last_was_request => {
                if let Some(request) = requests.last_mut() {
                    request.dropped = true;
                }
                last_was_request = false;
            }
            _ => {}
        }
    }
    requests
}

/// The replies the firmware sent (acknowledged), with their times, without the terminator.
/// A framing that marks its messages' ends may carry several replies in one send (the
/// outbox joins a burst's replies, issue 11): each is one reply here.
fn sent_replies<'a>(e: &'a Evidence<'_>) -> Vec<(Duration, &'a [u8])> {
    let terminator = e.config.framing.terminator();
    let mut replies = Vec::new();
    for (at, report) in reports(e.records) {
        let FwReport::Sent {
            message: Kind::Reply,
            data,
        } = report
        else {
            continue;
        };
        let data = data.0.strip_suffix(terminator).unwrap_or(&data.0);
        match terminator {
            [] => replies.push((at, data)),
            _ => replies.extend(split(data, terminator).map(|reply| (at, reply))),
        }
    }
    replies
}

/// `data`'s pieces between `separator`s.
fn split<'a>(data: &'a [u8], separator: &'a [u8]) -> impl Iterator<Item = &'a [u8]> {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let now = rest?;
        match now.windows(separator.len()).position(|w| w == separator) {
            Some(i) => {
                rest = Some(&now[i + separator.len()..]);
                Some(&now[..i])
            }
            None => {
                rest = None;
                Some(now)
            }
        }
    })
}

/// A reply sent: when, and its bytes without the terminator.
type Answer = (Duration, Vec<u8>);

/// Each request with the time of its first answer, if any: in order, each answer answers
/// the earliest request still waiting for one like it (copies of an answer are allowed:
/// at least once).
fn answers(e: &Evidence<'_>) -> Vec<(Request, Option<Answer>)> {
    let mut pending: Vec<(Request, Option<Answer>)> =
        requests(e.records).into_iter().map(|r| (r, None)).collect();
    for (at, sent) in sent_replies(e) {
        // A request whose reply was dropped waits for nothing.
        let waiting = pending.iter_mut().find(|(r, answer)| {
            answer.is_none() && !r.dropped && r.at <= at && r.answered_by(sent)
        });
        if let Some((_, answer)) = waiting {
            *answer = Some((at, sent.to_vec()));
        }
    }
    pending
}

// ---- the invariants ----

fn violation(invariant: &'static str, at: Duration, message: String) -> Violation {
    Violation {
        invariant,
        at,
        message,
    }
}

fn answered(e: &Evidence<'_>) -> Vec<Violation> {
    let judged_until = e.end.saturating_sub(recovery_bound(e.config));
    answers(e)
        .into_iter()
        .filter(|(r, answer)| answer.is_none() && !r.dropped && r.at <= judged_until)
        .map(|(r, _)| {
            let message = format!("{}: never answered", r.describe());
            violation("answered", r.at, message)
        })
        .collect()
}

fn replies_delivered(e: &Evidence<'_>) -> Vec<Violation> {
    let Some(quiet) = quiet_window(e) else {
        return Vec::new();
    };
    let bound = recovery_bound(e.config);
    answers(e)
        .into_iter()
        .filter(|(r, _)| !r.dropped)
        .filter_map(|(r, answer)| {
            let deadline = r.at.max(quiet) + bound;
            let late = match &answer {
                Some((at, _)) => *at > deadline,
                None => deadline <= e.end,
            };
            late.then(|| {
                let when = match &answer {
                    Some((at, _)) => format!("answered at {}", secs(*at)),
                    None => "not answered".into(),
                };
                let message = format!(
                    "{}: {when}, due by {} (the last fault was over at {})",
                    r.describe(),
                    secs(deadline),
                    secs(quiet)
                );
                violation("replies_delivered", deadline, message)
            })
        })
        .collect()
}

/// How the parse of a connection's bytes reached a position.
#[derive(Debug, Clone, Copy)]
enum Reach {
    Start,
    /// A piece from this position.
    From(usize, Piece),
    /// Unasked-for bytes from this position (where the parse was stuck).
    After(usize),
}

/// A piece of what the server received on one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece {
    Heartbeat,
    Reply,
}

/// What the server received on each connection, cut into heartbeats and replies to what
/// the device received (whatever the network did to the segments): the pieces with the time
/// of their last byte, and where a connection holds bytes that are neither.
struct ServerStreams {
    pieces: Vec<(Duration, Piece)>,
    /// (when, client, the bytes from there on) of each connection that did not parse.
    unasked: Vec<(Duration, u32, Vec<u8>)>,
}

fn server_streams(e: &Evidence<'_>) -> ServerStreams {
    let terminator = e.config.framing.terminator();
    let requests = requests(e.records);
    let time_asked = requests
        .iter()
        .any(|r| matches!(r.reply(), Reply::Time))
        .then_some(());
    // Every reply any request asks for (the time reply is any run of digits).
    let mut replies: Vec<Vec<u8>> = requests
        .iter()
        .filter_map(|r| match r.reply() {
            Reply::Echo(m) => Some(m.to_vec()),
            Reply::Bin => Some(BIN_REPLY.to_vec()),
            Reply::Time => None,
        })
        .collect();
    replies.sort();
    replies.dedup();
    let mut streams: BTreeMap<u32, (Vec<u8>, Vec<Duration>)> = BTreeMap::new();
    for record in e.records {
        if let Event::LabReceived { client, data } = &record.event {
            let (bytes, times) = streams.entry(*client).or_default();
            bytes.extend_from_slice(&data.0);
            times.extend(std::iter::repeat_n(record.at, data.0.len()));
        }
    }
    let mut out = ServerStreams {
        pieces: Vec::new(),
        unasked: Vec::new(),
    };
    for (client, (bytes, times)) in streams {
        // The pieces a message may be, at `i`: (length, piece).
        let pieces_at = |i: usize| -> Vec<(usize, Piece)> {
            let rest = &bytes[i..];
            let whole = |message: &[u8]| {
                rest.starts_with(message) && rest[message.len()..].starts_with(terminator)
            };
            let mut found = Vec::new();
            if whole(HEARTBEAT) {
                found.push((HEARTBEAT.len() + terminator.len(), Piece::Heartbeat));
            }
            for reply in replies.iter().filter(|r| whole(r)) {
                found.push((reply.len() + terminator.len(), Piece::Reply));
            }
            if time_asked.is_some() {
                let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
                if digits > 0 && rest[digits..].starts_with(terminator) {
                    found.push((digits + terminator.len(), Piece::Reply));
                }
            }
            found
        };
        // How each position was reached: every parse is explored at once, position by
        // position; where none goes on, the bytes up to the next message are unasked-for.
        let mut reach: Vec<Option<Reach>> = vec![None; bytes.len() + 1];
        reach[0] = Some(Reach::Start);
        let mut furthest = 0;
        for i in 0..bytes.len() {
            if reach[i].is_none() {
                if i <= furthest || pieces_at(i).is_empty() {
                    continue;
                }
                // Stuck at `furthest`: the parse goes on at the next message.
                out.unasked
                    .push((times[furthest], client, bytes[furthest..i].to_vec()));
                reach[i] = Some(Reach::After(furthest));
            }
            for (len, piece) in pieces_at(i) {
                let to = i + len;
                if reach[to].is_none() {
                    reach[to] = Some(Reach::From(i, piece));
                }
                furthest = furthest.max(to);
            }
            furthest = furthest.max(i);
        }
        let end = if reach[bytes.len()].is_some() {
            bytes.len()
        } else {
            furthest
        };
        let mut at = end;
        let mut pieces = Vec::new();
        loop {
            match reach[at] {
                Some(Reach::From(from, piece)) => {
                    pieces.push((times[at - 1], piece));
                    at = from;
                }
                Some(Reach::After(stuck)) => at = stuck,
                Some(Reach::Start) | None => break,
            }
        }
        out.pieces.extend(pieces.into_iter().rev());
        if end < bytes.len() {
            let rest = &bytes[end..];
            // A connection that ended in the middle of a message is no violation.
            let cut = |message: &[u8]| message.starts_with(rest);
            let partial = cut(HEARTBEAT)
                || replies.iter().any(|r| cut(r))
                || (time_asked.is_some() && rest.iter().all(u8::is_ascii_digit));
            if !partial {
                out.unasked.push((times[end], client, rest.to_vec()));
            }
        }
    }
    out.pieces.sort_by_key(|(at, _)| *at);
    out
}

/// Whether bytes the server got hold an AT command line (`AT…\r`): the firmware's command
/// taken for data by the modem. The firmware writes its commands in capitals and without a
/// space, so `beat\r` (a heartbeat and a line end that noise put in its data) is not one.
fn holds_command(bytes: &[u8]) -> bool {
    bytes.windows(2).enumerate().any(|(i, w)| {
        w == b"AT"
            && bytes[i..]
                .iter()
                .position(|&b| b == b'\r')
                .is_some_and(|end| !bytes[i..i + end].contains(&b' '))
    })
}

/// The bytes the server received that are neither heartbeats nor replies, split: those that
/// hold an AT command (`commands`: true) or not.
fn unasked(e: &Evidence<'_>, commands: bool, invariant: &'static str) -> Vec<Violation> {
    server_streams(e)
        .unasked
        .into_iter()
        .filter(|(_, _, rest)| holds_command(rest) == commands)
        .map(|(at, client, rest)| {
            let shown: Vec<u8> = rest.iter().copied().take(60).collect();
            let message = format!(
                "client {client}: the server received {}{} at {}: neither a heartbeat nor a reply to what the device received",
                sim_modem::lab::escape(&shown),
                if rest.len() > shown.len() { "..." } else { "" },
                secs(at)
            );
            violation(invariant, at, message)
        })
        .collect()
}

fn no_command_in_data(e: &Evidence<'_>) -> Vec<Violation> {
    unasked(e, true, "no_command_in_data")
}

fn only_asked_for(e: &Evidence<'_>) -> Vec<Violation> {
    unasked(e, false, "only_asked_for")
}

fn replies_unchanged(e: &Evidence<'_>) -> Vec<Violation> {
    let mut sent_by_server: BTreeMap<u32, Vec<u8>> = BTreeMap::new();
    for record in e.records {
        if let Event::LabSent { client, data } = &record.event {
            sent_by_server
                .entry(*client)
                .or_default()
                .extend_from_slice(&data.0);
        }
    }
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    let mut violations = Vec::new();
    for (request, answer) in answers(e) {
        let from_server = sent_by_server
            .values()
            .any(|sent| contains(sent, &request.data));
        if !from_server {
            let message = format!(
                "{}: the server never sent these bytes (changed on the way)",
                request.describe()
            );
            violations.push(violation("replies_unchanged", request.at, message));
        }
        if let (Reply::Time, Some((at, sent))) = (request.reply(), answer) {
            let network = e.unix_start + request.at.as_secs();
            let told = std::str::from_utf8(&sent)
                .ok()
                .and_then(|s| s.parse::<u64>().ok());
            // `0` is the documented "no clock yet": right only when the network gave no time
            // before the request (a sync was tried and failed, none succeeded).
            let no_clock = told == Some(0) && clock_unknown(e.records, request.at);
            if !no_clock && told.is_none_or(|t| t.abs_diff(network) > TIME_SLACK) {
                let message = format!(
                    "{}: answered {} at {}, the network's time was {network}",
                    request.describe(),
                    sim_modem::lab::escape(&sent),
                    secs(at)
                );
                violations.push(violation("replies_unchanged", at, message));
            }
        }
    }
    violations
}

/// Whether, by `at`, the firmware tried to set its clock from the network and never could:
/// a `ClockSyncFailed` and no `ClockSet` before it.
fn clock_unknown(records: &[Record], at: Duration) -> bool {
    let before = reports(records).filter(|(t, _)| *t <= at);
    let (mut failed, mut set) = (false, false);
    for (_, report) in before {
        failed |= matches!(report, FwReport::ClockSyncFailed { .. });
        set |= matches!(report, FwReport::ClockSet { .. });
    }
    failed && !set
}

fn outbox_bounded(e: &Evidence<'_>) -> Vec<Violation> {
    // Entries and bytes only. Since issue 11 a written message (a heartbeat too) stays in the
    // outbox until the server's TCP acknowledges it, so several heartbeats may be there at
    // once; that at most one waits to be written is the outbox's own unit test
    // (`at_most_one_heartbeat_waits`): the trace does not say when one is written.
    reports(e.records)
        .filter_map(|(at, report)| match report {
            FwReport::Outbox { messages, bytes }
                if *messages > OUTBOX_ENTRIES || *bytes > OUTBOX_BYTES =>
            {
                Some(violation(
                    "outbox_bounded",
                    at,
                    format!(
                        "the outbox holds {messages} messages, {bytes} bytes (at most {OUTBOX_ENTRIES}, {OUTBOX_BYTES})"
                    ),
                ))
            }
            _ => None,
        })
        .collect()
}

/// Whether a modem line is a final result: the modem answered a command.
fn is_answer(line: &[u8]) -> bool {
    // Multi-connection results carry the link first: `0, SEND OK`.
    let line = match line {
        [b'0'..=b'9', b',', b' ', rest @ ..] => rest,
        _ => line,
    };
    matches!(
        line,
        b"OK" | b"ERROR" | b"SEND OK" | b"SHUT OK" | b"CLOSE OK" | b"CONNECT OK"
    ) || line.starts_with(b"+CME ERROR")
}

/// Whether the simulated modem could answer throughout `[from, to)`: it had reached `RDY`
/// (its `Ready` event) and was neither hung nor powered off (nor booting again) since. The
/// simulator's own account (the trace's `modem` records: `Ready`, `Hung`, `PoweredOn`,
/// `PoweredOff(..)`), not the firmware's.
fn modem_could_answer(e: &Evidence<'_>, from: Duration, to: Duration) -> bool {
    let mut able = false;
    for record in e.records {
        // At `to` itself the firmware's own power action switches it off.
        if record.at >= to {
            break;
        }
        let Event::Modem { event } = &record.event else {
            continue;
        };
        let now_able = match event {
            ModemEvent::Ready => true,
            ModemEvent::Hung | ModemEvent::PoweredOn | ModemEvent::PoweredOff(_) => false,
            _ => continue,
        };
        if !now_able && record.at >= from {
            return false;
        }
        able = now_able;
    }
    able
}

/// Whether line noise or UART errors were on during `[from, to]`: then the firmware cannot
/// tell a broken modem from a broken line.
fn noisy_line(e: &Evidence<'_>, from: Duration, to: Duration) -> bool {
    e.records.iter().any(|r| match &r.event {
        Event::Fault {
            fault: Fault::LineNoise { duration, .. } | Fault::UartErrors { duration, .. },
        } => r.at <= to && r.at + *duration >= from,
        _ => false,
    })
}

fn healthy_modem_kept(e: &Evidence<'_>) -> Vec<Violation> {
    let answers: Vec<Duration> = modem_lines(e.records)
        .filter(|(_, line)| is_answer(line))
        .map(|(at, _)| at)
        .collect();
    let mut violations = Vec::new();
    // The previous power action: answers before it are the old modem's.
    let mut since = Duration::ZERO;
    // The firmware keeps whole microseconds; the modem's times are finer.
    let rounding = Duration::from_millis(1);
    for (at, report) in reports(e.records) {
        let FwReport::ModemRestart { reason, action } = report else {
            continue;
        };
        if *action == PowerAction::None {
            continue;
        }
        let limit = match reason {
            RestartReason::Unresponsive | RestartReason::Uart => Some(e.config.at_no_answer_limit),
            RestartReason::NoAnswer => Some(e.config.boot_timeout),
            _ => None,
        };
        let Some(limit) = limit else {
            since = at;
            continue;
        };
        let window = at.saturating_sub(limit);
        let from = (window + rounding).max(since);
        let answered = answers.iter().rev().find(|&&t| t > from && t <= at);
        let message = match answered {
            Some(last) => Some(format!(
                "power-cycled ({action:?}) for {reason:?}, yet the modem answered at {}, {} before (the limit is {})",
                secs(*last),
                units::format_duration(at - *last),
                units::format_duration(limit)
            )),
            None if modem_could_answer(e, window, at) && !noisy_line(e, window, at) => {
                Some(format!(
                    "power-cycled ({action:?}) for {reason:?}, yet the modem could answer all the {} before (it was neither hung, off nor booting, and the line was not noisy): it was busy, not broken",
                    units::format_duration(limit)
                ))
            }
            None => None,
        };
        if let Some(message) = message {
            violations.push(violation("healthy_modem_kept", at, message));
        }
        since = at;
    }
    violations
}

/// The phase the firmware reported last, at each change.
fn phases(records: &[Record]) -> Vec<(Duration, Phase)> {
    reports(records)
        .filter_map(|(at, report)| match report {
            FwReport::Phase { phase } => Some((at, *phase)),
            _ => None,
        })
        .collect()
}

/// The span the device is connected in at the quiet phase's deadline (the quiet start plus
/// the recovery bound): when it began and when it ended (the end of the run, if it lasts),
/// or the phase it is in instead.
fn final_connection(e: &Evidence<'_>, deadline: Duration) -> Result<(Duration, Duration), Phase> {
    let phases = phases(e.records);
    let at_deadline = phases.iter().rposition(|(at, _)| *at <= deadline);
    let Some(i) = at_deadline.filter(|&i| phases[i].1 == Phase::Connected) else {
        return Err(at_deadline.map_or(Phase::Starting, |i| phases[i].1));
    };
    // Back to where this connected span began (repeated reports of the phase included).
    let mut start = i;
    while start > 0 && phases[start - 1].1 == Phase::Connected {
        start -= 1;
    }
    let end = phases[i + 1..]
        .iter()
        .find(|(_, phase)| *phase != Phase::Connected)
        .map_or(e.end, |(at, _)| *at);
    Ok((phases[start].0, end))
}

fn reconnected(e: &Evidence<'_>) -> Vec<Violation> {
    let Some(quiet) = quiet_window(e) else {
        return Vec::new();
    };
    let bound = recovery_bound(e.config);
    let deadline = quiet + bound;
    if let Err(phase) = final_connection(e, deadline) {
        let message = format!(
            "{phase:?} at {}, {} after the last fault was over at {}: not connected again",
            secs(deadline),
            units::format_duration(bound),
            secs(quiet)
        );
        return vec![violation("reconnected", deadline, message)];
    }
    // After that, a connection lost with no fault (a lossy network may still drop one) is
    // back within the bound too.
    let phases = phases(e.records);
    let mut violations = Vec::new();
    let mut lost: Option<Duration> = None;
    for (at, phase) in phases.into_iter().filter(|(at, _)| *at > deadline) {
        match (phase == Phase::Connected, lost) {
            (true, Some(since)) => {
                if at > since + bound {
                    violations.push(not_back(since, Some(at), bound));
                }
                lost = None;
            }
            (false, None) => lost = Some(at),
            _ => {}
        }
    }
    if let Some(since) = lost.filter(|since| *since + bound <= e.end) {
        violations.push(not_back(since, None, bound));
    }
    violations
}

/// A connection lost at `since` and back only at `back` (or never), beyond `bound`.
fn not_back(since: Duration, back: Option<Duration>, bound: Duration) -> Violation {
    let back = back.map_or("never connected again".into(), |at| {
        format!("connected again only at {}", secs(at))
    });
    let message = format!(
        "lost the connection at {} with no fault, {back} (the bound is {})",
        secs(since),
        units::format_duration(bound)
    );
    violation("reconnected", since + bound, message)
}

fn heartbeat_grid(e: &Evidence<'_>) -> Vec<Violation> {
    let Some(quiet) = quiet_window(e) else {
        return Vec::new();
    };
    // The connection the device is in once recovered (`reconnected` judges one that does not
    // come, or does not last): its heartbeats, from the quiet phase on.
    let Ok((began, until)) = final_connection(e, quiet + recovery_bound(e.config)) else {
        return Vec::new();
    };
    let connected = began.max(quiet);
    let (every, tolerance) = (e.config.heartbeat_interval, e.config.send_timeout);
    let beats: Vec<Duration> = server_streams(e)
        .pieces
        .into_iter()
        .filter(|(at, piece)| *at >= connected && *at <= until && *piece == Piece::Heartbeat)
        .map(|(at, _)| at)
        .collect();
    let mut violations = Vec::new();
    let mut off = |at: Duration, what: String| {
        let message = format!(
            "{what}: heartbeats are due every {} ± {}",
            units::format_duration(every),
            units::format_duration(tolerance)
        );
        violations.push(violation("heartbeat_grid", at, message));
    };
    // The first right after connecting (one interval on, if it was connected before).
    let first = beats.first().copied().unwrap_or(until);
    // Right after connecting; one interval on if it was connected before the faults ended.
    let first_due = match began < quiet {
        true => every + tolerance,
        false => tolerance,
    };
    if first - connected > first_due {
        off(
            first,
            format!(
                "connected at {}, first heartbeat at {}",
                secs(connected),
                secs(first)
            ),
        );
    }
    for pair in beats.windows(2) {
        let gap = pair[1] - pair[0];
        // Longer than the period, not shorter: a heartbeat whose `SEND OK` was lost is sent
        // again (at least once), and that copy is no gap.
        if gap > every + tolerance {
            off(
                pair[1],
                format!("heartbeats at {} and {}", secs(pair[0]), secs(pair[1])),
            );
        }
    }
    if let Some(&last) = beats.last() {
        if until - last > every + tolerance {
            off(until, format!("the last heartbeat at {}", secs(last)));
        }
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{Bytes, Reported};
    use firmware::outbox::Kind as Message;

    /// A firmware report at `s` seconds.
    fn fw(s: u64, report: FwReport) -> Record {
        Record {
            at: Duration::from_secs(s),
            event: Event::Fw {
                report: Reported {
                    text: String::new(),
                    typed: Some(report),
                },
            },
        }
    }

    fn lab(s: u64, sent: bool, data: &[u8]) -> Record {
        let data = Bytes(data.to_vec());
        Record {
            at: Duration::from_secs(s),
            event: match sent {
                true => Event::LabSent { client: 1, data },
                false => Event::LabReceived { client: 1, data },
            },
        }
    }

    fn modem(s: u64, line: &[u8]) -> Record {
        Record {
            at: Duration::from_secs(s),
            event: Event::At {
                dir: Dir::FromModem,
                line: Bytes(line.to_vec()),
            },
        }
    }

    fn received(s: u64, data: &[u8]) -> Record {
        let data = Bytes(data.to_vec());
        fw(s, FwReport::Received { data })
    }

    fn sent(s: u64, message: Message, data: &[u8]) -> Record {
        let data = Bytes(data.to_vec());
        fw(s, FwReport::Sent { message, data })
    }

    /// The simulated modem's event at `s` seconds.
    fn sim(s: u64, event: ModemEvent) -> Record {
        Record {
            at: Duration::from_secs(s),
            event: Event::Modem { event },
        }
    }

    /// A reply dropped for a full outbox at `s` seconds.
    fn reply_dropped(s: u64) -> Record {
        let (message, reason) = (Message::Reply, firmware::outbox::DropReason::Full);
        fw(s, FwReport::Dropped { message, reason })
    }

    /// A RESET pulse for `Unresponsive` at `s` seconds.
    fn reset(s: u64) -> Record {
        let (reason, action) = (RestartReason::Unresponsive, PowerAction::Reset);
        fw(s, FwReport::ModemRestart { reason, action })
    }

    fn phase(s: u64, phase: Phase) -> Record {
        fw(s, FwReport::Phase { phase })
    }

    /// The invariants `records` break in a run of `end` seconds with the default
    /// configuration, a fault over at `quiet` seconds (if any).
    fn broken(records: &[Record], end: u64, quiet: Option<u64>) -> Vec<&'static str> {
        let config = Config::default();
        let fault = Action::Fault(Fault::Reboot);
        let steps = quiet.map(|q| Applied {
            at: Duration::from_secs(q),
            end: None,
            action: &fault,
        });
        let evidence = Evidence {
            config: &config,
            records,
            steps: steps.into_iter().collect(),
            end: Duration::from_secs(end),
            unix_start: 1_000_000,
        };
        judge(&evidence)
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(i, _)| i.name)
            .collect()
    }

    #[test]
    fn each_invariant_sees_what_breaks_it() {
        let hb = HEARTBEAT;
        let bound = recovery_bound(&Config::default()).as_secs();
        let end = 3 * bound;
        // Connected from 1 s, heartbeats every 10 s at the server to the end.
        let healthy = || {
            let mut records = vec![sim(0, ModemEvent::Ready), phase(1, Phase::Connected)];
            records.extend((0..end / 10).map(|i| lab(1 + 10 * i, false, hb)));
            records
        };
        let with = |extra: Vec<Record>| {
            let mut records = healthy();
            records.extend(extra);
            records.sort_by_key(|r| r.at);
            records
        };
        // (what, the records, when the fault was over, the invariants broken)
        type Case = (
            &'static str,
            Vec<Record>,
            Option<u64>,
            &'static [&'static str],
        );
        let cases: Vec<Case> = vec![
            ("a healthy run", healthy(), Some(0), &[]),
            (
                "a request answered",
                with(vec![
                    lab(5, true, b"back 1"),
                    received(5, b"back 1"),
                    sent(6, Message::Reply, b"back 1"),
                    lab(6, false, b"back 1"),
                ]),
                Some(0),
                &[],
            ),
            (
                "a request never answered",
                with(vec![lab(5, true, b"back 1"), received(5, b"back 1")]),
                Some(0),
                &["answered", "replies_delivered"],
            ),
            (
                "a request whose reply was dropped",
                with(vec![
                    lab(5, true, b"back 1"),
                    received(5, b"back 1"),
                    reply_dropped(5),
                ]),
                Some(0),
                &[],
            ),
            (
                "a dropped request takes no answer from a later one",
                with(vec![
                    lab(5, true, b"time"),
                    received(5, b"time"),
                    reply_dropped(5),
                    lab(6, true, b"time"),
                    received(6, b"time"),
                    sent(7, Message::Reply, b"1000006"),
                    lab(7, false, b"1000006"),
                ]),
                Some(0),
                &[],
            ),
            (
                "answered after the bound",
                with(vec![
                    lab(5, true, b"bin"),
                    received(5, b"bin"),
                    sent(bound + 10, Message::Reply, &BIN_REPLY),
                ]),
                Some(0),
                &["replies_delivered"],
            ),
            (
                "an AT command in the data",
                with(vec![lab(7, false, b"heart beatAT\r")]),
                Some(0),
                &["no_command_in_data"],
            ),
            (
                "a command after a heartbeat, as a lost prompt leaves it",
                with(vec![lab(7, false, b"heart beatAT+CIPACK=0\r")]),
                Some(0),
                &["no_command_in_data"],
            ),
            (
                "a heartbeat changed on the way",
                with(vec![lab(7, false, b"heazt beat")]),
                Some(0),
                &["only_asked_for"],
            ),
            (
                "a line end that noise put in a heartbeat's data is no command",
                with(vec![lab(7, false, b"heart beat\rheart beat")]),
                Some(0),
                &["only_asked_for"],
            ),
            (
                "a connection cut in the middle of a heartbeat",
                with(vec![lab(7, false, b"heart b")]),
                Some(0),
                &["only_asked_for"],
            ),
            (
                "a request the server never sent",
                with(vec![
                    lab(5, true, b"back 1"),
                    received(5, b"back 2"),
                    sent(6, Message::Reply, b"back 2"),
                ]),
                Some(0),
                &["replies_unchanged"],
            ),
            (
                "a time reply off the network's time",
                with(vec![
                    lab(5, true, b"time"),
                    received(5, b"time"),
                    sent(6, Message::Reply, b"0"),
                ]),
                Some(0),
                &["replies_unchanged"],
            ),
            (
                "a time reply on time",
                with(vec![
                    lab(5, true, b"time"),
                    received(5, b"time"),
                    sent(6, Message::Reply, b"1000005"),
                    lab(6, false, b"1000005"),
                ]),
                Some(0),
                &[],
            ),
            (
                "two heartbeats in the outbox (one written, one waiting)",
                with(vec![
                    fw(
                        3,
                        FwReport::Queued {
                            message: Message::Heartbeat,
                            len: 0,
                        },
                    ),
                    fw(
                        4,
                        FwReport::Queued {
                            message: Message::Heartbeat,
                            len: 0,
                        },
                    ),
                ]),
                Some(0),
                &[],
            ),
            (
                "an outbox over its bound",
                with(vec![fw(
                    3,
                    FwReport::Outbox {
                        messages: OUTBOX_ENTRIES + 1,
                        bytes: 0,
                    },
                )]),
                Some(0),
                &["outbox_bounded"],
            ),
            (
                "a reset of a modem that answered",
                with(vec![modem(100, b"OK"), reset(150)]),
                None,
                &["healthy_modem_kept"],
            ),
            (
                "a reset of a hung modem silent for the limit",
                with(vec![
                    modem(10, b"0, SEND OK"),
                    sim(11, ModemEvent::Hung),
                    reset(150),
                ]),
                None,
                &[],
            ),
            (
                "a reset a thousandth of a second before the limit",
                with(vec![
                    sim(11, ModemEvent::Hung),
                    Record {
                        at: Duration::from_micros(30_000_500),
                        event: Event::At {
                            dir: Dir::FromModem,
                            line: Bytes(b"OK".to_vec()),
                        },
                    },
                    reset(150),
                ]),
                None,
                &[],
            ),
            (
                "a reset of a busy modem, silent but not hung",
                with(vec![modem(10, b"0, SEND OK"), reset(150)]),
                None,
                &["healthy_modem_kept"],
            ),
            (
                "not connected again after the last fault",
                vec![phase(1, Phase::Connected), phase(5, Phase::Pausing)],
                Some(4),
                &["reconnected"],
            ),
            (
                "connected again, then lost and back within the bound",
                with(vec![
                    phase(bound + 5, Phase::Pausing),
                    phase(bound + 20, Phase::Connected),
                ]),
                Some(0),
                &[],
            ),
            (
                "connected again, then lost for good",
                with(vec![phase(bound + 5, Phase::Pausing)]),
                Some(0),
                &["reconnected"],
            ),
            (
                "a gap in the heartbeats",
                healthy()
                    .into_iter()
                    .filter(|r| r.at != Duration::from_secs(101))
                    .filter(|r| r.at != Duration::from_secs(111))
                    .filter(|r| r.at != Duration::from_secs(121))
                    .filter(|r| r.at != Duration::from_secs(131))
                    .collect(),
                Some(0),
                &["heartbeat_grid"],
            ),
            (
                "a modem hanging by itself near the end: liveness not judged",
                healthy()
                    .into_iter()
                    .filter(|r| r.at < Duration::from_secs(end - 100))
                    .chain([sim(end - 100, ModemEvent::Hung)])
                    .collect(),
                Some(0),
                &[],
            ),
            (
                "no quiet phase: liveness not judged",
                vec![phase(1, Phase::Connected), phase(5, Phase::Pausing)],
                Some(end - 10),
                &[],
            ),
        ];
        for (name, records, quiet, want) in cases {
            assert_eq!(broken(&records, end, quiet), want, "{name}");
        }
    }

    #[test]
    fn every_invariant_has_a_name_and_a_bound() {
        let config = Config::default();
        let mut names: Vec<&str> = INVARIANTS.iter().map(|i| i.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), INVARIANTS.len(), "names are unique");
        for invariant in INVARIANTS {
            assert!(!invariant.statement.is_empty() && !(invariant.bound)(&config).is_empty());
        }
    }
}
