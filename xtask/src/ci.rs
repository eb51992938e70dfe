//! `cargo xtask ci` and the checks it is made of.

use crate::board;
use crate::process::{cargo, exit_result, root, run, run_in, show, succeeds, Result};
use crate::progress::Progress;
use crate::toolchain;
use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The crates that must build without std for a Cortex-M0+.
const NO_STD_CRATES: &[&str] = &["protocol", "firmware"];
const CORTEX_M0: &str = "thumbv6m-none-eabi";

/// A fuzz target: its crate (cargo-fuzz's `--fuzz-dir`), its name, and its sanitizer. The
/// firmware and the scenario loader are safe Rust (`forbid(unsafe_code)`, no FFI): a
/// sanitizer finds nothing there and costs most of the speed, so they run without one.
struct FuzzTarget {
    dir: &'static str,
    name: &'static str,
    sanitizer: &'static str,
    /// Scenario files to start the corpus with.
    seeds_from: Option<&'static str>,
}

const FUZZ_TARGETS: &[FuzzTarget] = &[
    FuzzTarget {
        dir: "protocol/fuzz",
        name: "command_parser",
        sanitizer: "address",
        seeds_from: None,
    },
    FuzzTarget {
        dir: "protocol/fuzz",
        name: "response_decoder",
        sanitizer: "address",
        seeds_from: None,
    },
    FuzzTarget {
        dir: "protocol/fuzz",
        name: "services",
        sanitizer: "address",
        seeds_from: None,
    },
    FuzzTarget {
        dir: "firmware/fuzz",
        name: "modem_bytes",
        sanitizer: "none",
        seeds_from: None,
    },
    FuzzTarget {
        dir: "scenarios/fuzz",
        name: "scenario_loader",
        sanitizer: "none",
        seeds_from: Some("scenarios"),
    },
];

/// The seeds CI's swarm runs (about a minute on 2 cores, in release).
const CI_SWARM_SEEDS: u64 = 2000;

