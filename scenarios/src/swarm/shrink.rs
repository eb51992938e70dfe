//! Shrinking a failing run to a short scenario that still breaks the same invariant, and
//! writing it as a regression file.
//!
//! The run is cut first (a shorter run is a cheaper test), then delta debugging (Zeller's
//! ddmin) takes out the timeline's steps, faults and traffic alike, that the failure does not
//! need; then each device, network and modem knob the file changes goes back to its
//! default where the failure stays; then each fault's duration and each lab message is
//! halved while it stays;
//! then the timeline moves earlier, gap by gap, and the run is cut again; and round again
//! until a round changes nothing. Every test is a replay judged by the one invariant, so
//! what comes out breaks it for certain.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::format::{
    Check, Device, Expectation, Hex, KnownFailure, LabAction, Modem, Scenario, StepKind, Window,
};
use crate::plan::with_duration;
use crate::replay::replay;

/// The scenario judged by `invariant` alone.
pub fn judged_by(scenario: &Scenario, invariant: &str) -> Scenario {
    Scenario {
        expect: vec![Expectation {
            id: Some(invariant.to_string()),
            window: Window::default(),
            check: Check::Invariant {
                name: invariant.to_string(),
            },
        }],
        known_failure: None,
        ..scenario.clone()
    }
}

/// Whether the scenario (judged by one invariant) breaks it.
pub fn breaks(scenario: &Scenario) -> bool {
    let run = replay(scenario, "shrink", None);
    // A run too short to judge its invariant breaks nothing: the swarm skips it, and a
    // shrink that kept it would end at an empty scenario.
    run.error.is_none()
        && run
            .results
            .iter()
            .any(|r| r.failure.as_ref().is_some_and(|f| !f.unjudged))
}

/// A smaller scenario that still breaks `invariant`: see the module documentation. The
/// scenario given must break it.
pub fn shrink(scenario: &Scenario, invariant: &str) -> Scenario {
    shrink_with(judged_by(scenario, invariant), &mut breaks)
}

/// [`shrink`] with the test given: rounds of every step until one changes nothing (a step
/// can make another possible: a timeline moved earlier may need fewer faults).
fn shrink_with(mut s: Scenario, fails: &mut dyn FnMut(&Scenario) -> bool) -> Scenario {
    s = cut_run(s, fails);
    for _ in 0..4 {
        let before = s.clone();
        let steps = s.timeline.clone();
        s.timeline = ddmin(steps, &mut |steps| {
            fails(&Scenario {
                timeline: steps.to_vec(),
                ..s.clone()
            })
        });
        s = defaults(s, fails);
        s = halving(s, fails, halved);
        s = halving(s, fails, halved_message);
        s = earlier(s, fails);
        s = cut_run(s, fails);
        if s == before {
            break;
        }
    }
    s
}

/// Delta debugging: a 1-minimal subset of `items` for which `test` holds (it holds for all
/// of them).
pub fn ddmin<T: Clone>(mut items: Vec<T>, test: &mut dyn FnMut(&[T]) -> bool) -> Vec<T> {
    if test(&[]) {
        return Vec::new();
    }
    let mut n = 2;
    while items.len() >= 2 {
        let size = items.len().div_ceil(n);
        let chunks: Vec<Vec<T>> = items.chunks(size).map(<[T]>::to_vec).collect();
        let mut reduced = false;
        for (i, chunk) in chunks.iter().enumerate() {
            if test(chunk) {
                items = chunk.clone();
                n = 2;
                reduced = true;
                break;
            }
            let complement: Vec<T> = chunks
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .flat_map(|(_, c)| c.iter().cloned())
                .collect();
            if chunks.len() > 2 && test(&complement) {
                items = complement;
                n = (n - 1).max(2);
                reduced = true;
                break;
            }
        }
        if !reduced {
            if n >= items.len() {
                break;
            }
            n = (2 * n).min(items.len());
        }
    }
    items
}

/// The shortest run (to the second) that still fails, found by bisection.
fn cut_run(s: Scenario, fails: &mut dyn FnMut(&Scenario) -> bool) -> Scenario {
    let last_step = s.timeline.iter().map(|t| t.at).max().unwrap_or_default();
    let (mut lo, mut hi) = (last_step.as_secs() + 1, s.duration.as_secs());
    let with = |secs: u64| Scenario {
        duration: Duration::from_secs(secs),
        ..s.clone()
    };
    // Invariant: a run of `hi` seconds fails.
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if fails(&with(mid)) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    if Duration::from_secs(hi) < s.duration {
        with(hi)
    } else {
        s
    }
}

