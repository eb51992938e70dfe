//! Tells the xtask its host triple: rustc's sysroot keeps its tools under it.
fn main() {
    let host = std::env::var("TARGET").expect("cargo sets TARGET for build scripts");
    println!("cargo:rustc-env=XTASK_HOST={host}");
}
