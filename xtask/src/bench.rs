//! `cargo xtask bench`: builds the replay benchmark in release and runs it. The benchmark
//! itself is `scenarios/benches/replay.rs` (its baseline `scenarios/benches/baseline/`); it
//! prints figures, it asserts nothing. On a
//! terminal, a progress bar follows it: the benchmark writes `progress <done>/<total> <what>`
//! lines (simulated device-hours) on stderr when `LONGLINK_BENCH_PROGRESS` is set.

use std::io::{BufRead as _, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::mpsc;

use crate::process::{cargo, exit_result, root, run, show, Result};
use crate::progress::Progress;

pub fn bench(devices: usize, fleet_devices: u32) -> Result {
    let mut command = cargo();
    command
        .args(["bench", "-p", "scenarios", "--bench", "replay"])
        .env("LONGLINK_BENCH_DEVICES", devices.to_string())
        .env("LONGLINK_BENCH_FLEET", fleet_devices.to_string());
    let mut progress = Progress::new(0, "device-h");
    if !progress.shown() {
        return run(&mut command);
    }
    shown(&mut command, &mut progress)
}

/// A line the benchmark wrote.
enum Line {
    Out(String),
    Err(String),
}

/// Runs the benchmark under the bar: its figures (stdout) and cargo's messages (stderr) are
/// printed above it, its progress lines move it.
fn shown(command: &mut Command, progress: &mut Progress) -> Result {
    progress.println(format_args!("$ {}", show(command)));
    let mut child = command
        .current_dir(root())
        .env("LONGLINK_BENCH_PROGRESS", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start `{}`: {e}", show(command)))?;
    let (lines, seen) = mpsc::channel();
    let forward = |from: Box<dyn Read + Send>, wrap: fn(String) -> Line| {
        let lines = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(from).lines().map_while(std::io::Result::ok) {
                if lines.send(wrap(line)).is_err() {
                    return;
                }
            }
        });
    };
    forward(Box::new(child.stdout.take().expect("piped")), Line::Out);
    forward(Box::new(child.stderr.take().expect("piped")), Line::Err);
    drop(lines);
    // Until both pipes close.
    let mut measuring = false;
    for line in seen {
        match line {
            Line::Out(line) => progress.suspend(|| println!("{line}")),
            Line::Err(line) => match parse(&line) {
                Some((done, total, what)) => {
                    if !measuring {
                        // The rate counts from the benchmark's start, not the build's.
                        progress.restart_clock();
                        measuring = true;
                    }
                    progress.set_len(total);
                    progress.set(done, what);
                }
                None => progress.println(line),
            },
        }
    }
    progress.finish();
    let status = child
        .wait()
        .map_err(|e| format!("`{}`: {e}", show(command)))?;
    exit_result(command, status)
}

/// `progress 120/72144 1000 devices at once, trace off`: done, total, what.
fn parse(line: &str) -> Option<(u64, u64, &str)> {
    let rest = line.strip_prefix("progress ")?;
    let (counts, what) = rest.split_once(' ')?;
    let (done, total) = counts.split_once('/')?;
    Some((done.parse().ok()?, total.parse().ok()?, what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_lines_are_read() {
        let check = |line: &str, want: Option<(u64, u64, &str)>| {
            assert_eq!(parse(line), want, "{line}");
        };
        check(
            "progress 120/72144 1000 devices at once, trace off",
            Some((120, 72144, "1000 devices at once, trace off")),
        );
        check("progress 1/2", None);
        check("progress a/2 x", None);
        check("   Compiling scenarios v0.1.0", None);
    }
}
