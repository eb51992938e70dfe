//! Checks a run's records against a scenario's expectations.
//!
//! Each expectation is checked on its own, in an order where the expectations it is anchored
//! to (`after`) come first; one that fails leaves those anchored to it failed too. A scripted
//! client's run is judged too, as one more result after them: its steps all done, or the one
//! that failed (what it waited for, what came instead). A failure
//! carries what was expected and what happened, as lines to diff, and the virtual time to
//! show the trace around.
//!
//! A run on a device outside the process ([`crate::realtime`]) may not see everything a
//! replay sees, and its times hold only to the wall clock's jitter: [`Observation`] says so,
//! and the checks skip (never pass) what cannot be seen, and loosen time bounds by its slack.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use protocol::app::{Deframer, Frame, Framing};

use crate::format::{Check, ClientStep, Expectation, ReportPattern, Scenario, What};
use crate::invariants::{self, Applied, Evidence, Judged};
use crate::plan::Planned;
pub use crate::trace::secs;
use crate::trace::{Dir, Event, Record, SmsDir};

/// How one expectation fared.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckResult {
    /// Its position in the file's `expect` list, from 0; the scripted client's result (if
    /// the file has a `client`) comes after them.
    pub index: usize,
    pub summary: String,
    /// When it matched (its first occurrence), if that means something.
    pub matched_at: Option<Duration>,
    /// The span of virtual time it was checked over, when it got that far (its anchors
    /// resolved): for drawing it on a timeline.
    pub window: Option<(Duration, Duration)>,
    pub failure: Option<Failure>,
    /// Not checked, and why: the run could not see what it looks at (see [`Observation`]).
    pub skipped: Option<String>,
}

impl CheckResult {
    /// Whether it did not fail (a skipped expectation did not fail either).
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }

    /// Whether it was checked at all.
    pub fn checked(&self) -> bool {
        self.skipped.is_none()
    }
}

/// What a run could see, and how exactly its times hold. A replay sees everything, exactly
/// ([`Observation::REPLAY`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observation {
    /// The records hold the firmware's reports. A device outside the process shows them
    /// only through its log, if at all; without them, expectations on `report` are skipped.
    pub reports: bool,
    /// The reports have their typed form (the firmware ran in the process). A log holds only
    /// their text: then expectations with a typed report pattern are skipped.
    pub typed_reports: bool,
    /// Real time only: how much every time bound is loosened, for the wall clock's jitter.
    /// `happens` and `periodic` windows grow by it at both ends, `never` windows shrink by
    /// it, and `periodic` tolerances and `answered` bounds grow by it. Counts are unchanged.
    pub slack: Duration,
}

impl Observation {
    pub const REPLAY: Observation = Observation {
        reports: true,
        typed_reports: true,
        slack: Duration::ZERO,
    };
}

impl Default for Observation {
    fn default() -> Self {
        Observation::REPLAY
    }
}

/// Why an expectation failed.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub message: String,
    pub expected: Vec<String>,
    pub actual: Vec<String>,
    /// Where in virtual time to look at the trace, if anywhere.
    pub around: Option<Duration>,
    /// The run could not judge the expectation (a liveness invariant whose quiet phase a
    /// late fault cut short): a failure for a file that names it, which would otherwise pass
    /// without a check, and no violation for the swarm, whose generator missed.
    pub unjudged: bool,
}

/// One occurrence of a [`What`]: when, and its bytes (or text).
#[derive(Debug, Clone, PartialEq)]
struct Hit {
    at: Duration,
    data: Vec<u8>,
}

/// What the checks need to know of the run besides the records.
pub struct Run<'a> {
    pub scenario: &'a Scenario,
    /// Where the run ended.
    pub end: Duration,
    /// Every timeline step applied, random ones included.
    pub steps: &'a [Planned],
    pub records: &'a [Record],
    pub observation: Observation,
}

/// How an expectation another one is anchored to fared.
#[derive(Debug, Clone, Copy)]
enum Anchor {
    Matched(Duration),
    Failed,
    Skipped,
}

