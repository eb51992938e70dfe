//! `cargo xtask fleet`: many devices against one server on a network of cells. The work is
//! `scenarios::fleet`'s; this parses the flags, shows a progress bar, prints the summary
//! (and, given several fleet files, their figures side by side), writes it as JSON and as
//! an SVG chart, and prints the speed and the peak memory. It runs in release: a debug
//! build runs itself again built with `--release`. `--merge` adds up the summaries of a
//! run's `--shard` runs (`scenarios::fleet::merge`) and writes them as one run's.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use scenarios::fleet::{self, chart, merge, Fleet, Options, Summary};
use scenarios::swarm::Shard;

use crate::process::{again_in_release, root, Result};
use crate::progress::Progress;

#[derive(clap::Args)]
pub struct Args {
    /// Devices (default: the fleet file's).
    #[arg(long)]
    pub devices: Option<u32>,
    /// Simulated time (default: the fleet file's).
    #[arg(long, value_parser = units::parse_duration)]
    pub duration: Option<Duration>,
    /// Cells the devices are spread over (default: the fleet file's).
    #[arg(long)]
    pub cells: Option<u32>,
    /// Fleet files (scenarios/fleet/*.json); several run one after the other and are
    /// compared side by side. Default: the built-in scenarios/fleet/default.json.
    #[arg(long)]
    pub scenario: Vec<PathBuf>,
    /// The seed (default: the fleet file's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Threads, each a shard of the devices with its share of the server (default: every
    /// core; 1 is exact, see README "Fleets").
    #[arg(long)]
    pub jobs: Option<u32>,
    /// Only this shard of the devices, K of N (`--shard 2/8`), for one machine of many.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Where the JSON and SVG go (default: target/fleet).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Runs nothing: adds up the summaries (JSON) of the N `--shard K/N` runs of one fleet
    /// run, each once, and writes and prints them as the whole run's.
    #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with_all = [
        "devices", "duration", "cells", "scenario", "seed", "jobs", "shard",
    ])]
    pub merge: Vec<PathBuf>,
}

pub fn fleet(args: Args) -> Result {
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| root().join("target/fleet"));
    if !args.merge.is_empty() {
        return merge_shards(&args.merge, &out);
    }
    if let Some(result) = again_in_release() {
        return result;
    }
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get() as u32));
    let shard = match args.shard {
        Some(Shard { k, n }) => {
            let k = u32::try_from(k).map_err(|_| "--shard: too large")?;
            let n = u32::try_from(n).map_err(|_| "--shard: too large")?;
            Some((k, n))
        }
        None => None,
    };
    let options = Options { shard, jobs };
    let fleets = if args.scenario.is_empty() {
        vec![Fleet::default_fleet()]
    } else {
        args.scenario
            .iter()
            .map(|path| Fleet::load(path))
            .collect::<Result<Vec<_>>>()?
    };
    let mut summaries = Vec::new();
    for mut fleet in fleets {
        let spec = &mut fleet.spec;
        spec.devices = args.devices.unwrap_or(spec.devices);
        spec.duration = args.duration.unwrap_or(spec.duration);
        spec.cells = args.cells.unwrap_or(spec.cells);
        spec.seed = args.seed.unwrap_or(spec.seed);
        fleet.scenario.duration = spec.duration;
        let name = spec.name.clone();
        fleet.check().map_err(|e| format!("{name}: {e}"))?;
        let summary = run_one(&fleet, &options)?;
        let name = match shard {
            Some((k, n)) => format!("{}-shard{k}of{n}", summary.name),
            None => summary.name.clone(),
        };
        write(&summary, &out, &name)?;
        summaries.push(summary);
    }
    if summaries.len() > 1 {
        println!();
        println!("{}", side_by_side(&summaries));
    }
    Ok(())
}

/// Writes `summary` to `out` as `<name>.json` and `<name>.svg`.
fn write(summary: &Summary, out: &Path, name: &str) -> Result {
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let json = out.join(format!("{name}.json"));
    let svg = out.join(format!("{name}.svg"));
    std::fs::write(&json, summary.to_json())
        .map_err(|e| format!("cannot write {}: {e}", json.display()))?;
    std::fs::write(&svg, chart::svg(summary))
        .map_err(|e| format!("cannot write {}: {e}", svg.display()))?;
    eprintln!("wrote {} and {}", json.display(), svg.display());
    Ok(())
}

