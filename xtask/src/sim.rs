//! `cargo xtask sim`: the firmware and the simulated modem, network and lab server, shown as
//! they run: AT traffic, modem and link state, what the server and the device said.
//!
//! - by default the scenario runs in virtual time, paced for reading (`--speed` virtual
//!   seconds per wall second; `--fast` does not wait at all), and ends with its expectations;
//! - `--realtime` runs the same world against the wall clock, with the lab server on real
//!   sockets on loopback (the scenario's lab port, or `--lab-port`; `nc 127.0.0.1 6500` talks
//!   to it) and a console: what a person types is sent to the device by the lab server;
//! - `--pty` runs the same scenario in real time with the firmware outside this process, on
//!   the other end of a pty (`longlink-host <pty>`, or a board through a serial bridge):
//!   `scenarios::realtime` with an external device, as `cargo xtask flash --board qemu`.
//!
//! With `--realtime` or `--pty`, `--web 127.0.0.1:8080` also serves the lab as a web page
//! (sim-modem's `live::web`, as `sim-modem --web`): the devices, their data, sending,
//! closing, resetting, faults, the AT log.
//!
//! Every way ends with the scenario's expectations.

use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use scenarios::realtime::{self, External, Start};
use scenarios::replay::{conclude, world, Planned};
use scenarios::{report, view, Replay, Scenario, World};
use sim_modem::live::{Pty, Web};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;

use crate::process::Result;

#[derive(clap::Args)]
pub struct Args {
    /// A scenario file (default: the built-in scenarios/default.json).
    pub scenario: Option<PathBuf>,
    /// Replay with this seed instead of the file's.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Do not pace the output: run as fast as the replay goes.
    #[arg(long, conflicts_with_all = ["realtime", "pty"])]
    pub fast: bool,
    /// Virtual seconds shown per wall second.
    #[arg(long, default_value_t = 20.0)]
    pub speed: f64,
    /// Run in real time, with a console: type text to send it to the device.
    #[arg(long, conflicts_with = "pty")]
    pub realtime: bool,
    /// Run in real time with the firmware outside this process, on the other end of a
    /// pty (`longlink-host <pty>`); the scenario starts when it first writes.
    #[arg(long)]
    pub pty: bool,
    /// With --pty: how much the expectations' time bounds are loosened for the wall
    /// clock's jitter (default: 100ms).
    #[arg(long, value_parser = units::parse_duration)]
    pub slack: Option<Duration>,
    /// Run this long instead of the scenario's duration (e.g. 1h).
    #[arg(long, value_parser = units::parse_duration)]
    pub duration: Option<Duration>,
    /// Write the run's timeline (DIR/<name>.html, self-contained) and DIR/index.html.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// With --realtime or --pty: the loopback port the real lab server listens on
    /// (default: the scenario's lab port, 6500 unless it says otherwise; 0: any free one).
    #[arg(long, value_name = "PORT")]
    pub lab_port: Option<u16>,
    /// With --realtime or --pty: serve the lab as a web page on this loopback address, e.g.
    /// 127.0.0.1:8080 (port 0: any free one).
    #[arg(long, value_name = "ADDR")]
    pub web: Option<SocketAddr>,
}

/// How long `--pty` waits for a firmware to open the pty and say something.
const PTY_WAIT: Duration = Duration::from_secs(600);

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
    introduce(&scenario, &shown, seed);
    let lab = SocketAddr::from((
        Ipv4Addr::LOCALHOST,
        args.lab_port.unwrap_or(scenario.lab.port),
    ));
    if let Some(web) = args.web {
        if !args.realtime && !args.pty {
            return Err("--web needs --realtime or --pty".into());
        }
        if !web.ip().is_loopback() {
            return Err(format!(
                "--web {web}: the lab page listens on loopback only"
            ));
        }
    }
    if args.pty {
        let slack = args.slack.unwrap_or(realtime::EXTERNAL_SLACK);
        return pty(
            &scenario,
            &shown,
            seed,
            slack,
            lab,
            args.web,
            args.report.as_deref(),
        );
    }
    if args.realtime {
        println!(
            "  real time; {}\n",
            view::CONSOLE_HELP.replace('\n', "\n  ")
        );
        let runtime = runtime()?;
        let replay = runtime.block_on(async {
            let options = realtime::Options {
                device: None,
                console: Some(console()),
                // The firmware runs in this process, on the world's clock: times are exact.
                slack: Duration::ZERO,
                lab: Some(lab),
                web: web_page(args.web).await?,
            };
            Ok::<_, String>(realtime::run(&scenario, &shown, seed, options, print).await)
        });
        // The console's blocking stdin read would hold a normal shutdown up.
        runtime.shutdown_background();
        let replay = Replay {
            rerun: Some(format!("cargo xtask sim {shown} --seed {seed} --realtime")),
            ..replay?
        };
        return reported(&replay, args.report.as_deref());
    }
    let (world, planned) = world(&scenario, seed, true)?;
    let speed = (!args.fast).then_some(args.speed);
    let replay = paced(&scenario, &shown, seed, world, &planned, speed);
    reported(&replay, args.report.as_deref())
}

