//! The swarm: many seeded runs with randomly chosen fault mixes, every invariant checked on
//! each, and a failure shrunk to a short scenario file (`cargo xtask swarm`).
//!
//! Each seed is a whole run ([`generate`]): a [`Scenario`] whose expectations are the
//! invariants judged from the trace (`crate::invariants`). [`run_seed`] replays it and
//! collects the invariants it broke, with `no_panic` for a run that panicked and
//! `deterministic` for a sampled seed whose second run gave another trace. [`run`] spreads
//! the seeds over threads (a `World` is not `Send`: each is built in its thread), reports
//! progress, and sums up: [`Summary`] holds, per invariant, the seeds that broke it, the
//! first of them, and the command that replays it. [`shrink_seed`] turns the first failing seed of
//! each invariant into a regression file.
//!
//! Seeds are split into shards for a batch of machines (`--shard K/N`): shard K of N takes
//! the seeds whose position in the range is K-1 modulo N, so the shards cover every seed
//! exactly once and the results merge.

pub mod generate;
pub mod shrink;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::format::{Check, Scenario, StepKind};
use crate::invariants::{self, Judged};
use crate::replay::replay;

/// Which seeds to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seeds {
    /// `count` seeds from `first`.
    Range { first: u64, count: u64 },
    /// This one.
    One(u64),
}

/// One shard of N (`k` from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub k: u64,
    pub n: u64,
}

impl std::str::FromStr for Shard {
    type Err = String;

    /// `K/N`, 1 ≤ K ≤ N.
    fn from_str(text: &str) -> Result<Shard, String> {
        let bad = || format!("a shard is K/N with 1 <= K <= N, not {text:?}");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let (k, n) = (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if k == 0 || n == 0 || k > n {
            return Err(bad());
        }
        Ok(Shard { k, n })
    }
}

/// The seeds to run: all of `seeds`, or this shard's share.
pub fn seeds(seeds: Seeds, shard: Option<Shard>) -> Vec<u64> {
    let all: Vec<u64> = match seeds {
        Seeds::Range { first, count } => (0..count).map(|i| first.wrapping_add(i)).collect(),
        Seeds::One(seed) => vec![seed],
    };
    match shard {
        None => all,
        Some(Shard { k, n }) => all
            .into_iter()
            .enumerate()
            .filter(|(i, _)| *i as u64 % n == k - 1)
            .map(|(_, seed)| seed)
            .collect(),
    }
}

/// How a swarm runs.
#[derive(Debug, Clone)]
pub struct Options {
    pub seeds: Seeds,
    pub shard: Option<Shard>,
    /// Threads (at least 1).
    pub jobs: usize,
    pub generate: generate::Options,
    /// Every seed divisible by this is run twice and the traces compared (`deterministic`);
    /// 0 never.
    pub rerun_every: u64,
}

/// What one seed did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedResult {
    pub seed: u64,
    /// Virtual time simulated (the reruns too).
    pub simulated: Duration,
    /// The invariants it broke, in the order of `invariants::INVARIANTS`, each with its first
    /// violation.
    pub broken: Vec<(&'static str, String)>,
    /// What its run had that a known bug may need ([`causes`]).
    pub causes: BTreeSet<String>,
}

/// What a run has that can cause a failure no firmware avoids: its fault kinds (line noise by
/// direction, `both` counted as each) and a UDP link. A known bug is pinned by the causes
/// its shrunk regression file kept ([`KnownBug::needs`]).
pub fn causes(scenario: &Scenario) -> BTreeSet<String> {
    let mut causes = BTreeSet::new();
    if scenario.device_config().transport == protocol::types::Transport::Udp {
        causes.insert("udp".to_string());
    }
    for step in &scenario.timeline {
        let StepKind::Fault(fault) = &step.what else {
            continue;
        };
        let Ok(value) = serde_json::to_value(fault) else {
            continue;
        };
        let kind = value["kind"].as_str().unwrap_or_default();
        match value["direction"].as_str() {
            Some("both") => {
                causes.insert(format!("{kind} to_modem"));
                causes.insert(format!("{kind} from_modem"));
            }
            Some(direction) => {
                causes.insert(format!("{kind} {direction}"));
            }
            None => {
                causes.insert(kind.to_string());
            }
        }
    }
    causes
}

/// Runs one seed: generates its scenario, replays it, judges it (see the module
/// documentation).
pub fn run_seed(seed: u64, options: &generate::Options, rerun: bool) -> Result<SeedResult, String> {
    let scenario = generate::generate(seed, options)?;
    let path = format!("swarm seed {seed}");
    let first = replay(&scenario, &path, None);
    let mut simulated = first.end;
    let mut broken: Vec<(&'static str, String)> = Vec::new();
    for invariant in invariants::INVARIANTS {
        let violation = match invariant.judged {
            Judged::Trace(_) => first
                .results
                .iter()
                .find(|r| {
                    scenario.expect.get(r.index).and_then(|e| e.id.as_deref())
                        == Some(invariant.name)
                })
                .and_then(|r| r.failure.as_ref())
                // A run whose quiet phase a late fault shortened cannot judge liveness: that
                // is the generator's miss, not the firmware's (a file naming the invariant
                // fails instead, see `check`).
                .filter(|f| !f.unjudged)
                .map(|f| f.message.clone()),
            Judged::Panic => first.error.clone(),
            Judged::Rerun if rerun && first.error.is_none() => {
                let second = replay(&scenario, &path, None);
                simulated += second.end;
                (second.trace() != first.trace())
                    .then(|| "a second run of the seed gave another trace".to_string())
            }
            Judged::Rerun => None,
        };
        if let Some(violation) = violation {
            broken.push((invariant.name, violation));
        }
    }
    Ok(SeedResult {
        seed,
        simulated,
        broken,
        causes: causes(&scenario),
    })
}

/// How far a swarm has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
    /// Seeds that broke an invariant so far.
    pub failing: u64,
    pub simulated: Duration,
}

/// Runs the seeds on `options.jobs` threads, calling `progress` after each seed.
pub fn run(options: &Options, progress: &(dyn Fn(Progress) + Sync)) -> Result<Summary, String> {
    // An unknown fault kind is refused before anything runs.
    generate::allowed_kinds(&options.generate)?;
    let seeds = seeds(options.seeds, options.shard);
    let next = AtomicUsize::new(0);
    let state = Mutex::new((
        Vec::new(),
        Progress {
            total: seeds.len() as u64,
            ..Progress::default()
        },
    ));
    let worker = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(&seed) = seeds.get(i) else {
            return;
        };
        let rerun = options.rerun_every > 0 && seed % options.rerun_every == 0;
        let result = run_seed(seed, &options.generate, rerun);
        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
        let (results, counts) = &mut *state;
        counts.done += 1;
        if let Ok(result) = &result {
            counts.simulated += result.simulated;
            counts.failing += u64::from(!result.broken.is_empty());
        }
        results.push(result);
        progress(*counts);
    };
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.max(1) {
            scope.spawn(worker);
        }
    });
    let (results, _) = state.into_inner().unwrap_or_else(|e| e.into_inner());
    let results = results.into_iter().collect::<Result<Vec<_>, String>>()?;
    Ok(Summary::new(results, &options.generate))
}

