//! Finding (and on a fresh machine, installing) the tools the tasks need.
//!
//! # The Cortex-M toolchain
//!
//! Two ways to build for `thumbv6m-none-eabi` / `thumbv7m-none-eabi`, tried in this order:
//!
//! 1. rustup's prebuilt target (`rustup target add ...`): plain `cargo build`; rustc finds
//!    its own `rust-lld` in its sysroot.
//! 2. Debian's `rustc-web` with the library sources of `rust-web-src`, building `core` with
//!    `-Zbuild-std`. That rustc ships no `rust-lld` (Debian's `rust-web-llvm`, only a
//!    recommendation, would bring `/usr/bin/rust-lld`), so the xtask names the linker itself:
//!    the first of [`linker_candidates`] that exists, passed as
//!    `CARGO_TARGET_<TRIPLE>_LINKER`. `lld-22`, which the xtask installs with the rest, always
//!    gives one.
//!
//! [`cortex_m`] decides from what [`Machine::probe`] finds; [`plan`] is that decision alone,
//! tested against a table of machines.

use std::path::{Path, PathBuf};
use std::process::Command;

pub use crate::process::Result;
use crate::process::{cargo, output, root, run, run_in, succeeds};

fn is_root() -> bool {
    output("id", &["-u"]).is_some_and(|id| id.trim() == "0")
}

/// Installs missing Debian packages with apt-get when running as root (CI, a fresh machine);
/// otherwise says what to install.
pub fn ensure_debian_packages(packages: &[&str]) -> Result {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| !succeeds("dpkg", &["-s", p]))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !is_root() || !succeeds("apt-get", &["--version"]) {
        return Err(format!(
            "missing Debian packages; install them with: sudo apt-get install {}",
            missing.join(" ")
        ));
    }
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// Finds `qemu-system-arm`, installing Debian's when root; otherwise says how to install it.
pub fn ensure_qemu() -> Result {
    if succeeds("qemu-system-arm", &["--version"]) {
        return Ok(());
    }
    ensure_debian_packages(&["qemu-system-arm"])
        .map_err(|e| format!("QEMU (qemu-system-arm, 7.2 or newer) is missing: {e}"))?;
    if succeeds("qemu-system-arm", &["--version"]) {
        Ok(())
    } else {
        Err(
            "qemu-system-arm does not run: install it with your system's package manager \
             (Debian and Ubuntu: sudo apt-get install qemu-system-arm)"
                .into(),
        )
    }
}

/// The Pico emulator's directory: its script and its npm package (rp2040js), locked.
pub fn pico_emulator_dir() -> PathBuf {
    root().join("firmware/boards/pico/emulator")
}

/// Finds Node.js (18 or newer: rp2040js's floor), installing Debian's `nodejs` and `npm`
/// when root, and installs the emulator's locked npm packages when they are missing.
pub fn ensure_pico_emulator() -> Result {
    let major = |v: String| {
        v.trim()
            .trim_start_matches('v')
            .split('.')
            .next()
            .and_then(|m| m.parse::<u32>().ok())
    };
    if output("node", &["--version"]).and_then(major).is_none() {
        ensure_debian_packages(&["nodejs", "npm"])
            .map_err(|e| format!("the Pico emulator needs Node.js 18 or newer: {e}"))?;
    }
    match output("node", &["--version"]).and_then(major) {
        Some(major) if major >= 18 => {}
        found => {
            let found = found.map_or("none".to_string(), |m| format!("v{m}"));
            return Err(format!(
                "the Pico emulator needs Node.js 18 or newer (found: {found}): install it with your system's package manager"
            ));
        }
    }
    let dir = pico_emulator_dir();
    let version = |file: &str, pointer: &str| {
        let text = std::fs::read_to_string(dir.join(file)).ok()?;
        let json: serde_json::Value = serde_json::from_str(&text).ok()?;
        json.pointer(pointer)?.as_str().map(str::to_string)
    };
    let locked = version(
        "package-lock.json",
        "/packages/node_modules~1rp2040js/version",
    );
    let installed = version("node_modules/rp2040js/package.json", "/version");
    if locked.is_none() || installed != locked {
        run_in(
            &dir,
            Command::new("npm").args(["ci", "--no-audit", "--no-fund"]),
        )?;
    }
    Ok(())
}

