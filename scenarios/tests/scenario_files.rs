//! Replays every scenario file under `scenarios/`, one test per file, named by its path from
//! the workspace root (`cargo test -p scenarios --test scenario_files dead_link` runs those
//! whose path contains `dead_link`). The files are the ones `scenarios::scenario_files`
//! finds, as `cargo xtask replay` does: a new file is a new test. A failure prints the diff,
//! the trace around it and the command that reproduces it.
//!
//! A file marked `known_failure` passes while exactly the expectations it names fail; any
//! other failure fails it, and so does a named expectation that passes (the mark is stale).

use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};

fn main() {
    let args = Arguments::from_args();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = scenarios::scenario_files(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    let trials = files.into_iter().map(|path| trial(dir, path)).collect();
    libtest_mimic::run(&args, trials).exit();
}

/// The test of one file: its name is the path `cargo xtask replay` shows.
fn trial(dir: &Path, path: PathBuf) -> Trial {
    let rel = path.strip_prefix(dir).unwrap_or(&path);
    let shown = Path::new("scenarios").join(rel).display().to_string();
    let known = match scenarios::load(&path) {
        Ok(scenario) => scenario.known_failure.is_some(),
        Err(_) => false,
    };
    let test = Trial::test(shown.clone(), move || replay_file(&path, &shown));
    if known {
        test.with_kind("known failure")
    } else {
        test
    }
}

/// Replays a file; fails with its report if it does not load or its verdict is not ok.
fn replay_file(path: &Path, shown: &str) -> Result<(), Failed> {
    let scenario = scenarios::load(path).map_err(|e| e.to_string())?;
    let replay = scenarios::replay(&scenario, shown, None);
    if replay.verdict().is_ok() {
        return Ok(());
    }
    Err(format!("\n{}", scenarios::report::failures(&replay)).into())
}
