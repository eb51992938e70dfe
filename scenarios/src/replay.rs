//! Replays a scenario: builds its [`World`], plays its timeline (and its random faults,
//! [`plan`]) in virtual time, and checks its expectations against the trace.

use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::time::{Duration, Instant as WallInstant};

use firmware::Config;
use protocol::app::Framing;
use sim_modem::lab::LabConfig;
use sim_modem::sim::SimConfig;

use crate::check::{self, CheckResult, Observation, Run};
use crate::format::Scenario;
pub use crate::plan::{plan, Planned};
use crate::trace::{self, Record};
use crate::world::{World, WorldConfig};

/// The firmware configuration a scenario asks for ([`Scenario::device_config`]), checked
/// against the knobs' ranges (the loader checks it too; a scenario built in code may not be).
pub fn device_config(s: &Scenario) -> Result<Config, String> {
    let config = s.device_config();
    config.validate().map_err(|e| format!("device: {e}"))?;
    Ok(config)
}

/// The simulation a scenario asks for, with `seed`. Timeline faults are not in it: the world
/// applies them, so that they appear in the trace with their step ids.
pub fn sim_config(s: &Scenario, seed: u64) -> SimConfig {
    // A device with the acknowledged framing needs a lab server that speaks it.
    let acked = s.lab.acked || s.device_config().framing == Framing::Acked;
    SimConfig {
        profile: s.modem.base.name().to_string(),
        seed,
        network: s.network.clone(),
        lab: LabConfig {
            acked,
            ..s.lab.clone()
        },
        faults: Vec::new(),
    }
}

/// Builds the world of a scenario (the firmware, or the file's scripted client, as the
/// device), with its steps scheduled.
pub fn world(s: &Scenario, seed: u64, trace: bool) -> Result<(World, Vec<Planned>), String> {
    let config = WorldConfig {
        device: device_config(s)?,
        sim: sim_config(s, seed),
        profile: Some(s.modem.profile.clone()),
        trace,
    };
    let world = match &s.client {
        Some(client) => World::client(config.sim, config.profile, trace, client.steps.clone()),
        None => World::new(config),
    }
    .map_err(|e| e.to_string())?;
    Ok(scheduled(s, seed, world))
}

/// The same for a device outside the process ([`World::external`]), traced. The file's
/// `device` section cannot reach such a device: it runs with the configuration built into it.
pub fn external_world(s: &Scenario, seed: u64) -> Result<(World, Vec<Planned>), String> {
    if s.client.is_some() {
        return Err(
            "the scenario's device is its scripted `client`: run it without one outside".into(),
        );
    }
    let profile = Some(s.modem.profile.clone());
    let world = World::external(sim_config(s, seed), profile, true).map_err(|e| e.to_string())?;
    Ok(scheduled(s, seed, world))
}

fn scheduled(s: &Scenario, seed: u64, mut world: World) -> (World, Vec<Planned>) {
    let planned = plan(s, seed);
    for p in &planned {
        world.schedule(p.at, p.step.clone());
    }
    (world, planned)
}

/// A finished replay.
#[derive(Debug)]
pub struct Replay {
    pub scenario: Scenario,
    /// The file it came from, as given.
    pub path: String,
    pub seed: u64,
    pub records: Vec<Record>,
    pub results: Vec<CheckResult>,
    /// Where virtual time ended.
    pub end: Duration,
    /// The wall time the replay took (not part of the trace).
    pub wall: std::time::Duration,
    /// The replay could not run or crashed (a panic in the firmware or the simulation).
    pub error: Option<String>,
    /// The command that runs this again when it is not a replay (a real-time run sets it).
    pub rerun: Option<String>,
}

/// What a replay means for CI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    Failed,
    /// The expectations the file's `known_failure` names failed, and no other.
    KnownFailure,
    /// No other expectation failed, but one `known_failure` names passed: the mark is stale.
    UnexpectedPass,
}

impl Verdict {
    /// Whether CI is green with this.
    pub fn is_ok(self) -> bool {
        matches!(self, Verdict::Passed | Verdict::KnownFailure)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Passed => "ok",
            Verdict::Failed => "FAILED",
            Verdict::KnownFailure => "known",
            Verdict::UnexpectedPass => "FIXED?",
        }
    }
}

impl Replay {
    /// Whether it ran and every expectation was met.
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.results.iter().all(CheckResult::passed)
    }

    /// Failed if it did not run or an expectation failed that `known_failure` does not
    /// name; else, with a `known_failure`, known while every expectation it names that
    /// was checked failed.
    pub fn verdict(&self) -> Verdict {
        if self.error.is_some() || self.results.iter().any(|r| self.unexpected(r)) {
            return Verdict::Failed;
        }
        match &self.scenario.known_failure {
            None => Verdict::Passed,
            Some(_) if self.stale().next().is_some() => Verdict::UnexpectedPass,
            Some(_) => Verdict::KnownFailure,
        }
    }

    /// Whether the file's `known_failure` names this result's expectation.
    pub fn known(&self, result: &CheckResult) -> bool {
        let id = self
            .scenario
            .expect
            .get(result.index)
            .and_then(|e| e.id.as_deref());
        self.scenario
            .known_failure
            .as_ref()
            .is_some_and(|known| known.names(id))
    }

    /// A failure `known_failure` does not name.
    pub fn unexpected(&self, result: &CheckResult) -> bool {
        !result.passed() && !self.known(result)
    }

    /// The ids `known_failure` names whose expectations were checked and passed.
    pub fn stale(&self) -> impl Iterator<Item = &str> {
        self.results
            .iter()
            .filter(|r| r.passed() && r.checked() && self.known(r))
            .filter_map(|r| self.scenario.expect.get(r.index)?.id.as_deref())
    }

    /// The trace as JSON Lines.
    pub fn trace(&self) -> Vec<u8> {
        trace::to_jsonl(&self.records)
    }

    /// The command that runs this again: a replay, unless [`Replay::rerun`] says otherwise.
    pub fn command(&self) -> String {
        self.rerun
            .clone()
            .unwrap_or_else(|| format!("cargo xtask replay {} --seed {}", self.path, self.seed))
    }
}

