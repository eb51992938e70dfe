//! `cargo xtask`: the project's orchestration. It holds no logic a test needs: that lives in
//! the library crates. `cargo xtask ci` passing locally means CI is green.

mod ci;
mod toolchain;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "LongLink's tasks", version)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Everything CI checks: formatting, clippy, every test, the no_std Cortex-M build, and a
    /// short bounded fuzz run of each parser. Installs what a fresh machine lacks.
    Ci {
        /// Seconds of fuzzing per parser (0 skips fuzzing).
        #[arg(long, default_value_t = 20)]
        fuzz_seconds: u32,
    },
    /// Builds the no_std crates for thumbv6m-none-eabi (Cortex-M0+, as on a Raspberry Pi Pico).
    Embedded,
    /// Runs each parser's fuzz target (cargo-fuzz, nightly) for a bounded time.
    Fuzz {
        /// Seconds per target.
        #[arg(long, default_value_t = 60)]
        seconds: u32,
        /// Only this target (`command_parser` or `response_decoder`).
        target: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.task {
        Task::Ci { fuzz_seconds } => ci::ci(fuzz_seconds),
        Task::Embedded => ci::embedded(),
        Task::Fuzz { seconds, target } => ci::fuzz(seconds, target.as_deref()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error}");
            ExitCode::FAILURE
        }
    }
}