/// Checks every expectation of the scenario.
pub fn check(run: &Run<'_>) -> Vec<CheckResult> {
    let expectations = &run.scenario.expect;
    let mut results: Vec<Option<CheckResult>> = vec![None; expectations.len()];
    let mut matched: BTreeMap<&str, Anchor> = BTreeMap::new();
    // Anchors come first: repeat until every expectation is done (format forbids cycles).
    while results.iter().any(Option::is_none) {
        let before = results.iter().filter(|r| r.is_some()).count();
        for (index, e) in expectations.iter().enumerate() {
            if results[index].is_some() {
                continue;
            }
            let window = &e.window;
            let resolve = |name: Option<&str>, default: Option<Duration>| match name {
                None => Some(Ok(default)),
                Some(name) => anchor(run, name, &matched).map(|a| a.map(Some)),
            };
            // `None`: an anchor not checked yet; come back to this one.
            let (Some(after), Some(until)) = (
                resolve(window.after.as_deref(), Some(Duration::ZERO)),
                resolve(window.until.as_deref(), None),
            ) else {
                continue;
            };
            let mut result = CheckResult {
                index,
                summary: e.summary(),
                matched_at: None,
                window: None,
                failure: None,
                skipped: None,
            };
            match (after, until) {
                _ if unseen(run, e).is_some() => result.skipped = unseen(run, e).map(Into::into),
                (Err(Missing::Skipped(name)), _) | (_, Err(Missing::Skipped(name))) => {
                    result.skipped = Some(format!("its anchor {name:?} was not checked"));
                }
                (Err(Missing::Failed(why)), _) | (_, Err(Missing::Failed(why))) => {
                    result.failure = Some(Failure {
                        message: why,
                        expected: vec![],
                        actual: vec![],
                        around: None,
                        unjudged: false,
                    });
                }
                (Ok(after), Ok(until)) => {
                    result = check_one(run, index, e, after.unwrap_or_default(), until)
                }
            }
            if let Some(id) = e.id.as_deref() {
                let anchor = match (&result.skipped, result.matched_at) {
                    (Some(_), _) => Anchor::Skipped,
                    (None, Some(at)) if result.passed() => Anchor::Matched(at),
                    _ => Anchor::Failed,
                };
                matched.insert(id, anchor);
            }
            results[index] = Some(result);
        }
        let after = results.iter().filter(|r| r.is_some()).count();
        assert!(after > before, "expectation anchors go round in a circle");
    }
    let mut results: Vec<CheckResult> = results.into_iter().map(Option::unwrap).collect();
    if let Some(client) = &run.scenario.client {
        results.push(client_script(run, &client.steps, expectations.len()));
    }
    results
}

/// The scripted client's run, as one result after the file's expectations (`index`): every
/// step done, or the first that failed, or the one still going when the run ended.
fn client_script(run: &Run<'_>, steps: &[ClientStep], index: usize) -> CheckResult {
    let mut result = CheckResult {
        index,
        summary: format!(
            "the client's script ({} steps) runs to its end",
            steps.len()
        ),
        matched_at: None,
        window: Some((Duration::ZERO, run.end)),
        failure: None,
        skipped: None,
    };
    let mut done = 0;
    for record in run.records {
        let Event::Client {
            step,
            action,
            error,
            ..
        } = &record.event
        else {
            continue;
        };
        if let Some(error) = error {
            result.failure = Some(Failure {
                message: format!(
                    "client.steps[{step}] ({action}) failed at {}: {error}",
                    secs(record.at)
                ),
                expected: vec![action.clone()],
                actual: vec![error.clone()],
                around: Some(record.at),
                unjudged: false,
            });
            return result;
        }
        done += 1;
        result.matched_at = Some(record.at);
    }
    if let Some(step) = steps.get(done) {
        result.failure = Some(Failure {
            message: format!(
                "client.steps[{done}] ({step}) had not finished when the run ended at {}",
                secs(run.end)
            ),
            expected: vec![step.to_string()],
            actual: vec!["the run's end".into()],
            around: Some(result.matched_at.unwrap_or(run.end)),
            unjudged: false,
        });
        result.matched_at = None;
    }
    result
}

const UNSEEN_REPORTS: &str = "not checkable here: the firmware's reports are not visible \
     (a device outside the process shows them only through its log)";

const UNTYPED_REPORTS: &str = "not checkable here: a typed report pattern, and the device's \
     log gives only the reports' text";

