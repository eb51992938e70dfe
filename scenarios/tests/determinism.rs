//! Same scenario, same seed: the same trace, byte for byte. A different seed draws
//! differently.

use std::path::Path;

fn trace(file: &str, seed: Option<u64>) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let replay = scenarios::replay_file(&path, seed).unwrap_or_else(|e| panic!("{e}"));
    assert!(!replay.records.is_empty(), "{file}: an empty trace");
    replay.trace()
}

/// The first line where two traces differ, for a readable failure.
fn first_difference(a: &[u8], b: &[u8]) -> String {
    let (a, b) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
    match a
        .lines()
        .zip(b.lines())
        .enumerate()
        .find(|(_, (x, y))| x != y)
    {
        Some((n, (x, y))) => format!("line {}:\n  {x}\n  {y}", n + 1),
        None => format!(
            "one trace is longer: {} against {} lines",
            a.lines().count(),
            b.lines().count()
        ),
    }
}

#[test]
fn replaying_twice_gives_the_same_bytes() {
    // The firmware, random faults, and a scripted client in the device's place.
    let files = [
        ("default.json", None),
        ("random_faults.json", Some(34)),
        ("services/transparent_session.json", None),
    ];
    for (file, seed) in files {
        let (first, second) = (trace(file, seed), trace(file, seed));
        assert!(
            first == second,
            "{file}: {}",
            first_difference(&first, &second)
        );
    }
}

#[test]
fn another_seed_draws_other_faults() {
    let (a, b) = (
        trace("random_faults.json", Some(1)),
        trace("random_faults.json", Some(2)),
    );
    assert!(a != b, "seeds 1 and 2 gave the same trace");
}
