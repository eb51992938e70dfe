//! The scenario format: JSON, read with serde, its JSON Schema generated from these types
//! (`scenarios/scenario.schema.json`, checked in; `cargo xtask schema` writes it).
//!
//! Every object refuses unknown keys. Durations are strings with a unit: `"250ms"`, `"10s"`,
//! `"5m"`, `"1h"` ([`units`]' syntax). A file that does not parse is refused
//! with `path:line:column: what was expected`.
//!
//! ```json
//! {
//!   "$schema": "./scenario.schema.json",
//!   "name": "echo",
//!   "description": "The lab sends `back hello`; the device echoes it.",
//!   "seed": 1,
//!   "duration": "2m",
//!   "device": { "framing": "newline" },
//!   "network": { "latency": "300ms" },
//!   "timeline": [
//!     { "at": "60s", "id": "hello", "lab": { "send": "back hello\n" } },
//!     { "at": "90s", "id": "outage", "fault": { "kind": "registration_lost", "duration": "30s" } }
//!   ],
//!   "expect": [
//!     { "expect": "happens", "what": { "received": { "text": "back hello" } },
//!       "after": "hello", "to": "2s" }
//!   ]
//! }
//! ```
//!
//! # Time windows
//!
//! Every expectation looks at a window: `from` and `to` (durations) counted from `after`,
//! which names a timeline step by its `id` (the time it was applied), `<id>.end` (the end of
//! that step's fault), or another expectation's `id` (the time of its first match). Without
//! `after` the window counts from the start of the run; without `to` it ends with the run.
//! `until` (an anchor as `after` names them) ends the window early, when that happens.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sim_modem::fault::Fault;
use sim_modem::lab::{ClientId, LabConfig};
use sim_modem::network::NetworkConfig;
use sim_modem::profile::Profile;

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
    /// This scenario shows a known bug, explained here: its replay is expected to fail.
    /// It is reported as a known failure, and as an error once it passes (remove this then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_failure: Option<String>,
}

/// The modem personality (sim-modem's profiles).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ModemProfile {
    /// SIMCom SIM800.
    #[default]
    Sim800,
    /// Luat Air202 AT firmware.
    Air202,
}

impl ModemProfile {
    pub fn name(self) -> &'static str {
        match self {
            ModemProfile::Sim800 => "sim800",
            ModemProfile::Air202 => "air202",
        }
    }

    /// sim-modem's profile of that name.
    pub fn profile(self) -> Profile {
        Profile::by_name(self.name()).expect("every ModemProfile is a built-in profile")
    }
}

/// The modem a scenario runs: a built-in profile, maybe with some knobs changed. Written as
/// the profile's name (`"sim800"`), or as an object naming it with any of sim-modem's
/// `Profile` fields, which replace the profile's values:
/// `{ "profile": "sim800", "closed_on_pdp_deact": false }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Modem {
    /// The built-in profile the knobs start from.
    pub base: ModemProfile,
    /// The profile as the file makes it.
    pub profile: Profile,
}

impl Modem {
    /// A built-in profile, unchanged.
    pub fn named(base: ModemProfile) -> Modem {
        Modem {
            base,
            profile: base.profile(),
        }
    }

    /// The fields the file changes, as JSON (empty for a built-in profile unchanged).
    pub fn overrides(&self) -> serde_json::Map<String, serde_json::Value> {
        let base = profile_json(&self.base.profile());
        profile_json(&self.profile)
            .into_iter()
            .filter(|(key, value)| base.get(key) != Some(value))
            .collect()
    }
}

impl Default for Modem {
    fn default() -> Modem {
        Modem::named(ModemProfile::default())
    }
}

fn profile_json(profile: &Profile) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::to_value(profile) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => unreachable!("a profile serializes as an object"),
    }
}