/// Why the run could not see what `e` looks at, if it could not.
fn unseen(run: &Run<'_>, e: &Expectation) -> Option<&'static str> {
    let Some(What::Report(pattern)) = e.check.what() else {
        return None;
    };
    let seen = &run.observation;
    match pattern {
        _ if !seen.reports => Some(UNSEEN_REPORTS),
        ReportPattern::Typed { .. } if !seen.typed_reports => Some(UNTYPED_REPORTS),
        _ => None,
    }
}

/// Why an anchor has no time.
enum Missing {
    /// It never happened: the expectation fails, with this message.
    Failed(String),
    /// It is an expectation that was skipped (named here): so is this one.
    Skipped(String),
}

/// The time an `after` names: `Some(Err)` if it has none, `None` if it is an expectation not
/// checked yet.
fn anchor(
    run: &Run<'_>,
    after: &str,
    matched: &BTreeMap<&str, Anchor>,
) -> Option<Result<Duration, Missing>> {
    let named = |id: &str| run.steps.iter().find(|p| p.step.id.as_deref() == Some(id));
    if let Some(step) = named(after) {
        return Some(Ok(step.at));
    }
    if let Some(id) = after.strip_suffix(".end") {
        if let Some(step) = named(id) {
            return Some(
                step.end
                    .ok_or(Missing::Failed(format!("step {id:?} has no end"))),
            );
        }
    }
    if run
        .scenario
        .expect
        .iter()
        .any(|e| e.id.as_deref() == Some(after))
    {
        return matched.get(after).map(|m| match m {
            Anchor::Matched(at) => Ok(*at),
            Anchor::Failed => Err(Missing::Failed(format!(
                "not checked: `after` {after:?} did not match"
            ))),
            Anchor::Skipped => Err(Missing::Skipped(after.to_string())),
        });
    }
    Some(Err(Missing::Failed(format!(
        "`after` {after:?} names nothing that happened"
    ))))
}

fn check_one(
    run: &Run<'_>,
    index: usize,
    e: &Expectation,
    anchor: Duration,
    until: Option<Duration>,
) -> CheckResult {
    let window = &e.window;
    let mut start = anchor + window.from;
    let mut end = window
        .to
        .map_or(run.end, |to| anchor + to)
        .min(until.unwrap_or(Duration::MAX));
    // Loosened for the wall clock's jitter (nothing, in a replay).
    let slack = run.observation.slack;
    match e.check {
        Check::Never { .. } => {
            start += slack;
            end = end.saturating_sub(slack);
        }
        _ => {
            start = start.saturating_sub(slack);
            end += slack;
        }
    }
    let end = end.min(run.end);
    let span = format!("[{}, {}]", secs(start), secs(end));
    let mut result = CheckResult {
        index,
        summary: e.summary(),
        matched_at: None,
        window: Some((start, end)),
        failure: None,
        skipped: None,
    };
    let inside = |hits: &[Hit]| -> Vec<Hit> {
        hits.iter()
            .filter(|h| h.at >= start && h.at <= end)
            .cloned()
            .collect()
    };
    match &e.check {
        Check::Happens { what, times } => {
            let all = hits(run, what);
            let found = inside(&all);
            result.matched_at = found.first().map(|h| h.at);
            let n = found.len() as u32;
            if !times.allows(n) {
                let wanted = match (times.min, times.max) {
                    (lo, Some(hi)) if lo == hi => format!("{lo}x"),
                    (lo, Some(hi)) => format!("{lo} to {hi}x"),
                    (lo, None) => format!("at least {lo}x"),
                };
                result.failure = Some(Failure {
                    message: format!("{what}: {n}x in {span}, expected {wanted}"),
                    expected: vec![format!("{wanted} {what} in {span}")],
                    actual: nearby(&all, start, end),
                    around: Some(found.first().map_or(start, |h| h.at)),
                    unjudged: false,
                });
            }
        }
        Check::Never { what } => {
            let found = inside(&hits(run, what));
            if let Some(first) = found.first() {
                result.failure = Some(Failure {
                    message: format!("{what}: happened {}x in {span}", found.len()),
                    expected: vec![],
                    actual: found.iter().take(20).map(show).collect(),
                    around: Some(first.at),
                    unjudged: false,
                });
            }
        }
        Check::Periodic {
            what,
            every,
            tolerance,
        } => {
            let found = inside(&hits(run, what));
            result.matched_at = found.first().map(|h| h.at);
            let tolerance = *tolerance + slack;
            if let Some(failure) = periodic(&found, start, end, *every, tolerance) {
                result.failure = Some(Failure {
                    message: format!("{what}: {} in {span}", failure.message),
                    ..failure
                });
            }
        }
        Check::Answered { within } => {
            result.failure = answered(run, start, end, within.map(|w| w + slack));
        }
        Check::Invariant { name } => result.failure = invariant(run, name),
    }
    result
}

/// The run's evidence for the invariants.
pub fn evidence<'a>(run: &Run<'a>, config: &'a firmware::Config) -> Evidence<'a> {
    Evidence {
        config,
        records: run.records,
        steps: run
            .steps
            .iter()
            .map(|p| Applied {
                at: p.at,
                end: p.end,
                action: &p.step.action,
            })
            .collect(),
        end: run.end,
        unix_start: run.scenario.network.unix_time_at_start,
    }
}

/// An invariant over the whole run: its violations, if any.
fn invariant(run: &Run<'_>, name: &str) -> Option<Failure> {
    let config = run.scenario.device_config();
    let evidence = evidence(run, &config);
    let Some(invariant) = invariants::invariant(name) else {
        return Some(Failure {
            message: format!("no invariant {name:?}"),
            expected: vec![],
            actual: vec![],
            around: None,
            unjudged: false,
        });
    };
    let Judged::Trace(judge) = invariant.judged else {
        return Some(Failure {
            message: format!("the invariant {name:?} is not judged from a trace"),
            expected: vec![],
            actual: vec![],
            around: None,
            unjudged: false,
        });
    };
    if invariants::LIVENESS.contains(&name) {
        if let Some(message) = invariants::liveness_unjudged(&evidence) {
            let expected = vec![invariant.statement.to_string()];
            return Some(Failure {
                message: format!("{name}: {message}"),
                expected,
                actual: vec![],
                around: None,
                unjudged: true,
            });
        }
    }
    let violations = judge(&evidence);
    let first = violations.first()?;
    Some(Failure {
        message: format!("{name}: {} ({} in all)", first.message, violations.len()),
        expected: vec![format!(
            "{}; bound: {}",
            invariant.statement,
            (invariant.bound)(&config)
        )],
        actual: violations
            .iter()
            .take(20)
            .map(|v| format!("{} {}", secs(v.at), v.message))
            .collect(),
        around: Some(first.at),
        unjudged: false,
    })
}

/// The gaps of a periodic event. Lists only the gaps that are off (at most 20).
fn periodic(
    found: &[Hit],
    start: Duration,
    end: Duration,
    every: Duration,
    tolerance: Duration,
) -> Option<Failure> {
    let longest = every + tolerance;
    let shortest = every.saturating_sub(tolerance);
    let Some(first) = found.first() else {
        return Some(Failure {
            message: "never happened".into(),
            expected: vec![format!("every {}", units::format_duration(every))],
            actual: vec![],
            around: Some(start),
            unjudged: false,
        });
    };
    let mut expected = Vec::new();
    let mut actual = Vec::new();
    let mut around = None;
    let mut bad = |at: Duration, label: String, gap: Duration, ok: bool, want: String| {
        if !ok && expected.len() < 20 {
            around.get_or_insert(at);
            expected.push(format!("{label}: {want}"));
            actual.push(format!("{label}: {}", secs(gap)));
        }
    };
    let gap = first.at - start;
    bad(
        first.at,
        format!(
            "window start {} to first at {}",
            secs(start),
            secs(first.at)
        ),
        gap,
        gap <= longest,
        format!("<= {}", secs(longest)),
    );
    for pair in found.windows(2) {
        let gap = pair[1].at - pair[0].at;
        bad(
            pair[1].at,
            format!("{} to {}", secs(pair[0].at), secs(pair[1].at)),
            gap,
            gap >= shortest && gap <= longest,
            format!("{} ± {}", secs(every), secs(tolerance)),
        );
    }
    let last = found.last().expect("not empty").at;
    let gap = end - last;
    bad(
        end,
        format!("last at {} to window end {}", secs(last), secs(end)),
        gap,
        gap <= longest,
        format!("<= {}", secs(longest)),
    );
    around.map(|around| Failure {
        message: format!("{} gaps off", expected.len()),
        expected,
        actual,
        around: Some(around),
        unjudged: false,
    })
}

/// Unix time the simulated network tells, and how far a `time` reply may be from it.
const TIME_SLACK: u64 = 5;

/// B2–B4, nothing lost, nothing doubled: pairs each message the lab sent with the first
/// matching reply the lab received after it. With the acknowledged framing, as the server's
/// application sees them: each request once (the lab sends it again until answered), each
/// reply once (the lab drops a copy), and a reply answers the request with its number.
fn answered(
    run: &Run<'_>,
    start: Duration,
    end: Duration,
    within: Option<Duration>,
) -> Option<Failure> {
    let framing = framing(run.scenario);
    let numbered = |sent| -> Vec<(Hit, Option<u16>)> {
        if framing == Framing::Acked {
            let frames = acked_messages(run.records, sent).into_iter();
            frames
                .filter(|(seq, _)| *seq != 0)
                .map(|(seq, h)| (h, Some(seq)))
                .collect()
        } else {
            let messages = lab_messages(run.records, framing, sent).into_iter();
            messages.map(|h| (h, None)).collect()
        }
    };
    let sent = numbered(true);
    let mut received: Vec<(Hit, Option<u16>, bool)> = numbered(false)
        .into_iter()
        .map(|(h, seq)| (h, seq, false))
        .collect();
    let unix_start = run.scenario.network.unix_time_at_start;
    let mut expected = Vec::new();
    let mut actual = Vec::new();
    let mut around = None;
    let mut asked = 0;
    for (send, seq) in sent.iter().filter(|(h, _)| h.at >= start && h.at <= end) {
        let message = &send.data;
        let Some(reply) = Reply::to(message) else {
            continue;
        };
        asked += 1;
        let deadline = within.map_or(Duration::MAX, |w| send.at + w);
        let answer = received.iter_mut().find(|(hit, number, used)| {
            !used
                && number == seq
                && hit.at >= send.at
                && hit.at <= deadline
                && reply.is(&hit.data, hit.at, unix_start)
        });
        match answer {
            Some((_, _, used)) => *used = true,
            // Only what went wrong goes in the diff.
            None => {
                let label = format!("{} sent at {}", show_bytes(message), secs(send.at));
                around.get_or_insert(send.at);
                expected.push(format!("{label}: answered {}", reply.describe()));
                actual.push(format!(
                    "{label}: not answered{}",
                    within.map_or(String::new(), |w| format!(
                        " within {}",
                        units::format_duration(w)
                    ))
                ));
            }
        }
    }
    // A reply to something sent in the window that nobody asked for again: doubled.
    let first_send = sent
        .iter()
        .find(|(h, _)| h.at >= start && h.at <= end)
        .map(|(h, _)| h.at);
    if let Some(first_send) = first_send {
        for (hit, _, used) in &received {
            if *used || hit.at < first_send {
                continue;
            }
            let doubled = sent
                .iter()
                .filter(|(s, _)| s.at >= start && s.at <= end && s.at <= hit.at)
                .filter_map(|(s, _)| Reply::to(&s.data))
                .any(|r| r.is(&hit.data, hit.at, unix_start));
            if doubled {
                around.get_or_insert(hit.at);
                actual.push(format!(
                    "{} received again at {}",
                    show_bytes(&hit.data),
                    secs(hit.at)
                ));
            }
        }
    }
    if asked == 0 {
        return Some(Failure {
            message: "the lab sent nothing that asks for a reply in the window".into(),
            expected: vec!["at least one back/bin/time sent".into()],
            actual: vec![],
            around: Some(start),
            unjudged: false,
        });
    }
    around.map(|around| Failure {
        message: "some messages were not answered exactly once".into(),
        expected,
        actual,
        around: Some(around),
        unjudged: false,
    })
}

/// The reply a message asks for (B2–B4).
enum Reply {
    Echo(Vec<u8>),
    Bin,
    Time,
}

impl Reply {
    fn to(message: &[u8]) -> Option<Reply> {
        match protocol::app::reply_to(message)? {
            protocol::app::Reply::Echo(m) => Some(Reply::Echo(m.to_vec())),
            protocol::app::Reply::Bin => Some(Reply::Bin),
            protocol::app::Reply::Time => Some(Reply::Time),
        }
    }

    fn is(&self, data: &[u8], at: Duration, unix_start: u64) -> bool {
        match self {
            Reply::Echo(m) => data == m.as_slice(),
            Reply::Bin => data == [0x11, 0x22, 0x33],
            Reply::Time => std::str::from_utf8(data)
                .ok()
                .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|s| s.parse::<u64>().ok())
                .is_some_and(|t| t.abs_diff(unix_start + at.as_secs()) <= TIME_SLACK),
        }
    }

    fn describe(&self) -> String {
        match self {
            Reply::Echo(m) => format!("once with {}", show_bytes(m)),
            Reply::Bin => "once with 11 22 33".into(),
            Reply::Time => format!("once with the Unix time (± {TIME_SLACK} s)"),
        }
    }
}

