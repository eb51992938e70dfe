//! Quantities with units, as people write them in configuration files, scenario files, traces
//! and command-line flags: one grammar and one written form for each, everywhere.
//!
//! # Durations
//!
//! Read with humantime's grammar: a number and a unit, or several (`"250ms"`, `"1.5s"`,
//! `"5m"`, `"1h 30m"`, `"10sec"`, `"2 days"`); `m` is minutes (`M` months). A bare number is
//! an error: the unit is never guessed. Written with the largest unit that represents the
//! value exactly (`"90s"`, `"2m"`, `"1500ms"`), so a value read and written again keeps its
//! text where it was written that way.
//!
//! On a `Duration` field: `#[serde(with = "units::HumanDuration")]` (serde and the JSON
//! schema both read it; `units::OptionHumanDuration` for an `Option<Duration>`). As a clap
//! flag: `#[arg(value_parser = units::parse_duration)]`.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

/// Why a duration did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseDurationError {
    input: String,
    why: String,
}

impl fmt::Display for ParseDurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid duration {:?}: {}; write a number and a unit (ns, us, ms, s, m, h, d), e.g. \"250ms\", \"10s\", \"5m\", \"1h 30m\"",
            self.input, self.why
        )
    }
}

impl std::error::Error for ParseDurationError {}

/// Parses `"250ms"`, `"1.5s"`, `"1h 30m"` and the like.
pub fn parse_duration(input: &str) -> Result<Duration, ParseDurationError> {
    use humantime::DurationError as E;
    humantime::parse_duration(input.trim()).map_err(|e| ParseDurationError {
        input: input.to_string(),
        why: match e {
            E::Empty => "empty".into(),
            E::UnknownUnit { unit, .. } if unit.is_empty() => "missing unit".into(),
            E::UnknownUnit { unit, .. } => format!("unknown unit {unit:?}"),
            E::NumberExpected(_) => "a number was expected".into(),
            E::InvalidCharacter(at) => format!("invalid character at {at}"),
            E::NumberOverflow => "too large".into(),
        },
    })
}

/// The units a duration is written in, largest first, in nanoseconds.
const UNITS: [(&str, u128); 7] = [
    ("d", 86_400_000_000_000),
    ("h", 3_600_000_000_000),
    ("m", 60_000_000_000),
    ("s", 1_000_000_000),
    ("ms", 1_000_000),
    ("us", 1_000),
    ("ns", 1),
];

/// Writes a duration with the largest unit that represents it exactly: `"90s"`, `"2m"`.
pub fn format_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    if nanos == 0 {
        return "0s".to_string();
    }
    let (unit, scale) = UNITS
        .iter()
        .find(|(_, scale)| nanos % scale == 0)
        .copied()
        .unwrap_or(("ns", 1));
    format!("{}{unit}", nanos / scale)
}

/// The JSON schema of a duration string.
fn duration_schema() -> schemars::Schema {
    schemars::json_schema!({
        "type": "string",
        "description": "A duration: a number and a unit, or several (ns, us, ms, s, m, h, d), e.g. \"250ms\", \"10s\", \"5m\", \"1h 30m\"",
        "examples": ["250ms", "10s", "5m", "1h"],
    })
}

/// A `Duration` field written as text: `#[serde(with = "units::HumanDuration")]`. The JSON
/// schema derive reads the same attribute.
pub enum HumanDuration {}

impl HumanDuration {
    pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format_duration(*duration))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = Cow::<str>::deserialize(deserializer)?;
        parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for HumanDuration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        duration_schema()
    }
}

/// An `Option<Duration>` field written as text or `null`:
/// `#[serde(default, with = "units::OptionHumanDuration")]`.
pub enum OptionHumanDuration {}

impl OptionHumanDuration {
    pub fn serialize<S: Serializer>(
        duration: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match duration {
            Some(duration) => HumanDuration::serialize(duration, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        Option::<Cow<str>>::deserialize(deserializer)?
            .map(|text| parse_duration(&text).map_err(serde::de::Error::custom))
            .transpose()
    }
}

impl schemars::JsonSchema for OptionHumanDuration {
    fn schema_name() -> Cow<'static, str> {
        "OptionalDuration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut schema = duration_schema();
        schema.insert("type".into(), serde_json::json!(["string", "null"]));
        schema
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Result<(Duration, &str), &str>) {
        match (parse_duration(text), expected) {
            (Ok(got), Ok((duration, written))) => {
                assert_eq!(got, duration, "{text}");
                assert_eq!(format_duration(got), written, "{text}");
                assert_eq!(parse_duration(written), Ok(got), "{written} reads back");
            }
            (Err(error), Err(why)) => {
                assert_eq!(error.why, why, "{text}");
                assert!(error.to_string().contains("e.g. \"250ms\""));
            }
            (got, expected) => panic!("{text}: got {got:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn reads_and_writes() {
        let s = Duration::from_secs;
        for (text, duration, written) in [
            ("250ms", Duration::from_millis(250), "250ms"),
            ("10s", s(10), "10s"),
            ("5m", s(300), "5m"),
            ("1h", s(3600), "1h"),
            ("1.5s", Duration::from_millis(1500), "1500ms"),
            ("120s", s(120), "2m"),
            ("90s", s(90), "90s"),
            ("0s", Duration::ZERO, "0s"),
            (" 2d ", s(2 * 86_400), "2d"),
            ("1h 30m", s(5400), "90m"),
            ("1h30m", s(5400), "90m"),
            ("10 sec", s(10), "10s"),
            ("5min", s(300), "5m"),
            ("3ms 2us", Duration::from_micros(3002), "3002us"),
        ] {
            check(text, Ok((duration, written)));
        }
    }

    #[test]
    fn refuses_with_clear_errors() {
        for (text, why) in [
            ("10", "missing unit"),
            ("10 parsecs", "unknown unit \"parsecs\""),
            ("ms", "a number was expected"),
            ("", "empty"),
            ("x", "a number was expected"),
            ("-1s", "a number was expected"),
            ("99999999999999999999s", "too large"),
        ] {
            check(text, Err(why));
        }
    }
}
