//! The board images: `cargo xtask size` and `cargo xtask flash --board pico|qemu`.

use crate::toolchain::{self, run_in, CortexM, Result};
use std::path::PathBuf;
use std::process::Command;

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
        toolchain::root().join("firmware/boards").join(self.name())
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
    let toolchain = toolchain::cortex_m(board.target())?;
    let mut cargo = toolchain::cortex_m_command(&toolchain);
    // Run in the board's directory: its .cargo/config.toml (target, runner) is found from
    // the current directory, not from --manifest-path.
    cargo.args(["build", "--release", "--target", board.target()]);
    if matches!(toolchain, CortexM::DebianBuildStd) {
        cargo.arg("-Zbuild-std=core");
    }
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

pub fn size() -> Result {
    let mut rows = Vec::new();
    for board in Board::ALL {
        let elf = build(board)?;
        rows.push((board, ImageSize::of(&elf)?));
    }
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
    Ok(())
}

/// `probe-rs run` flashes the Pico through a debug probe and shows its defmt log.
pub fn flash_pico() -> Result {
    let elf = build(Board::Pico)?;
    if !toolchain::succeeds("probe-rs", &["--version"]) {
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

pub fn flash(board: Board) -> Result {
    match board {
        Board::Pico => flash_pico(),
        Board::Qemu => Err("flash --board qemu: not yet wired to the scenario runner".into()),
    }
}
