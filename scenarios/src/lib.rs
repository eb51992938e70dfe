//! Scenario files and their deterministic replay in virtual time.
//!
//! A scenario ([`format`]) scripts a run: the device's configuration, the simulated network,
//! a timeline of faults and lab server actions, and expectations. [`plan`] puts its steps in
//! time order (the faults drawn from the seed among them); [`replay`] runs it: the
//! firmware core and sim-modem's [`Sim`](sim_modem::sim::Sim) together in one [`World`],
//! in virtual time that jumps from one wake-up to the next, writing a JSON Lines
//! [`trace`]; [`check`] holds the run against the expectations and [`report`] shows the
//! results (a diff, the trace around a failure, the command that reproduces it, JUnit XML).
//! A scenario can put a scripted AT [`client`] in the firmware's place, to drive the modem's
//! own applications. [`invariants`] are what every run must keep, judged from the typed trace; [`swarm`]
//! generates runs from seeds, holds each to the invariants and shrinks a failure to a
//! regression file (`cargo xtask swarm`).
//! [`view`] renders a run for people, as `cargo xtask sim` shows it; [`timeline`] draws a
//! finished run as an HTML page (`cargo xtask replay --report DIR`). `realtime` runs the
//! same world against the wall clock, with the firmware in the process or outside it (a
//! board in QEMU, a host runner on a pty), and checks the same expectations.
//!
//! `realtime` is the cargo feature `realtime` (on by default): it alone brings tokio and
//! sim-modem's `live` edges. Without it (`default-features = false`) the crate is the replay
//! library, and builds without tokio.
//!
//! Same scenario and seed, same trace, byte for byte: nothing but `realtime` reads a clock
//! (the wall time of a replay is measured, never used), and nothing iterates a hash map.

pub mod check;
pub mod client;
pub mod fleet;
pub mod format;
pub mod invariants;
pub mod plan;
#[cfg(feature = "realtime")]
pub mod realtime;
pub mod replay;
pub mod report;
pub mod swarm;
pub mod timeline;
pub mod trace;
pub mod view;
pub mod world;

pub use format::{load, parse, Scenario};
pub use replay::{replay, replay_file, Replay};
pub use world::{Action, Step, World, WorldConfig};

/// The scenario files under `dir` (recursively, sorted), schema files left out, and build
/// output, sources and the fuzz corpus not looked in.
pub fn scenario_files(dir: &std::path::Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_dir() {
                if !matches!(name, "target" | "src" | "benches" | "fuzz" | "fleet")
                    && !name.starts_with('.')
                {
                    dirs.push(path);
                }
            } else if name.ends_with(".json") && !name.ends_with(".schema.json") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// The built-in default scenario (`scenarios/default.json`), what `cargo xtask sim` runs
/// when given none.
pub const DEFAULT_SCENARIO: &str = include_str!("../default.json");

/// [`DEFAULT_SCENARIO`], parsed.
pub fn default_scenario() -> Scenario {
    parse("scenarios/default.json", DEFAULT_SCENARIO).expect("the default scenario is valid")
}
