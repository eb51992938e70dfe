//! The `device` section: a partial `firmware::Config`, read through firmware's own
//! deserializer (its `serde` feature), so that a knob is one field in one struct and every
//! entry point reads it the same way: `{ "heartbeat_interval": "30s", "transport": "udp" }`.
//! What the file does not name keeps its default, except the server: it defaults to the lab
//! server's name and port (`lab`), not the seed's public server. `Config::validate` checks the
//! ranges at load (`validate`).

use std::collections::BTreeSet;
use std::fmt;

use firmware::config::text;
use firmware::Config;
use schemars::JsonSchema;
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sim_modem::lab::LabConfig;

/// The device's configuration as the file changes it. See the module documentation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Device {
    /// The file's values over the firmware's defaults.
    config: Config,
    /// The knobs the file names.
    given: BTreeSet<String>,
}

/// The knobs that default to the lab server's instead of the firmware's.
const SERVER_HOST: &str = "server_host";
const SERVER_PORT: &str = "server_port";

impl Device {
    /// The configuration the device runs with: the file's knobs over the defaults, the lab
    /// server as the server unless the file names another.
    pub fn config(&self, lab: &LabConfig) -> Config {
        let mut config = self.config.clone();
        if !self.given.contains(SERVER_HOST) {
            // Too long a lab name leaves the knob empty, for `validate` to refuse.
            config.server_host = text(&lab.name).unwrap_or_default();
        }
        if !self.given.contains(SERVER_PORT) {
            config.server_port = lab.port;
        }
        config
    }

    /// The section that gives `config`, with `lab` as the lab server: the knobs that differ
    /// from what an empty section gives.
    pub fn changes(mut config: Config, lab: &LabConfig) -> Device {
        let defaults = as_map(&Device::default().config(lab));
        let wanted = as_map(&config);
        let given: BTreeSet<String> = wanted
            .into_iter()
            .filter(|(knob, value)| defaults.get(knob) != Some(value))
            .map(|(knob, _)| knob)
            .collect();
        // What is not given holds the firmware's default, as when read from a file.
        let firmware = Config::default();
        if !given.contains(SERVER_HOST) {
            config.server_host = firmware.server_host;
        }
        if !given.contains(SERVER_PORT) {
            config.server_port = firmware.server_port;
        }
        Device { config, given }
    }

    /// Whether the file changes nothing.
    pub fn is_empty(&self) -> bool {
        self.given.is_empty()
    }

    /// The knobs the file names.
    pub fn given(&self) -> impl Iterator<Item = &str> {
        self.given.iter().map(String::as_str)
    }
}

fn as_map(config: &Config) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::to_value(config) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => unreachable!("a Config serializes as an object"),
    }
}

/// Written as the knobs the file names.
impl Serialize for Device {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = as_map(&self.config);
        map.retain(|knob, _| self.given.contains(knob));
        map.serialize(s)
    }
}

/// Read by `Config`'s deserializer, each key noted on the way: an unknown knob or a bad value
/// is its error, at its place in the file.
impl<'de> Deserialize<'de> for Device {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Device, D::Error> {
        struct DeviceVisitor;

        impl<'de> Visitor<'de> for DeviceVisitor {
            type Value = Device;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of firmware::Config knobs")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Device, A::Error> {
                let mut given = BTreeSet::new();
                let noting = Noting {
                    map,
                    given: &mut given,
                };
                let config = Config::deserialize(de::value::MapAccessDeserializer::new(noting))?;
                Ok(Device { config, given })
            }
        }

        d.deserialize_map(DeviceVisitor)
    }
}

/// A map whose keys are noted as they are read.
struct Noting<'a, A> {
    map: A,
    given: &'a mut BTreeSet<String>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Noting<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let Some(key) = self.map.next_key::<String>()? else {
            return Ok(None);
        };
        self.given.insert(key.clone());
        seed.deserialize(key.into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(seed)
    }
}

/// `firmware::Config`'s schema, which every key of the section follows.
impl JsonSchema for Device {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Device".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut schema = Config::json_schema(generator);
        schema.insert(
            "description".into(),
            "Changes to the firmware's configuration (`firmware::Config`): what is absent keeps \
             its default, except the server, which defaults to the lab server's name and port."
                .into(),
        );
        schema
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_section_names_what_it_changes() {
        let lab = LabConfig::default();
        let device: Device =
            serde_json::from_str(r#"{ "heartbeat_interval": "30s", "transport": "udp" }"#).unwrap();
        let config = device.config(&lab);
        assert_eq!(config.heartbeat_interval, Duration::from_secs(30));
        assert_eq!(config.server_host.as_str(), lab.name);
        assert_eq!(config.server_port, lab.port);
        assert_eq!(config.apn, Config::default().apn);
        let written = serde_json::to_string(&device).unwrap();
        assert_eq!(written, r#"{"heartbeat_interval":"30s","transport":"udp"}"#);
        assert_eq!(Device::changes(config, &lab), device);
        // The server named keeps its name.
        let elsewhere: Device =
            serde_json::from_str(r#"{ "server_host": "example.com" }"#).unwrap();
        assert_eq!(elsewhere.config(&lab).server_host.as_str(), "example.com");
        assert_eq!(elsewhere.config(&lab).server_port, lab.port);
    }
}