/// Each knob the file changes back to its default, where the failure stays.
fn defaults(mut s: Scenario, fails: &mut dyn FnMut(&Scenario) -> bool) -> Scenario {
    // The device's knobs, one at a time.
    let knobs: Vec<String> = s.device.given().map(str::to_string).collect();
    for knob in knobs {
        let mut json = serde_json::to_value(&s.device).expect("a device serializes");
        json.as_object_mut().map(|m| m.remove(&knob));
        if let Ok(device) = serde_json::from_value::<Device>(json) {
            let candidate = Scenario {
                device,
                ..s.clone()
            };
            if fails(&candidate) {
                s = candidate;
            }
        }
    }
    // The network's, one at a time.
    let defaults = serde_json::to_value(sim_modem::network::NetworkConfig::default())
        .expect("a network serializes");
    let network = serde_json::to_value(&s.network).expect("a network serializes");
    if let (Some(defaults), Some(changed)) = (defaults.as_object(), network.as_object()) {
        for (key, value) in changed {
            if defaults.get(key) == Some(value) {
                continue;
            }
            let mut json = serde_json::to_value(&s.network).expect("a network serializes");
            json[key] = defaults[key].clone();
            if let Ok(network) = serde_json::from_value(json) {
                let candidate = Scenario {
                    network,
                    ..s.clone()
                };
                if fails(&candidate) {
                    s = candidate;
                }
            }
        }
    }
    // The modem's knobs, all at once.
    if !s.modem.overrides().is_empty() {
        let candidate = Scenario {
            modem: Modem::named(s.modem.base),
            ..s.clone()
        };
        if fails(&candidate) {
            s = candidate;
        }
    }
    s
}

/// The fault of a step, lasting half as long (to the second), if it has a duration to halve.
fn halved(what: &StepKind) -> Option<StepKind> {
    let StepKind::Fault(fault) = what else {
        return None;
    };
    let half = Duration::from_secs(fault.duration()?.as_secs() / 2);
    (!half.is_zero()).then(|| with_duration(fault, half).map(StepKind::Fault))?
}

/// Each step made smaller by `halve` (a fault's duration, a message) while the failure stays.
fn halving(
    mut s: Scenario,
    fails: &mut dyn FnMut(&Scenario) -> bool,
    halve: fn(&StepKind) -> Option<StepKind>,
) -> Scenario {
    for i in 0..s.timeline.len() {
        while let Some(smaller) = halve(&s.timeline[i].what) {
            let mut candidate = s.clone();
            candidate.timeline[i].what = smaller;
            if !fails(&candidate) {
                break;
            }
            s = candidate;
        }
    }
    s
}

/// A lab message cut to half its length (its first 8 bytes and a final `\n` kept: the
/// request and its framing stay what they were), if it is longer than that.
fn halved_message(what: &StepKind) -> Option<StepKind> {
    let StepKind::Lab { action, client } = what else {
        return None;
    };
    let bytes = action.bytes()?;
    let (body, end) = match bytes.strip_suffix(b"\n") {
        Some(body) => (body, &b"\n"[..]),
        None => (bytes, &b""[..]),
    };
    if body.len() <= 8 {
        return None;
    }
    let mut shorter = body[..(body.len() / 2).max(8)].to_vec();
    shorter.extend_from_slice(end);
    let action = match String::from_utf8(shorter) {
        Ok(text) => LabAction::Send(text),
        Err(e) => LabAction::SendHex(Hex(e.into_bytes())),
    };
    Some(StepKind::Lab {
        action,
        client: *client,
    })
}