impl Serialize for Modem {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let overrides = self.overrides();
        if overrides.is_empty() {
            return self.base.serialize(s);
        }
        let mut map = serde_json::Map::new();
        map.insert("profile".into(), self.base.name().into());
        map.extend(overrides);
        map.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Modem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Modem, D::Error> {
        use serde::de::{self, IntoDeserializer, MapAccess, Visitor};

        struct ModemVisitor;

        impl<'de> Visitor<'de> for ModemVisitor {
            type Value = Modem;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a modem profile's name or an object with `profile` and profile fields")
            }

            fn visit_str<E: de::Error>(self, name: &str) -> Result<Modem, E> {
                ModemProfile::deserialize(name.into_deserializer()).map(Modem::named)
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Modem, A::Error> {
                let mut base = None;
                let mut fields = serde_json::Map::new();
                while let Some(key) = map.next_key::<String>()? {
                    if key == "profile" {
                        if base.is_some() {
                            return Err(de::Error::duplicate_field("profile"));
                        }
                        base = Some(map.next_value::<ModemProfile>()?);
                        continue;
                    }
                    if key == "name" {
                        return Err(de::Error::custom(
                            "unknown field `name`: `profile` names the profile",
                        ));
                    }
                    if fields.contains_key(&key) {
                        return Err(de::Error::custom(format_args!("duplicate field `{key}`")));
                    }
                    let value: serde_json::Value = map.next_value()?;
                    // Each field is checked as it is read, by the profile's own rules (unknown
                    // fields, bad durations), so that the error points at it.
                    let single = serde_json::Map::from_iter([(key.clone(), value.clone())]);
                    Profile::deserialize(serde_json::Value::Object(single)).map_err(|e| {
                        // Here the profile is named by `profile`, not `name`.
                        de::Error::custom(e.to_string().replace("`name`, ", "`profile`, "))
                    })?;
                    fields.insert(key, value);
                }
                let base = base.ok_or_else(|| de::Error::missing_field("profile"))?;
                let mut merged = profile_json(&base.profile());
                merged.extend(fields);
                let profile = Profile::deserialize(serde_json::Value::Object(merged))
                    .map_err(de::Error::custom)?;
                Ok(Modem { base, profile })
            }
        }

        d.deserialize_any(ModemVisitor)
    }
}

impl JsonSchema for Modem {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Modem".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let named = generator.subschema_for::<ModemProfile>();
        // The object: `profile`, then any of the profile's fields but its name.
        let mut object = Profile::json_schema(generator);
        if let Some(map) = object.as_object_mut() {
            map.remove("title");
            map.remove("required");
            map.insert(
                "description".into(),
                "A built-in profile (`profile`) with some of its fields changed.".into(),
            );
            if let Some(serde_json::Value::Object(properties)) = map.get_mut("properties") {
                properties.remove("name");
                // The defaults are the named profile's, not the SIM800's the schema shows.
                for property in properties.values_mut() {
                    if let Some(property) = property.as_object_mut() {
                        property.remove("default");
                    }
                }
                properties.insert("profile".into(), named.clone().into());
            }
            map.insert("required".into(), serde_json::json!(["profile"]));
        }
        schemars::json_schema!({
            "description": "The modem personality: a built-in profile's name, or an object naming the `profile` with some of its fields changed.",
            "anyOf": [named, object],
        })
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

/// One timeline step: at a time, exactly one of a fault or a lab server action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawStep", into = "RawStep")]
pub struct Step {
    pub at: Duration,
    pub id: Option<String>,
    pub what: StepKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    Fault(Fault),
    Lab {
        action: LabAction,
        client: Option<ClientId>,
    },
}

/// A timeline step as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [{ "required": ["fault"] }, { "required": ["lab"] }]))]
pub struct RawStep {
    /// When, from the start of the run.
    #[serde(with = "units::HumanDuration")]
    pub at: Duration,
    /// A name that expectations use as `after` (`<id>.end` for the end of a fault).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// A fault to inject (sim-modem's faults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<Fault>,
    /// A lab server action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lab: Option<LabAction>,
    /// The lab client the action is for (clients are numbered from 1 as they connect);
    /// default: the newest open one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<ClientId>,
}

impl JsonSchema for Step {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Step".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        RawStep::json_schema(generator)
    }
}

impl TryFrom<RawStep> for Step {
    type Error = String;

    fn try_from(raw: RawStep) -> Result<Step, String> {
        let what = match (raw.fault, raw.lab) {
            (Some(fault), None) => {
                if raw.client.is_some() {
                    return Err("`client` goes with `lab`, not with `fault`".into());
                }
                StepKind::Fault(fault)
            }
            (None, Some(action)) => StepKind::Lab {
                action,
                client: raw.client,
            },
            _ => return Err("a step has exactly one of `fault` and `lab`".into()),
        };
        Ok(Step {
            at: raw.at,
            id: raw.id,
            what,
        })
    }
}

