//! Files form layers: no file uses one that uses it back, directly or through others.
//! ARCHITECTURE.md states it; this test keeps it, for every crate's `src/`.
//!
//! A file "uses" another when its code (not its comments, not its `#[cfg(test)] mod tests`)
//! names a path into it: `crate::a::b`, `super::x`, or a `use crate::{a, b}` group.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The module path of a source file under `src`: `at.rs` -> `[at]`, `modem/mod.rs` -> `[modem]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file
        .strip_prefix(src)
        .expect("under src")
        .with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("lib" | "main" | "mod")
    ) {
        parts.pop();
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comments and without its unit tests.
fn code(text: &str) -> String {
    let text = text
        .find("#[cfg(test)]\nmod tests")
        .map_or(text, |at| &text[..at]);
    text.lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The path segments after each `crate::` or `super::` in `code`, with the keyword.
fn paths(code: &str) -> Vec<(bool, Vec<String>)> {
    let mut found = Vec::new();
    for keyword in ["crate", "super"] {
        let mut rest = code;
        while let Some(at) = rest.find(&format!("{keyword}::")) {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + keyword.len() + 2..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for item in group[..end].split(',') {
                    let name: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() && name != "self" {
                        found.push((keyword == "crate", vec![name]));
                    }
                }
                continue;
            }
            let segments: Vec<String> = rest
                .split("::")
                .map(|s| {
                    s.chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect::<String>()
                })
                .take_while(|s: &String| !s.is_empty())
                .collect();
            found.push((keyword == "crate", segments));
        }
    }
    found
}

/// The files of the crate at `src` that use each other in a circle, one list per circle.
pub fn circles(src: &Path) -> Vec<Vec<PathBuf>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let modules: BTreeMap<Vec<String>, usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (module_of(src, f), i))
        .collect();
    let mut uses: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); files.len()];
    for (i, file) in files.iter().enumerate() {
        let me = module_of(src, file);
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for (from_root, segments) in paths(&code(&text)) {
            let mut full: Vec<String> = if from_root {
                Vec::new()
            } else {
                me[..me.len().saturating_sub(1)].to_vec()
            };
            full.extend(segments);
            // The longest prefix that is a file; a file's own submodules are not "another".
            if let Some(&j) = (1..=full.len()).rev().find_map(|n| modules.get(&full[..n])) {
                let target = module_of(src, &files[j]);
                let inside_me = target.len() > me.len() && target.starts_with(&me);
                let my_parent = me.starts_with(&target);
                if j != i && !inside_me && !my_parent {
                    uses[i].insert(j);
                }
            }
        }
    }
    strongly_connected(&uses)
        .into_iter()
        .filter(|c| c.len() > 1)
        .map(|c| c.into_iter().map(|i| files[i].clone()).collect())
        .collect()
}

/// Tarjan's strongly connected components.
fn strongly_connected(edges: &[BTreeSet<usize>]) -> Vec<Vec<usize>> {
    struct Walk<'a> {
        edges: &'a [BTreeSet<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        stack: Vec<usize>,
        on_stack: Vec<bool>,
        next: usize,
        found: Vec<Vec<usize>>,
    }
    impl Walk<'_> {
        fn visit(&mut self, v: usize) {
            self.index[v] = Some(self.next);
            self.low[v] = self.next;
            self.next += 1;
            self.stack.push(v);
            self.on_stack[v] = true;
            for &w in self.edges[v].iter() {
                match self.index[w] {
                    None => {
                        self.visit(w);
                        self.low[v] = self.low[v].min(self.low[w]);
                    }
                    Some(iw) if self.on_stack[w] => self.low[v] = self.low[v].min(iw),
                    Some(_) => {}
                }
            }
            if Some(self.low[v]) == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                component.sort();
                self.found.push(component);
            }
        }
    }
    let n = edges.len();
    let mut walk = Walk {
        edges,
        index: vec![None; n],
        low: vec![0; n],
        stack: Vec::new(),
        on_stack: vec![false; n],
        next: 0,
        found: Vec::new(),
    };
    for v in 0..n {
        if walk.index[v].is_none() {
            walk.visit(v);
        }
    }
    walk.found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_file_uses_one_that_uses_it_back() {
        let root = crate::process::root();
        let mut found = Vec::new();
        for krate in [
            "units",
            "protocol",
            "firmware",
            "firmware/host",
            "sim-modem",
            "scenarios",
            "xtask",
        ] {
            for circle in circles(&root.join(krate).join("src")) {
                let names: Vec<String> = circle
                    .iter()
                    .map(|f| f.strip_prefix(&root).unwrap_or(f).display().to_string())
                    .collect();
                found.push(names.join(" <-> "));
            }
        }
        assert!(found.is_empty(), "files in a circle:\n{}", found.join("\n"));
    }

    /// The two halves share only `protocol` (and `units`): neither the firmware nor the
    /// simulator depends on the other, at any depth, so each can change without the other.
    #[test]
    fn firmware_and_sim_modem_never_depend_on_each_other() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = std::process::Command::new(cargo)
            .args(["metadata", "--format-version", "1"])
            .current_dir(crate::process::root())
            .output()
            .expect("cargo metadata runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let name_of: BTreeMap<&str, &str> = meta["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
            .collect();
        // Normal (not dev, not build) dependencies, by package name.
        let mut deps: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for node in meta["resolve"]["nodes"].as_array().unwrap() {
            let from = name_of[node["id"].as_str().unwrap()];
            for dep in node["deps"].as_array().unwrap() {
                let normal = dep["dep_kinds"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|k| k["kind"].is_null());
                if normal {
                    let to = name_of[dep["pkg"].as_str().unwrap()];
                    deps.entry(from).or_default().insert(to);
                }
            }
        }
        let reaches = |from: &str, to: &str| {
            let mut seen = BTreeSet::new();
            let mut todo = vec![from];
            while let Some(p) = todo.pop() {
                if p == to {
                    return true;
                }
                if seen.insert(p) {
                    todo.extend(deps.get(p).into_iter().flatten().copied());
                }
            }
            false
        };
        assert!(reaches("scenarios", "firmware") && reaches("scenarios", "sim-modem"));
        assert!(
            !reaches("firmware", "sim-modem"),
            "firmware depends on sim-modem"
        );
        assert!(
            !reaches("sim-modem", "firmware"),
            "sim-modem depends on firmware"
        );
    }

    #[test]
    fn circles_are_found() {
        let dir = std::env::temp_dir().join(format!("layers-test-{}", std::process::id()));
        let src = dir.join("src");
        std::fs::create_dir_all(src.join("m")).unwrap();
        let write = |name: &str, text: &str| std::fs::write(src.join(name), text).unwrap();
        write("lib.rs", "mod a; mod b; mod c; mod m;\n");
        write("a.rs", "use crate::b::B; // crate::c in a comment\n");
        write("b.rs", "use crate::{c, m};\n");
        write("c.rs", "pub fn f() { crate::a::g() }\n");
        write("m/mod.rs", "mod x; use self::x::X;\n");
        write("m/x.rs", "use super::Y; // the parent\n");
        let found: Vec<Vec<String>> = circles(&src)
            .into_iter()
            .map(|c| {
                c.iter()
                    .map(|f| f.strip_prefix(&src).unwrap().display().to_string())
                    .collect()
            })
            .collect();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(found, [["a.rs", "b.rs", "c.rs"]]);
    }
}