/// `--merge`: the shards' summaries in `files`, added up, printed and written to `out`.
fn merge_shards(files: &[PathBuf], out: &Path) -> Result {
    let texts = files
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            Ok((path.display().to_string(), text))
        })
        .collect::<Result<Vec<_>>>()?;
    let summary = merge::merge(&texts)?;
    println!("{summary}");
    write(&summary, out, &summary.name)
}

fn run_one(fleet: &Fleet, options: &Options) -> Result<Summary> {
    let spec = &fleet.spec;
    let ranges = fleet::run::ranges(spec.devices, options);
    let threads = ranges.len();
    let devices: u32 = ranges.iter().map(|r| r.end - r.start).sum();
    let progress = Progress::new(spec.duration.as_secs().max(1), "simulated s");
    eprintln!(
        "fleet {}: {devices} devices on {} cells for {} on {threads} threads",
        spec.name,
        spec.cells,
        units::format_duration(spec.duration)
    );
    // Each thread's virtual time; the bar shows the slowest.
    let times: Vec<AtomicU64> = (0..threads).map(|_| AtomicU64::new(0)).collect();
    let started = Instant::now();
    let metrics = fleet::run(fleet, options, &|p| {
        times[p.shard].store(p.now.as_millis() as u64, Ordering::Relaxed);
        let slowest = times
            .iter()
            .map(|t| t.load(Ordering::Relaxed))
            .min()
            .unwrap_or(0);
        progress.set_plain(
            slowest / 1000,
            units::format_duration(Duration::from_millis(slowest)),
        );
    })?;
    progress.finish();
    let wall = started.elapsed();
    let summary = match options.shard {
        Some(shard) => merge::shard_summary(spec, shard, threads as u32, metrics),
        None => metrics.summary(&spec.name, spec.cells, threads as u32),
    };
    println!("{summary}");
    let device_hours = f64::from(devices) * spec.duration.as_secs_f64() / 3600.0;
    println!(
        "  speed               {:.0} simulated device-hours in {:.2} s: {:.0} device-hours/s on {threads} threads; peak RSS {}",
        device_hours,
        wall.as_secs_f64(),
        device_hours / wall.as_secs_f64().max(1e-9),
        peak_rss().map_or("unknown".into(), |kib| format!("{:.0} MiB", kib as f64 / 1024.0)),
    );
    Ok(summary)
}

/// Several fleets' key figures in columns.
fn side_by_side(summaries: &[Summary]) -> String {
    let mut rows: Vec<(String, Vec<String>)> = vec![
        (
            "".into(),
            summaries.iter().map(|s| s.name.clone()).collect(),
        ),
        (
            "peak connects/s after the fault".into(),
            summaries
                .iter()
                .map(|s| {
                    s.storm.map_or("-".into(), |st| {
                        format!("{} at {}s", st.peak_per_s, st.peak_at_s)
                    })
                })
                .collect(),
        ),
        (
            "peak connects/s overall".into(),
            summaries
                .iter()
                .map(|s| format!("{} at {}s", s.connects.peak_per_s, s.connects.peak_at_s))
                .collect(),
        ),
        (
            "connects refused".into(),
            summaries
                .iter()
                .map(|s| s.connects.refused.to_string())
                .collect(),
        ),
        (
            "connected at the end".into(),
            summaries
                .iter()
                .map(|s| s.connected.at_end.to_string())
                .collect(),
        ),
        (
            "heartbeat lateness p99 ms".into(),
            summaries
                .iter()
                .map(|s| s.heartbeat_lateness_ms.p99.to_string())
                .collect(),
        ),
        (
            "replies answered".into(),
            summaries
                .iter()
                .map(|s| format!("{}/{}", s.replies.answered, s.replies.planned))
                .collect(),
        ),
        (
            "reconnects/device mean".into(),
            summaries
                .iter()
                .map(|s| format!("{:.2}", s.reconnects_per_device.mean))
                .collect(),
        ),
    ];
    let label = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let width = rows
        .iter()
        .flat_map(|r| r.1.iter().map(String::len))
        .max()
        .unwrap_or(0)
        + 2;
    rows.iter_mut()
        .map(|(name, cells)| {
            let cells: String = cells.iter().map(|c| format!("{c:>width$}")).collect();
            format!("{name:<label$}{cells}")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The process's peak resident memory, KiB (Linux: `VmHWM`).
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
