//! The board images: `cargo xtask size` and `cargo xtask flash --board pico|qemu`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use scenarios::realtime::{self, External, Start};
use scenarios::trace::Event;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

use crate::process::{self, run_in, Result};
use crate::sim;
use crate::toolchain;

#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum Board {
    /// Raspberry Pi Pico (RP2040, Cortex-M0+), flashed with probe-rs.
    Pico,
    /// QEMU's mps2-an385 (Cortex-M3), run against the sim-modem.
    Qemu,
}

impl Board {
    pub const ALL: [Board; 2] = [Board::Pico, Board::Qemu];

    pub fn dir(self) -> PathBuf {
        process::root().join("firmware/boards").join(self.name())
    }

    pub fn name(self) -> &'static str {
        match self {
            Board::Pico => "pico",
            Board::Qemu => "qemu",
        }
    }

    fn target(self) -> &'static str {
        match self {
            Board::Pico => "thumbv6m-none-eabi",
            Board::Qemu => "thumbv7m-none-eabi",
        }
    }

    fn binary(self) -> &'static str {
        match self {
            Board::Pico => "longlink-pico",
            Board::Qemu => "longlink-qemu",
        }
    }
}

/// Builds the board's release image with whichever Cortex-M toolchain is there and returns
/// the ELF's path.
pub fn build(board: Board) -> Result<PathBuf> {
    build_with(board, None)
}

/// [`build`] with one of the board crate's features.
fn build_with(board: Board, feature: Option<&str>) -> Result<PathBuf> {
    let toolchain = toolchain::cortex_m(board.target())?;
    // Its own target directory, whatever the caller's environment says: the image is
    // looked for there.
    let mut cargo =
        toolchain::cortex_m_build(&toolchain, board.target(), &board.dir().join("target"));
    cargo.arg("--release");
    if let Some(feature) = feature {
        cargo.args(["--features", feature]);
    }
    // Run in the board's directory: its .cargo/config.toml (target, runner) is found from
    // the current directory, not from --manifest-path.
    run_in(&board.dir(), &mut cargo)?;
    Ok(board
        .dir()
        .join("target")
        .join(board.target())
        .join("release")
        .join(board.binary()))
}

/// Flash and static RAM of an ELF image, as `size` counts them.
#[derive(Debug, Default, Clone, Copy)]
pub struct ImageSize {
    /// Code and read-only data, bytes (`text` + `rodata`).
    pub text: u64,
    /// Initialised data, bytes: in flash, copied to RAM at start.
    pub data: u64,
    /// Zeroed and uninitialised RAM, bytes.
    pub bss: u64,
}

impl ImageSize {
    pub fn flash(&self) -> u64 {
        self.text + self.data
    }

    pub fn ram(&self) -> u64 {
        self.data + self.bss
    }

    /// Reads the allocated sections of an ELF file.
    pub fn of(elf: &std::path::Path) -> Result<ImageSize> {
        use object::{Object, ObjectSection, SectionFlags, SectionKind};
        let bytes = std::fs::read(elf).map_err(|e| format!("{}: {e}", elf.display()))?;
        let file = object::File::parse(&*bytes).map_err(|e| format!("{}: {e}", elf.display()))?;
        let mut size = ImageSize::default();
        for section in file.sections() {
            let SectionFlags::Elf { sh_flags } = section.flags() else {
                continue;
            };
            const SHF_WRITE: u64 = 0x1;
            const SHF_ALLOC: u64 = 0x2;
            if sh_flags & SHF_ALLOC == 0 {
                continue;
            }
            match section.kind() {
                SectionKind::UninitializedData | SectionKind::UninitializedTls => {
                    size.bss += section.size()
                }
                _ if sh_flags & SHF_WRITE != 0 => size.data += section.size(),
                _ => size.text += section.size(),
            }
        }
        Ok(size)
    }
}

