//! `cargo xtask replay`: replays scenario files in virtual time and reports. The work is the
//! `scenarios` library's; this picks the files, prints and writes what was asked.

use std::path::{Path, PathBuf};
use std::time::Duration;

use scenarios::format::LoadError;
use scenarios::replay::Verdict;
use scenarios::{report, timeline, Replay};

use crate::process::{root, Result};
use crate::progress::Progress;

#[derive(clap::Args)]
pub struct Args {
    /// Scenario files or directories (default: every file under scenarios/).
    pub paths: Vec<PathBuf>,
    /// Replay with this seed instead of each file's.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Also write the results as JUnit XML to this file.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write each replay's trace (JSON Lines) to DIR/<name>.jsonl.
    #[arg(long, value_name = "DIR")]
    pub trace_dir: Option<PathBuf>,
    /// Write a timeline of each replay (DIR/<name>.html, self-contained) and DIR/index.html,
    /// the table of results.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Only the files whose path contains PATTERN.
    #[arg(long, value_name = "PATTERN")]
    pub filter: Option<String>,
}

pub fn replay(args: Args) -> Result {
    let files = files(&args.paths, args.filter.as_deref())?;
    if files.is_empty() {
        return Err("no scenario files to replay".into());
    }
    let mut replays = Vec::new();
    let mut refused: Vec<LoadError> = Vec::new();
    let progress = Progress::new(files.len() as u64, "files");
    let mut simulated = Duration::ZERO;
    for (done, (path, shown)) in files.iter().enumerate() {
        let hours = progress.per_second(simulated.as_secs_f64() / 3600.0);
        progress.set(
            done as u64,
            format_args!("{hours:.0} simulated h/s  {shown}"),
        );
        let scenario = match scenarios::load(path) {
            Ok(scenario) => scenario,
            Err(mut error) => {
                error.path = shown.clone();
                progress.println(&error);
                refused.push(error);
                continue;
            }
        };
        let replay = scenarios::replay(&scenario, shown, args.seed);
        simulated += replay.end;
        if let Some(dir) = &args.trace_dir {
            write_trace(dir, &replay)?;
        }
        replays.push(replay);
    }
    progress.finish();
    print!("{}", report::table(&replays));
    let many = replays.len() > 1;
    for replay in &replays {
        if many && replay.verdict() == Verdict::KnownFailure {
            // Details on demand: the file alone shows them.
            let known = replay.scenario.known_failure.as_ref();
            let why = known.map(|k| k.why.as_str()).unwrap_or_default();
            println!(
                "\n{}: known failure: {why}\n  details: cargo xtask replay {}",
                replay.path, replay.path
            );
            continue;
        }
        let text = report::failures(replay);
        if !text.is_empty() {
            println!("\n{text}");
        }
    }
    if let Some(dir) = &args.report {
        write_report(dir, &replays)?;
    }
    if let Some(junit) = &args.junit {
        let xml = report::junit(&replays, &refused).map_err(|e| format!("JUnit XML: {e}"))?;
        std::fs::write(junit, xml).map_err(|e| format!("cannot write {}: {e}", junit.display()))?;
        eprintln!("wrote {}", junit.display());
    }
    let failed = replays.iter().filter(|r| !r.verdict().is_ok()).count() + refused.len();
    if failed > 0 {
        return Err(format!("{failed} scenario(s) failed"));
    }
    Ok(())
}

/// The files to replay, each with the path to show: the given files and the scenario files
/// under given directories, or every scenario file of the workspace.
fn files(paths: &[PathBuf], filter: Option<&str>) -> Result<Vec<(PathBuf, String)>> {
    let mut files = Vec::new();
    let list = |dir: &Path| {
        scenarios::scenario_files(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))
    };
    if paths.is_empty() {
        let root = root();
        for path in list(&root.join("scenarios"))? {
            let shown = path
                .strip_prefix(&root)
                .unwrap_or(&path)
                .display()
                .to_string();
            files.push((path, shown));
        }
    }
    for path in paths {
        if path.is_dir() {
            files.extend(list(path)?.into_iter().map(|p| {
                let shown = p.display().to_string();
                (p, shown)
            }));
        } else {
            files.push((path.clone(), path.display().to_string()));
        }
    }
    if let Some(pattern) = filter {
        files.retain(|(_, shown)| shown.contains(pattern));
    }
    Ok(files)
}

fn write_trace(dir: &Path, replay: &Replay) -> Result {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join(format!("{}.jsonl", replay.scenario.name));
    std::fs::write(&path, replay.trace())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The timeline of each replay, and the index of them all, in `dir`.
pub fn write_report(dir: &Path, replays: &[Replay]) -> Result {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let files = timeline::file_names(replays);
    let write = |name: &str, html: String| {
        let path = dir.join(name);
        std::fs::write(&path, html).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    for (replay, file) in replays.iter().zip(&files) {
        write(file, timeline::page(replay))?;
    }
    write("index.html", timeline::index(replays, &files))?;
    eprintln!("wrote {}", dir.join("index.html").display());
    Ok(())
}
