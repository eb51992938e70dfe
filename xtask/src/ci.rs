//! `cargo xtask ci` and the checks it is made of.

use crate::board::{self, Board, ImageSize, QemuRun};
use crate::toolchain::{self, run, Result};
use std::process::Command;
use std::time::Instant;

/// The crates that must build without std for a Cortex-M0+.
const NO_STD_CRATES: &[&str] = &["protocol", "firmware"];
const CORTEX_M0: &str = "thumbv6m-none-eabi";

const FUZZ_TARGETS: &[&str] = &["command_parser", "response_decoder"];

pub fn ci(fuzz_seconds: u32) -> Result {
    run(Command::new("cargo").args(["fmt", "--all", "--", "--check"]))?;
    run(Command::new("cargo").args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    run(Command::new("cargo").args(["test", "--workspace"]))?;
    embedded()?;
    boards()?;
    if fuzz_seconds > 0 {
        fuzz(fuzz_seconds, None)?;
    }
    eprintln!("xtask ci: all checks passed");
    Ok(())
}

pub fn embedded() -> Result {
    let toolchain = toolchain::cortex_m(CORTEX_M0)?;
    for krate in NO_STD_CRATES {
        run(toolchain::cortex_m_cargo(&toolchain, CORTEX_M0).args(["--release", "-p", krate]))?;
    }
    Ok(())
}

/// Builds both board images, prints their sizes, and runs the board smoke scenario against
/// the QEMU image: bounded by the scenario's duration (95 s) and a margin, failing if an
/// expectation fails.
pub fn boards() -> Result {
    let mut rows = Vec::new();
    for board in Board::ALL {
        let started = Instant::now();
        let elf = board::build(board)?;
        eprintln!(
            "xtask: {} image built in {:.1}s",
            board.name(),
            started.elapsed().as_secs_f64()
        );
        rows.push((board, ImageSize::of(&elf)?));
    }
    board::print_sizes(&rows);
    let started = Instant::now();
    board::run_qemu(&QemuRun {
        scenario: None,
        seed: None,
        slack: scenarios::realtime::EXTERNAL_SLACK,
        console: false,
        trace: None,
    })?;
    eprintln!(
        "xtask: QEMU smoke scenario passed in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

pub fn fuzz(seconds: u32, only: Option<&str>) -> Result {
    if !toolchain::succeeds("rustup", &["run", "nightly", "rustc", "--version"]) {
        return Err("fuzzing needs the nightly toolchain: rustup toolchain install nightly".into());
    }
    toolchain::ensure_cargo_tool("fuzz", "cargo-fuzz")?;
    let targets: Vec<&str> = match only {
        Some(target) if FUZZ_TARGETS.contains(&target) => vec![target],
        Some(other) => {
            return Err(format!(
                "no fuzz target {other}; there are {FUZZ_TARGETS:?}"
            ))
        }
        None => FUZZ_TARGETS.to_vec(),
    };
    for target in targets {
        run(Command::new("cargo")
            .args([
                "+nightly",
                "fuzz",
                "run",
                "--fuzz-dir",
                "protocol/fuzz",
                target,
            ])
            .args(["--", &format!("-max_total_time={seconds}")]))?;
    }
    Ok(())
}
