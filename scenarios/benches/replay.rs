//! Replay speed: prints figures, asserts nothing (`cargo xtask bench`, in release).
//!
//! 0. the baseline (`baseline`): the same day as a bare client and server on tokio's
//!    paused clock, no modem; the 24-hour replay's time is printed as a ratio to it;
//! 1. the 24-hour scenario (`day.json`), trace off: wall time and simulated seconds per wall
//!    second; then with the trace on (records kept and written as JSON Lines);
//! 2. `LONGLINK_BENCH_DEVICES` (default 1,000) devices replaying the same day with different
//!    seeds at once in one process: every world in memory, one loop that always steps the
//!    world whose next wake-up is earliest (as one simulation of many devices would); trace
//!    off, then on (each world's records serialized as they come, to a byte counter); and,
//!    for comparison, the same devices one after the other (trace off);
//! 3. a fleet (`scenarios/fleet/default.json`) of `LONGLINK_BENCH_FLEET` devices (default
//!    1,000) for an hour on every core: simulated device-hours per wall second, and the
//!    peak RSS (run first, so that the peak is the fleet's).
//!
//! With `LONGLINK_BENCH_PROGRESS` set (`cargo xtask bench` sets it when it shows a progress
//! bar), it also writes `progress <done>/<total> <what>` lines on stderr, in simulated
//! device-hours replayed.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // a benchmark measures wall time (clippy.toml)

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use scenarios::fleet::{self, Fleet, Options};
use scenarios::replay::{world, Verdict};
use scenarios::{trace, Scenario, World};

mod baseline;

fn main() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("day.json");
    let day = scenarios::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let devices: usize = std::env::var("LONGLINK_BENCH_DEVICES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    let simulated = day.duration.as_secs_f64();
    let mut progress = Progress::new(&day, 6 + 3 * devices as u64);
    progress.add(0.0, "1 device, trace off");
    println!(
        "replay benchmark: {} ({} of virtual time)",
        day.name,
        hms(day.duration)
    );
    println!();

    // First, so that its peak memory is its own.
    fleet_figures();
    println!();
    // The baseline: best of 5, as the replay.
    let runs: Vec<(Duration, (u64, u64))> = (0..5)
        .map(|_| {
            let started = Instant::now();
            let counts = baseline::run(&day);
            (started.elapsed(), counts)
        })
        .collect();
    let (baseline, (beats, echoes)) = *runs.iter().min().unwrap();
    println!(
        "baseline (tokio, paused clock, no modem): {:>6.1} ms  {:>12.0} simulated s / wall s  ({beats} heartbeats, {echoes} echoes at the server; best of 5)",
        ms(baseline),
        simulated / baseline.as_secs_f64(),
    );
    // One device: best of 5, so that a busy machine shows less.
    let runs: Vec<(Duration, u64)> = (0..5)
        .map(|_| {
            let run = one(&day, false);
            progress.add(1.0, "1 device, trace off");
            run
        })
        .collect();
    let (best, heartbeats) = *runs.iter().min().unwrap();
    println!(
        "1 device, trace off:  {:>9.1} ms  {:>12.0} simulated s / wall s  ({heartbeats} heartbeats at the server; best of 5, median {:.1} ms)",
        ms(best),
        simulated / best.as_secs_f64(),
        ms(median(runs.iter().map(|r| r.0).collect())),
    );
    println!(
        "  ratio to the baseline: {:.2} (target: at most 1)",
        best.as_secs_f64() / baseline.as_secs_f64()
    );
    let started = Instant::now();
    let replay = scenarios::replay(&day, "scenarios/day.json", None);
    progress.add(1.0, "1 device, trace on");
    let bytes = replay.trace().len();
    let with_trace = started.elapsed();
    println!(
        "1 device, trace on:   {:>9.1} ms  {:>12.0} simulated s / wall s  ({} records, {:.1} MB of JSON Lines, checks included; {})",
        ms(with_trace),
        simulated / with_trace.as_secs_f64(),
        replay.records.len(),
        bytes as f64 / 1e6,
        match replay.verdict() {
            Verdict::Passed => "all expectations met",
            Verdict::KnownFailure => "its known failure, as the file says",
            Verdict::Failed | Verdict::UnexpectedPass => "EXPECTATIONS FAILED",
        },
    );
    println!();

    for trace in [false, true] {
        let (wall, bytes) = many(&day, devices, trace, &mut progress);
        println!(
            "{devices} devices, trace {}: {:>8.2} s  {:>12.0} simulated device-s / wall s  ({:.3} s per device-day{})",
            if trace { "on " } else { "off" },
            wall.as_secs_f64(),
            simulated * devices as f64 / wall.as_secs_f64(),
            wall.as_secs_f64() / devices as f64,
            if trace { format!(", {:.0} MB of JSON Lines", bytes as f64 / 1e6) } else { String::new() },
        );
    }
    let started = Instant::now();
    for seed in 0..devices as u64 {
        let (mut w, _) = world(&day, seed, false).unwrap();
        w.run_until(day.duration);
        progress.add(1.0, "devices one after the other");
    }
    let wall = started.elapsed();
    println!(
        "{devices} devices, one after the other, trace off: {:.2} s  ({:.3} s per device-day)",
        wall.as_secs_f64(),
        wall.as_secs_f64() / devices as f64,
    );
    println!();
    println!("target: the day in under 250 ms (>= 345,600x real time) on a 2-core machine");
}

