//! A whole run from one `u64` seed, as a [`Scenario`] (so that a failure can be written as a
//! file): the modem's profile and knobs, the device's configuration within
//! `firmware::Config::validate`'s ranges, the network, a fault schedule drawn by swarm
//! testing, and the lab server's traffic; a chaos phase, then a quiet phase with no fault,
//! long enough for the liveness invariants (the recovery bound and 20 minutes more).
//!
//! Swarm testing (Groce et al., 2012): each seed enables a random subset of the fault kinds
//! ([`FAULT_KINDS`]), each with its own rate and its own scale of durations and parameters,
//! so that rare combinations (a hang during a long blackhole, line noise while the outbox is
//! full) come up densely instead of being averaged away. The traffic is drawn the same way:
//! a subset of `back…` messages (short, long, binary, in bursts), `bin`, `time`, closes and
//! resets.
//!
//! Every fault kind sim-modem has is either in [`FAULT_KINDS`] or in [`NOT_GENERATED`] with
//! the reason; a test fails when a new kind is in neither.

use std::time::Duration;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sim_modem::fault::{BadRdy, Direction, Fault};
use sim_modem::lab::LabConfig;
use sim_modem::network::NetworkConfig;

use crate::format::{
    Check, Device, Expectation, LabAction, Modem, ModemProfile, Scenario, Step, StepKind, Window,
};
use crate::invariants::{self, Judged};

/// What a generated run may be: its length, and the fault kinds it may draw from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub duration: Duration,
    /// Only these fault kinds (by name); `None`: all of [`FAULT_KINDS`].
    pub faults: Option<Vec<String>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            duration: Duration::from_secs(6 * 3600),
            faults: None,
        }
    }
}

type Rng = ChaCha8Rng;

/// A fault kind the generator draws: its name (sim-modem's `kind`) and how one is drawn,
/// given the seed's scale for it.
pub struct FaultKind {
    pub name: &'static str,
    draw: fn(&mut Rng, &Scale) -> Fault,
}

/// A fault kind's scale in one seed: the longest it lasts, and a level (0–1000) for its
/// other parameters (how much latency, how many bytes corrupted, how many sends failed).
struct Scale {
    duration: Duration,
    level: u32,
}

impl Scale {
    /// A duration between a tenth of the scale and the scale.
    fn duration(&self, rng: &mut Rng) -> Duration {
        let most = millis(self.duration).max(10);
        Duration::from_millis(rng.random_range(most / 10..=most))
    }

    /// A number up to `most`, scaled by the level.
    fn up_to(&self, rng: &mut Rng, most: u32) -> u32 {
        let top = (u64::from(most) * u64::from(self.level) / 1000).max(1) as u32;
        rng.random_range(1..=top)
    }
}