/// The swarm's results: per invariant, the seeds that broke it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub seeds: u64,
    pub simulated: Duration,
    /// Each invariant (in `invariants::INVARIANTS` order) with the seeds that broke it, in
    /// order, and the first one's violation.
    pub invariants: Vec<(&'static str, Vec<u64>, Option<String>)>,
    /// The generation options, for the commands that replay a seed.
    generate: generate::Options,
    /// The known bugs (see [`known_bugs`]): a violation one of them explains is shown, but
    /// does not fail the run.
    known: Vec<KnownBug>,
    /// Every seed that broke an invariant, with what it broke, in seed order.
    pub failing: Vec<SeedResult>,
}

impl Summary {
    fn new(mut results: Vec<SeedResult>, generate: &generate::Options) -> Summary {
        // The first failing seed is the lowest, whichever thread finished first.
        results.sort_by_key(|r| r.seed);
        let mut broken: BTreeMap<&str, (Vec<u64>, Option<String>)> = BTreeMap::new();
        for result in &results {
            for (name, violation) in &result.broken {
                let (seeds, first) = broken.entry(name).or_default();
                seeds.push(result.seed);
                first.get_or_insert_with(|| violation.clone());
            }
        }
        Summary {
            seeds: results.len() as u64,
            simulated: results.iter().map(|r| r.simulated).sum(),
            invariants: invariants::INVARIANTS
                .iter()
                .map(|i| {
                    let (seeds, first) = broken.remove(i.name).unwrap_or_default();
                    (i.name, seeds, first)
                })
                .collect(),
            generate: generate.clone(),
            known: Vec::new(),
            failing: results
                .into_iter()
                .filter(|r| !r.broken.is_empty())
                .collect(),
        }
    }