/// The timeline as early as it can be, and the run as much shorter: gap by gap, from the
/// start of the run to the first step and from each step to the next, the steps from there
/// on move earlier by the largest of 16 even cuts of the gap (all of it, 15/16, ...) with
/// which it still fails. Not a bisection: a shift changes what the seeded noise and loss
/// draw, so a failure can come and go with it.
fn earlier(mut s: Scenario, fails: &mut dyn FnMut(&Scenario) -> bool) -> Scenario {
    s.timeline.sort_by_key(|t| t.at);
    for i in 0..s.timeline.len() {
        let before = if i == 0 {
            Duration::ZERO
        } else {
            s.timeline[i - 1].at
        };
        let gap = (s.timeline[i].at - before).as_secs();
        let shifted = |by: Duration| {
            let mut t = s.clone();
            for step in &mut t.timeline[i..] {
                step.at -= by;
            }
            t.duration -= by;
            t
        };
        let cut = (1..=16u64)
            .rev()
            .map(|k| Duration::from_secs(gap * k / 16))
            .filter(|by| !by.is_zero())
            .map(shifted)
            .find(|candidate| fails(candidate));
        if let Some(cut) = cut {
            s = cut;
        }
    }
    s
}

/// Where a regression file for `invariant` broken by `seed` goes in `dir`.
pub fn regression_path(dir: &Path, invariant: &str, seed: u64) -> PathBuf {
    dir.join(format!("{invariant}-{seed}.json"))
}

/// The regression file: the shrunk scenario, named after the invariant and the seed, its
/// description saying where it came from and how to run it, marked `known_failure` (it
/// fails until the bug is fixed) with the violation as the reason.
pub fn regression(
    shrunk: &Scenario,
    invariant: &str,
    seed: u64,
    original: &Scenario,
    violation: &str,
) -> Scenario {
    let statement = crate::invariants::invariant(invariant).map_or("", |i| i.statement);
    let file = format!("scenarios/regressions/{invariant}-{seed}.json");
    Scenario {
        schema: Some("../scenario.schema.json".into()),
        name: format!("{invariant}_{seed}"),
        description: format!(
            "Found by the swarm: seed {seed} breaks the invariant `{invariant}` ({statement}). \
             Shrunk from {} steps in {} to {} in {}. Reproduce: cargo xtask replay {file} \
             (the original run: cargo xtask swarm --seed {seed} --duration {}).",
            original.timeline.len(),
            units::format_duration(original.duration),
            shrunk.timeline.len(),
            units::format_duration(shrunk.duration),
            units::format_duration(original.duration),
        ),
        known_failure: Some(KnownFailure {
            fails: vec![invariant.to_string()],
            why: format!("{violation} (found by the swarm; the cause is to be written here)"),
            causes: Vec::new(),
        }),
        ..judged_by(shrunk, invariant)
    }
}

/// A scenario as a file: one key per line (in the order of `Scenario`'s fields), each
/// timeline step and expectation on a line of its own, as the library's files are written.
pub fn file_text(scenario: &Scenario) -> String {
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, FileLayout::default());
    scenario
        .serialize(&mut serializer)
        .expect("a scenario serializes");
    out.push(b'\n');
    String::from_utf8(out).expect("JSON is UTF-8")
}

/// The layout of [`file_text`]: the top object's keys one per line, the elements of an array
/// directly under it one per line, everything deeper on one line with a space after `:` and
/// `,` and inside braces: `{ "at": "1m", "lab": "close" }`.
#[derive(Default)]
struct FileLayout {
    /// Whether each open object or array has had a value yet.
    open: Vec<bool>,
}

impl serde_json::ser::Formatter for FileLayout {
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open.push(false);
        w.write_all(b"{")
    }

    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        let depth = self.open.len();
        self.open.pop();
        w.write_all(if depth == 1 { b"\n}" } else { b" }" })
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        let sep: &[u8] = match (self.open.len(), first) {
            (1, true) => b"\n  ",
            (1, false) => b",\n  ",
            (_, true) => b" ",
            (_, false) => b", ",
        };
        w.write_all(sep)
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b": ")
    }

    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open.push(false);
        w.write_all(b"[")
    }

    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        let (depth, had_values) = (self.open.len(), self.open.last() == Some(&true));
        self.open.pop();
        w.write_all(if depth == 2 && had_values {
            b"\n  ]"
        } else {
            b"]"
        })
    }

    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if let Some(open) = self.open.last_mut() {
            *open = true;
        }
        let sep: &[u8] = match (self.open.len(), first) {
            (2, true) => b"\n    ",
            (2, false) => b",\n    ",
            (_, true) => b"",
            (_, false) => b", ",
        };
        w.write_all(sep)
    }
}

