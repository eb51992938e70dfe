//! Fleets: one server and a network of cells shared by many devices. Each fault of a cell
//! or the server shows in the figure it should move; the same fleet and seed give the same
//! figures; a fleet without server limits gives the same figures sharded, and the shards'
//! summaries, run apart, merge into the whole run's (or are refused with the reason); and
//! the firmware's connect jitter lowers the connect storm after a tower outage.

use std::path::Path;

use scenarios::fleet::{self, merge, Fleet, Metrics, Options, Summary};

fn parse(json: &str) -> Fleet {
    Fleet::parse("test.json", json, Path::new(".")).unwrap_or_else(|e| panic!("{e}"))
}

fn metrics(fleet: &Fleet, options: Options) -> Metrics {
    fleet::run(fleet, &options, &|_| {}).unwrap_or_else(|e| panic!("{e}"))
}

fn summary(fleet: &Fleet) -> Summary {
    metrics(fleet, Options::default()).summary(&fleet.spec.name, fleet.spec.cells, 1)
}

/// A fleet of 8 devices on 2 cells for 4 minutes with `timeline` (and `extra` keys), run;
/// `holds` says whether its summary shows what the fault does.
fn check(name: &str, extra: &str, timeline: &str, holds: fn(&Summary) -> bool) {
    let json = format!(
        r#"{{ "name": "{name}", "devices": 8, "cells": 2, "duration": "4m", "seed": 3 {extra},
            "timeline": [{timeline}] }}"#
    );
    let s = summary(&parse(&json));
    assert!(holds(&s), "{name}:\n{s}\n{}", s.to_json());
}

#[test]
fn each_fault_moves_its_figure() {
    type Case = (
        &'static str,
        &'static str,
        &'static str,
        fn(&Summary) -> bool,
    );
    let cases: [Case; 8] = [
        ("quiet", "", "", |s| {
            s.connected.at_end == 8 && s.connects.refused == 0 && s.reconnects_per_device.total == 0
        }),
        (
            "server_limit",
            r#", "server": { "max_connects_per_s": 3 }"#,
            "",
            // All boot together: 3 get in, the rest are refused and come back.
            |s| s.connects.refused >= 5 && s.connected.at_end == 8,
        ),
        (
            "overload",
            "",
            r#"{ "at": "0s", "fault": { "kind": "overload", "duration": "1m", "max_connects_per_s": 2 } }"#,
            |s| s.connects.refused >= 6 && s.connected.at_end == 8,
        ),
        (
            "congestion_refuses",
            "",
            r#"{ "at": "0s", "fault": { "kind": "congestion", "cell": 0, "duration": "1m", "refuse_percent": 100 } }"#,
            // Only cell 0's devices are refused; every device is in at the end.
            |s| s.connects.refused > 0 && s.connects.accepted == 8 && s.connected.at_end == 8,
        ),
        (
            "slow_accept",
            "",
            r#"{ "at": "0s", "fault": { "kind": "slow_accept", "duration": "1m", "delay": "30s" } }"#,
            // Nobody is connected 30 s in (the first connects start about 10 s in).
            |s| s.connected.samples[30] == 0 && s.connected.at_end == 8,
        ),
        (
            "drop_idle",
            "",
            r#"{ "at": "1m", "fault": { "kind": "drop_idle", "duration": "1m", "idle": "5s" } }"#,
            // Heartbeats come every 10 s: every connection is idle for 5 s at some point.
            |s| s.idle_closed >= 8 && s.reconnects_per_device.total >= 8,
        ),
        (
            "tower_outage",
            "",
            r#"{ "at": "1m", "fault": { "kind": "tower_outage", "cell": 1, "duration": "90s" } }"#,
            // Cell 1's devices lose the server for the outage; their heartbeats are that late.
            |s| {
                s.connected.min_after_fault.is_some_and(|n| n < 8)
                    && s.heartbeat_lateness_ms.max >= 80_000
                    && s.connected.at_end == 8
            },
        ),
        (
            "device_reboot",
            "",
            r#"{ "at": "1m", "fault": { "kind": "device", "device": 5, "fault": { "kind": "reboot" } } }"#,
            |s| s.reconnects_per_device.total == 1 && s.reconnects_per_device.percentiles.max == 1,
        ),
    ];
    for (name, extra, timeline, holds) in cases {
        check(name, extra, timeline, holds);
    }
}