/// Replays `scenario` (from `path`, for messages) with `seed` (default: the file's).
pub fn replay(scenario: &Scenario, path: &str, seed: Option<u64>) -> Replay {
    let seed = seed.unwrap_or(scenario.seed);
    // Measured for the report, never used: the replay itself reads no clock.
    #[allow(clippy::disallowed_methods)]
    let started = WallInstant::now();
    let (mut world, planned) = match world(scenario, seed, true) {
        Ok(built) => built,
        Err(e) => {
            let mut replay = conclude(scenario, path, seed, &[], Duration::ZERO, Vec::new());
            replay.error = Some(e);
            return replay;
        }
    };
    let run = panic::catch_unwind(AssertUnwindSafe(|| world.run_until(scenario.duration)));
    let end = world.now();
    let mut replay = conclude(scenario, path, seed, &planned, end, world.take_records());
    if let Err(panic) = run {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic".into());
        replay.error = Some(format!(
            "the replay panicked at {}: {message}",
            check::secs(end)
        ));
    }
    replay.wall = started.elapsed();
    replay
}

/// Checks the records of a run that ended at `end` (a replay, or a live view that drove the
/// world itself).
pub fn conclude(
    scenario: &Scenario,
    path: &str,
    seed: u64,
    planned: &[Planned],
    end: Duration,
    records: Vec<Record>,
) -> Replay {
    let observation = Observation::REPLAY;
    conclude_observed(scenario, path, seed, planned, end, records, observation)
}

/// The same for a run that saw less, or less exactly, than a replay (see [`Observation`]).
pub fn conclude_observed(
    scenario: &Scenario,
    path: &str,
    seed: u64,
    planned: &[Planned],
    end: Duration,
    records: Vec<Record>,
    observation: Observation,
) -> Replay {
    let results = check::check(&Run {
        scenario,
        end,
        steps: planned,
        records: &records,
        observation,
    });
    Replay {
        scenario: scenario.clone(),
        path: path.to_string(),
        seed,
        records,
        results,
        end,
        wall: Default::default(),
        error: None,
        rerun: None,
    }
}

/// Loads and replays a file; a file that does not load is a failed replay.
pub fn replay_file(path: &Path, seed: Option<u64>) -> Result<Replay, crate::format::LoadError> {
    let scenario = crate::format::load(path)?;
    Ok(replay(&scenario, &path.display().to_string(), seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The verdict of a 20 s run (one lab connection) with expectations `a`, `b`, ... that
    /// pass or fail as `outcomes` says, and a `known_failure` naming `named` (if any).
    fn verdict(outcomes: &[bool], named: &[&str]) -> Verdict {
        let expect: Vec<String> = outcomes
            .iter()
            .zip('a'..)
            .map(|(passes, id)| {
                let count = if *passes { 1 } else { 2 };
                format!(r#"{{ "expect": "happens", "id": "{id}", "what": "accepted", "count": {count} }}"#)
            })
            .collect();
        let known = match named {
            [] => String::new(),
            ids => format!(r#", "known_failure": {{ "fails": {ids:?}, "why": "a bug" }}"#),
        };
        let text = format!(
            r#"{{ "name": "t", "duration": "20s", "expect": [{}]{known} }}"#,
            expect.join(", ")
        );
        let scenario = crate::parse("t.json", &text).unwrap_or_else(|e| panic!("{e}"));
        replay(&scenario, "t.json", None).verdict()
    }

    #[test]
    fn a_client_scenario_takes_no_device_from_outside() {
        let text =
            r#"{ "name": "t", "duration": "20s", "client": { "steps": [{ "wait": "1s" }] } }"#;
        let scenario = crate::parse("t.json", text).unwrap_or_else(|e| panic!("{e}"));
        let refused = external_world(&scenario, 0).err();
        assert!(
            refused
                .as_deref()
                .is_some_and(|e| e.contains("scripted `client`")),
            "{refused:?}"
        );
        assert!(world(&scenario, 0, true).is_ok());
    }

    #[test]
    fn a_known_failure_is_pinned_to_the_expectations_it_names() {
        const PASS: bool = true;
        const FAIL: bool = false;
        let cases: [(&str, &[bool], &[&str], Verdict); 8] = [
            ("all pass", &[PASS, PASS], &[], Verdict::Passed),
            ("one fails, unmarked", &[PASS, FAIL], &[], Verdict::Failed),
            (
                "the named one fails",
                &[PASS, FAIL],
                &["b"],
                Verdict::KnownFailure,
            ),
            (
                "both named fail",
                &[FAIL, FAIL],
                &["a", "b"],
                Verdict::KnownFailure,
            ),
            ("another fails too", &[FAIL, FAIL], &["b"], Verdict::Failed),
            (
                "the named one passes",
                &[PASS, PASS],
                &["b"],
                Verdict::UnexpectedPass,
            ),
            (
                "one of two named passes",
                &[PASS, FAIL],
                &["a", "b"],
                Verdict::UnexpectedPass,
            ),
            (
                "a named one passes, another fails",
                &[FAIL, PASS],
                &["b"],
                Verdict::Failed,
            ),
        ];
        for (name, outcomes, named, want) in cases {
            assert_eq!(verdict(outcomes, named), want, "{name}");
        }
    }
}