impl From<Step> for RawStep {
    fn from(step: Step) -> RawStep {
        let (fault, lab, client) = match step.what {
            StepKind::Fault(fault) => (Some(fault), None, None),
            StepKind::Lab { action, client } => (None, Some(action), client),
        };
        RawStep {
            at: step.at,
            id: step.id,
            fault,
            lab,
            client,
        }
    }
}

impl Step {
    /// When the step's fault ends, if it has a duration.
    pub fn end(&self) -> Option<Duration> {
        match &self.what {
            StepKind::Fault(fault) => fault.duration().map(|d| self.at + d),
            StepKind::Lab { .. } => None,
        }
    }
}

/// What the lab server does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum LabAction {
    /// Send text (as UTF-8; JSON escapes such as `\n` work).
    Send(String),
    /// Send bytes given in hex, e.g. `"11 22 33"`.
    SendHex(Hex),
    /// Close the connection (TCP FIN).
    Close,
    /// Reset the connection (TCP RST).
    Reset,
}

impl LabAction {
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            LabAction::Send(text) => Some(text.as_bytes()),
            LabAction::SendHex(hex) => Some(&hex.0),
            LabAction::Close | LabAction::Reset => None,
        }
    }
}

/// Bytes written in hex, spaces allowed: `"112233"`, `"11 22 33"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hex(pub Vec<u8>);

impl Hex {
    pub fn parse(text: &str) -> Result<Hex, String> {
        let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        if digits.len() % 2 != 0 {
            return Err(format!("hex {text:?} has an odd number of digits"));
        }
        digits
            .chunks(2)
            .map(|pair| {
                std::str::from_utf8(pair)
                    .ok()
                    .and_then(|s| u8::from_str_radix(s, 16).ok())
                    .ok_or_else(|| format!("hex {text:?}: {:?} is not a hex byte", pair as &[u8]))
            })
            .collect::<Result<_, _>>()
            .map(Hex)
    }
}

impl fmt::Display for Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl Serialize for Hex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Hex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Hex, D::Error> {
        Hex::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Hex {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Hex".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^(\\s*[0-9a-fA-F]{2})*\\s*$",
            "description": "Bytes in hex, spaces allowed, e.g. \"11 22 33\"",
        })
    }
}

/// Faults drawn from the seed: one every `mean_interval` on average (uniformly between 0
/// and twice that apart), between `from` and `to`, each picked from `faults` by weight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RandomFaults {
    #[serde(with = "units::HumanDuration")]
    pub mean_interval: Duration,
    /// No random fault before this.
    #[serde(default, with = "units::HumanDuration")]
    pub from: Duration,
    /// No random fault after this (default: the end of the run).
    #[serde(
        default,
        with = "units::OptionHumanDuration",
        skip_serializing_if = "Option::is_none"
    )]
    pub to: Option<Duration>,
    /// The faults to draw from.
    pub faults: Vec<RandomFault>,
}

/// One kind of random fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RandomFault {
    /// The fault; a fault with a duration gets one drawn between `min` and `max`.
    pub fault: Fault,
    #[serde(
        default,
        with = "units::OptionHumanDuration",
        skip_serializing_if = "Option::is_none"
    )]
    pub min: Option<Duration>,
    #[serde(
        default,
        with = "units::OptionHumanDuration",
        skip_serializing_if = "Option::is_none"
    )]
    pub max: Option<Duration>,
    /// How often this one is picked, relative to the others.
    #[serde(default = "one")]
    pub weight: u32,
}

fn one() -> u32 {
    1
}

/// Something that happens in a run, and how to recognize it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum What {
    /// The lab server received a message from the device, framed as the device frames them
    /// (newline framing: without the `\n`).
    Received(Pattern),
    /// The lab server sent bytes to the device.
    LabSent(Pattern),
    /// The modem received a line on its UART: an AT command, or a payload.
    At(Pattern),
    /// The modem wrote a line on its UART: an answer or a URC.
    Modem(Pattern),
    /// The firmware reported something, as the trace writes it: `Phase(Connected)`,
    /// `FlightMode(true)`, `DataLinkShut`, `Sent(Heartbeat, "heart beat")` ...
    Report(Pattern),
    /// A fault was applied, by its kind: `registration_lost`, `reboot` ...
    Fault(String),
    /// The lab server accepted a connection.
    Accepted,
    /// A lab client's connection ended.
    Closed,
}

