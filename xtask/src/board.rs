//! The board images: `cargo xtask size` and `cargo xtask flash --board pico|qemu`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use scenarios::realtime::{self, External, Start};
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

/// A scenario run against the QEMU image.
pub struct QemuRun {
    /// Default: [`QEMU_SMOKE`].
    pub scenario: Option<PathBuf>,
    pub seed: Option<u64>,
    /// See `scenarios::realtime::Options::slack`.
    pub slack: Duration,
    /// Read a console on stdin (off in CI).
    pub console: bool,
    /// Write the run's trace (JSON Lines) here.
    pub trace: Option<PathBuf>,
}

/// The board smoke scenario, from the workspace root.
pub const QEMU_SMOKE: &str = "scenarios/board/qemu_smoke.json";

/// How long QEMU may take to start and connect to the modem.
const QEMU_CONNECT: Duration = Duration::from_secs(20);

/// How long a run may take beyond its scenario's duration before it is cut off: the runner
/// ends it on time, this bounds anything that would not.
const QEMU_MARGIN: Duration = Duration::from_secs(30);

/// `cargo xtask flash --board qemu`: builds the image, boots it in QEMU with its modem UART
/// connected to the scenario's simulated modem (listening on a free loopback port) and its
/// log on QEMU's stdout, shows the run live, stops QEMU at the scenario's end and checks the
/// expectations.
pub fn run_qemu(args: &QemuRun) -> Result {
    let path = args
        .scenario
        .clone()
        .unwrap_or_else(|| process::root().join(QEMU_SMOKE));
    let scenario = scenarios::load(&path).map_err(|e| e.to_string())?;
    let shown = path
        .strip_prefix(process::root())
        .unwrap_or(&path)
        .display()
        .to_string();
    let seed = args.seed.unwrap_or(scenario.seed);
    let elf = build(Board::Qemu)?;
    toolchain::ensure_qemu()?;
    sim::introduce(&scenario, &shown, seed);
    println!(
        "  real time, the firmware in QEMU (mps2-an385); the time bounds loosened by {}\n",
        units::format_duration(args.slack)
    );
    let runtime = sim::runtime()?;
    let replay = runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("cannot listen on loopback: {e}"))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let mut qemu = qemu_command(&elf, port);
        eprintln!("$ {}", process::show(qemu.as_std()));
        let mut qemu = qemu
            .spawn()
            .map_err(|e| format!("cannot start qemu-system-arm: {e}"))?;
        // Kept for when QEMU fails.
        let mut stderr = qemu.stderr.take().expect("piped");
        let errors = tokio::spawn(async move {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text).await;
            text
        });
        let connected = tokio::select! {
            accepted = tokio::time::timeout(QEMU_CONNECT, listener.accept()) => match accepted {
                Ok(Ok((stream, _))) => Ok(stream),
                Ok(Err(e)) => Err(format!("accepting QEMU's connection: {e}")),
                Err(_) => Err(format!("QEMU did not connect within {}s", QEMU_CONNECT.as_secs())),
            },
            status = qemu.wait() => Err(format!("QEMU exited before it connected ({})", status.map_or_else(|e| e.to_string(), |s| s.to_string()))),
        };
        let stream = match connected {
            Ok(stream) => stream,
            Err(e) => {
                let _ = qemu.kill().await;
                return Err(format!("{e}\n{}", errors.await.unwrap_or_default()));
            }
        };
        // The UART writes a byte at a time: without this, Nagle delays every command.
        let _ = stream.set_nodelay(true);
        let log = qemu.stdout.take().expect("piped");
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
        let replay = tokio::time::timeout(scenario.duration + QEMU_MARGIN, run).await;
        let _ = qemu.kill().await;
        replay.map_err(|_| {
            format!(
                "the run did not end within {}s of the scenario's end",
                QEMU_MARGIN.as_secs()
            )
        })
    });
    // A console's blocking stdin read would hold a normal shutdown up.
    runtime.shutdown_background();
    let mut replay = replay?;
    replay.rerun = Some(format!(
        "cargo xtask flash --board qemu --scenario {shown} --seed {seed}; in virtual time: cargo xtask replay {shown} --seed {seed}"
    ));
    if let Some(trace) = &args.trace {
        std::fs::write(trace, replay.trace())
            .map_err(|e| format!("cannot write {}: {e}", trace.display()))?;
        eprintln!("wrote {}", trace.display());
    }
    sim::finish(&replay)
}

/// QEMU with the image, its UART0 (the modem) connected to 127.0.0.1:`port`, its UART1 (the
/// log) on stdout.
fn qemu_command(elf: &Path, port: u16) -> tokio::process::Command {
    let mut qemu = tokio::process::Command::new("qemu-system-arm");
    qemu.args(["-M", "mps2-an385", "-nographic", "-monitor", "none"])
        .arg("-chardev")
        .arg(format!(
            "socket,id=modem,host=127.0.0.1,port={port},nodelay=on"
        ))
        .args(["-serial", "chardev:modem", "-serial", "stdio", "-kernel"])
        .arg(elf)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    qemu
}