#[test]
fn the_same_fleet_and_seed_give_the_same_figures() {
    let fleet = parse(
        r#"{ "name": "again", "devices": 12, "cells": 3, "duration": "3m", "seed": 9, "requests": "1m",
             "server": { "max_connects_per_s": 4 },
             "timeline": [{ "at": "1m", "fault": { "kind": "tower_outage", "cell": 2, "duration": "40s" } }] }"#,
    );
    let first = metrics(&fleet, Options::default());
    assert_eq!(first, metrics(&fleet, Options::default()));
    assert!(
        first.reply_ms.len() > 12,
        "requests were answered: {first:?}"
    );
}

#[test]
fn without_server_limits_shards_change_nothing() {
    // The devices only meet at the server; with no limit its answers do not depend on the
    // others, so splitting the devices is exact.
    let fleet = parse(
        r#"{ "name": "shards", "devices": 10, "cells": 2, "duration": "3m", "seed": 5, "requests": "1m",
             "timeline": [{ "at": "1m", "fault": { "kind": "tower_outage", "cell": 0, "duration": "40s" } }] }"#,
    );
    let whole = metrics(&fleet, Options::default());
    let mut split = Metrics::default();
    for k in 1..=3 {
        let shard = Options {
            shard: Some((k, 3)),
            jobs: 2,
        };
        split.merge(metrics(&fleet, shard));
    }
    // The samples are histograms, which do not keep the order the shards added them in.
    assert_eq!(split, whole);
}

/// Summary files: (name, JSON).
type Files = Vec<(String, String)>;

/// Merging the summary files `files` gives `want`: the summary, or an error containing the
/// text.
fn check_merge(case: &str, files: &Files, want: Result<&Summary, &str>) {
    let got = merge::merge(files);
    match (&got, want) {
        (Ok(got), Ok(want)) => pretty_assertions::assert_eq!(got.to_json(), want.to_json()),
        (Err(e), Err(reason)) if e.contains(reason) => {}
        _ => panic!("{case}: want {want:?}, got {got:?}"),
    }
}

#[test]
fn shard_summaries_merge_into_the_whole_run() {
    let json = |seed: u64| {
        format!(
            r#"{{ "name": "merge", "devices": 10, "cells": 2, "duration": "3m", "seed": {seed}, "requests": "1m",
                 "timeline": [{{ "at": "1m", "fault": {{ "kind": "tower_outage", "cell": 0, "duration": "40s" }} }}] }}"#
        )
    };
    let fleet = parse(&json(5));
    // The shard summary file of shard k of n of `fleet`.
    let shard = |fleet: &Fleet, k: u32, n: u32| {
        let part = metrics(
            fleet,
            Options {
                shard: Some((k, n)),
                jobs: 1,
            },
        );
        let text = merge::shard_summary(&fleet.spec, (k, n), 1, part).to_json();
        (format!("merge-shard{k}of{n}.json"), text)
    };
    // Three threads of one run are the same device ranges as three shards of one thread.
    let whole = metrics(
        &fleet,
        Options {
            shard: None,
            jobs: 3,
        },
    )
    .summary("merge", 2, 3);
    assert!(
        whole.heartbeat_lateness_ms.max >= 30_000 && whole.replies.answered > 10,
        "the fleet has late heartbeats and replies to merge:\n{whole}"
    );
    let [one, two, three] = [1, 2, 3].map(|k| shard(&fleet, k, 3));
    let other_seed = shard(&parse(&json(6)), 3, 3);
    let of_two = shard(&fleet, 1, 2);
    let unsharded = ("merge.json".to_string(), whole.to_json());
    let truncated = ("cut.json".to_string(), one.1[..40].to_string());
    let cases: [(&str, Files, Result<&Summary, &str>); 9] = [
        ("all", vec![one.clone(), two.clone(), three.clone()], Ok(&whole)),
        ("any order", vec![three.clone(), one.clone(), two.clone()], Ok(&whole)),
        ("missing", vec![one.clone(), three.clone()], Err("shard 2 of 3 is missing")),
        ("two missing", vec![two.clone()], Err("shards 1, 3 of 3 are missing")),
        (
            "twice",
            vec![one.clone(), two.clone(), two.clone(), three.clone()],
            Err("shard 2 of 3 is given twice: merge-shard2of3.json and merge-shard2of3.json"),
        ),
        (
            "other seed",
            vec![one.clone(), two.clone(), other_seed],
            Err("merge-shard3of3.json is not a shard of the run merge-shard1of3.json is: seed 6, not 5"),
        ),
        ("other n", vec![one.clone(), of_two], Err("shards 2, not 3")),
        ("unsharded", vec![unsharded], Err("merge.json: not the summary of a `--shard K/N` run")),
        ("bad json", vec![truncated], Err("cut.json: EOF while parsing a string at line 4 column 3")),
    ];
    for (case, files, want) in cases {
        check_merge(case, &files, want);
    }
}