/// The fault kinds the generator draws, each with its own parameters. Add a new sim-modem
/// fault here (or to [`NOT_GENERATED`], with the reason).
pub const FAULT_KINDS: &[FaultKind] = &[
    FaultKind {
        name: "registration_lost",
        draw: |rng, s| Fault::RegistrationLost {
            duration: s.duration(rng),
        },
    },
    FaultKind {
        name: "registration_denied",
        draw: |rng, s| Fault::RegistrationDenied {
            duration: s.duration(rng),
        },
    },
    FaultKind {
        name: "roaming",
        draw: |rng, s| Fault::Roaming {
            duration: s.duration(rng),
        },
    },
    FaultKind {
        name: "data_service_lost",
        draw: |rng, s| Fault::DataServiceLost {
            duration: s.duration(rng),
        },
    },
    FaultKind {
        name: "signal",
        draw: |rng, _| Fault::Signal {
            rssi: match rng.random_range(0..10) {
                0 => 99,
                _ => rng.random_range(0..=31),
            },
        },
    },
    FaultKind {
        name: "pdp_deact",
        draw: |_, _| Fault::PdpDeact,
    },
    FaultKind {
        name: "peer_close",
        draw: |rng, _| Fault::PeerClose {
            link: rng.random_bool(0.5).then_some(0),
        },
    },
    FaultKind {
        name: "peer_reset",
        draw: |rng, _| Fault::PeerReset {
            link: rng.random_bool(0.5).then_some(0),
        },
    },
    FaultKind {
        name: "blackhole",
        draw: |rng, s| Fault::Blackhole {
            duration: s.duration(rng),
        },
    },
    FaultKind {
        name: "latency_spike",
        draw: |rng, s| Fault::LatencySpike {
            extra: Duration::from_millis(u64::from(s.up_to(rng, 30_000))),
            duration: s.duration(rng),
        },
    },
    FaultKind {
        name: "udp_loss",
        draw: |rng, s| Fault::UdpLoss {
            permille: s.up_to(rng, 1000) as u16,
            duration: s.duration(rng),
        },
    },
    FaultKind {
        name: "send_fail",
        draw: |rng, s| Fault::SendFail {
            count: s.up_to(rng, 3),
        },
    },
    FaultKind {
        name: "reboot",
        draw: |_, _| Fault::Reboot,
    },
    FaultKind {
        name: "brown_out",
        draw: |_, _| Fault::BrownOut,
    },
    FaultKind {
        name: "hang",
        draw: |_, _| Fault::Hang,
    },
    FaultKind {
        name: "line_noise",
        draw: |rng, s| {
            let mut rate = || match rng.random_range(0..3) {
                0 => 0,
                _ => s.up_to(rng, 5_000),
            };
            let (bit_flip_ppm, drop_ppm, duplicate_ppm) = (rate(), rate(), rate());
            Fault::LineNoise {
                direction: match rng.random_range(0..3) {
                    0 => Direction::ToModem,
                    1 => Direction::FromModem,
                    _ => Direction::Both,
                },
                duration: s.duration(rng),
                bit_flip_ppm,
                drop_ppm,
                duplicate_ppm,
            }
        },
    },
    FaultKind {
        name: "send_fail_loop",
        draw: |rng, _| Fault::SendFailLoop {
            link: rng.random_bool(0.5).then_some(0),
        },
    },
    FaultKind {
        name: "peer_vanish",
        draw: |rng, _| Fault::PeerVanish {
            link: rng.random_bool(0.5).then_some(0),
        },
    },
    FaultKind {
        name: "silent_pdp_loss",
        draw: |_, _| Fault::SilentPdpLoss,
    },
    FaultKind {
        name: "hang_after",
        // It comes back after every power-up: an uptime of half an hour or more leaves the
        // device time to recover in between.
        draw: |rng, s| Fault::HangAfter {
            uptime: secs(1800 + u64::from(s.up_to(rng, 3 * 3600))),
            reset_line_recovers: rng.random_bool(0.5),
        },
    },
    FaultKind {
        name: "reboot_bad_rdy",
        draw: |rng, _| Fault::RebootBadRdy {
            rdy: match rng.random_bool(0.5) {
                true => BadRdy::Garbled,
                false => BadRdy::Missing,
            },
        },
    },
    FaultKind {
        name: "uart_errors",
        draw: |rng, s| Fault::UartErrors {
            duration: s.duration(rng),
            count: s.up_to(rng, 1000),
        },
    },
    FaultKind {
        name: "cfun_sim_reset",
        draw: |_, _| Fault::CfunSimReset,
    },
];

/// Fault kinds sim-modem has that the generator leaves out, and why.
pub const NOT_GENERATED: &[(&str, &str)] = &[(
    "battery",
    "it changes only what AT+CBC reports, and the firmware never asks: no run would differ",
)];

/// The longest each kind lasts in a seed is drawn up to this (faults without a duration
/// ignore it).
fn longest(kind: &str) -> Duration {
    let minutes = |m: u64| Duration::from_secs(60 * m);
    match kind {
        "roaming" => minutes(60),
        "registration_lost" | "registration_denied" | "data_service_lost" | "udp_loss" => {
            minutes(30)
        }
        "blackhole" | "latency_spike" => minutes(10),
        "line_noise" | "uart_errors" => minutes(5),
        _ => minutes(10),
    }
}