/// The steps run so far, and how long each took: printed at the end, so that a slow or a
/// newly installing step shows.
#[derive(Default)]
struct Steps(Vec<(&'static str, Duration, bool)>);

impl Steps {
    fn run(&mut self, name: &'static str, step: impl FnOnce() -> Result) -> Result {
        eprintln!("xtask ci: {name}");
        let started = Instant::now();
        let result = step();
        self.0.push((name, started.elapsed(), result.is_ok()));
        result
    }

    fn table(&self) -> String {
        let width = self.0.iter().map(|(n, ..)| n.len()).max().unwrap_or(0);
        let mut text = format!("\n{:<width$}  {:>8}  result\n", "step", "seconds");
        let mut total = Duration::ZERO;
        for (name, took, ok) in &self.0 {
            total += *took;
            let result = if *ok { "ok" } else { "FAILED" };
            text += &format!("{name:<width$}  {:>8.1}  {result}\n", took.as_secs_f64());
        }
        text += &format!("{:<width$}  {:>8.1}\n", "total", total.as_secs_f64());
        text
    }
}

pub fn ci(fuzz_seconds: u32) -> Result {
    let mut steps = Steps::default();
    let result = all(&mut steps, fuzz_seconds);
    eprint!("{}", steps.table());
    result?;
    eprintln!("xtask ci: all checks passed");
    Ok(())
}

fn all(steps: &mut Steps, fuzz_seconds: u32) -> Result {
    steps.run("fmt", || {
        run(cargo().args(["fmt", "--all", "--", "--check"]))
    })?;
    steps.run("clippy", || {
        run(cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    // The replay library and sim-modem's core build without their IO edges (tokio, sockets).
    steps.run("clippy without IO edges", || {
        run(cargo().args([
            "clippy",
            "-p",
            "sim-modem",
            "-p",
            "scenarios",
            "--no-default-features",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    steps.run("test", || run(cargo().args(["test", "--workspace"])))?;
    // Not in `cargo test`, which must not need a browser: installs Chromium when missing.
    steps.run("browser test: the lab page in headless Chromium", || {
        crate::browser::browser_test(None)
    })?;
    steps.run("swarm", swarm_seeds)?;
    // From here on, nothing may find a `rust-lld` by luck on the PATH: the Cortex-M builds
    // must link with what the xtask found or installed (a fresh machine has none there).
    if let Some(path) = toolchain::path_without_rust_lld() {
        eprintln!("xtask ci: PATH without rust-lld: {path}");
        std::env::set_var("PATH", path);
    }
    steps.run("Cortex-M toolchain", || {
        toolchain::cortex_m(CORTEX_M0).map(|t| eprintln!("xtask ci: {t:?}"))
    })?;
    steps.run("no_std crates for thumbv6m", embedded)?;
    steps.run("board images", images)?;
    if fuzz_seconds > 0 {
        // The boards run in real time and mostly wait: the fuzz targets build meanwhile, at
        // the lowest priority, so that the boards' time stays theirs.
        steps.run(
            "emulated boards: QEMU smoke, Pico with UART errors (the fuzz targets built beside)",
            || beside(emulated_boards, fuzz_build),
        )?;
        steps.run("fuzz", || fuzz(fuzz_seconds, None))?;
    } else {
        steps.run(
            "emulated boards: QEMU smoke, Pico with UART errors",
            emulated_boards,
        )?;
    }
    Ok(())
}

/// Runs `first` here and `second` on another thread; both must pass.
fn beside(first: fn() -> Result, second: fn() -> Result) -> Result {
    let second = std::thread::spawn(second);
    let first = first();
    let second = second
        .join()
        .unwrap_or_else(|_| Err("a step beside another panicked".into()));
    match (first, second) {
        (Ok(()), Ok(())) => Ok(()),
        (Err(e), Ok(())) | (Ok(()), Err(e)) => Err(e),
        (Err(a), Err(b)) => Err(format!("{a}\n{b}")),
    }
}

pub fn embedded() -> Result {
    let toolchain = toolchain::cortex_m(CORTEX_M0)?;
    for krate in NO_STD_CRATES {
        run(toolchain::cortex_m_cargo(&toolchain, CORTEX_M0).args(["--release", "-p", krate]))?;
    }
    Ok(())
}

/// Builds both board images, prints their sizes and checks the core's share of the Pico's.
fn images() -> Result {
    board::size()
}

/// The emulated boards' scenarios side by side: the QEMU smoke scenario (95 s), and the Pico
/// image on the emulated RP2040 with framing errors on its modem UART (issue 11: reading
/// never stops, on embassy-rp's own `BufferedUart`), after the PL011 model's own tests. Both
/// run in real time and mostly wait, so together they take as long as the longer; each is
/// its own `xtask flash`, its output printed whole when both are done.
fn emulated_boards() -> Result {
    toolchain::ensure_qemu()?;
    toolchain::ensure_pico_emulator()?;
    run_in(
        &toolchain::pico_emulator_dir(),
        Command::new("node").arg("--test"),
    )?;
    let xtask = std::env::current_exe().map_err(|e| format!("which xtask is this? {e}"))?;
    let runs: [&[&str]; 2] = [
        &["flash", "--board", "qemu"],
        &["flash", "--board", "pico", "--emulator"],
    ];
    let mut children = Vec::new();
    for args in runs {
        let mut command = Command::new(&xtask);
        command
            .args(args)
            .current_dir(root())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let shown = show(&command);
        eprintln!("$ {shown}");
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start `{shown}`: {e}"))?;
        // Read while it runs: a full pipe would stall a real-time run.
        children.push((shown, std::thread::spawn(move || child.wait_with_output())));
    }
    let mut failed = Vec::new();
    for (shown, child) in children {
        let output = child
            .join()
            .map_err(|_| format!("waiting for `{shown}` panicked"))?
            .map_err(|e| format!("`{shown}`: {e}"))?;
        println!("\n$ {shown}");
        print!("{}", String::from_utf8_lossy(&output.stdout));
        eprint!("{}", String::from_utf8_lossy(&output.stderr));
        if !output.status.success() {
            failed.push(shown);
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("failed: {}", failed.join("; ")))
    }
}

/// CI's board part: both images with their sizes, then the emulated boards' scenarios.
pub fn boards() -> Result {
    images()?;
    emulated_boards()
}

/// `cargo fuzz <verb>` for a target, on the nightly toolchain.
fn cargo_fuzz(verb: &str, target: &FuzzTarget) -> Command {
    // rustup's proxy picks the toolchain: `cargo +nightly` needs the proxy, not `cargo()`.
    let mut command = Command::new("rustup");
    command
        .args(["run", "nightly", "cargo", "fuzz", verb])
        .args([
            "--fuzz-dir",
            target.dir,
            "--sanitizer",
            target.sanitizer,
            target.name,
        ]);
    command
}

/// The nightly toolchain and cargo-fuzz, installing cargo-fuzz when missing.
fn ensure_fuzzing() -> Result {
    if !succeeds("rustup", &["run", "nightly", "rustc", "--version"]) {
        return Err("fuzzing needs the nightly toolchain: rustup toolchain install nightly".into());
    }
    toolchain::ensure_cargo_tool("fuzz", "cargo-fuzz")
}

/// Builds every fuzz target at the lowest CPU priority (`nice`), as `fuzz` will run it; the
/// output is shown only if a build fails.
fn fuzz_build() -> Result {
    ensure_fuzzing()?;
    for target in FUZZ_TARGETS {
        let fuzz = cargo_fuzz("build", target);
        let mut command = Command::new("nice");
        command
            .args(["-n", "19"])
            .arg(fuzz.get_program())
            .args(fuzz.get_args())
            .current_dir(root());
        let output = command
            .output()
            .map_err(|e| format!("cannot start `{}`: {e}", show(&command)))?;
        if !output.status.success() {
            eprint!("{}", String::from_utf8_lossy(&output.stderr));
            return Err(format!("`{}` failed", show(&command)));
        }
    }
    Ok(())
}

pub fn fuzz(seconds: u32, only: Option<&str>) -> Result {
    ensure_fuzzing()?;
    let targets: Vec<&FuzzTarget> = match only {
        Some(name) => match FUZZ_TARGETS.iter().find(|t| t.name == name) {
            Some(target) => vec![target],
            None => {
                let names: Vec<&str> = FUZZ_TARGETS.iter().map(|t| t.name).collect();
                return Err(format!("no fuzz target {name}; there are {names:?}"));
            }
        },
        None => FUZZ_TARGETS.iter().collect(),
    };
    let count = targets.len();
    for (i, target) in targets.into_iter().enumerate() {
        if let Some(files) = target.seeds_from {
            seed_corpus(target, files)?;
        }
        let mut command = cargo_fuzz("run", target);
        command.args(["--", &format!("-max_total_time={seconds}")]);
        let progress = Progress::new(u64::from(seconds), "s");
        if progress.shown() {
            let name = format!("[{}/{count}] {}", i + 1, target.name);
            fuzz_shown(&mut command, &progress, &name, seconds)?;
        } else {
            run(&mut command)?;
        }
    }
    Ok(())
}

/// Runs a fuzz target under a progress bar: its seconds so far, coverage and executions per
/// second from libFuzzer's status lines. Its output is kept, and printed if it fails (the
/// crash, the input that caused it and the command that reproduces it).
fn fuzz_shown(command: &mut Command, progress: &Progress, name: &str, seconds: u32) -> Result {
    progress.println(format_args!("$ {}", show(command)));
    let mut child = command
        .current_dir(root())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start `{}`: {e}", show(command)))?;
    let stderr = child.stderr.take().expect("piped");
    let (lines, seen) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr)
            .lines()
            .map_while(std::io::Result::ok)
        {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    let mut output = Vec::new();
    let mut fuzzing_since = None;
    let mut status_line = String::from("building");
    let status = loop {
        while let Ok(line) = seen.try_recv() {
            // libFuzzer's first words: the run (and its time limit) begins.
            if line.starts_with("INFO: ") || line.starts_with('#') {
                fuzzing_since.get_or_insert_with(Instant::now);
            }
            if let Some(status) = libfuzzer_status(&line) {
                status_line = status;
            }
            output.push(line);
        }
        let fuzzed = fuzzing_since.map_or(0, |since: Instant| since.elapsed().as_secs());
        progress.set_plain(
            fuzzed.min(u64::from(seconds)),
            format_args!("{name}  {status_line}"),
        );
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => std::thread::sleep(Duration::from_millis(200)),
            Err(e) => return Err(format!("`{}`: {e}", show(command))),
        }
    };
    // What the reader still holds.
    output.extend(seen.iter());
    progress.finish();
    if status.success() {
        eprintln!("fuzz {name}: {status_line}");
    } else {
        eprintln!("{}", output.join("\n"));
    }
    exit_result(command, status)
}

/// `cov 123  4567 exec/s` from a libFuzzer status line (`#4096 pulse cov: 123 ft: 456 corp:
/// 7/89b exec/s: 4567 rss: 56Mb`).
fn libfuzzer_status(line: &str) -> Option<String> {
    let field = |key: &str| {
        let at = line.find(key)? + key.len();
        line[at..].split_whitespace().next()
    };
    let runs = line.strip_prefix('#')?.split_whitespace().next()?;
    Some(format!(
        "{runs} runs  cov {}  {} exec/s",
        field("cov: ")?,
        field("exec/s: ")?
    ))
}

/// Starts a target's corpus with the scenario files under `files` (cargo-fuzz's
/// `<fuzz-dir>/corpus/<target>`, not checked in).
fn seed_corpus(target: &FuzzTarget, files: &str) -> Result {
    let corpus = root().join(target.dir).join("corpus").join(target.name);
    std::fs::create_dir_all(&corpus).map_err(|e| format!("{}: {e}", corpus.display()))?;
    let found = scenarios::scenario_files(&root().join(files)).map_err(|e| e.to_string())?;
    for file in found {
        let name = file
            .strip_prefix(root())
            .unwrap_or(&file)
            .to_string_lossy()
            .replace(['/', '\\'], "_");
        std::fs::copy(&file, corpus.join(name)).map_err(|e| format!("{}: {e}", file.display()))?;
    }
    Ok(())
}

/// CI's swarm: a fixed set of seeds, the invariants pinned by a known-failure regression file
/// allowed (their bugs are open; the file fails CI once it is fixed and not unmarked). Run as
/// its own release command: `swarm` in a debug xtask runs the xtask again in release with the
/// same arguments, which for `ci` would be the whole of CI again.
pub fn swarm_seeds() -> Result {
    let known = root().join("scenarios/regressions");
    run(cargo()
        .args(["run", "--release", "--quiet", "-p", "xtask", "--", "swarm"])
        .args([
            "--seeds",
            &CI_SWARM_SEEDS.to_string(),
            "--no-shrink",
            "--known",
        ])
        .arg(known))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libfuzzer_status_lines_are_read() {
        let check = |line: &str, want: Option<&str>| {
            assert_eq!(libfuzzer_status(line).as_deref(), want, "{line}");
        };
        check(
            "#4096\tpulse  cov: 123 ft: 456 corp: 7/89b lim: 4 exec/s: 4567 rss: 56Mb",
            Some("4096 runs  cov 123  4567 exec/s"),
        );
        check(
            "#2\tINITED cov: 5 ft: 5 corp: 1/1b exec/s: 0 rss: 30Mb",
            Some("2 runs  cov 5  0 exec/s"),
        );
        check("INFO: Seed: 1234", None);
        check("#1 READ units: 1", None);
    }

    /// A stand-in for a fuzzer: libFuzzer-like lines on stderr, then an exit status.
    #[test]
    fn a_fuzz_run_under_the_bar_fails_as_the_fuzzer_does() {
        let check = |code: u8, ok: bool| {
            let script = format!(
                "echo 'INFO: Seed: 1' >&2; echo '#2 INITED cov: 5 ft: 5 corp: 1/1b exec/s: 0 rss: 30Mb' >&2; exit {code}"
            );
            let mut command = Command::new("sh");
            command.args(["-c", &script]);
            let result = fuzz_shown(&mut command, &Progress::new(1, "s"), "stand-in", 1);
            assert_eq!(result.is_ok(), ok, "exit {code}: {result:?}");
        };
        check(0, true);
        check(1, false);
    }
}
