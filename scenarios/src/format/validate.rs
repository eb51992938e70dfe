//! What the types cannot check: the run is not too long, a scripted client does not meet
//! the firmware's knobs or expectations, the device's knobs are in their ranges
//! (`firmware::Config::validate`), ids are unique, anchors exist and do not go round in
//! circles, a known failure names expectations, times fit the run, a lab SMS fits one SMS,
//! random faults can be drawn (and not too many), report patterns name the firmware's report
//! kinds and their fields. Each error names the JSON path of the offending value, for
//! `path:line:column`.

use std::collections::BTreeSet;
use std::time::Duration;

use super::expect::{Check, Expectation, Pattern, ReportPattern, What};
use super::location::Segment;
use super::scenario::Scenario;
use super::timeline::{LabAction, StepKind};

/// A scenario that reads well but makes no sense: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub path: Vec<Segment>,
    pub message: String,
}

fn invalid(path: &[Segment], message: String) -> Result<(), Invalid> {
    Err(Invalid {
        path: path.to_vec(),
        message,
    })
}

/// The longest run: a week. A replay keeps its trace in memory (about 13 MB per simulated
/// day), so a much longer one is a mistake, not a setting: `"99999999999999h"` ran until
/// killed.
pub const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

/// The most random faults a run may draw on average (its window over `mean_interval`): more
/// is a flood that runs away with memory and time, not a scenario.
pub const MAX_RANDOM_FAULTS: u128 = 10_000;

