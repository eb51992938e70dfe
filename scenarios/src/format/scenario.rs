//! The file's top-level object.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sim_modem::lab::LabConfig;
use sim_modem::network::NetworkConfig;

use super::client::Client;
use super::device::Device;
use super::expect::Expectation;
use super::modem::Modem;
use super::timeline::{RandomFaults, Step};

/// One scenario file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "LongLink scenario")]
pub struct Scenario {
    /// The schema this file follows, for editors: `./scenario.schema.json`.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// A short name, unique among the scenarios.
    pub name: String,
    /// What the scenario shows, for people.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Seeds every random choice (network loss, line noise, random faults). `--seed`
    /// overrides it.
    #[serde(default, skip_serializing_if = "is_default")]
    pub seed: u64,
    /// How much virtual time the scenario runs.
    #[serde(with = "units::HumanDuration")]
    pub duration: Duration,
    /// The modem personality: a profile's name, or an object naming the `profile` with some
    /// of its knobs changed.
    #[serde(default, skip_serializing_if = "is_default")]
    pub modem: Modem,
    /// Changes to the firmware's default configuration (`firmware::Config`): its knobs by
    /// name; the server defaults to the lab server.
    #[serde(default, skip_serializing_if = "Device::is_empty")]
    pub device: Device,
    /// A scripted AT client in the device's place (no firmware runs): it drives the modem's
    /// own applications. Not with `device`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<Client>,
    /// Changes to the simulated network's defaults.
    #[serde(
        default,
        serialize_with = "changes",
        skip_serializing_if = "is_default"
    )]
    pub network: NetworkConfig,
    /// Changes to the lab server's defaults.
    #[serde(
        default,
        serialize_with = "changes",
        skip_serializing_if = "is_default"
    )]
    pub lab: LabConfig,
    /// What happens when: faults and lab server actions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<Step>,
    /// Faults drawn at random from the seed, on top of the timeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub random_faults: Option<RandomFaults>,
    /// What must (and must not) happen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expect: Vec<Expectation>,
    /// This scenario shows a known bug: the expectations it names fail, and only those.
    /// It is reported as a known failure; any other failure is an error, and so is a named
    /// expectation that passes (the mark is stale then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_failure: Option<KnownFailure>,
}

/// A known bug a scenario shows, pinned to the expectations it makes fail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KnownFailure {
    /// The ids of the expectations that fail because of it (give each an `id`).
    pub fails: Vec<String>,
    /// The bug, explained: what happens, and where in the code it could be fixed.
    pub why: String,
    /// For the swarm (`--known`): what a run must have for its violation of a named
    /// invariant to be this bug, as `swarm::causes` names them (a fault kind,
    /// `line_noise to_modem` or `from_modem`, `udp`). Default: everything this file's run
    /// has, which a shrunk run may have only for its timing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<String>,
}

impl KnownFailure {
    /// Whether it says the expectation with this id fails.
    pub fn names(&self, id: Option<&str>) -> bool {
        id.is_some_and(|id| self.fails.iter().any(|f| f == id))
    }
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// A section written as the fields that differ from its defaults (it is read with them).
fn changes<T: Default + Serialize, S: serde::Serializer>(
    value: &T,
    s: S,
) -> Result<S::Ok, S::Error> {
    let defaults = serde_json::to_value(T::default()).map_err(serde::ser::Error::custom)?;
    let mut changed = serde_json::to_value(value).map_err(serde::ser::Error::custom)?;
    if let (Some(changed), Some(defaults)) = (changed.as_object_mut(), defaults.as_object()) {
        changed.retain(|key, value| defaults.get(key) != Some(value));
    }
    changed.serialize(s)
}

impl Scenario {
    /// The firmware configuration the scenario runs: the file's `device` over the defaults,
    /// the lab server as the server.
    pub fn device_config(&self) -> firmware::Config {
        self.device.config(&self.lab)
    }
}