    /// Every failing seed, one line per invariant it broke: the seed, the invariant, the
    /// violation's first line, the run's causes, and the known bug's file that explains it
    /// or `-` (for sorting failures by cause).
    pub fn listing(&self) -> String {
        let mut text = String::new();
        for result in &self.failing {
            for (name, violation) in &result.broken {
                let short: String = violation.chars().take(200).collect();
                let causes: Vec<&str> = result.causes.iter().map(String::as_str).collect();
                let known = self
                    .known_bug(name, result.seed)
                    .map_or("-", |bug| bug.file.as_str());
                text.push_str(&format!(
                    "{}\t{name}\t{short}\t{}\t{known}\n",
                    result.seed,
                    causes.join(",")
                ));
            }
        }
        text
    }

    /// The same, with these known bugs.
    pub fn with_known(self, known: Vec<KnownBug>) -> Summary {
        Summary { known, ..self }
    }

    /// A failing seed's result (`failing` is in seed order).
    fn result(&self, seed: u64) -> Option<&SeedResult> {
        let at = self.failing.binary_search_by_key(&seed, |r| r.seed).ok()?;
        Some(&self.failing[at])
    }

    /// The known bug that explains `seed` breaking `invariant`, if one does.
    fn known_bug(&self, invariant: &str, seed: u64) -> Option<&KnownBug> {
        let result = self.result(seed)?;
        self.known
            .iter()
            .find(|bug| bug.invariant == invariant && bug.needs.is_subset(&result.causes))
    }

    /// The seeds that broke `invariant` and no known bug explains.
    fn unknown_seeds<'s>(&'s self, invariant: &'s str, seeds: &'s [u64]) -> Vec<u64> {
        seeds
            .iter()
            .copied()
            .filter(|&seed| self.known_bug(invariant, seed).is_none())
            .collect()
    }

    /// Whether no invariant was broken, known bugs aside.
    pub fn passed(&self) -> bool {
        self.first_failures().is_empty()
    }

    /// The command that runs `seed` again, as this swarm ran it.
    pub fn command(&self, seed: u64) -> String {
        let mut command = format!(
            "cargo xtask swarm --seed {seed} --duration {}",
            units::format_duration(self.generate.duration)
        );
        if let Some(faults) = &self.generate.faults {
            command.push_str(&format!(" --faults {}", faults.join(",")));
        }
        command
    }

    /// The first failing seed of each broken invariant that no known bug explains, with its
    /// invariant.
    pub fn first_failures(&self) -> Vec<(&'static str, u64)> {
        self.invariants
            .iter()
            .filter_map(|(name, seeds, _)| {
                self.unknown_seeds(name, seeds)
                    .first()
                    .map(|&seed| (*name, seed))
            })
            .collect()
    }

    /// The table: invariant, seeds that broke it, the first, the command that replays it.
    pub fn table(&self) -> String {
        let width = self
            .invariants
            .iter()
            .map(|(n, ..)| n.len())
            .max()
            .unwrap_or(9)
            .max(9);
        let mut text = format!(
            "{:<width$}  {:>10}  {:>10}  replay\n",
            "invariant", "violations", "first seed"
        );
        for (name, seeds, _) in &self.invariants {
            let unknown = self.unknown_seeds(name, seeds);
            // The first seed no known bug explains; else the first.
            let (first, mut command) = match unknown.first().or(seeds.first()) {
                Some(seed) => (seed.to_string(), self.command(*seed)),
                None => ("-".to_string(), String::new()),
            };
            let known = seeds.len() - unknown.len();
            if known > 0 {
                let mut files: Vec<&str> = seeds
                    .iter()
                    .filter_map(|&seed| self.known_bug(name, seed))
                    .map(|bug| bug.file.as_str())
                    .collect();
                files.sort_unstable();
                files.dedup();
                command.push_str(&format!("  ({known} known: {} pin them)", files.join(", ")));
            }
            text.push_str(&format!(
                "{name:<width$}  {:>10}  {first:>10}  {command}\n",
                seeds.len()
            ));
        }
        for (name, seeds, first) in &self.invariants {
            if let (Some(seed), Some(violation)) = (seeds.first(), first) {
                let short: String = violation.chars().take(300).collect();
                text.push_str(&format!("\n{name}, seed {seed}: {short}\n"));
            }
        }
        text
    }

    /// JUnit XML: one test case per invariant, failed with the seeds that broke it.
    /// Seeds a known bug explains pass, as in the table.
    pub fn junit(&self) -> Result<String, quick_junit::SerializeError> {
        use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};
        let mut suite = TestSuite::new("swarm");
        for (name, seeds, _) in &self.invariants {
            let seeds = self.unknown_seeds(name, seeds);
            let first = seeds.first().and_then(|&seed| {
                let (_, violation) = self.result(seed)?.broken.iter().find(|(n, _)| n == name)?;
                Some(violation.as_str())
            });
            let status = match seeds.first() {
                None => TestCaseStatus::success(),
                Some(seed) => {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    let shown: Vec<String> = seeds.iter().take(20).map(u64::to_string).collect();
                    status
                        .set_message(format!(
                            "{} seeds, the first {seed}: {}",
                            seeds.len(),
                            self.command(*seed)
                        ))
                        .set_description(format!(
                            "seeds {}{}\nfirst violation: {}",
                            shown.join(", "),
                            if seeds.len() > shown.len() {
                                ", ..."
                            } else {
                                ""
                            },
                            first.unwrap_or_default()
                        ));
                    status
                }
            };
            let mut case = TestCase::new(*name, status);
            case.set_classname("swarm");
            suite.add_test_case(case);
        }
        let mut report = quick_junit::Report::new("swarm");
        report.add_test_suite(suite);
        report.to_string()
    }
}

