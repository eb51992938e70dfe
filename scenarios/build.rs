//! Generates one test per scenario file (`tests/scenario_files.rs` includes them), so that
//! `cargo test -p scenarios` lists every file by name and a new file is a new test.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let mut files = Vec::new();
    find(&root, &root, &mut files);
    files.sort();
    let mut code = String::new();
    for rel in &files {
        let name: String = rel
            .trim_end_matches(".json")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        writeln!(
            code,
            "#[test]\nfn {}{name}() {{\n    replay_file({rel:?});\n}}\n",
            if name.starts_with(|c: char| c.is_ascii_digit()) {
                "s_"
            } else {
                ""
            },
        )
        .unwrap();
    }
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("scenario_tests.rs");
    fs::write(out, code).unwrap();
    // Scanned recursively by cargo: a new, changed or removed file regenerates the tests.
    println!("cargo:rerun-if-changed={}", root.display());
}

/// Scenario files under `dir`, relative to `root`, as `scenarios::scenario_files` finds them.
fn find(root: &Path, dir: &Path, files: &mut Vec<String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        if path.is_dir() {
            if !matches!(name.as_str(), "target" | "src" | "benches") && !name.starts_with('.') {
                find(root, &path, files);
            }
        } else if name.ends_with(".json") && !name.ends_with(".schema.json") {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            files.push(rel);
        }
    }
}