/// The firmware core's share of the Pico image may not exceed these (DESIGN.md: small enough
/// to sit beside an application), bytes.
const CORE_FLASH_BUDGET: u64 = 32 * 1024;
const CORE_RAM_BUDGET: u64 = 8 * 1024;

/// `cargo xtask size`: both images, and the firmware core's share of the Pico's, failing
/// when the share is over its budget. The share is the Pico image with the board's log of
/// the core's reports off (feature `no-log`: how a board logs is its own choice) less the
/// same board with `firmware::run` replaced by an AT loop (feature `board-only`): every byte
/// of the core and of the `protocol` code it uses.
pub fn size() -> Result {
    let board_only = ImageSize::of(&build_with(Board::Pico, Some("board-only"))?)?;
    let no_log = ImageSize::of(&build_with(Board::Pico, Some("no-log"))?)?;
    let mut rows = Vec::new();
    for board in Board::ALL {
        let elf = build(board)?;
        rows.push((board, ImageSize::of(&elf)?));
    }
    print_sizes(&rows);
    let (flash, ram) = (
        no_log.flash().saturating_sub(board_only.flash()),
        no_log.ram().saturating_sub(board_only.ram()),
    );
    println!(
        "pico without its report log: flash {} B, static RAM {} B; the board alone: flash {} B, static RAM {} B",
        no_log.flash(),
        no_log.ram(),
        board_only.flash(),
        board_only.ram()
    );
    println!(
        "the firmware core's share: flash {flash} B of {CORE_FLASH_BUDGET} ({:.1}%), static RAM {ram} B of {CORE_RAM_BUDGET} ({:.1}%)",
        100.0 * flash as f64 / CORE_FLASH_BUDGET as f64,
        100.0 * ram as f64 / CORE_RAM_BUDGET as f64,
    );
    if flash > CORE_FLASH_BUDGET || ram > CORE_RAM_BUDGET {
        return Err(format!(
            "the firmware core's share of the Pico image is over its budget ({CORE_FLASH_BUDGET} B flash, {CORE_RAM_BUDGET} B RAM)"
        ));
    }
    Ok(())
}

/// The size table of built images.
pub fn print_sizes(rows: &[(Board, ImageSize)]) {
    println!(
        "{:<6} {:>12} {:>10} {:>10} {:>12} {:>12}",
        "board", "text+rodata", "data", "bss", "flash", "static RAM"
    );
    for (board, s) in rows {
        println!(
            "{:<6} {:>12} {:>10} {:>10} {:>12} {:>12}",
            board.name(),
            s.text,
            s.data,
            s.bss,
            s.flash(),
            s.ram()
        );
    }
}

/// `probe-rs run` flashes the Pico through a debug probe and shows its defmt log.
pub fn flash_pico() -> Result {
    let elf = build(Board::Pico)?;
    if !process::succeeds("probe-rs", &["--version"]) {
        return Err(format!(
            "built {}; flashing needs probe-rs: `sudo apt-get install libudev-dev libusb-1.0-0-dev pkg-config` \
             then `cargo install probe-rs-tools --locked` (about 9 minutes), and a debug probe on the Pico's SWD pins",
            elf.display()
        ));
    }
    run_in(
        &Board::Pico.dir(),
        Command::new("probe-rs")
            .args(["run", "--chip", "RP2040"])
            .arg(&elf),
    )
}

/// How often the emulated Pico's modem UART carries a framing error unless told otherwise:
/// after every this many characters from the modem, the rate `pico_uart_errors.json` is
/// written for.
pub const FRAMING_ERROR_EVERY: u32 = 16;

/// An emulated board that runs its image against the simulated modem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emulator {
    /// The QEMU image on QEMU's mps2-an385.
    Qemu,
    /// The Pico image, unchanged, on an emulated RP2040 (rp2040js on Node.js, with our
    /// PL011 UART model: `firmware/boards/pico/emulator`); after every `framing_error_every`
    /// characters from the modem (0: never), a character with a framing error.
    Pico { framing_error_every: u32 },
}