/// How to match text or bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Pattern {
    /// Exactly this text.
    Text(String),
    /// Text that starts with this.
    Prefix(String),
    /// Text that contains this.
    Contains(String),
    /// Exactly these bytes, in hex.
    Hex(Hex),
}

impl Pattern {
    pub fn matches(&self, data: &[u8]) -> bool {
        match self {
            Pattern::Text(text) => data == text.as_bytes(),
            Pattern::Prefix(text) => data.starts_with(text.as_bytes()),
            Pattern::Contains(text) => {
                let needle = text.as_bytes();
                needle.is_empty() || data.windows(needle.len()).any(|w| w == needle)
            }
            Pattern::Hex(hex) => data == hex.0.as_slice(),
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pattern::Text(text) => write!(f, "{text:?}"),
            Pattern::Prefix(text) => write!(f, "{text:?}..."),
            Pattern::Contains(text) => write!(f, "...{text:?}..."),
            Pattern::Hex(hex) => write!(f, "hex {hex}"),
        }
    }
}

impl fmt::Display for What {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            What::Received(p) => write!(f, "server received {p}"),
            What::LabSent(p) => write!(f, "server sent {p}"),
            What::At(p) => write!(f, "modem got {p}"),
            What::Modem(p) => write!(f, "modem said {p}"),
            What::Report(p) => write!(f, "firmware reported {p}"),
            What::Fault(kind) => write!(f, "fault {kind}"),
            What::Accepted => write!(f, "server accepted a connection"),
            What::Closed => write!(f, "a server connection closed"),
        }
    }
}

/// What must (or must not) happen in a window. See the module documentation for windows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "expect", rename_all = "snake_case", deny_unknown_fields)]
pub enum Expectation {
    /// `what` happens in the window: at least once, or as `count` / `min` / `max` say. Its
    /// match time (for others' `after`) is the first occurrence.
    Happens {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        what: What,
        /// Exactly this many times.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        count: Option<u32>,
        /// At least this many times (default 1).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<u32>,
        /// At most this many times.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<String>,
        #[serde(default, with = "units::HumanDuration")]
        from: Duration,
        #[serde(
            default,
            with = "units::OptionHumanDuration",
            skip_serializing_if = "Option::is_none"
        )]
        to: Option<Duration>,
    },
    /// `what` never happens in the window.
    Never {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        what: What,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<String>,
        #[serde(default, with = "units::HumanDuration")]
        from: Duration,
        #[serde(
            default,
            with = "units::OptionHumanDuration",
            skip_serializing_if = "Option::is_none"
        )]
        to: Option<Duration>,
    },
    /// `what` happens every `every` (± `tolerance`) throughout the window: between two
    /// occurrences, and from the window's start to the first and from the last to its end,
    /// no more than `every` + `tolerance`; between two, no less than `every` − `tolerance`.
    Periodic {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        what: What,
        #[serde(with = "units::HumanDuration")]
        every: Duration,
        #[serde(default, with = "units::HumanDuration")]
        tolerance: Duration,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<String>,
        #[serde(default, with = "units::HumanDuration")]
        from: Duration,
        #[serde(
            default,
            with = "units::OptionHumanDuration",
            skip_serializing_if = "Option::is_none"
        )]
        to: Option<Duration>,
    },
    /// Every message the lab server sends in the window that asks for a reply (`back…`,
    /// `bin`, `time`: B2–B4) is answered, exactly once, within `within` of being sent: the
    /// same bytes, `11 22 33`, or the Unix time (± 5 s of the network's). Nothing is lost
    /// and nothing is doubled, whatever happens to the connection meanwhile.
    Answered {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        #[serde(
            default,
            with = "units::OptionHumanDuration",
            skip_serializing_if = "Option::is_none"
        )]
        within: Option<Duration>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<String>,
        #[serde(default, with = "units::HumanDuration")]
        from: Duration,
        #[serde(
            default,
            with = "units::OptionHumanDuration",
            skip_serializing_if = "Option::is_none"
        )]
        to: Option<Duration>,
    },
}

/// Where an expectation looks: `from`..`to` counted from `after`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window<'a> {
    pub after: Option<&'a str>,
    /// The window also ends when this anchor happens.
    pub until: Option<&'a str>,
    pub from: Duration,
    pub to: Option<Duration>,
}