fn framing(scenario: &Scenario) -> Framing {
    scenario.device_config().framing
}

/// Messages the lab server received (or sent), cut by the framing, per client. With the
/// acknowledged framing, the messages' payloads as the server's application has them (see
/// [`acked_messages`]).
fn lab_messages(records: &[Record], framing: Framing, sent: bool) -> Vec<Hit> {
    if framing == Framing::Acked {
        let messages = acked_messages(records, sent).into_iter();
        return messages.map(|(_, hit)| hit).collect();
    }
    let mut hits = Vec::new();
    lab_lines(records, framing, sent, |at, message| {
        hits.push(Hit {
            at,
            data: message.to_vec(),
        });
    });
    hits
}

/// Acknowledged framing: the messages (`M<n>` frames with a good checksum) the lab server
/// received (or sent), with their numbers, as the server's application has them: the first
/// copy of each numbered one (the server drops the others; it sends a request again until
/// it is answered), every heartbeat (number 0). Acknowledgements and bad lines are left out.
fn acked_messages(records: &[Record], sent: bool) -> Vec<(u16, Hit)> {
    let mut seen = BTreeSet::new();
    let mut messages = Vec::new();
    lab_lines(records, Framing::Acked, sent, |at, line| {
        if let Some(Frame::Message { seq, payload }) = Frame::parse(line) {
            if seq == 0 || seen.insert(seq) {
                let data = payload.to_vec();
                messages.push((seq, Hit { at, data }));
            }
        }
    });
    messages
}