/// Debian's headless browser and its WebDriver server, for the lab page's browser test.
pub const DEBIAN_BROWSER_PACKAGES: &[&str] = &["chromium", "chromium-driver"];

/// Chromium and chromedriver, where [`ensure_chromium`] found them.
pub struct Browser {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
}

/// Finds Debian's `chromium` and `chromedriver`, installing `chromium` and
/// `chromium-driver` when root; otherwise says how to install them.
pub fn ensure_chromium() -> Result<Browser> {
    let browser = Browser {
        chromium: PathBuf::from("/usr/bin/chromium"),
        chromedriver: PathBuf::from("/usr/bin/chromedriver"),
    };
    let found = |b: &Browser| b.chromium.is_file() && b.chromedriver.is_file();
    if !found(&browser) {
        ensure_debian_packages(DEBIAN_BROWSER_PACKAGES)
            .map_err(|e| format!("the browser test needs Chromium and chromedriver: {e}"))?;
    }
    if found(&browser) {
        Ok(browser)
    } else {
        Err(format!(
            "{} and {} are missing: install Debian's {} (sudo apt-get install {})",
            browser.chromium.display(),
            browser.chromedriver.display(),
            DEBIAN_BROWSER_PACKAGES.join(" and "),
            DEBIAN_BROWSER_PACKAGES.join(" ")
        ))
    }
}

/// Installs a cargo subcommand from the crate registry if it is missing.
pub fn ensure_cargo_tool(subcommand: &str, krate: &str) -> Result {
    if succeeds("cargo", &[subcommand, "--version"]) {
        return Ok(());
    }
    run(cargo().args(["install", "--locked", krate]))
}

/// How to build for a bare-metal Cortex-M target on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CortexM {
    /// rustup has the target's prebuilt core library, and its rustc its `rust-lld`.
    Rustup,
    /// Debian's rustc-web with its library sources at /usr/lib/rustlib/src: `-Zbuild-std`,
    /// linked by this linker.
    DebianBuildStd { linker: PathBuf },
}

/// Debian's Cortex-M toolchain: the compiler, cargo, the library sources, and a linker.
pub const DEBIAN_CORTEX_M_PACKAGES: &[&str] = &["rustc-web", "cargo-web", "rust-web-src", "lld-22"];

/// The package that gives [`linker_candidates`] a linker.
const LINKER_PACKAGE: &str = "lld-22";

/// What decides the toolchain, as found on a machine.
pub struct Machine {
    /// The targets rustup has installed (empty without rustup).
    pub rustup_targets: Vec<String>,
    /// The sysroots of the rustc toolchains here (rustup's, and Debian's /usr).
    pub sysroots: Vec<PathBuf>,
    /// Whether Debian's Cortex-M packages are installed (or could be).
    pub debian: bool,
}

impl Machine {
    /// Looks at this machine. Installs Debian's packages first when rustup lacks `target`.
    pub fn probe(target: &str) -> Result<Machine> {
        let rustup_targets: Vec<String> = output("rustup", &["target", "list", "--installed"])
            .map(|list| list.lines().map(|t| t.trim().to_string()).collect())
            .unwrap_or_default();
        let debian = if rustup_targets.iter().any(|t| t == target) {
            false
        } else {
            ensure_debian_packages(DEBIAN_CORTEX_M_PACKAGES).map_err(|e| {
                format!(
                    "no toolchain for {target}: either `rustup target add {target}`, or Debian's: {e}"
                )
            })?;
            true
        };
        let mut sysroots = Vec::new();
        // rustc on the PATH is rustup's proxy where rustup is installed.
        for rustc in ["rustc", "/usr/bin/rustc"] {
            if let Some(sysroot) = output(rustc, &["--print", "sysroot"]) {
                let sysroot = PathBuf::from(sysroot.trim());
                if !sysroots.contains(&sysroot) {
                    sysroots.push(sysroot);
                }
            }
        }
        Ok(Machine {
            rustup_targets,
            sysroots,
            debian,
        })
    }
}

