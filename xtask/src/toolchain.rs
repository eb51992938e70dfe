//! Finding (and on a fresh machine, installing) the tools the tasks need.

use std::path::{Path, PathBuf};
use std::process::Command;

pub type Result<T = ()> = std::result::Result<T, String>;

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
        .to_path_buf()
}

/// Runs a command in the workspace root, echoing it, and fails if it fails.
pub fn run(cmd: &mut Command) -> Result {
    run_in(&root(), cmd)
}

/// Runs a command in `dir`, echoing it, and fails if it fails.
pub fn run_in(dir: &Path, cmd: &mut Command) -> Result {
    eprintln!("$ {}", show(cmd));
    let status = cmd
        .current_dir(dir)
        .status()
        .map_err(|e| format!("cannot start `{}`: {e}", show(cmd)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status})", show(cmd)))
    }
}

/// A command as a shell would show it.
pub fn show(cmd: &Command) -> String {
    let mut text = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// Whether `program args...` runs and succeeds.
pub fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Output of `program args...`, if it succeeded.
pub fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

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

/// Installs a cargo subcommand from the crate registry if it is missing.
pub fn ensure_cargo_tool(subcommand: &str, krate: &str) -> Result {
    if succeeds("cargo", &[subcommand, "--version"]) {
        return Ok(());
    }
    run(Command::new("cargo").args(["install", "--locked", krate]))
}

/// How to build for a bare-metal Cortex-M target on this machine.
pub enum CortexM {
    /// rustup has the target's prebuilt core library.
    Rustup,
    /// Debian's rustc-web with its library sources at /usr/lib/rustlib/src: `-Zbuild-std`.
    DebianBuildStd,
}

pub const DEBIAN_CORTEX_M_PACKAGES: &[&str] = &["rustc-web", "cargo-web", "rust-web-src", "lld-22"];

/// Detects the Cortex-M toolchain for `target`, installing Debian's when nothing else is there.
pub fn cortex_m(target: &str) -> Result<CortexM> {
    if output("rustup", &["target", "list", "--installed"])
        .is_some_and(|list| list.lines().any(|t| t.trim() == target))
    {
        return Ok(CortexM::Rustup);
    }
    ensure_debian_packages(DEBIAN_CORTEX_M_PACKAGES).map_err(|e| {
        format!("no toolchain for {target}: either `rustup target add {target}`, or Debian's: {e}")
    })?;
    Ok(CortexM::DebianBuildStd)
}

/// `cargo` as the detected Cortex-M toolchain wants it run.
pub fn cortex_m_command(toolchain: &CortexM) -> Command {
    match toolchain {
        CortexM::Rustup => Command::new("cargo"),
        CortexM::DebianBuildStd => {
            let mut cmd = Command::new("/usr/bin/cargo");
            let path = std::env::var("PATH").unwrap_or_default();
            cmd.env("PATH", format!("/usr/bin:{path}"))
                .env("RUSTC_BOOTSTRAP", "1")
                .env("RUSTC", "/usr/bin/rustc")
                .env_remove("RUSTUP_TOOLCHAIN")
                .env_remove("CARGO");
            cmd
        }
    }
}

/// A `cargo build` of workspace crates for `target` with the detected toolchain, in its own
/// target directory so the two compilers never share artifacts.
pub fn cortex_m_cargo(toolchain: &CortexM, target: &str) -> Command {
    let mut cmd = cortex_m_command(toolchain);
    cmd.arg("build").arg("--target").arg(target);
    if matches!(toolchain, CortexM::DebianBuildStd) {
        cmd.arg("-Zbuild-std=core");
    }
    cmd.env("CARGO_TARGET_DIR", root().join("target").join("cortex-m"));
    cmd
}