pub fn validate(s: &Scenario) -> Result<(), Invalid> {
    if s.duration > MAX_DURATION || s.duration.is_zero() {
        return invalid(
            &["duration".into()],
            format!(
                "the run is {}: it must be from 1ms to {}",
                units::format_duration(s.duration),
                units::format_duration(MAX_DURATION)
            ),
        );
    }
    if let Some(why) = client_conflict(s) {
        return Err(why);
    }
    if let Err(e) = s.device_config().validate() {
        return invalid(&["device".into(), e.knob.into()], e.to_string());
    }
    let mut steps = BTreeSet::new();
    for (i, step) in s.timeline.iter().enumerate() {
        if step.at > s.duration {
            return invalid(
                &["timeline".into(), i.into(), "at".into()],
                format!(
                    "step at {} is after the end of the run ({})",
                    units::format_duration(step.at),
                    units::format_duration(s.duration)
                ),
            );
        }
        if let StepKind::Lab {
            action: LabAction::Sms(text),
            ..
        } = &step.what
        {
            // The lab's phone says whether the text fits one SMS.
            let mut lab = sim_modem::lab::LabServer::new(s.lab.clone());
            if let Err(e) = lab.send_sms(Duration::ZERO, text) {
                let path = ["timeline".into(), i.into(), "lab".into(), "sms".into()];
                return invalid(&path, e);
            }
        }
        if let Some(id) = &step.id {
            if !steps.insert(id.as_str()) {
                return invalid(
                    &["timeline".into(), i.into(), "id".into()],
                    format!("two timeline steps have the id {id:?}"),
                );
            }
        }
    }
    let ends: BTreeSet<String> = s
        .timeline
        .iter()
        .filter(|step| step.end().is_some())
        .filter_map(|step| step.id.as_ref().map(|id| format!("{id}.end")))
        .collect();
    let mut expectations = BTreeSet::new();
    for (i, e) in s.expect.iter().enumerate() {
        if let Some(id) = &e.id {
            if steps.contains(id.as_str()) || !expectations.insert(id.as_str()) {
                return invalid(
                    &["expect".into(), i.into(), "id".into()],
                    format!("the id {id:?} is used twice"),
                );
            }
        }
    }
    for (i, e) in s.expect.iter().enumerate() {
        for (key, anchor) in anchors(e) {
            let known =
                steps.contains(anchor) || ends.contains(anchor) || expectations.contains(anchor);
            if !known {
                let mut names: Vec<&str> = steps.iter().copied().collect();
                names.extend(ends.iter().map(String::as_str));
                names.extend(expectations.iter().copied());
                let names = if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                };
                return invalid(
                    &["expect".into(), i.into(), key.into()],
                    format!(
                        "`{key}`: {anchor:?} is neither a step id, a fault's `<id>.end`, nor an expectation id; known: {names}"
                    ),
                );
            }
        }
    }
    for (i, e) in s.expect.iter().enumerate() {
        if let Check::Invariant { name } = &e.check {
            let judged = crate::invariants::invariant(name)
                .is_some_and(|i| matches!(i.judged, crate::invariants::Judged::Trace(_)));
            if !judged {
                let names: Vec<&str> = crate::invariants::INVARIANTS
                    .iter()
                    .filter(|i| matches!(i.judged, crate::invariants::Judged::Trace(_)))
                    .map(|i| i.name)
                    .collect();
                return invalid(
                    &["expect".into(), i.into(), "invariant".into()],
                    format!(
                        "{name:?} is not an invariant a trace shows; they are: {}",
                        names.join(", ")
                    ),
                );
            }
        }
        if let Some(What::Report(pattern)) = e.check.what() {
            let at = |key: &str| -> Vec<Segment> {
                let path = ["expect".into(), i.into(), "what".into(), "report".into()];
                path.into_iter().chain([key.into()]).collect()
            };
            if let Err((key, message)) = report_pattern(pattern) {
                return invalid(&at(&key), message);
            }
        }
    }
    // Anchors between expectations must not loop.
    for e in &s.expect {
        if let Some((i, key, anchor)) = circle(s, e, &mut Vec::new()) {
            return invalid(
                &["expect".into(), i.into(), key.into()],
                format!("`after` / `until` go round in a circle through {anchor:?}"),
            );
        }
    }
    if let Some(known) = &s.known_failure {
        let fails =
            |i: usize| -> Vec<Segment> { vec!["known_failure".into(), "fails".into(), i.into()] };
        if known.fails.is_empty() {
            return invalid(
                &["known_failure".into(), "fails".into()],
                "`fails` names the expectations the bug makes fail (by `id`): at least one".into(),
            );
        }
        for (i, id) in known.fails.iter().enumerate() {
            if !expectations.contains(id.as_str()) {
                let names: Vec<&str> = expectations.iter().copied().collect();
                let names = if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                };
                return invalid(
                    &fails(i),
                    format!("`fails`: {id:?} is not an expectation id; known: {names}"),
                );
            }
            if known.fails[..i].contains(id) {
                return invalid(&fails(i), format!("`fails` names {id:?} twice"));
            }
        }
    }
    if let Some(random) = &s.random_faults {
        let at = |key: &str| -> Vec<Segment> { vec!["random_faults".into(), key.into()] };
        if random.mean_interval.is_zero() {
            return invalid(
                &at("mean_interval"),
                "`mean_interval` must be more than 0s".into(),
            );
        }
        let window = random
            .to
            .unwrap_or(s.duration)
            .min(s.duration)
            .saturating_sub(random.from);
        let drawn = window.as_nanos() / random.mean_interval.as_nanos();
        if drawn > MAX_RANDOM_FAULTS {
            return invalid(
                &at("mean_interval"),
                format!(
                    "one fault every {} draws about {drawn} in the run: at most {MAX_RANDOM_FAULTS}",
                    units::format_duration(random.mean_interval)
                ),
            );
        }
        if random.faults.iter().all(|f| f.weight == 0) {
            return invalid(
                &at("faults"),
                "`random_faults` needs at least one fault with a weight".into(),
            );
        }
        for (i, f) in random.faults.iter().enumerate() {
            if let (Some(min), Some(max)) = (f.min, f.max) {
                if min > max {
                    let path = [
                        "random_faults".into(),
                        "faults".into(),
                        i.into(),
                        "min".into(),
                    ];
                    return invalid(&path, "`min` is more than `max`".into());
                }
            }
        }
    }
    Ok(())
}

