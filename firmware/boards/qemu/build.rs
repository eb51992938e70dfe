//! Puts memory.x (and an empty device.x: the interrupt table is in src/uart.rs) where the linker
//! finds them, and passes cortex-m-rt's link.x here rather than in .cargo/config.toml, so that a
//! build that adds its own rustflags does not pass it twice.
use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    fs::write(out.join("memory.x"), include_bytes!("memory.x")).unwrap();
    fs::write(out.join("device.x"), "").unwrap();
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rustc-link-arg-bins=-Tlink.x");
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=build.rs");
}