/// Each message the lab server received (or sent), cut by the framing per client, with
/// when; one longer than the deframer's buffer is left out.
fn lab_lines(
    records: &[Record],
    framing: Framing,
    sent: bool,
    mut each: impl FnMut(Duration, &[u8]),
) {
    let mut deframers: BTreeMap<u32, Deframer<4096>> = BTreeMap::new();
    for record in records {
        let (client, data) = match (&record.event, sent) {
            (Event::LabReceived { client, data }, false)
            | (Event::LabSent { client, data }, true) => (*client, data),
            _ => continue,
        };
        let deframer = deframers
            .entry(client)
            .or_insert_with(|| Deframer::new(framing));
        deframer.push(&data.0, |message| {
            if let Ok(message) = message {
                each(record.at, message);
            }
        });
    }
}

/// Every occurrence of `what` in the run.
fn hits(run: &Run<'_>, what: &What) -> Vec<Hit> {
    if let What::Received(pattern) | What::LabSent(pattern) = what {
        let sent = matches!(what, What::LabSent(_));
        return lab_messages(run.records, framing(run.scenario), sent)
            .into_iter()
            .filter(|h| pattern.matches(&h.data))
            .collect();
    }
    let hit = |record: &Record, text: &[u8]| Hit {
        at: record.at,
        data: text.to_vec(),
    };
    run.records
        .iter()
        .filter_map(|record| match (what, &record.event) {
            (
                What::At(p),
                Event::At {
                    dir: Dir::ToModem,
                    line,
                },
            )
            | (
                What::Modem(p),
                Event::At {
                    dir: Dir::FromModem,
                    line,
                },
            ) => p.matches(&line.0).then(|| hit(record, &line.0)),
            (What::Report(p), Event::Fw { report }) => {
                let matched = match (p, &report.typed) {
                    (ReportPattern::Text(p), _) => p.matches(report.text.as_bytes()),
                    (typed, Some(report)) => typed.matches_typed(report) == Some(true),
                    // A report known only by its text: `unseen` skips typed patterns then.
                    (_, None) => false,
                };
                matched.then(|| hit(record, report.text.as_bytes()))
            }
            (
                What::Sms(p),
                Event::LabSms {
                    dir: SmsDir::FromDevice,
                    text,
                    ..
                },
            ) => p
                .matches(text.as_bytes())
                .then(|| hit(record, text.as_bytes())),
            (What::Fault(kind), Event::Fault { fault }) => {
                let json = fault.to_json();
                json.contains(&format!("\"kind\":\"{kind}\""))
                    .then(|| hit(record, json.as_bytes()))
            }
            // A full UART buffer is matched like a fault.
            (What::Fault(kind), Event::UartOverflow { dir, lost }) if kind == "uart_overflow" => {
                Some(hit(
                    record,
                    format!("{dir:?}: {lost} bytes lost").as_bytes(),
                ))
            }
            (What::Accepted, Event::LabAccepted { client, peer, .. }) => Some(hit(
                record,
                format!("client {client} from {peer}").as_bytes(),
            )),
            (What::Closed, Event::LabClosed { client, reason }) => {
                Some(hit(record, format!("client {client} {reason}").as_bytes()))
            }
            _ => None,
        })
        .collect()
}

