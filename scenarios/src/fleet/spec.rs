//! The fleet file: how many devices, on how many cells, against which server, for how long,
//! and what happens to the cells and the server (`scenarios/fleet/*.json`).
//!
//! ```json
//! {
//!   "name": "tower_outage",
//!   "devices": 1000, "cells": 4, "duration": "1h", "seed": 1,
//!   "scenario": "device.json",
//!   "device": { "connect_jitter": "20s" },
//!   "server": { "max_connects_per_s": 100 },
//!   "requests": "5m",
//!   "timeline": [
//!     { "at": "20m", "fault": { "kind": "tower_outage", "cell": 0, "duration": "10m" } }
//!   ]
//! }
//! ```
//!
//! `scenario` is an ordinary scenario file (relative to the fleet file; default: the
//! built-in [`DEVICE_SCENARIO`]) that every device runs: its device, modem and network
//! sections and its timeline; its expectations and duration are not used. `device`, when
//! given, replaces its device section.

use std::path::Path;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sim_modem::fault::Fault;

use crate::format::{self, Device, Scenario};

/// A fleet run as a file describes it. See the module documentation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FleetSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// How many devices (`--devices` overrides it).
    #[serde(default = "default_devices")]
    pub devices: u32,
    /// How many cells the devices are spread over, each device on one (seeded).
    #[serde(default = "one")]
    pub cells: u32,
    #[serde(with = "units::HumanDuration")]
    pub duration: Duration,
    /// Seeds everything: the devices' seeds, their cells, the server's choices.
    #[serde(default)]
    pub seed: u64,
    /// The scenario every device runs, relative to this file (default: the built-in one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
    /// Replaces the device section of that scenario.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<Device>,
    #[serde(default)]
    pub server: ServerConfig,
    /// The server sends each connected device `back <n>` this often (each device at its own
    /// seeded offset), and counts the replies.
    #[serde(
        default,
        with = "units::OptionHumanDuration",
        skip_serializing_if = "Option::is_none"
    )]
    pub requests: Option<Duration>,
    /// What happens to cells, the server and single devices.
    #[serde(default)]
    pub timeline: Vec<FleetStep>,
}

fn default_devices() -> u32 {
    100
}

fn one() -> u32 {
    1
}

/// The shared server: the lab server every device connects to, as a service with limits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Time from a SYN's arrival to the server's answer (its accept queue), always.
    #[serde(with = "units::HumanDuration")]
    pub accept_delay: Duration,
    /// Connects accepted per second at most (a second is a whole second of virtual time);
    /// more are refused (reset). `None`: no limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_connects_per_s: Option<u32>,
    /// Connections with nothing received for this long are closed by the server.
    #[serde(
        with = "units::OptionHumanDuration",
        skip_serializing_if = "Option::is_none"
    )]
    pub idle_timeout: Option<Duration>,
}

/// A fleet fault at a time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FleetStep {
    #[serde(with = "units::HumanDuration")]
    pub at: Duration,
    pub fault: FleetFault,
}

/// What can happen to a cell, the server, or one device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FleetFault {
    /// The cell's tower is down: every device on it loses its registration (sim-modem's
    /// `registration_lost`) for `duration`.
    TowerOutage {
        cell: u32,
        #[serde(with = "units::HumanDuration")]
        duration: Duration,
    },
    /// The cell is congested: connects from its devices are refused `refuse_percent` of the
    /// time (seeded), and the others answered `delay` late.
    Congestion {
        cell: u32,
        #[serde(with = "units::HumanDuration")]
        duration: Duration,
        #[serde(default)]
        refuse_percent: u8,
        #[serde(default, with = "units::HumanDuration")]
        delay: Duration,
    },
    /// The server accepts `delay` late (on top of `accept_delay`).
    SlowAccept {
        #[serde(with = "units::HumanDuration")]
        duration: Duration,
        #[serde(with = "units::HumanDuration")]
        delay: Duration,
    },
    /// The server accepts at most `max_connects_per_s` connects a second, refusing more.
    Overload {
        #[serde(with = "units::HumanDuration")]
        duration: Duration,
        max_connects_per_s: u32,
    },
    /// The server closes connections with nothing received for `idle`.
    DropIdle {
        #[serde(with = "units::HumanDuration")]
        duration: Duration,
        #[serde(with = "units::HumanDuration")]
        idle: Duration,
    },
    /// A sim-modem fault for one device (numbered from 0).
    Device { device: u32, fault: Fault },
}

