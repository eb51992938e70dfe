//! Durations as short strings in configuration and scenario files: `"250ms"`, `"10s"`, `"5m"`,
//! `"1h"`. Use with `#[serde(with = "crate::fault::duration")]` and
//! `#[schemars(schema_with = "crate::fault::duration::schema")]`.
//!
//! Accepted units: `ns`, `us`, `ms`, `s`, `m` (minutes), `h`, `d`. The number may have a
//! fraction (`"1.5s"`). Writing picks the largest unit that represents the value exactly, so
//! a value read and written again keeps its text (`"90s"` stays `"90s"`, `"120s"` becomes `"2m"`).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

/// Why a duration string did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseDurationError {
    input: String,
    why: &'static str,
}

impl fmt::Display for ParseDurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid duration {:?}: {}; write a number and a unit (ns, us, ms, s, m, h, d), e.g. \"250ms\", \"10s\", \"5m\", \"1h\"",
            self.input, self.why
        )
    }
}

impl std::error::Error for ParseDurationError {}

const UNITS: [(&str, u128); 7] = [
    ("d", 86_400_000_000_000),
    ("h", 3_600_000_000_000),
    ("m", 60_000_000_000),
    ("s", 1_000_000_000),
    ("ms", 1_000_000),
    ("us", 1_000),
    ("ns", 1),
];

/// Parses `"250ms"`, `"1.5s"`, `"5m"` and the like.
pub fn parse(input: &str) -> Result<Duration, ParseDurationError> {
    let err = |why| ParseDurationError {
        input: input.to_string(),
        why,
    };
    let text = input.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| err("missing unit"))?;
    let (number, unit) = text.split_at(split);
    if number.is_empty() {
        return Err(err("missing number"));
    }
    let scale = UNITS
        .iter()
        .find(|(name, _)| *name == unit.trim())
        .map(|&(_, scale)| scale)
        .ok_or_else(|| err("unknown unit"))?;
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return Err(err("missing number"));
    }
    let digits = |s: &str| -> Result<u128, ParseDurationError> {
        if s.is_empty() {
            Ok(0)
        } else {
            s.parse::<u128>().map_err(|_| err("not a number"))
        }
    };
    let mut nanos = digits(whole)?
        .checked_mul(scale)
        .ok_or_else(|| err("too large"))?;
    // The fraction in units of `scale`: 0.25 s = 25 * 1e9 / 100.
    if !fraction.is_empty() {
        if fraction.len() > 18 {
            return Err(err("too many decimals"));
        }
        let denominator = 10u128.pow(fraction.len() as u32);
        nanos += digits(fraction)? * scale / denominator;
    }
    let secs = u64::try_from(nanos / 1_000_000_000).map_err(|_| err("too large"))?;
    Ok(Duration::new(secs, (nanos % 1_000_000_000) as u32))
}

/// Writes a duration with the largest unit that represents it exactly.
pub fn format(duration: Duration) -> String {
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

pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format(*duration))
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse(&text).map_err(serde::de::Error::custom)
}

/// The JSON schema of a duration string.
pub fn schema(_generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "string",
        "pattern": r"^\s*[0-9]*\.?[0-9]+\s*(ns|us|ms|s|m|h|d)\s*$",
        "description": "A duration: a number and a unit (ns, us, ms, s, m, h, d), e.g. \"250ms\", \"10s\", \"5m\", \"1h\"",
        "examples": ["250ms", "10s", "5m", "1h"],
    })
}

/// The same for `Option<Duration>` (`null` or absent is `None`; use with `#[serde(default)]`).
pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(
        duration: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match duration {
            Some(duration) => super::serialize(duration, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|text| parse(&text).map_err(serde::de::Error::custom))
            .transpose()
    }

    pub fn schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut schema = super::schema(generator);
        schema.insert("type".into(), serde_json::json!(["string", "null"]));
        schema
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        let cases = [
            ("250ms", Duration::from_millis(250), "250ms"),
            ("10s", Duration::from_secs(10), "10s"),
            ("5m", Duration::from_secs(300), "5m"),
            ("1h", Duration::from_secs(3600), "1h"),
            ("1.5s", Duration::from_millis(1500), "1500ms"),
            ("120s", Duration::from_secs(120), "2m"),
            ("0s", Duration::ZERO, "0s"),
            (" 2d ", Duration::from_secs(2 * 86_400), "2d"),
            (".5ms", Duration::from_micros(500), "500us"),
        ];
        for (text, duration, written) in cases {
            assert_eq!(parse(text), Ok(duration), "{text}");
            assert_eq!(format(duration), written, "{text}");
        }
    }

    #[test]
    fn rejects_with_clear_errors() {
        for (text, why) in [
            ("10", "missing unit"),
            ("10 sec", "unknown unit"),
            ("ms", "missing number"),
            ("1.2.3s", "not a number"),
            ("", "missing unit"),
            ("x", "missing number"),
            (".s", "missing number"),
        ] {
            let error = parse(text).unwrap_err();
            assert_eq!(error.why, why, "{text}");
            assert!(error.to_string().contains("e.g. \"250ms\""));
        }
    }
}