/// [`finish`], the run's timeline written to `report` first (if asked for).
fn reported(replay: &Replay, report: Option<&Path>) -> Result {
    if let Some(dir) = report {
        crate::replay::write_report(dir, std::slice::from_ref(replay))?;
    }
    finish(replay)
}

/// The scenario's name, file, seed and description.
pub fn introduce(scenario: &Scenario, shown: &str, seed: u64) {
    println!("scenario {} ({shown}, seed {seed})", scenario.name);
    if !scenario.description.is_empty() {
        println!("  {}", scenario.description);
    }
}

/// Runs the world in virtual time, printing as it goes; waits so that `speed` virtual
/// seconds take one wall second (never, without a speed). Returns the finished run.
fn paced(
    scenario: &Scenario,
    shown: &str,
    seed: u64,
    mut world: World,
    planned: &[Planned],
    speed: Option<f64>,
) -> Replay {
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
        let new = world.take_records();
        let mut out = std::io::stdout().lock();
        for line in new.iter().filter_map(view::line) {
            let _ = writeln!(out, "{line}");
        }
        let _ = out.flush();
        records.extend(new);
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
    replay
}

/// Prints how a run fared (each expectation, the table, the failures) and fails if it
/// failed.
pub fn finish(replay: &Replay) -> Result {
    println!("\nexpectations:");
    print!("{}", report::results(replay));
    println!();
    print!("{}", report::table(std::slice::from_ref(replay)));
    let failures = report::failures(replay);
    if !failures.is_empty() {
        println!("\n{failures}");
    }
    if replay.verdict().is_ok() {
        Ok(())
    } else {
        Err("the scenario's expectations were not met".into())
    }
}

pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start tokio: {e}"))
}

/// A live view line, on stdout at once.
pub fn print(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// The console: lines typed on stdin, and `quit` on Ctrl-C. Call it inside a runtime.
pub fn console() -> mpsc::UnboundedReceiver<String> {
    let (lines, console) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut stdin = BufReader::new(tokio::io::stdin()).lines();
        let mut reading = true;
        loop {
            let line = tokio::select! {
                biased;
                _ = tokio::signal::ctrl_c() => Some("quit".to_string()),
                line = stdin.next_line(), if reading => match line {
                    Ok(Some(line)) => Some(line),
                    // End of input: Ctrl-C still stops.
                    _ => {
                        reading = false;
                        None
                    }
                },
            };
            if let Some(line) = line {
                if lines.send(line).is_err() {
                    return;
                }
            }
        }
    });
    console
}

/// Runs the scenario in real time against a firmware outside this process, on the other
/// end of a pty; the run starts when it first writes.
/// Starts the lab's web page on `address`, if asked for, and says where it is.
async fn web_page(address: Option<SocketAddr>) -> Result<Option<Web>> {
    let Some(address) = address else {
        return Ok(None);
    };
    let web = Web::serve(address)
        .await
        .map_err(|e| format!("the lab page cannot listen on {address}: {e}"))?;
    println!("  lab page on http://{}/\n", web.address());
    Ok(Some(web))
}

fn pty(
    scenario: &Scenario,
    shown: &str,
    seed: u64,
    slack: Duration,
    lab: SocketAddr,
    web: Option<SocketAddr>,
    report: Option<&Path>,
) -> Result {
    let runtime = runtime()?;
    let replay = runtime.block_on(async {
        let pty = Pty::open().map_err(|e| format!("cannot open a pty: {e}"))?;
        println!(
            "  the simulated modem on {}: connect a firmware to it, e.g.\n  \
             `cargo run -p firmware-host -- {} --server {}:{}`;\n  \
             the scenario starts when it first writes. {}\n",
            pty.path.display(),
            pty.path.display(),
            scenario.lab.name,
            scenario.lab.port,
            view::CONSOLE_HELP.replace('\n', "\n  ")
        );
        let options = realtime::Options {
            device: Some(External {
                line: Box::new(pty),
                log: None,
                start: Start::FirstByte(PTY_WAIT),
            }),
            console: Some(console()),
            slack,
            lab: Some(lab),
            web: web_page(web).await?,
        };
        Ok::<_, String>(realtime::run(scenario, shown, seed, options, print).await)
    });
    runtime.shutdown_background();
    let replay = Replay {
        rerun: Some(format!("cargo xtask sim {shown} --seed {seed} --pty")),
        ..replay?
    };
    reported(&replay, report)
}