impl FleetFault {
    /// How long it lasts (a device's fault: its own duration, or an instant).
    pub fn duration(&self) -> Duration {
        match self {
            FleetFault::TowerOutage { duration, .. }
            | FleetFault::Congestion { duration, .. }
            | FleetFault::SlowAccept { duration, .. }
            | FleetFault::Overload { duration, .. }
            | FleetFault::DropIdle { duration, .. } => *duration,
            FleetFault::Device { fault, .. } => fault.duration().unwrap_or_default(),
        }
    }
}

/// The scenario every device of a fleet runs when its file names none: bring-up, connect,
/// heartbeats; nothing goes wrong.
pub const DEVICE_SCENARIO: &str = include_str!("../../fleet/device.json");

/// What `cargo xtask fleet` runs without `--scenario`.
pub const DEFAULT_FLEET: &str = include_str!("../../fleet/default.json");

/// A fleet file and the device scenario it names, read and checked.
#[derive(Debug, Clone)]
pub struct Fleet {
    pub spec: FleetSpec,
    /// Every device's scenario (its device section replaced by the fleet file's, if any).
    pub scenario: Scenario,
}

impl Fleet {
    /// Reads `path` and the scenario it names.
    pub fn load(path: &Path) -> Result<Fleet, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        Fleet::parse(&path.display().to_string(), &text, dir)
    }

    /// The built-in default fleet.
    pub fn default_fleet() -> Fleet {
        Fleet::parse(
            "scenarios/fleet/default.json",
            DEFAULT_FLEET,
            Path::new("."),
        )
        .expect("the default fleet is valid")
    }

    /// Parses a fleet file's `text` (`shown` names it in messages; `dir` is where the
    /// scenario it names is looked for).
    pub fn parse(shown: &str, text: &str, dir: &Path) -> Result<Fleet, String> {
        let spec: FleetSpec = serde_json::from_str(text)
            .map_err(|e| format!("{shown}:{}:{}: {e}", e.line(), e.column()))?;
        let mut scenario = match &spec.scenario {
            Some(file) => format::load(&dir.join(file)).map_err(|e| e.to_string())?,
            None => format::parse("scenarios/fleet/device.json", DEVICE_SCENARIO)
                .map_err(|e| e.to_string())?,
        };
        if let Some(device) = &spec.device {
            scenario.device = device.clone();
            scenario
                .device_config()
                .validate()
                .map_err(|e| format!("{shown}: device: {e}"))?;
        }
        scenario.duration = spec.duration;
        let fleet = Fleet { spec, scenario };
        fleet.check().map_err(|e| format!("{shown}: {e}"))?;
        Ok(fleet)
    }

    /// What the types cannot say: counts and cells in range.
    pub fn check(&self) -> Result<(), String> {
        let s = &self.spec;
        if s.devices == 0 {
            return Err("devices: at least 1".into());
        }
        if s.cells == 0 || s.cells > s.devices {
            return Err(format!(
                "cells: 1 to the number of devices ({}), not {}",
                s.devices, s.cells
            ));
        }
        if s.duration.is_zero() {
            return Err("duration: more than 0s".into());
        }
        if s.requests.is_some_and(|r| r.is_zero()) {
            return Err("requests: more than 0s".into());
        }
        for step in &s.timeline {
            match &step.fault {
                FleetFault::TowerOutage { cell, .. } | FleetFault::Congestion { cell, .. }
                    if *cell >= s.cells =>
                {
                    return Err(format!(
                        "timeline: cell {cell}, but cells are 0 to {}",
                        s.cells - 1
                    ));
                }
                FleetFault::Congestion { refuse_percent, .. } if *refuse_percent > 100 => {
                    return Err(format!(
                        "timeline: refuse_percent {refuse_percent} is over 100"
                    ));
                }
                FleetFault::Device { device, .. } if *device >= s.devices => {
                    return Err(format!(
                        "timeline: device {device}, but devices are 0 to {}",
                        s.devices - 1
                    ));
                }
                FleetFault::Overload {
                    max_connects_per_s: 0,
                    ..
                } => {
                    return Err("timeline: overload needs max_connects_per_s of 1 or more".into());
                }
                _ => {}
            }
        }
        if s.server.max_connects_per_s == Some(0) {
            return Err("server: max_connects_per_s of 1 or more".into());
        }
        Ok(())
    }
}
