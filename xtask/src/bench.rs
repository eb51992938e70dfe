//! `cargo xtask bench`: builds the replay benchmark in release and runs it. The benchmark
//! itself is `scenarios/benches/replay.rs` (its baseline `scenarios/benches/baseline/`); it
//! prints figures, it asserts nothing.

use crate::process::{cargo, run, Result};

pub fn bench(devices: usize, fleet_devices: u32) -> Result {
    run(cargo()
        .args(["bench", "-p", "scenarios", "--bench", "replay"])
        .env("LONGLINK_BENCH_DEVICES", devices.to_string())
        .env("LONGLINK_BENCH_FLEET", fleet_devices.to_string()))
}