/// The default fleet for an hour on every core: device-hours per wall second, peak RSS.
fn fleet_figures() {
    let devices: u32 = std::env::var("LONGLINK_BENCH_FLEET")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    let mut fleet = Fleet::default_fleet();
    fleet.spec.devices = devices;
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    let started = Instant::now();
    let metrics = fleet::run(&fleet, &Options { shard: None, jobs }, &|_| {}).unwrap();
    let wall = started.elapsed();
    let device_hours = f64::from(devices) * fleet.spec.duration.as_secs_f64() / 3600.0;
    let rss = peak_rss_kib();
    println!(
        "fleet, {devices} devices x 1h on {jobs} threads: {:.2} s  {:.0} simulated device-hours / wall s  (target: 2,500 on 2 cores); peak RSS {:.0} MiB, {:.0} KiB per device (target: 1 GiB for 10,000); {} heartbeats",
        wall.as_secs_f64(),
        device_hours / wall.as_secs_f64(),
        rss as f64 / 1024.0,
        rss as f64 / f64::from(devices),
        metrics.heartbeats,
    );
}

/// The process's peak resident memory so far, KiB (Linux `VmHWM`; 0 elsewhere).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// One day, trace off: the wall time and the heartbeats the lab server received.
fn one(day: &Scenario, trace: bool) -> (Duration, u64) {
    let (mut world, _) = world(day, day.seed, trace).unwrap();
    let started = Instant::now();
    world.run_until(day.duration);
    let wall = started.elapsed();
    (wall, heartbeats(&world))
}

fn heartbeats(world: &World) -> u64 {
    world
        .sim()
        .lab()
        .clients()
        .flat_map(|c| &c.received)
        .filter(|chunk| chunk.data == b"heart beat")
        .count() as u64
}

/// `n` worlds in memory, stepped by one loop in virtual-time order. Returns the wall time
/// and the bytes of trace written (with `trace`).
fn many(day: &Scenario, n: usize, trace: bool, progress: &mut Progress) -> (Duration, u64) {
    let what = format!(
        "{n} devices at once, trace {}",
        if trace { "on" } else { "off" }
    );
    // Progress every 1% of the day: the loop's time order makes it a share of the work.
    let step = day.duration / 100;
    let mut next_report = step;
    let mut worlds: Vec<World> = (0..n as u64)
        .map(|seed| world(day, seed, trace).unwrap().0)
        .collect();
    let mut sink = Counter(0);
    let started = Instant::now();
    let mut queue: BinaryHeap<Reverse<(Duration, usize)>> = BinaryHeap::new();
    for (i, w) in worlds.iter_mut().enumerate() {
        w.run_until(Duration::ZERO);
        if let Some(next) = w.next_wakeup() {
            queue.push(Reverse((next, i)));
        }
    }
    while let Some(Reverse((at, i))) = queue.pop() {
        if at > day.duration {
            continue;
        }
        if at >= next_report {
            progress.add(n as f64 / 100.0, &what);
            next_report += step;
        }
        let w = &mut worlds[i];
        w.run_until(at);
        if trace {
            trace::write_jsonl(&w.take_records(), &mut sink).unwrap();
        }
        if let Some(next) = w.next_wakeup() {
            queue.push(Reverse((next, i)));
        }
    }
    (started.elapsed(), sink.0)
}

/// Progress lines for `cargo xtask bench`, in device-hours (see the module documentation).
struct Progress {
    on: bool,
    /// Device-days so far, and in all.
    done: f64,
    total: u64,
    hours_per_day: f64,
}

impl Progress {
    fn new(day: &Scenario, device_days: u64) -> Progress {
        Progress {
            on: std::env::var_os("LONGLINK_BENCH_PROGRESS").is_some(),
            done: 0.0,
            total: device_days,
            hours_per_day: day.duration.as_secs_f64() / 3600.0,
        }
    }

    /// `device_days` more, now running `what`.
    fn add(&mut self, device_days: f64, what: &str) {
        if self.on {
            self.done += device_days;
            let hours = |days: f64| (days * self.hours_per_day).round() as u64;
            eprintln!(
                "progress {}/{} {what}",
                hours(self.done),
                hours(self.total as f64)
            );
        }
    }
}

/// Counts what is written to it.
struct Counter(u64);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn hms(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}h{:02}m{:02}s", s / 3600, s / 60 % 60, s % 60)
}