#[test]
fn every_device_is_in_exactly_one_shard() {
    // (devices, shards of the run, threads per shard)
    for (devices, shards, jobs) in [(10, 1, 1), (10, 1, 3), (7, 3, 2), (3, 1, 8), (2, 4, 1)] {
        let mut every: Vec<u32> = (1..=shards)
            .flat_map(|k| {
                let shard = (shards > 1).then_some((k, shards));
                fleet::run::ranges(devices, &Options { shard, jobs })
            })
            .flatten()
            .collect();
        every.sort_unstable();
        assert_eq!(
            every,
            (0..devices).collect::<Vec<_>>(),
            "{devices} {shards} {jobs}"
        );
    }
}

#[test]
fn jitter_lowers_the_connect_storm_after_a_tower_outage() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fleet");
    let peak = |file: &str| {
        let mut fleet = Fleet::load(&dir.join(file)).unwrap_or_else(|e| panic!("{e}"));
        // Smaller and shorter than the files (the outage is at 15 m for 10 m).
        fleet.spec.devices = 60;
        fleet.spec.duration = std::time::Duration::from_secs(27 * 60);
        fleet.scenario.duration = fleet.spec.duration;
        let s = summary(&fleet);
        assert_eq!(s.connected.at_end, 60, "{file}: everyone is back\n{s}");
        s.storm.expect("the file has a fault").peak_per_s
    };
    let (fixed, jitter) = (
        peak("tower_outage_fixed.json"),
        peak("tower_outage_jitter.json"),
    );
    // The fixed retry brings a cell's devices back in the same second; the jitter spreads
    // them over half a minute.
    assert!(
        fixed >= 3 * jitter.max(1),
        "fixed {fixed}/s, jitter {jitter}/s"
    );
}

#[test]
fn bad_fleet_files_are_refused_with_the_reason() {
    let cases = [
        (
            r#"{ "name": "x", "duration": "1m", "devices": 0 }"#,
            "devices: at least 1",
        ),
        (
            r#"{ "name": "x", "duration": "1m", "devices": 2, "cells": 3 }"#,
            "cells: 1 to the number of devices (2), not 3",
        ),
        (
            r#"{ "name": "x", "duration": "1m", "colour": 1 }"#,
            "unknown field `colour`",
        ),
        (
            r#"{ "name": "x", "duration": "1m", "cells": 2, "timeline": [{ "at": "1s", "fault": { "kind": "tower_outage", "cell": 2, "duration": "1s" } }] }"#,
            "timeline: cell 2, but cells are 0 to 1",
        ),
        (
            r#"{ "name": "x", "duration": "1m", "device": { "connect_jitter": "2d" } }"#,
            "device: connect_jitter is 172800s",
        ),
        (
            r#"{ "name": "x", "duration": "1m", "server": { "max_connects_per_s": 0 } }"#,
            "max_connects_per_s of 1 or more",
        ),
    ];
    for (json, reason) in cases {
        let got = Fleet::parse("bad.json", json, Path::new(".")).map(|_| ());
        assert!(
            got.as_ref().is_err_and(|e| e.contains(reason)),
            "{json}: {got:?}"
        );
    }
}