/// The linkers the `-Zbuild-std` path can use, best first: a rustc toolchain's own
/// `rust-lld` (in its sysroot, under `lib/rustlib/<host>/bin`, never on the PATH), then
/// `ld.lld-22` / `ld.lld` from Debian's `lld`, then Debian's `/usr/bin/rust-lld`.
pub fn linker_candidates(sysroots: &[PathBuf]) -> Vec<PathBuf> {
    let mut candidates: Vec<PathBuf> = sysroots
        .iter()
        .map(|s| {
            s.join("lib/rustlib")
                .join(host_triple())
                .join("bin/rust-lld")
        })
        .collect();
    candidates
        .extend(["/usr/bin/ld.lld-22", "/usr/bin/ld.lld", "/usr/bin/rust-lld"].map(PathBuf::from));
    candidates
}

/// The host's target triple, as rustc names its sysroot's directory.
fn host_triple() -> &'static str {
    // xtask runs on the host it was built for.
    env!("XTASK_HOST")
}

/// The toolchain for `target` on `machine`, where `exists` says which files are there.
pub fn plan(target: &str, machine: &Machine, exists: impl Fn(&Path) -> bool) -> Result<CortexM> {
    if machine.rustup_targets.iter().any(|t| t == target) {
        return Ok(CortexM::Rustup);
    }
    if !machine.debian {
        return Err(format!(
            "no toolchain for {target}: `rustup target add {target}`, or Debian's: sudo apt-get install {}",
            DEBIAN_CORTEX_M_PACKAGES.join(" ")
        ));
    }
    let candidates = linker_candidates(&machine.sysroots);
    match candidates.iter().find(|c| exists(c)) {
        Some(linker) => Ok(CortexM::DebianBuildStd {
            linker: linker.clone(),
        }),
        None => Err(format!(
            "no linker for {target}: none of {} exists; install Debian's {LINKER_PACKAGE} (sudo apt-get install {LINKER_PACKAGE})",
            candidates
                .iter()
                .map(|c| c.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Detects the Cortex-M toolchain for `target`, installing Debian's when nothing else is
/// there. Every task that builds for a Cortex-M (`embedded`, `size`, `flash`, `ci`) comes
/// through here.
pub fn cortex_m(target: &str) -> Result<CortexM> {
    let machine = Machine::probe(target)?;
    plan(target, &machine, Path::is_file)
}

/// `cargo build --target <target>` as the detected toolchain wants it run, in `dir`'s own
/// target directory `target_dir` so the two compilers never share artifacts.
pub fn cortex_m_build(toolchain: &CortexM, target: &str, target_dir: &Path) -> Command {
    let mut cmd = match toolchain {
        CortexM::Rustup => cargo(),
        CortexM::DebianBuildStd { linker } => {
            let mut cmd = Command::new("/usr/bin/cargo");
            let path = std::env::var("PATH").unwrap_or_default();
            let linker_var = format!(
                "CARGO_TARGET_{}_LINKER",
                target.to_uppercase().replace('-', "_")
            );
            cmd.env("PATH", format!("/usr/bin:{path}"))
                .env("RUSTC_BOOTSTRAP", "1")
                .env("RUSTC", "/usr/bin/rustc")
                .env(linker_var, linker)
                .env_remove("RUSTUP_TOOLCHAIN")
                .env_remove("CARGO");
            cmd
        }
    };
    cmd.arg("build").arg("--target").arg(target);
    if matches!(toolchain, CortexM::DebianBuildStd { .. }) {
        cmd.arg("-Zbuild-std=core");
    }
    cmd.env("CARGO_TARGET_DIR", target_dir);
    // Source paths relative to the workspace (`firmware/src/at.rs`): the images hold them for
    // panic locations, so without this an image's size depended on where it was checked out
    // (CI's longer path once put the core's share 80 B over its budget).
    let remap = format!("--remap-path-prefix={}/=", root().display());
    cmd.arg("--config")
        .arg(format!("build.rustflags = [{remap:?}]"));
    cmd
}

/// [`cortex_m_build`] of workspace crates, in `target/cortex-m`.
pub fn cortex_m_cargo(toolchain: &CortexM, target: &str) -> Command {
    cortex_m_build(toolchain, target, &root().join("target").join("cortex-m"))
}

/// The PATH without any directory that holds a `rust-lld`: CI builds the images with it, so
/// a linker found only by luck on the PATH cannot hide a missing install step. `None` when
/// nothing had to go.
pub fn path_without_rust_lld() -> Option<String> {
    let path = std::env::var_os("PATH")?;
    let dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    let kept: Vec<&PathBuf> = dirs
        .iter()
        .filter(|d| !d.join("rust-lld").exists())
        .collect();
    if kept.len() == dirs.len() {
        return None;
    }
    std::env::join_paths(kept)
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TARGET: &str = "thumbv6m-none-eabi";

    fn check(machine: Machine, files: &[&str], expected: std::result::Result<&str, &str>) {
        let exists = |p: &Path| files.iter().any(|f| Path::new(f) == p);
        let got = plan(TARGET, &machine, exists);
        match (got, expected) {
            (Ok(CortexM::Rustup), Ok("rustup")) => {}
            (Ok(CortexM::DebianBuildStd { linker }), Ok(want)) => {
                assert_eq!(linker, Path::new(want))
            }
            (Err(message), Err(needle)) => {
                assert!(message.contains(needle), "{message:?} lacks {needle:?}")
            }
            (got, want) => panic!("got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn the_toolchain_and_linker_come_from_what_is_there() {
        let host = host_triple();
        let rustup_lld = format!("/root/.rustup/toolchains/stable/lib/rustlib/{host}/bin/rust-lld");
        let debian = |sysroots: &[&str]| Machine {
            rustup_targets: vec!["x86_64-unknown-linux-gnu".into()],
            sysroots: sysroots.iter().map(PathBuf::from).collect(),
            debian: true,
        };
        let rustup_sysroot = "/root/.rustup/toolchains/stable";
        // rustup's target: plain cargo, whatever else is there.
        check(
            Machine {
                rustup_targets: vec![TARGET.into()],
                sysroots: vec![],
                debian: false,
            },
            &[],
            Ok("rustup"),
        );
        // Debian's packages, rustup's toolchain beside them: its sysroot's rust-lld.
        check(
            debian(&[rustup_sysroot, "/usr"]),
            &[&rustup_lld, "/usr/bin/ld.lld-22"],
            Ok(&rustup_lld),
        );
        // Debian's packages, no rust-lld anywhere: lld-22.
        check(
            debian(&[rustup_sysroot, "/usr"]),
            &["/usr/bin/ld.lld-22"],
            Ok("/usr/bin/ld.lld-22"),
        );
        // An unversioned lld.
        check(
            debian(&["/usr"]),
            &["/usr/bin/ld.lld"],
            Ok("/usr/bin/ld.lld"),
        );
        // Debian's rust-web-llvm only.
        check(
            debian(&["/usr"]),
            &["/usr/bin/rust-lld"],
            Ok("/usr/bin/rust-lld"),
        );
        // Debian's rustc, no linker at all: the package to install is named.
        check(debian(&["/usr"]), &[], Err("apt-get install lld-22"));
        // Nothing: both ways are named.
        check(
            Machine {
                rustup_targets: vec![],
                sysroots: vec![],
                debian: false,
            },
            &[],
            Err("rustup target add thumbv6m-none-eabi"),
        );
    }
}