/// Writes the regression file for `invariant` broken by `seed` into `dir`; returns its path.
pub fn write_regression(
    dir: &Path,
    regression: &Scenario,
    invariant: &str,
    seed: u64,
) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = regression_path(dir, invariant, seed);
    let mut file = std::fs::File::create(&path)?;
    file.write_all(file_text(regression).as_bytes())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ddmin_finds_what_the_failure_needs() {
        // Fails when 3 and 7 are both in.
        let mut tests = 0;
        let kept = ddmin((0..20).collect(), &mut |items: &[i32]| {
            tests += 1;
            items.contains(&3) && items.contains(&7)
        });
        assert_eq!(kept, [3, 7]);
        assert!(tests < 60, "{tests} tests");
        // Fails whatever is in: nothing is needed.
        assert_eq!(ddmin(vec![1, 2, 3], &mut |_: &[i32]| true), [] as [i32; 0]);
    }

    /// The whole pipeline with a stand-in for the replay: "fails" when a `reboot` comes
    /// 30 s or more before the end of a run with `transport: udp`, and a lab message
    /// longer than 10 bytes is sent before it.
    #[test]
    fn shrinking_keeps_only_what_the_failure_needs() {
        let text = r#"{ "name": "t", "duration": "2h", "seed": 3,
          "device": { "transport": "udp", "heartbeat_interval": "30s" },
          "network": { "latency": "1s" },
          "timeline": [
            { "at": "1m", "fault": { "kind": "blackhole", "duration": "10m" } },
            { "at": "5m", "lab": { "send": "back 1 a long message of many bytes" } },
            { "at": "20m", "lab": { "send": "bin" } },
            { "at": "40m", "fault": { "kind": "reboot" } },
            { "at": "50m", "fault": { "kind": "hang" } },
            { "at": "70m", "lab": "close" }
          ] }"#;
        let original = crate::parse("t.json", text).unwrap();
        let mut tests = 0;
        let mut fails = |s: &Scenario| {
            tests += 1;
            let udp = s.device_config().transport == protocol::types::Transport::Udp;
            let long_message = |at: Duration| {
                s.timeline.iter().any(|t| {
                    t.at < at && matches!(&t.what, StepKind::Lab { action, .. } if action.bytes().is_some_and(|b| b.len() > 10))
                })
            };
            udp && s.timeline.iter().any(|t| {
                matches!(t.what, StepKind::Fault(sim_modem::fault::Fault::Reboot))
                    && t.at + Duration::from_secs(30) <= s.duration
                    && long_message(t.at)
            })
        };
        let shrunk = shrink_with(original.clone(), &mut fails);
        assert!(fails(&shrunk));
        // The two steps it needs, the message cut to 10 bytes or a little more, as early as
        // the gaps allow, the run ending 30 s after the reboot; the other knobs back to
        // their defaults.
        assert_eq!(shrunk.timeline.len(), 2, "{shrunk:#?}");
        let message = shrunk.timeline[0].what.clone();
        let StepKind::Lab { action, .. } = message else {
            panic!("{message:?}")
        };
        assert!(action.bytes().unwrap().len() <= 20, "{action:?}");
        assert!(
            shrunk.timeline[1].at <= Duration::from_secs(60),
            "{shrunk:#?}"
        );
        assert_eq!(
            shrunk.duration,
            shrunk.timeline[1].at + Duration::from_secs(30)
        );
        assert_eq!(
            serde_json::to_value(&shrunk.device).unwrap(),
            serde_json::json!({ "transport": "udp" })
        );
        assert_eq!(shrunk.network, Default::default());
        assert!(tests < 400, "{tests} tests");
    }

    /// A file as the library writes them; it reads back the same.
    #[test]
    fn files_are_written_as_the_library_writes_them() {
        let text = r#"{
  "$schema": "../scenario.schema.json",
  "name": "t",
  "duration": "1m",
  "device": { "heartbeat_interval": "30s" },
  "network": { "latency": "1s" },
  "timeline": [
    { "at": "10s", "fault": { "kind": "registration_lost", "duration": "5s" } },
    { "at": "20s", "lab": { "send": "back 1" } }
  ],
  "expect": [
    { "expect": "invariant", "id": "answered", "invariant": "answered" }
  ]
}
"#;
        let scenario = crate::parse("t.json", text).unwrap();
        assert_eq!(file_text(&scenario), text);
    }
}