impl Expectation {
    pub fn id(&self) -> Option<&str> {
        match self {
            Expectation::Happens { id, .. }
            | Expectation::Never { id, .. }
            | Expectation::Periodic { id, .. }
            | Expectation::Answered { id, .. } => id.as_deref(),
        }
    }

    pub fn window(&self) -> Window<'_> {
        match self {
            Expectation::Happens {
                after,
                until,
                from,
                to,
                ..
            }
            | Expectation::Never {
                after,
                until,
                from,
                to,
                ..
            }
            | Expectation::Periodic {
                after,
                until,
                from,
                to,
                ..
            }
            | Expectation::Answered {
                after,
                until,
                from,
                to,
                ..
            } => Window {
                after: after.as_deref(),
                until: until.as_deref(),
                from: *from,
                to: *to,
            },
        }
    }

    /// The expectation in a few words, for tables and reports.
    pub fn summary(&self) -> String {
        let window = self.window();
        let mut text = match self {
            Expectation::Happens {
                what,
                count,
                min,
                max,
                ..
            } => {
                let times = match (count, min, max) {
                    (Some(n), ..) => format!(" exactly {n}x"),
                    (None, None, None) => String::new(),
                    (None, min, max) => format!(
                        " {}..{}x",
                        min.unwrap_or(1),
                        max.map_or(String::new(), |m| m.to_string())
                    ),
                };
                format!("{what}{times}")
            }
            Expectation::Never { what, .. } => format!("never: {what}"),
            Expectation::Periodic {
                what,
                every,
                tolerance,
                ..
            } => format!(
                "{what} every {} ± {}",
                units::format_duration(*every),
                units::format_duration(*tolerance)
            ),
            Expectation::Answered { within, .. } => format!(
                "every back/bin/time answered once{}",
                within.map_or(String::new(), |w| format!(
                    " within {}",
                    units::format_duration(w)
                ))
            ),
        };
        text.push_str(&format!(
            " [{}{}..{}{}]",
            window.after.map_or(String::new(), |a| format!("{a} + ")),
            units::format_duration(window.from),
            window.to.map_or("end".to_string(), units::format_duration),
            window
                .until
                .map_or(String::new(), |u| format!(" until {u}")),
        ));
        text
    }
}

/// Why a scenario file was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub path: String,
    /// 1-based; 0 when the file could not be read.
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.path, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.path, self.line, self.column, self.message
            )
        }
    }
}

impl std::error::Error for LoadError {}

/// Reads and checks a scenario file.
pub fn load(path: &Path) -> Result<Scenario, LoadError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| LoadError {
        path: shown.clone(),
        line: 0,
        column: 0,
        message: format!("cannot read: {e}"),
    })?;
    parse(&shown, &text)
}

/// Parses and checks a scenario; `path` is only for messages.
pub fn parse(path: &str, text: &str) -> Result<Scenario, LoadError> {
    let scenario: Scenario = serde_json::from_str(text).map_err(|e| {
        // serde_json ends its message with " at line L column C": we put those in front.
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let message = e.to_string();
        let message = message
            .strip_suffix(&suffix)
            .unwrap_or(&message)
            .to_string();
        let (line, column) = refine(text, e.line(), e.column(), &message);
        LoadError {
            path: path.to_string(),
            line,
            column,
            message,
        }
    })?;
    validate(&scenario).map_err(|(needle, message)| {
        // A repeated id is pointed at where it is repeated.
        let last = message.contains("twice");
        let (line, column) = locate(text, &needle, last);
        LoadError {
            path: path.to_string(),
            line,
            column,
            message,
        }
    })?;
    Ok(scenario)
}

