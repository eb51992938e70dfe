//! `cargo xtask sim`: the firmware and the simulated modem, network and lab server, shown as
//! they run: AT traffic, modem and link state, what the server and the device said.
//!
//! - by default the scenario runs in virtual time, paced for reading (`--speed` virtual
//!   seconds per wall second; `--fast` does not wait at all), and ends with its expectations;
//! - `--realtime` runs the same world against the wall clock, with a console: what a person
//!   types is sent to the device by the lab server;
//! - `--pty` runs only the simulated modem (sim-modem's live mode) on a pty, for a firmware
//!   outside this process (`longlink-host <pty>`, or a board through a serial bridge).

use std::io::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use scenarios::replay::{conclude, world, Planned};
use scenarios::view::{self, Console};
use scenarios::{report, Scenario, World};
use sim_modem::fault::ScheduledFault;
use sim_modem::live::{Endpoint, LiveConfig};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::toolchain::Result;

pub struct Args {
    pub scenario: Option<PathBuf>,
    pub seed: Option<u64>,
    pub fast: bool,
    pub speed: f64,
    pub realtime: bool,
    pub pty: bool,
    pub duration: Option<Duration>,
}

pub fn sim(args: Args) -> Result {
    let (mut scenario, shown) = match &args.scenario {
        Some(path) => (
            scenarios::load(path).map_err(|e| e.to_string())?,
            path.display().to_string(),
        ),
        None => (
            scenarios::default_scenario(),
            "scenarios/default.json".into(),
        ),
    };
    if let Some(duration) = args.duration {
        scenario.duration = duration;
    }
    let seed = args.seed.unwrap_or(scenario.seed);
    println!("scenario {} ({shown}, seed {seed})", scenario.name);
    if !scenario.description.is_empty() {
        println!("  {}", scenario.description);
    }
    if args.pty {
        return pty(&scenario, seed);
    }
    let (world, planned) = world(&scenario, seed, true)?;
    if args.realtime {
        realtime(&scenario, world)
    } else {
        let speed = (!args.fast).then_some(args.speed);
        paced(&scenario, &shown, seed, world, &planned, speed)
    }
}

/// Runs the world in virtual time, printing as it goes; waits so that `speed` virtual
/// seconds take one wall second (never, without a speed).
fn paced(
    scenario: &Scenario,
    shown: &str,
    seed: u64,
    mut world: World,
    planned: &[Planned],
    speed: Option<f64>,
) -> Result {
    match speed {
        Some(speed) => println!("  virtual time, {speed}x real time (--fast: no waiting)\n"),
        None => println!("  virtual time\n"),
    }
    let end = scenario.duration;
    let started = Instant::now();
    let mut records = Vec::new();
    let mut at = Duration::ZERO;
    loop {
        world.run_until(at);
        show(&mut world, &mut records);
        if at >= end {
            break;
        }
        at = world.next_wakeup().unwrap_or(end).min(end);
        if let Some(speed) = speed {
            let due = started + at.div_f64(speed);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
    }
    let mut replay = conclude(scenario, shown, seed, planned, world.now(), records);
    replay.wall = started.elapsed();
    println!("\nexpectations:");
    for result in &replay.results {
        let mark = if result.passed() { "ok  " } else { "FAIL" };
        println!("  {mark} {}", result.summary);
    }
    println!();
    print!("{}", report::table(std::slice::from_ref(&replay)));
    let failures = report::failures(&replay);
    if !failures.is_empty() {
        println!("\n{failures}");
    }
    if replay.verdict().is_ok() {
        Ok(())
    } else {
        Err("the scenario's expectations were not met".into())
    }
}

/// Prints the records the world made since last time, and keeps them.
fn show(world: &mut World, kept: &mut Vec<scenarios::trace::Record>) {
    let records = world.take_records();
    let mut out = std::io::stdout().lock();
    for line in records.iter().filter_map(view::line) {
        let _ = writeln!(out, "{line}");
    }
    let _ = out.flush();
    kept.extend(records);
}

/// Runs the world against the wall clock until its duration, Ctrl-C or `quit`; lines typed
/// on stdin go to the console.
fn realtime(scenario: &Scenario, mut world: World) -> Result {
    println!(
        "  real time; {}\n",
        view::CONSOLE_HELP.replace('\n', "\n  ")
    );
    let terminator: &[u8] = match scenario.device.framing {
        Some(scenarios::format::FramingName::Newline) => b"\n",
        _ => b"",
    };
    let end = scenario.duration;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start tokio: {e}"))?;
    runtime.block_on(async {
        let start = tokio::time::Instant::now();
        let mut stdin = BufReader::new(tokio::io::stdin()).lines();
        let mut reading = true;
        let mut records = Vec::new();
        loop {
            world.run_until(start.elapsed().min(end));
            show(&mut world, &mut records);
            if world.now() >= end {
                break;
            }
            let next = world.next_wakeup().unwrap_or(end).min(end);
            tokio::select! {
                // Polled in order: a person's input and Ctrl-C before the clock.
                biased;
                _ = tokio::signal::ctrl_c() => break,
                line = stdin.next_line(), if reading => match line {
                    Ok(Some(line)) => {
                        world.run_until(start.elapsed().min(end));
                        match view::console(&mut world, &line, terminator) {
                            Console::Quit => break,
                            Console::Answer(text) if !text.is_empty() => println!("{text}"),
                            Console::Answer(_) => {}
                        }
                    }
                    // End of input: the world runs on without a console.
                    _ => reading = false,
                },
                _ = tokio::time::sleep_until(start + next) => {}
            }
        }
    });
    Ok(())
}

/// Serves the scenario's modem and network on a pty for a firmware outside this process.
/// The timeline's faults are applied at their times; its lab actions are left to the lab
/// server's console.
fn pty(scenario: &Scenario, seed: u64) -> Result {
    let mut sim = scenarios::replay::sim_config(scenario, seed);
    for p in scenarios::replay::plan(scenario, seed) {
        match p.step.action {
            scenarios::Action::Fault(fault) => sim.faults.push(ScheduledFault { at: p.at, fault }),
            other => println!(
                "  note: {} at {:?} is left to the lab console",
                scenarios::world::describe(&other),
                p.at
            ),
        }
    }
    println!(
        "  the simulated modem on a pty; connect a firmware to the device path printed below,\n  \
         e.g. `cargo run -p firmware-host -- <pty> --server {}:{}`; Ctrl-C or `quit` stops\n",
        scenario.lab.name, scenario.lab.port
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start tokio: {e}"))?;
    runtime
        .block_on(sim_modem::live::run(LiveConfig::new(Endpoint::Pty, sim)))
        .map_err(|e| format!("sim-modem: {e}"))
}
