//! `cargo xtask swarm`: many seeded runs, every invariant checked on each, failures shrunk to
//! regression files. The work is `scenarios::swarm`'s; this parses the flags, shows a
//! progress bar, prints the summary and writes what was asked. It runs in release: a debug
//! build runs itself again built with `--release`.

use std::path::PathBuf;
use std::time::Duration;

use scenarios::swarm::{self, generate, Seeds, Shard};

use crate::process::{again_in_release, root, Result};
use crate::progress::Progress;

#[derive(clap::Args)]
pub struct Args {
    /// How many seeds to run, from 0.
    #[arg(long, default_value_t = 100, conflicts_with = "seed")]
    pub seeds: u64,
    /// Run only this seed (a failure the summary names).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Simulated time per seed: a chaos phase, then a quiet phase.
    #[arg(long, default_value = "6h", value_parser = units::parse_duration)]
    pub duration: Duration,
    /// Only this shard of the seeds, K of N (`--shard 2/8`): the shards of N cover every
    /// seed exactly once.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Threads (default: every core).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Also write the results as JUnit XML to this file.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Only these fault kinds (`--faults hang,blackhole`).
    #[arg(long, value_delimiter = ',', value_name = "KINDS")]
    pub faults: Option<Vec<String>>,
    /// Also write every failing seed, one line per invariant it broke (seed, invariant,
    /// violation), to FILE: for sorting failures by their cause.
    #[arg(long, value_name = "FILE")]
    pub list: Option<PathBuf>,
    /// Do not shrink the failures into regression files.
    #[arg(long)]
    pub no_shrink: bool,
    /// Where regression files go (default: scenarios/regressions).
    #[arg(long, value_name = "DIR")]
    pub regressions: Option<PathBuf>,
    /// Violations that a known bug pinned by a regression file in DIR explains (its
    /// invariant, and a run with all its `causes`) do not fail the run (CI: the bugs are
    /// open, and each file fails replay once its bug is fixed).
    #[arg(long, value_name = "DIR")]
    pub known: Option<PathBuf>,
}

/// Every seed divisible by this runs twice, to check that its trace is the same.
const RERUN_EVERY: u64 = 16;

pub fn swarm(args: Args) -> Result {
    // Seeds per second are what the swarm is for: build it in release.
    if let Some(result) = again_in_release() {
        return result;
    }
    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let options = swarm::Options {
        seeds: match args.seed {
            Some(seed) => Seeds::One(seed),
            None => Seeds::Range {
                first: 0,
                count: args.seeds,
            },
        },
        shard: args.shard,
        jobs,
        generate: generate::Options {
            duration: args.duration,
            faults: args.faults.clone(),
        },
        rerun_every: RERUN_EVERY,
    };
    let total = swarm::seeds(options.seeds, options.shard).len() as u64;
    let progress = Progress::new(total, "seeds");
    let hours_per_s = |simulated: Duration| progress.per_second(simulated.as_secs_f64() / 3600.0);
    eprintln!(
        "swarm: {total} seeds of {} on {jobs} threads",
        units::format_duration(args.duration)
    );
    let summary = swarm::run(&options, &|p| {
        let hours = hours_per_s(p.simulated);
        progress.set(
            p.done,
            format_args!("{hours:.0} simulated h/s  {} failing", p.failing),
        );
    })?;
    progress.finish();
    let summary = match &args.known {
        Some(dir) => summary.with_known(swarm::known_bugs(dir)?),
        None => summary,
    };
    let wall = progress.elapsed();
    let seeds_per_s = progress.per_second(summary.seeds as f64);
    let hours_per_s = hours_per_s(summary.simulated);
    println!("{}", summary.table());
    println!(
        "{} seeds, {:.0} simulated device-hours in {:.1} s: {seeds_per_s:.1} seeds/s, {hours_per_s:.0} device-hours/s ({jobs} threads)",
        summary.seeds,
        summary.simulated.as_secs_f64() / 3600.0,
        wall.as_secs_f64()
    );
    if let Some(list) = &args.list {
        std::fs::write(list, summary.listing())
            .map_err(|e| format!("cannot write {}: {e}", list.display()))?;
        eprintln!("wrote {}", list.display());
    }
    if let Some(junit) = &args.junit {
        let xml = summary.junit().map_err(|e| format!("JUnit XML: {e}"))?;
        std::fs::write(junit, xml).map_err(|e| format!("cannot write {}: {e}", junit.display()))?;
        eprintln!("wrote {}", junit.display());
    }
    if summary.passed() {
        return Ok(());
    }
    if !args.no_shrink {
        let dir = args
            .regressions
            .clone()
            .unwrap_or_else(|| root().join("scenarios/regressions"));
        for (invariant, seed) in summary.first_failures() {
            eprintln!("shrinking seed {seed} ({invariant}) ...");
            let traced = scenarios::invariants::invariant(invariant)
                .is_some_and(|i| matches!(i.judged, scenarios::invariants::Judged::Trace(_)));
            if !traced {
                eprintln!(
                    "  not shrunk: {invariant} is not judged from a trace; run {}",
                    summary.command(seed)
                );
                continue;
            }
            match swarm::shrink_seed(seed, invariant, &options.generate, &dir) {
                Ok(path) => println!("{invariant}: seed {seed} shrunk to {}", path.display()),
                Err(e) => eprintln!("  not shrunk: {e}"),
            }
        }
    }
    let broken = summary.first_failures().len();
    Err(format!("{broken} invariant(s) broken"))
}