impl Emulator {
    fn board(self) -> Board {
        match self {
            Emulator::Qemu => Board::Qemu,
            Emulator::Pico { .. } => Board::Pico,
        }
    }

    /// Its board scenario, from the workspace root.
    pub fn smoke(self) -> &'static str {
        match self {
            Emulator::Qemu => "scenarios/board/qemu_smoke.json",
            Emulator::Pico { .. } => "scenarios/board/pico_uart_errors.json",
        }
    }

    fn describe(self) -> String {
        match self {
            Emulator::Qemu => "the firmware in QEMU (mps2-an385)".into(),
            Emulator::Pico {
                framing_error_every: 0,
            } => "the Pico image on an emulated RP2040 (rp2040js)".into(),
            Emulator::Pico {
                framing_error_every: n,
            } => format!(
                "the Pico image on an emulated RP2040 (rp2040js), a framing error after every {n} characters from the modem"
            ),
        }
    }

    /// The emulator with the image, its modem UART connected to 127.0.0.1:`port`, its log
    /// on stdout.
    fn command(self, elf: &Path, port: u16) -> tokio::process::Command {
        let mut command = match self {
            Emulator::Qemu => {
                let mut qemu = tokio::process::Command::new("qemu-system-arm");
                qemu.args(["-M", "mps2-an385", "-nographic", "-monitor", "none"])
                    .arg("-chardev")
                    .arg(format!(
                        "socket,id=modem,host=127.0.0.1,port={port},nodelay=on"
                    ))
                    .args(["-serial", "chardev:modem", "-serial", "stdio", "-kernel"])
                    .arg(elf);
                qemu
            }
            Emulator::Pico {
                framing_error_every,
            } => {
                let mut node = tokio::process::Command::new("node");
                node.arg(toolchain::pico_emulator_dir().join("pico.mjs"))
                    .arg(elf)
                    .args(["--modem", &port.to_string()])
                    .args(["--framing-error-every", &framing_error_every.to_string()]);
                node
            }
        };
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }
}

/// A scenario run against an emulated board.
pub struct BoardRun {
    /// Default: the emulator's [`Emulator::smoke`].
    pub scenario: Option<PathBuf>,
    pub seed: Option<u64>,
    /// See `scenarios::realtime::Options::slack`.
    pub slack: Duration,
    /// Read a console on stdin (off in CI).
    pub console: bool,
    /// Write the run's trace (JSON Lines) here.
    pub trace: Option<PathBuf>,
}

/// How long the emulator may take to start and connect to the modem.
const EMULATOR_CONNECT: Duration = Duration::from_secs(20);

/// How long a run may take beyond its scenario's duration before it is cut off: the runner
/// ends it on time, this bounds anything that would not.
const RUN_MARGIN: Duration = Duration::from_secs(30);

