//! The file's top-level object and its `device` section.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sim_modem::lab::LabConfig;
use sim_modem::network::NetworkConfig;

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
    #[serde(default)]
    pub description: String,
    /// Seeds every random choice (network loss, line noise, random faults). `--seed`
    /// overrides it.
    #[serde(default)]
    pub seed: u64,
    /// How much virtual time the scenario runs.
    #[serde(with = "units::HumanDuration")]
    pub duration: Duration,
    /// The modem personality: a profile's name, or an object naming the `profile` with some
    /// of its knobs changed.
    #[serde(default)]
    pub modem: Modem,
    /// Changes to the firmware's default configuration (`firmware::Config`).
    #[serde(default)]
    pub device: DeviceConfig,
    /// Changes to the simulated network's defaults.
    #[serde(default)]
    pub network: NetworkConfig,
    /// Changes to the lab server's defaults.
    #[serde(default)]
    pub lab: LabConfig,
    /// What happens when: faults and lab server actions.
    #[serde(default)]
    pub timeline: Vec<Step>,
    /// Faults drawn at random from the seed, on top of the timeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub random_faults: Option<RandomFaults>,
    /// What must (and must not) happen.
    #[serde(default)]
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
}

impl KnownFailure {
    /// Whether it says the expectation with this id fails.
    pub fn names(&self, id: Option<&str>) -> bool {
        id.is_some_and(|id| self.fails.iter().any(|f| f == id))
    }
}

/// TCP or UDP (B5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransportName {
    Tcp,
    Udp,
}

/// How messages are delimited on the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FramingName {
    /// One received chunk is one message (the seed's).
    Raw,
    /// Messages end with `\n`.
    Newline,
}

/// Changes to `firmware::Config`; what is absent keeps its default. The server defaults to
/// the lab server (its name and port), not the seed's public server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DeviceConfig {
    /// The server's host name or IPv4 address (default: the lab server's name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The server's port (default: the lab server's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport: Option<TransportName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub framing: Option<FramingName>,
    /// The APN for `AT+CSTT`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apn: Option<String>,
    /// B7: failed connects in a row before `AT+CIPSHUT`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_failures_before_shut: Option<u8>,
    /// B1: how often a heartbeat is sent while connected.
    #[serde(
        with = "units::OptionHumanDuration",
        skip_serializing_if = "Option::is_none"
    )]
    pub heartbeat_interval: Option<Duration>,
    /// How often registration and the IP state are polled while the IP is not ready.
    #[serde(
        with = "units::OptionHumanDuration",
        skip_serializing_if = "Option::is_none"
    )]
    pub poll_interval: Option<Duration>,
    /// B6: how long to wait for the IP before flight mode.
    #[serde(
        with = "units::OptionHumanDuration",
        skip_serializing_if = "Option::is_none"
    )]
    pub ip_wait: Option<Duration>,
    /// B6: how long flight mode lasts.
    #[serde(
        with = "units::OptionHumanDuration",
        skip_serializing_if = "Option::is_none"
    )]
    pub flight_mode: Option<Duration>,
    /// B7: the pause after a failed or lost connection.
    #[serde(
        with = "units::OptionHumanDuration",
        skip_serializing_if = "Option::is_none"
    )]
    pub connect_pause: Option<Duration>,
    /// How long a connect may take.
    #[serde(
        with = "units::OptionHumanDuration",
        skip_serializing_if = "Option::is_none"
    )]
    pub connect_timeout: Option<Duration>,
    /// How long a send may take to `SEND OK`.
    #[serde(
        with = "units::OptionHumanDuration",
        skip_serializing_if = "Option::is_none"
    )]
    pub send_timeout: Option<Duration>,
    /// B10: how often signal and cell are queried.
    #[serde(
        with = "units::OptionHumanDuration",
        skip_serializing_if = "Option::is_none"
    )]
    pub query_interval: Option<Duration>,
    /// How often, at least, the watchdog is fed.
    #[serde(
        with = "units::OptionHumanDuration",
        skip_serializing_if = "Option::is_none"
    )]
    pub watchdog_feed_interval: Option<Duration>,
    /// How long an ordinary AT command may take.
    #[serde(
        with = "units::OptionHumanDuration",
        skip_serializing_if = "Option::is_none"
    )]
    pub at_timeout: Option<Duration>,
    /// How long the modem may leave commands unanswered before it is power-cycled.
    #[serde(
        with = "units::OptionHumanDuration",
        skip_serializing_if = "Option::is_none"
    )]
    pub at_no_answer_limit: Option<Duration>,
    /// How long the modem is probed with `AT` after power-up before it is restarted.
    #[serde(
        with = "units::OptionHumanDuration",
        skip_serializing_if = "Option::is_none"
    )]
    pub boot_timeout: Option<Duration>,
    /// How often the network clock is synced again after a success.
    #[serde(
        with = "units::OptionHumanDuration",
        skip_serializing_if = "Option::is_none"
    )]
    pub ntp_resync: Option<Duration>,
}