/// The fault kinds `options` allows: all, or those it names. An unknown name is an error.
pub fn allowed_kinds(options: &Options) -> Result<Vec<&'static FaultKind>, String> {
    let Some(names) = &options.faults else {
        return Ok(FAULT_KINDS.iter().collect());
    };
    names
        .iter()
        .map(|name| {
            FAULT_KINDS.iter().find(|k| k.name == name).ok_or_else(|| {
                let known: Vec<&str> = FAULT_KINDS.iter().map(|k| k.name).collect();
                format!(
                    "no fault kind {name:?}; the swarm draws {}",
                    known.join(", ")
                )
            })
        })
        .collect()
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A duration between `lo` and `hi`, to the millisecond.
fn between(rng: &mut Rng, lo: Duration, hi: Duration) -> Duration {
    Duration::from_millis(rng.random_range(millis(lo)..=millis(hi)))
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// The run of `seed`. Errors only for an option it cannot honour (an unknown fault kind).
pub fn generate(seed: u64, options: &Options) -> Result<Scenario, String> {
    let kinds = allowed_kinds(options)?;
    // Its own stream, apart from the simulation's (seeded with `seed` itself).
    let mut rng = Rng::seed_from_u64(seed ^ 0x5a4a_7e57_0000_0001);
    let lab = LabConfig::default();
    let modem = modem(&mut rng);
    let device = device(&mut rng, Device::default().config(&lab));
    let network = network(&mut rng);
    let duration = options.duration;
    let quiet = invariants::recovery_bound(&device) + secs(20 * 60);
    let chaos_start = between(&mut rng, secs(30), secs(180));
    let chaos_end = duration
        .saturating_sub(quiet)
        .max(chaos_start + secs(60))
        .min(duration);
    let mut timeline = Vec::new();
    let mut enabled = Vec::new();
    for kind in kinds {
        // Swarm testing: each kind is in the run or not.
        if !rng.random_bool(0.5) {
            continue;
        }
        enabled.push(kind.name);
        let scale = Scale {
            duration: between(&mut rng, secs(5), longest(kind.name)),
            level: rng.random_range(1..=1000),
        };
        // One every `mean` on average.
        let mean = between(&mut rng, secs(10 * 60), secs(3 * 3600));
        let mut at = chaos_start;
        loop {
            at += between(&mut rng, Duration::ZERO, 2 * mean);
            if at >= chaos_end {
                break;
            }
            let fault = clipped((kind.draw)(&mut rng, &scale), chaos_end - at);
            timeline.push(step(at, StepKind::Fault(fault)));
        }
    }
    let framing = device.framing;
    // The traffic may begin before the device is connected, or right as it is.
    let traffic_start = between(&mut rng, secs(5), secs(60));
    timeline.extend(traffic(
        &mut rng,
        framing,
        traffic_start,
        chaos_end,
        duration.saturating_sub(invariants::recovery_bound(&device) + secs(60)),
    ));
    // Stable: steps at the same time keep their order.
    timeline.sort_by_key(|s| s.at);
    let expect = invariants::INVARIANTS
        .iter()
        .filter(|i| matches!(i.judged, Judged::Trace(_)))
        .map(|i| Expectation {
            id: Some(i.name.to_string()),
            window: Window::default(),
            check: Check::Invariant {
                name: i.name.to_string(),
            },
        })
        .collect();
    let description = format!(
        "Generated by the swarm from seed {seed}: faults {} from {} to {}, then quiet to {}; \
         the lab's traffic throughout. Run it again: cargo xtask swarm --seed {seed} --duration {}",
        if enabled.is_empty() {
            "none".to_string()
        } else {
            enabled.join(", ")
        },
        units::format_duration(chaos_start),
        units::format_duration(chaos_end),
        units::format_duration(duration),
        units::format_duration(duration),
    );
    Ok(Scenario {
        schema: Some("../scenario.schema.json".into()),
        name: format!("swarm_{seed}"),
        description,
        seed,
        duration,
        modem,
        device: Device::changes(device, &lab),
        client: None,
        network,
        lab,
        timeline,
        random_faults: None,
        expect,
        known_failure: None,
    })
}

fn step(at: Duration, what: StepKind) -> Step {
    Step { at, id: None, what }
}

/// The fault, lasting at most `left` (so that the chaos phase ends when it says).
fn clipped(fault: Fault, left: Duration) -> Fault {
    match fault.duration() {
        Some(d) if d > left => {
            let d = left.max(Duration::from_millis(1));
            crate::plan::with_duration(&fault, d).unwrap_or(fault)
        }
        _ => fault,
    }
}

/// The modem: SIM800 or Air202, auto-bauding or at a fixed rate, `CLOSED` with `+PDP:
/// DEACT` or not.
fn modem(rng: &mut Rng) -> Modem {
    let base = match rng.random_range(0..10) {
        0..=6 => ModemProfile::Sim800,
        _ => ModemProfile::Air202,
    };
    let mut modem = Modem::named(base);
    if rng.random_bool(0.3) {
        modem.profile.ipr = if modem.profile.ipr == 0 { 115_200 } else { 0 };
    }
    if rng.random_bool(0.2) {
        modem.profile.closed_on_pdp_deact = !modem.profile.closed_on_pdp_deact;
    }
    modem
}

/// The device's configuration, from `c` (the lab server as the server): about half the knobs
/// drawn, within their valid ranges and
/// within what a deployment would set (`Config::validate` allows a 1 ms heartbeat; a
/// useful run does not need one).
fn device(rng: &mut Rng, mut c: firmware::Config) -> firmware::Config {
    if rng.random_bool(0.5) {
        c.framing = protocol::app::Framing::Newline;
    }
    if rng.random_range(0..100) < 15 {
        c.transport = protocol::types::Transport::Udp;
    }
    let mut knob = |value: &mut Duration, lo: u64, hi: u64| {
        if rng.random_bool(0.5) {
            *value = between(rng, secs(lo), secs(hi));
        }
    };
    knob(&mut c.heartbeat_interval, 5, 120);
    knob(&mut c.send_timeout, 10, 60);
    knob(&mut c.connect_timeout, 20, 75);
    knob(&mut c.connect_pause, 1, 30);
    knob(&mut c.poll_interval, 1, 5);
    knob(&mut c.ip_wait, 60, 600);
    knob(&mut c.flight_mode, 5, 60);
    knob(&mut c.query_interval, 30, 300);
    knob(&mut c.at_no_answer_limit, 90, 300);
    knob(&mut c.boot_timeout, 5, 20);
    knob(&mut c.ntp_resync, 3600, 12 * 3600);
    if rng.random_bool(0.5) {
        c.connect_failures_before_shut = rng.random_range(1..=8);
    }
    c
}

/// The network: latency, bandwidth, TCP loss (shown as delay), PDP and DNS times. UDP loss
/// only comes with `udp_loss` faults, so that the quiet phase loses nothing.
fn network(rng: &mut Rng) -> NetworkConfig {
    let mut n = NetworkConfig {
        latency: between(rng, Duration::from_millis(20), Duration::from_millis(1500)),
        ..NetworkConfig::default()
    };
    if rng.random_bool(0.4) {
        n.tcp_loss_permille = rng.random_range(1..=20);
    }
    if rng.random_bool(0.5) {
        n.uplink_bytes_per_s = rng.random_range(2_000..=20_000);
        n.downlink_bytes_per_s = rng.random_range(5_000..=50_000);
    }
    if rng.random_bool(0.3) {
        n.pdp_activation = between(rng, secs(1), secs(10));
    }
    if rng.random_bool(0.3) {
        n.dns_delay = between(rng, Duration::from_millis(100), secs(2));
    }
    n
}

/// What the lab server does: from `start` to the end of the chaos phase a subset of the
/// traffic kinds at the seed's rate, in the quiet phase a few single requests, none after
/// `last`.
fn traffic(
    rng: &mut Rng,
    framing: protocol::app::Framing,
    start: Duration,
    chaos_end: Duration,
    last: Duration,
) -> Vec<Step> {
    const KINDS: [&str; 8] = [
        "echo", "long", "binary", "bin", "time", "burst", "close", "reset",
    ];
    let enabled: Vec<&str> = KINDS
        .into_iter()
        .filter(|k| *k == "echo" || rng.random_bool(0.5))
        .collect();
    let terminator = framing.terminator();
    let mut n = 0;
    let mut message = |rng: &mut Rng, kind: &str| -> Vec<u8> {
        n += 1;
        let mut m = match kind {
            "bin" => b"bin".to_vec(),
            "time" => b"time".to_vec(),
            "long" => {
                let len = rng.random_range(200..=1500);
                let mut m = format!("back {n} ").into_bytes();
                m.extend((0..len).map(|i| b'a' + (i % 26) as u8));
                m
            }
            "binary" => {
                let mut m = format!("back {n} ").into_bytes();
                let len = rng.random_range(1..=64);
                // Not the newline framing's delimiters: one message stays one.
                m.extend((0..len).map(|_| rng.random::<u8>()).filter(|b| *b != b'\n'));
                m
            }
            _ => format!("back {n}").into_bytes(),
        };
        m.extend_from_slice(terminator);
        m
    };
    let send = |at: Duration, data: Vec<u8>| {
        let action = match String::from_utf8(data) {
            Ok(text) => LabAction::Send(text),
            Err(e) => LabAction::SendHex(crate::format::Hex(e.into_bytes())),
        };
        step(
            at,
            StepKind::Lab {
                action,
                client: None,
            },
        )
    };
    let mut steps = Vec::new();
    let mean = between(rng, secs(60), secs(30 * 60));
    let mut at = start;
    loop {
        at += between(rng, Duration::ZERO, 2 * mean);
        if at >= chaos_end {
            break;
        }
        let kind = enabled[rng.random_range(0..enabled.len())];
        match kind {
            "close" | "reset" => {
                let action = match kind {
                    "close" => LabAction::Close,
                    _ => LabAction::Reset,
                };
                let what = StepKind::Lab {
                    action,
                    client: None,
                };
                steps.push(step(at, what));
            }
            "burst" => {
                let count = rng.random_range(2..=10);
                for i in 0..count {
                    let kind = ["echo", "bin", "time"][rng.random_range(0..3)];
                    let when = at + Duration::from_millis(rng.random_range(0..=50) * i);
                    steps.push(send(when.min(chaos_end), message(rng, kind)));
                }
            }
            kind => steps.push(send(at, message(rng, kind))),
        }
    }
    // The quiet phase: a few requests, each answered before the end.
    let mut at = chaos_end;
    for _ in 0..rng.random_range(1..=3) {
        at += between(rng, secs(30), secs(5 * 60));
        if at > last {
            break;
        }
        let kind = ["echo", "bin", "time"][rng.random_range(0..3)];
        steps.push(send(at, message(rng, kind)));
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every fault kind sim-modem has (its schema lists them): the generator draws it or
    /// says why not.
    #[test]
    fn every_fault_kind_is_drawn_or_left_out_with_a_reason() {
        let schema = serde_json::to_value(schemars::schema_for!(Fault)).unwrap();
        let kinds: Vec<String> = schema["oneOf"]
            .as_array()
            .expect("Fault's schema is one of its kinds")
            .iter()
            .map(|v| {
                v["properties"]["kind"]["const"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert!(kinds.len() >= 16, "{kinds:?}");
        let known = |k: &str| {
            FAULT_KINDS.iter().any(|f| f.name == k) || NOT_GENERATED.iter().any(|(n, _)| *n == k)
        };
        let missing: Vec<&String> = kinds.iter().filter(|k| !known(k)).collect();
        assert!(
            missing.is_empty(),
            "add these to FAULT_KINDS, or to NOT_GENERATED with the reason: {missing:?}"
        );
        // And nothing stale: every name is a kind.
        for name in FAULT_KINDS
            .iter()
            .map(|f| f.name)
            .chain(NOT_GENERATED.iter().map(|(n, _)| *n))
        {
            assert!(kinds.iter().any(|k| k == name), "{name} is no fault kind");
        }
        // Each kind draws faults of its own kind.
        let mut rng = Rng::seed_from_u64(1);
        let scale = Scale {
            duration: secs(60),
            level: 1000,
        };
        for kind in FAULT_KINDS {
            let fault = (kind.draw)(&mut rng, &scale);
            let json = serde_json::to_value(&fault).unwrap();
            assert_eq!(json["kind"], kind.name);
        }
    }

    #[test]
    fn a_seed_is_a_valid_scenario_and_the_same_each_time() {
        let options = Options::default();
        let mut kinds_seen = std::collections::BTreeSet::new();
        for seed in 0..200 {
            let scenario = generate(seed, &options).unwrap();
            assert_eq!(scenario, generate(seed, &options).unwrap(), "seed {seed}");
            // As a file, it loads: valid knobs, steps within the run.
            let text = serde_json::to_string_pretty(&scenario).unwrap();
            let again = crate::parse("swarm.json", &text).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(again, scenario, "seed {seed}");
            for step in &scenario.timeline {
                if let StepKind::Fault(f) = &step.what {
                    let json = serde_json::to_value(f).unwrap();
                    kinds_seen.insert(json["kind"].as_str().unwrap().to_string());
                }
            }
        }
        // Over 200 seeds, every kind comes up.
        assert_eq!(kinds_seen.len(), FAULT_KINDS.len(), "{kinds_seen:?}");
    }

    #[test]
    fn the_chaos_ends_before_the_quiet_phase() {
        for seed in 0..50 {
            let scenario = generate(seed, &Options::default()).unwrap();
            let quiet = invariants::recovery_bound(&scenario.device_config()) + secs(20 * 60);
            let chaos_end = scenario.duration - quiet;
            for step in &scenario.timeline {
                let disrupts = match &step.what {
                    StepKind::Fault(_) => true,
                    StepKind::Lab { action, .. } => action.bytes().is_none(),
                };
                if disrupts {
                    assert!(step.end().unwrap_or(step.at) <= chaos_end, "seed {seed}");
                }
            }
        }
    }

    #[test]
    fn only_the_kinds_asked_for() {
        let options = Options {
            faults: Some(vec!["reboot".into(), "hang".into()]),
            ..Options::default()
        };
        for seed in 0..20 {
            for step in generate(seed, &options).unwrap().timeline {
                if let StepKind::Fault(f) = step.what {
                    assert!(matches!(f, Fault::Reboot | Fault::Hang), "{f:?}");
                }
            }
        }
        let unknown = Options {
            faults: Some(vec!["meteor".into()]),
            ..Options::default()
        };
        let error = generate(0, &unknown).unwrap_err();
        assert!(error.starts_with("no fault kind \"meteor\""), "{error}");
    }
}