/// Occurrences in the window, and the nearest few outside it, as lines.
fn nearby(all: &[Hit], start: Duration, end: Duration) -> Vec<String> {
    let before = all
        .iter()
        .filter(|h| h.at < start)
        .rev()
        .take(3)
        .collect::<Vec<_>>();
    let inside = all.iter().filter(|h| h.at >= start && h.at <= end).take(20);
    let after = all.iter().filter(|h| h.at > end).take(3);
    let mut lines: Vec<String> = before
        .into_iter()
        .rev()
        .map(|h| format!("{} (before the window)", show(h)))
        .collect();
    lines.extend(inside.map(show));
    lines.extend(after.map(|h| format!("{} (after the window)", show(h))));
    lines
}

fn show(hit: &Hit) -> String {
    format!("{} {}", secs(hit.at), show_bytes(&hit.data))
}

fn show_bytes(bytes: &[u8]) -> String {
    sim_modem::lab::escape(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::{conclude_observed, replay};
    use crate::trace::Bytes;

    fn scenario(text: &str) -> Scenario {
        crate::parse("t.json", text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn what_a_run_cannot_see_is_skipped_not_passed() {
        let scenario = scenario(
            r#"{ "name": "t", "duration": "40s", "expect": [
              { "expect": "happens", "id": "up", "what": { "report": { "text": "Connected" } } },
              { "expect": "happens", "what": { "received": { "text": "heart beat" } }, "after": "up", "to": "1s" },
              { "expect": "happens", "what": "accepted", "count": 1 },
              { "expect": "never", "what": { "report": { "prefix": "ModemRestart" } } },
              { "expect": "happens", "what": { "report": { "kind": "Phase", "phase": "Connected" } }, "count": 1 },
              { "expect": "never", "what": { "report": { "kind": "Phase", "phase": "FlightMode" } } }
            ] }"#,
        );
        let seen = replay(&scenario, "t.json", None);
        assert!(seen.passed() && seen.results.iter().all(CheckResult::checked));
        let skipped = |reports, typed_reports| {
            let observation = Observation {
                reports,
                typed_reports,
                slack: Duration::ZERO,
            };
            let records = seen.records.clone();
            let run =
                conclude_observed(&scenario, "t.json", 0, &[], seen.end, records, observation);
            assert!(run.verdict().is_ok());
            run.results
                .iter()
                .filter(|r| !r.checked())
                .map(|r| r.index)
                .collect::<Vec<usize>>()
        };
        // No reports: every report, and what is anchored to one.
        assert_eq!(skipped(false, false), [0, 1, 3, 4, 5]);
        // Their text only (a device's log): the typed patterns.
        assert_eq!(skipped(true, false), [4, 5]);
    }

    /// A liveness invariant that a run ends too soon to judge fails as not judged: it does
    /// not pass unchecked (a regression file whose recovery bound grew did so).
    #[test]
    fn a_liveness_invariant_too_soon_to_judge_fails() {
        let file = |duration: &str| {
            scenario(&format!(
                r#"{{ "name": "t", "duration": "{duration}",
                  "timeline": [ {{ "at": "20s", "fault": {{ "kind": "peer_close" }} }} ],
                  "expect": [
                    {{ "expect": "invariant", "invariant": "reconnected" }},
                    {{ "expect": "invariant", "invariant": "heartbeat_grid" }},
                    {{ "expect": "invariant", "invariant": "answered" }}
                  ] }}"#
            ))
        };
        let failures = |duration| {
            let run = replay(&file(duration), "t.json", None);
            let failures = run.results.iter().map(|r| r.failure.clone());
            failures.collect::<Vec<_>>()
        };
        let messages = |duration| {
            let failures = failures(duration).into_iter();
            failures.map(|f| f.map(|f| f.message)).collect::<Vec<_>>()
        };
        let short = messages("60s");
        assert!(
            short[0]
                .as_deref()
                .is_some_and(|m| m.starts_with("reconnected: not judged")),
            "{short:?}"
        );
        assert!(short[1].is_some(), "{short:?}");
        // Marked so (the swarm does not count it a violation), unlike a judged failure.
        let unjudged: Vec<_> = failures("60s")
            .into_iter()
            .map(|f| f.map(|f| f.unjudged))
            .collect();
        assert_eq!(unjudged, [Some(true), Some(true), None]);
        // A safety invariant is judged whatever the length.
        assert_eq!(short[2], None, "{short:?}");
        // Long enough: judged, and kept.
        assert_eq!(messages("700s"), [None, None, None]);
    }

    /// A typed pattern matches the report's fields, not its text.
    #[test]
    fn typed_report_patterns_match_fields() {
        let scenario = scenario(
            r#"{ "name": "t", "duration": "40s", "timeline": [{ "at": "20s", "fault": { "kind": "reboot" } }], "expect": [
              { "expect": "happens", "what": { "report": { "kind": "ModemRestart", "reason": "Rebooted", "action": "None" } }, "count": 1 },
              { "expect": "happens", "what": { "report": { "kind": "ModemRestart" } }, "count": 1 },
              { "expect": "happens", "what": { "report": { "kind": "Sent", "message": "Heartbeat", "data": "heart beat" } } },
              { "expect": "never", "what": { "report": { "kind": "ModemRestart", "action": "Reset" } } },
              { "expect": "never", "what": { "report": { "kind": "Sent", "data": "heart" } } }
            ] }"#,
        );
        let run = replay(&scenario, "t.json", None);
        let failed: Vec<usize> = run
            .results
            .iter()
            .filter(|r| !r.passed())
            .map(|r| r.index)
            .collect();
        assert_eq!(failed, [] as [usize; 0], "{:?}", run.results);
    }

    /// A client's script is one result: passed, or the step that failed with what it
    /// awaited and what came, or the step still going when the run ended.
    #[test]
    fn a_client_script_fails_at_its_step_with_what_came() {
        let boot = r#"{ "expect": "SMS Ready", "within": "30s" }"#;
        let cases: [(&str, &str, Option<&str>); 4] = [
            (
                "runs to its end",
                r#"{ "send": "AT" }, { "expect": "OK" }"#,
                None,
            ),
            (
                "the wrong answer",
                r#"{ "send": "AT+NOPE" }, { "expect": "OK", "within": "2s" }"#,
                Some(
                    r#"client.steps[2] (expect "OK" within 2s) failed at 9.501129s: came instead: "AT+NOPE", "ERROR""#,
                ),
            ),
            (
                "no answer",
                r#"{ "expect": { "prefix": "+CMTI:" }, "within": "1s" }"#,
                Some(
                    r#"client.steps[1] (expect "+CMTI:"... within 1s) failed at 8.501129s: nothing came"#,
                ),
            ),
            (
                "not done at the end",
                r#"{ "wait": "30s" }, { "send": "AT" }"#,
                Some(
                    "client.steps[1] (wait 30s) had not finished when the run ended at 20.000000s",
                ),
            ),
        ];
        for (name, steps, want) in cases {
            let text = format!(
                r#"{{ "name": "t", "duration": "20s", "client": {{ "steps": [{boot}, {steps}] }} }}"#
            );
            let run = replay(&scenario(&text), "t.json", None);
            let failure = run.results.last().and_then(|r| r.failure.as_ref());
            assert_eq!(failure.map(|f| f.message.as_str()), want, "{name}");
            assert_eq!(run.passed(), want.is_none(), "{name}");
        }
    }

    #[test]
    fn slack_loosens_time_bounds() {
        let scenario = scenario(
            r#"{ "name": "t", "duration": "30s", "expect": [
              { "expect": "periodic", "what": { "received": { "text": "hb" } }, "every": "10s", "from": "1s", "to": "21s" },
              { "expect": "happens", "what": { "received": { "text": "hb" } }, "count": 1, "to": "1s" },
              { "expect": "never", "what": { "received": { "text": "hb" } }, "from": "21002ms" }
            ] }"#,
        );
        // Jittered by a few milliseconds, as on a wall clock.
        let records: Vec<Record> = [1_003, 11_001, 21_004]
            .into_iter()
            .map(|ms| Record {
                at: Duration::from_millis(ms),
                event: Event::LabReceived {
                    client: 1,
                    data: Bytes(b"hb".to_vec()),
                },
            })
            .collect();
        let failed = |slack_ms| {
            let run = Run {
                scenario: &scenario,
                end: scenario.duration,
                steps: &[],
                records: &records,
                observation: Observation {
                    slack: Duration::from_millis(slack_ms),
                    ..Observation::REPLAY
                },
            };
            let results = check(&run);
            results
                .iter()
                .filter(|r| !r.passed())
                .map(|r| r.index)
                .collect::<Vec<_>>()
        };
        assert_eq!(failed(0), [0, 1, 2]);
        assert_eq!(failed(5), [] as [usize; 0]);
    }
}
