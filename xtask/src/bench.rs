//! `cargo xtask bench`: builds the replay benchmark in release and runs it. The benchmark
//! itself is `scenarios/benches/replay.rs`; it prints figures, it asserts nothing.

use crate::process::{cargo, run, Result};

pub fn bench(devices: usize) -> Result {
    run(cargo()
        .args(["bench", "-p", "scenarios", "--bench", "replay"])
        .env("LONGLINK_BENCH_DEVICES", devices.to_string()))
}