/// Checks what the types cannot: ids are unique, anchors exist and do not go round in
/// circles, times fit the run. An error comes with the JSON text to point at.
fn validate(s: &Scenario) -> Result<(), (String, String)> {
    let quoted = |t: &str| format!("\"{t}\"");
    let mut steps = BTreeSet::new();
    for step in &s.timeline {
        if step.at > s.duration {
            let at = units::format_duration(step.at);
            return Err((
                quoted(&at),
                format!(
                    "step at {at} is after the end of the run ({})",
                    units::format_duration(s.duration)
                ),
            ));
        }
        if let Some(id) = &step.id {
            if !steps.insert(id.as_str()) {
                return Err((quoted(id), format!("two timeline steps have the id {id:?}")));
            }
        }
    }
    let ends: BTreeSet<String> = s
        .timeline
        .iter()
        .filter(|step| step.end().is_some())
        .filter_map(|step| step.id.as_ref().map(|id| format!("{id}.end")))
        .collect();
    let mut expectations = BTreeSet::new();
    for e in &s.expect {
        if let Some(id) = e.id() {
            if steps.contains(id) || !expectations.insert(id) {
                return Err((quoted(id), format!("the id {id:?} is used twice")));
            }
        }
    }
    for e in &s.expect {
        let window = e.window();
        for after in window.after.into_iter().chain(window.until) {
            let known =
                steps.contains(after) || ends.contains(after) || expectations.contains(after);
            if !known {
                let mut names: Vec<&str> = steps.iter().copied().collect();
                names.extend(ends.iter().map(String::as_str));
                names.extend(expectations.iter().copied());
                return Err((
                    quoted(after),
                    format!(
                        "`after`: {after:?} is neither a step id, a fault's `<id>.end`, nor an expectation id; known: {}",
                        if names.is_empty() { "none".to_string() } else { names.join(", ") }
                    ),
                ));
            }
        }
    }
    // Anchors between expectations must not loop.
    for e in &s.expect {
        let mut path = Vec::new();
        if let Some(id) = circle(s, e, &mut path) {
            return Err((
                quoted(id),
                format!("`after` / `until` go round in a circle through {id:?}"),
            ));
        }
    }
    if let Some(random) = &s.random_faults {
        if random.mean_interval.is_zero() {
            return Err((
                "\"mean_interval\"".into(),
                "`mean_interval` must be more than 0s".into(),
            ));
        }
        if random.faults.is_empty() || random.faults.iter().all(|f| f.weight == 0) {
            return Err((
                "\"random_faults\"".into(),
                "`random_faults` needs at least one fault with a weight".into(),
            ));
        }
        for f in &random.faults {
            if let (Some(min), Some(max)) = (f.min, f.max) {
                if min > max {
                    return Err(("\"min\"".into(), "`min` is more than `max`".into()));
                }
            }
        }
    }
    Ok(())
}

/// The anchor that closes a circle of expectations anchored to each other, if any.
fn circle<'a>(s: &'a Scenario, e: &'a Expectation, path: &mut Vec<&'a str>) -> Option<&'a str> {
    let window = e.window();
    for anchor in window.after.into_iter().chain(window.until) {
        if path.contains(&anchor) {
            return Some(anchor);
        }
        if let Some(next) = s.expect.iter().find(|x| x.id() == Some(anchor)) {
            path.push(anchor);
            if let Some(id) = circle(s, next, path) {
                return Some(id);
            }
            path.pop();
        }
    }
    None
}

/// A better place for an error than serde_json's. Inside an internally tagged enum (faults,
/// expectations) serde_json can only tell where the object ended; when the message names
/// the offending key or value, point at its last occurrence before that.
fn refine(text: &str, line: usize, column: usize, message: &str) -> (usize, usize) {
    const NAMING: [&str; 5] = [
        "unknown field",
        "unknown variant",
        "invalid duration",
        "invalid type",
        "hex ",
    ];
    if !NAMING.iter().any(|start| message.starts_with(start)) {
        return (line, column);
    }
    let token = between(message, '`').or_else(|| between(message, '"'));
    let offset = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum::<usize>()
        + column;
    let before = &text[..offset.min(text.len())];
    match token.and_then(|t| before.rfind(&format!("\"{t}\""))) {
        Some(at) => position(text, at),
        None => (line, column),
    }
}

/// The text between the first two `quote`s of `message`.
fn between(message: &str, quote: char) -> Option<&str> {
    let (_, rest) = message.split_once(quote)?;
    Some(rest.split_once(quote)?.0)
}

/// The 1-based line and column of a byte offset.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(offset, |nl| offset - nl - 1) + 1;
    (line, column)
}

/// The 1-based line and column of the first (or last) occurrence of `needle` (1:1 if
/// absent).
fn locate(text: &str, needle: &str, last: bool) -> (usize, usize) {
    let found = if last {
        text.rfind(needle)
    } else {
        text.find(needle)
    };
    found.map_or((1, 1), |offset| position(text, offset))
}

/// The JSON Schema of scenario files, as checked in (pretty, ending with a newline).
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(Scenario);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serializes");
    text.push('\n');
    text
}

/// Where the schema is checked in, relative to the workspace root.
pub const SCHEMA_PATH: &str = "scenarios/scenario.schema.json";