/// A scripted client takes the firmware's place: no `device` knobs for it, and no
/// expectation on what only the firmware does (its reports, its replies, the invariants).
fn client_conflict(s: &Scenario) -> Option<Invalid> {
    s.client.as_ref()?;
    if !s.device.is_empty() {
        return Some(Invalid {
            path: vec!["client".into()],
            message: "`client` takes the device's place: a file has `device` or `client`, not both"
                .into(),
        });
    }
    s.expect.iter().enumerate().find_map(|(i, e)| {
        let (key, what) = match (&e.check, e.check.what()) {
            (_, Some(What::Report(_))) => ("what", "a firmware report"),
            (Check::Answered { .. }, _) => ("expect", "the firmware's replies"),
            (Check::Invariant { .. }, _) => ("invariant", "an invariant of the firmware"),
            _ => return None,
        };
        Some(Invalid {
            path: vec!["expect".into(), i.into(), key.into()],
            message: format!("with a `client` no firmware runs: nothing checks {what}"),
        })
    })
}

/// A report pattern names a kind the firmware reports, and only fields that kind has (with
/// values of their type); a text pattern starts with a kind. `Err`: the key at fault, why.
fn report_pattern(pattern: &ReportPattern) -> Result<(), (String, String)> {
    let kinds = crate::trace::FwReport::kind_fields();
    let known = |kind: &str| kinds.iter().find(|(k, _)| *k == kind);
    let all_kinds = || {
        let names: Vec<&str> = kinds.iter().map(|(k, _)| *k).collect();
        names.join(", ")
    };
    match pattern {
        ReportPattern::Text(Pattern::Hex(_)) => Err((
            "hex".into(),
            "a report is text: match it with `text`, `prefix` or `contains`, or by `kind` and fields".into(),
        )),
        ReportPattern::Text(text) => {
            let (key, text) = match text {
                Pattern::Text(t) => ("text", t),
                Pattern::Prefix(t) => ("prefix", t),
                Pattern::Contains(t) => ("contains", t),
                Pattern::Hex(_) => unreachable!("refused above"),
            };
            let kind: String = text
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            match known(&kind) {
                Some(_) => Ok(()),
                None => Err((
                    key.into(),
                    format!(
                        "a report's text starts with its kind, and {kind:?} is not one; kinds: {}",
                        all_kinds()
                    ),
                )),
            }
        }
        ReportPattern::Typed { kind, fields } => {
            let Some((_, example)) = known(kind) else {
                return Err((
                    "kind".into(),
                    format!("{kind:?} is not a report kind; kinds: {}", all_kinds()),
                ));
            };
            for (field, value) in fields {
                let Some(like) = example.get(field) else {
                    let names: Vec<&str> = example.keys().map(String::as_str).collect();
                    let names = if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    };
                    return Err((
                        field.clone(),
                        format!("a {kind} report has no field {field:?}; its fields: {names}"),
                    ));
                };
                let type_of = |v: &serde_json::Value| match v {
                    serde_json::Value::Bool(_) => "a boolean",
                    serde_json::Value::Number(_) => "a number",
                    serde_json::Value::String(_) => "a string",
                    serde_json::Value::Null => "null",
                    _ => "an array or object",
                };
                let comparable = value.is_null() || like.is_null() || type_of(value) == type_of(like);
                if !comparable || value.is_array() || value.is_object() {
                    return Err((
                        field.clone(),
                        format!("{kind}'s {field} is {}, not {}", type_of(like), type_of(value)),
                    ));
                }
            }
            Ok(())
        }
    }
}

/// The anchors an expectation names, with their keys.
fn anchors(e: &Expectation) -> impl Iterator<Item = (&'static str, &str)> {
    let window = &e.window;
    let after = window.after.as_deref().map(|a| ("after", a));
    let until = window.until.as_deref().map(|u| ("until", u));
    after.into_iter().chain(until)
}

/// Where a circle of expectations anchored to each other closes, if one does: the index of
/// the expectation, the key, and the anchor.
fn circle<'a>(
    s: &'a Scenario,
    e: &'a Expectation,
    path: &mut Vec<&'a str>,
) -> Option<(usize, &'static str, &'a str)> {
    for (key, anchor) in anchors(e) {
        if path.contains(&anchor) {
            let index = s.expect.iter().position(|x| std::ptr::eq(x, e))?;
            return Some((index, key, anchor));
        }
        if let Some(next) = s.expect.iter().find(|x| x.id.as_deref() == Some(anchor)) {
            path.push(anchor);
            if let Some(found) = circle(s, next, path) {
                return Some(found);
            }
            path.pop();
        }
    }
    None
}
