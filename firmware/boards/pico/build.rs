//! Puts memory.x where the linker finds it, and passes the linker scripts (cortex-m-rt's link.x,
//! embassy-rp's link-rp.x for the boot loader, defmt's defmt.x) here rather than in
//! .cargo/config.toml, so that a build that adds its own rustflags does not pass them twice.
use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    fs::write(out.join("memory.x"), include_bytes!("memory.x")).unwrap();
    println!("cargo:rustc-link-search={}", out.display());
    // --nmagic: no page alignment of sections, which flash has no use for.
    for arg in ["--nmagic", "-Tlink.x", "-Tlink-rp.x", "-Tdefmt.x"] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=build.rs");
}