/// `cargo xtask flash --board qemu`, `--board pico --emulator`: builds the image, boots it in
/// the emulator with its modem UART connected to the scenario's simulated modem (listening on
/// a free loopback port) and its log on the emulator's stdout, shows the run live, stops the
/// emulator at the scenario's end and checks the expectations.
pub fn run_emulated(emulator: Emulator, args: &BoardRun) -> Result {
    let path = args
        .scenario
        .clone()
        .unwrap_or_else(|| process::root().join(emulator.smoke()));
    let scenario = scenarios::load(&path).map_err(|e| e.to_string())?;
    let shown = path
        .strip_prefix(process::root())
        .unwrap_or(&path)
        .display()
        .to_string();
    let seed = args.seed.unwrap_or(scenario.seed);
    let elf = build(emulator.board())?;
    match emulator {
        Emulator::Qemu => toolchain::ensure_qemu()?,
        Emulator::Pico { .. } => toolchain::ensure_pico_emulator()?,
    }
    sim::introduce(&scenario, &shown, seed);
    println!(
        "  real time, {}; the time bounds loosened by {}\n",
        emulator.describe(),
        units::format_duration(args.slack)
    );
    let runtime = sim::runtime()?;
    let replay = runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("cannot listen on loopback: {e}"))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let mut device = emulator.command(&elf, port);
        eprintln!("$ {}", process::show(device.as_std()));
        let mut device = device
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", emulator.describe()))?;
        // Kept for when the emulator fails.
        let mut stderr = device.stderr.take().expect("piped");
        let errors = tokio::spawn(async move {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text).await;
            text
        });
        let connected = tokio::select! {
            accepted = tokio::time::timeout(EMULATOR_CONNECT, listener.accept()) => match accepted {
                Ok(Ok((stream, _))) => Ok(stream),
                Ok(Err(e)) => Err(format!("accepting the emulator's connection: {e}")),
                Err(_) => Err(format!("the emulator did not connect within {}s", EMULATOR_CONNECT.as_secs())),
            },
            status = device.wait() => Err(format!("the emulator exited before it connected ({})", status.map_or_else(|e| e.to_string(), |s| s.to_string()))),
        };
        let stream = match connected {
            Ok(stream) => stream,
            Err(e) => {
                let _ = device.kill().await;
                return Err(format!("{e}\n{}", errors.await.unwrap_or_default()));
            }
        };
        // The UART writes a byte at a time: without this, Nagle delays every command.
        let _ = stream.set_nodelay(true);
        let log = device.stdout.take().expect("piped");
        let options = realtime::Options {
            device: Some(External {
                line: Box::new(stream),
                log: Some(Box::new(log)),
                start: Start::Now,
            }),
            console: args.console.then(sim::console),
            slack: args.slack,
            // The lab stays simulated: a CI run needs no free port.
            lab: None,
            web: None,
        };
        let run = realtime::run(&scenario, &shown, seed, options, sim::print);
        let replay = tokio::time::timeout(scenario.duration + RUN_MARGIN, run).await;
        let _ = device.kill().await;
        replay.map_err(|_| {
            format!(
                "the run did not end within {}s of the scenario's end",
                RUN_MARGIN.as_secs()
            )
        })
    });
    // A console's blocking stdin read would hold a normal shutdown up.
    runtime.shutdown_background();
    let mut replay = replay?;
    let again = match emulator {
        Emulator::Qemu => "cargo xtask flash --board qemu".to_string(),
        Emulator::Pico {
            framing_error_every,
        } => format!(
            "cargo xtask flash --board pico --emulator --framing-error-every {framing_error_every}"
        ),
    };
    replay.rerun = Some(format!(
        "{again} --scenario {shown} --seed {seed}; in virtual time: cargo xtask replay {shown} --seed {seed}"
    ));
    if let Some(trace) = &args.trace {
        std::fs::write(trace, replay.trace())
            .map_err(|e| format!("cannot write {}: {e}", trace.display()))?;
        eprintln!("wrote {}", trace.display());
    }
    sim::finish(&replay)?;
    match emulator {
        Emulator::Pico {
            framing_error_every,
        } if framing_error_every > 0 => errors_reached_the_driver(&replay),
        _ => Ok(()),
    }
}

/// The emulator's log line for each character with a framing error that the driver read
/// from the UART's data register (`pico.mjs`).
const FRAMING_ERROR_READ: &str = "uart0 framing error read";

/// A run with framing errors proves nothing unless they reached the driver: counts them.
fn errors_reached_the_driver(replay: &scenarios::Replay) -> Result {
    let read = replay
        .records
        .iter()
        .filter(|r| matches!(&r.event, Event::Fw { report } if report.text == FRAMING_ERROR_READ))
        .count();
    println!("the driver read {read} characters with a framing error");
    if read == 0 {
        return Err("no framing error reached the driver: the run tested nothing".into());
    }
    Ok(())
}
