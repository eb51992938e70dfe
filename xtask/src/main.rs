//! `cargo xtask`: the project's orchestration. It holds no logic a test needs: that lives in
//! the library crates. `cargo xtask ci` passing locally means CI is green.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // orchestration: it times steps and runs real programs (clippy.toml)

mod bench;
mod board;
mod browser;
mod ci;
mod fleet;
#[cfg(test)]
mod layers;
mod process;
mod progress;
mod replay;
mod sim;
mod swarm;
mod toolchain;

use clap::{Parser, Subcommand};
use scenarios::realtime::EXTERNAL_SLACK;
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "LongLink's tasks", version)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Everything CI checks: formatting, clippy, every test, the lab page's browser test,
    /// the swarm's fixed seeds, the no_std Cortex-M build, both board images (with their
    /// sizes) and the board smoke scenario in QEMU, and a short bounded run of each fuzz
    /// target. Installs what a fresh machine lacks.
    Ci {
        /// Seconds of fuzzing per target (0 skips fuzzing).
        #[arg(long, default_value_t = 10)]
        fuzz_seconds: u32,
    },
    /// The lab's web page in a real browser: headless Chromium over WebDriver (chromedriver,
    /// fantoccini) against a real-time run (`sim --realtime --web`): the device's heartbeat
    /// shows, text sent from the page is echoed back into it, a fault from the page's form
    /// makes the device reconnect. Installs Chromium and chromedriver when missing.
    BrowserTest {
        /// Also save a screenshot of the page (PNG) at the end.
        #[arg(long, value_name = "FILE")]
        screenshot: Option<PathBuf>,
    },
    /// Builds the no_std crates for thumbv6m-none-eabi (Cortex-M0+, as on a Raspberry Pi Pico).
    Embedded,
    /// CI's board part: builds both board images, prints their sizes, and runs the emulated
    /// boards' scenarios side by side: QEMU's smoke scenario, the Pico image with UART errors
    /// (about 2 minutes of real time).
    Boards,
    /// Runs every fuzz target (cargo-fuzz, nightly) for a bounded time: the command parser and
    /// the response decoder, the firmware core on arbitrary modem bytes, the scenario loader.
    Fuzz {
        /// Seconds per target.
        #[arg(long, default_value_t = 60)]
        seconds: u32,
        /// Only this target (`command_parser`, `response_decoder`, `services`, `modem_bytes`
        /// or `scenario_loader`).
        target: Option<String>,
    },
    /// Replays scenario files in virtual time and checks their expectations: a table of
    /// results, and for each failure a diff, the trace around it and the command that
    /// reproduces it. Fails if any scenario fails.
    Replay(replay::Args),
    /// Runs the firmware against the simulated modem, network and lab server and shows what
    /// happens: AT traffic, modem and link state, what the server and the device said. No
    /// board, SIM card or server needed. Without a scenario, the built-in default.
    Sim(sim::Args),
    /// Runs many seeded fault runs (built in release, on every core), checks every invariant
    /// on each, and shrinks the first failure of each broken invariant into a regression
    /// file (scenarios/regressions/<invariant>-<seed>.json). Fails if any invariant broke.
    Swarm(swarm::Args),
    /// Runs many devices against one server on a network of cells, in release: a progress
    /// bar, then a summary (connected devices, connects per second at the server, heartbeat
    /// lateness, replies, reconnects, drops), written as JSON and SVG to target/fleet.
    /// `--merge` adds up the summaries of a run's `--shard` runs instead.
    Fleet(fleet::Args),
    /// Measures replay speed in release: a bare tokio baseline of the 24-hour day, the
    /// 24-hour scenario and its ratio to the baseline, a fleet's device-hours per second and
    /// peak memory, and many devices at once.
    Bench {
        /// How many devices to replay at once.
        #[arg(long, default_value_t = 1000)]
        devices: usize,
        /// How many devices the fleet figure runs (for an hour, on every core).
        #[arg(long, default_value_t = 1000)]
        fleet_devices: u32,
    },
    /// Builds the board images and prints their flash (text + rodata + data) and static RAM
    /// (data + bss).
    Size,
    /// Builds a board image and runs it: on a Pico through probe-rs, showing its defmt log;
    /// in QEMU, or with `--emulator` on an emulated RP2040, against the simulated modem and
    /// lab server, running a scenario in real time (the board's scenario by default) with
    /// the same live view as `cargo xtask sim`, and checking its expectations.
    Flash {
        #[arg(long, value_enum)]
        board: board::Board,
        /// Pico: run the image on an emulated RP2040 (rp2040js, Node.js) instead of flashing
        /// a board.
        #[arg(long)]
        emulator: bool,
        /// Emulated Pico: after every N characters from the modem, one with a framing error
        /// (0: none).
        #[arg(long, value_name = "N", default_value_t = board::FRAMING_ERROR_EVERY)]
        framing_error_every: u32,
        /// Emulated: the scenario to run (default: scenarios/board/qemu_smoke.json, or
        /// pico_uart_errors.json for the Pico).
        #[arg(long)]
        scenario: Option<PathBuf>,
        /// Emulated: run with this seed instead of the file's.
        #[arg(long)]
        seed: Option<u64>,
        /// Emulated: how much the expectations' time bounds are loosened for the wall
        /// clock's jitter: the board's bytes and log lines are stamped when they arrive
        /// (default: 100ms).
        #[arg(long, value_parser = units::parse_duration)]
        slack: Option<Duration>,
        /// Emulated: also write the run's trace (JSON Lines) to FILE.
        #[arg(long, value_name = "FILE")]
        trace: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.task {
        Task::Ci { fuzz_seconds } => ci::ci(fuzz_seconds),
        Task::BrowserTest { screenshot } => browser::browser_test(screenshot.as_deref()),
        Task::Embedded => ci::embedded(),
        Task::Boards => ci::boards(),
        Task::Fuzz { seconds, target } => ci::fuzz(seconds, target.as_deref()),
        Task::Replay(args) => replay::replay(args),
        Task::Sim(args) => sim::sim(args),
        Task::Swarm(args) => swarm::swarm(args),
        Task::Fleet(args) => fleet::fleet(args),
        Task::Bench {
            devices,
            fleet_devices,
        } => bench::bench(devices, fleet_devices),
        Task::Size => board::size(),
        Task::Flash {
            board,
            emulator,
            framing_error_every,
            scenario,
            seed,
            slack,
            trace,
        } => {
            let run = board::BoardRun {
                scenario,
                seed,
                slack: slack.unwrap_or(EXTERNAL_SLACK),
                console: std::io::stdin().is_terminal(),
                trace,
            };
            let emulated = run.scenario.is_some() || run.seed.is_some() || run.trace.is_some();
            match (board, emulator) {
                (board::Board::Pico, false) if emulated => Err(
                    "--scenario, --seed and --trace are for an emulated board: --board qemu, or --board pico --emulator".into(),
                ),
                (board::Board::Pico, false) => board::flash_pico(),
                (board::Board::Pico, true) => board::run_emulated(
                    board::Emulator::Pico {
                        framing_error_every,
                    },
                    &run,
                ),
                (board::Board::Qemu, _) => board::run_emulated(board::Emulator::Qemu, &run),
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error}");
            ExitCode::FAILURE
        }
    }
}
