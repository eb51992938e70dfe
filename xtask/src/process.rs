//! Running programs: the workspace root, echoed commands, and quiet probes.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

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
    exit_result(cmd, status)
}

/// `cmd`'s exit as a result: an error that names it unless `status` is success.
pub fn exit_result(cmd: &Command, status: ExitStatus) -> Result {
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status})", show(cmd)))
    }
}

/// A command as a shell would show it, with the environment it sets that matters here.
pub fn show(cmd: &Command) -> String {
    let mut text = String::new();
    for (key, value) in cmd.get_envs() {
        let key = key.to_string_lossy();
        if let (Some(value), true) = (value, key.ends_with("_LINKER")) {
            text.push_str(&format!("{key}={} ", value.to_string_lossy()));
        }
    }
    text.push_str(&cmd.get_program().to_string_lossy());
    for arg in cmd.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// The cargo that runs this xtask (cargo sets `CARGO` for what it runs): another one found
/// first on the PATH, such as Debian's `/usr/bin/cargo` the Cortex-M build installs, would
/// build with another compiler.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
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

/// In a debug build, runs this same xtask command again built in release (for the tasks
/// whose speed is the point: the swarm, fleets) and returns its result; `None` in release.
pub fn again_in_release() -> Option<Result> {
    if !cfg!(debug_assertions) {
        return None;
    }
    let forwarded: Vec<String> = std::env::args().skip(1).collect();
    Some(run(cargo()
        .args(["run", "--release", "--quiet", "-p", "xtask", "--"])
        .args(forwarded)))
}