/// A bug the firmware cannot avoid, pinned by a regression file: an invariant its
/// `known_failure` names, and the causes ([`causes`]) it needs: the `known_failure`'s
/// `causes`, or else all its run has. A seed's violation of that invariant is this bug only
/// if its run has every one of them; any other is a failure, so a known bug hides no new one
/// with another cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownBug {
    pub invariant: String,
    pub needs: BTreeSet<String>,
    /// The regression file's name.
    pub file: String,
}

/// The known bugs the regression files in `dir` pin: an `invariant` expectation whose id the
/// file's `known_failure` names, with the file's causes.
pub fn known_bugs(dir: &Path) -> Result<Vec<KnownBug>, String> {
    let mut known = Vec::new();
    if !dir.exists() {
        return Ok(known);
    }
    let files = crate::scenario_files(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for file in files {
        let scenario = crate::load(&file).map_err(|e| e.to_string())?;
        let Some(marked) = &scenario.known_failure else {
            continue;
        };
        for e in &scenario.expect {
            if let (true, Check::Invariant { name }) = (marked.names(e.id.as_deref()), &e.check) {
                let needs = if marked.causes.is_empty() {
                    causes(&scenario)
                } else {
                    marked.causes.iter().cloned().collect()
                };
                known.push(KnownBug {
                    invariant: name.clone(),
                    needs,
                    file: file
                        .file_name()
                        .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
                });
            }
        }
    }
    Ok(known)
}

/// Shrinks the run of `seed` (generated with `options`) to a regression file for
/// `invariant` in `dir`; returns its path.
pub fn shrink_seed(
    seed: u64,
    invariant: &str,
    options: &generate::Options,
    dir: &Path,
) -> Result<PathBuf, String> {
    let original: Scenario = generate::generate(seed, options)?;
    if !shrink::breaks(&shrink::judged_by(&original, invariant)) {
        return Err(format!("seed {seed} does not break {invariant}"));
    }
    let shrunk = shrink::shrink(&original, invariant);
    // The violation as the shrunk run shows it.
    let run = replay(&shrunk, "shrunk", None);
    let violation = run
        .results
        .iter()
        .find_map(|r| r.failure.as_ref())
        .map_or_else(String::new, |f| f.message.clone());
    let regression = shrink::regression(&shrunk, invariant, seed, &original, &violation);
    shrink::write_regression(dir, &regression, invariant, seed)
        .map_err(|e| format!("cannot write the regression file in {}: {e}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_every_seed_exactly_once() {
        for (first, count) in [(0, 0), (0, 1), (0, 10), (5, 97), (u64::MAX - 3, 4)] {
            let all = seeds(Seeds::Range { first, count }, None);
            assert_eq!(all.len() as u64, count);
            for n in 1..=7 {
                let mut merged: Vec<u64> = (1..=n)
                    .flat_map(|k| seeds(Seeds::Range { first, count }, Some(Shard { k, n })))
                    .collect();
                merged.sort_unstable();
                let mut want = all.clone();
                want.sort_unstable();
                assert_eq!(merged, want, "{first}+{count} in {n} shards");
            }
        }
    }

    #[test]
    fn shards_are_written_k_of_n() {
        for (text, shard) in [
            ("1/1", Ok(Shard { k: 1, n: 1 })),
            ("3/8", Ok(Shard { k: 3, n: 8 })),
            ("0/8", Err(())),
            ("9/8", Err(())),
            ("1/0", Err(())),
            ("x/2", Err(())),
            ("2", Err(())),
        ] {
            assert_eq!(text.parse::<Shard>().map_err(drop), shard, "{text}");
        }
    }

    #[test]
    fn known_bugs_are_shown_but_do_not_fail_the_run() {
        let result = |seed, broken: &[&'static str], causes: &[&str]| SeedResult {
            seed,
            simulated: Duration::from_secs(60),
            broken: broken.iter().map(|b| (*b, format!("{b} broke"))).collect(),
            causes: causes.iter().map(|c| c.to_string()).collect(),
        };
        let bug = |invariant: &str, needs: &[&str]| KnownBug {
            invariant: invariant.into(),
            needs: needs.iter().map(|c| c.to_string()).collect(),
            file: format!("{invariant}-1.json"),
        };
        let results = vec![
            result(3, &["reconnected"], &["reboot"]),
            result(1, &[], &[]),
            result(
                2,
                &["reconnected", "answered"],
                &["line_noise to_modem", "reboot"],
            ),
            result(4, &["answered"], &["peer_vanish"]),
        ];
        let summary = Summary::new(results, &generate::Options::default());
        assert_eq!(
            summary.first_failures(),
            [("answered", 2), ("reconnected", 2)]
        );
        assert!(!summary.passed());
        let reconnected = summary
            .invariants
            .iter()
            .find(|(n, ..)| *n == "reconnected");
        assert_eq!(
            reconnected.map(|(_, seeds, _)| seeds.as_slice()),
            Some(&[2, 3][..])
        );
        // A known bug explains the seeds whose runs had its causes, and no other.
        let known = summary.with_known(vec![bug("answered", &["line_noise to_modem"])]);
        assert_eq!(
            known.first_failures(),
            [("answered", 4), ("reconnected", 2)]
        );
        let all = known.clone().with_known(vec![
            bug("answered", &["line_noise to_modem"]),
            bug("answered", &[]),
            bug("reconnected", &["reboot"]),
        ]);
        assert!(all.passed());
        assert!(
            all.table().contains("(2 known: answered-1.json pin them)"),
            "{}",
            all.table()
        );
        // JUnit agrees: what a known bug explains is no failure.
        assert!(!all.junit().unwrap().contains("<failure"));
        // JUnit: a test case per invariant, a failure with the seeds that broke it.
        let xml = known.junit().unwrap();
        assert_eq!(
            xml.matches("<testcase ").count(),
            invariants::INVARIANTS.len()
        );
        assert!(
            xml.contains("2 seeds, the first 2: cargo xtask swarm --seed 2"),
            "{xml}"
        );
        // The regression files mark what is known: none in a directory that is not there.
        let none = known_bugs(Path::new("no/such/dir")).unwrap();
        assert!(none.is_empty());
        // Each known bug names an invariant and has a cause: one without would excuse
        // every violation of its invariant.
        let regressions = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
        for bug in known_bugs(&regressions).unwrap() {
            assert!(invariants::invariant(&bug.invariant).is_some(), "{bug:?}");
            assert!(!bug.needs.is_empty(), "{bug:?}");
        }
    }

    #[test]
    fn a_seed_runs_the_same_on_any_thread() {
        let options = generate::Options {
            duration: Duration::from_secs(3600),
            faults: None,
        };
        let one = |jobs| {
            let options = Options {
                seeds: Seeds::Range { first: 0, count: 4 },
                shard: None,
                jobs,
                generate: options.clone(),
                rerun_every: 2,
            };
            run(&options, &|_| {}).unwrap()
        };
        let (a, b) = (one(1), one(3));
        assert_eq!(a, b);
        assert_eq!(a.seeds, 4);
        assert!(a.simulated >= Duration::from_secs(4 * 3600));
    }
}
