//! Checked knobs: serde helpers that refuse, with a clear error, values a model cannot run
//! with (a zero where time must pass, sizes no stack has). Used as
//! `#[serde(with = "crate::knob::NonZeroDuration")]` or
//! `#[serde(with = "crate::knob::Range::<1, 65495>")]`; the JSON schema derive reads the
//! same attribute and writes the limits into the schema.

use std::borrow::Cow;
use std::time::Duration;

use serde::de::{Error as _, Unexpected};
use serde::{Deserializer, Serialize, Serializer};

/// A duration written as text (`units::HumanDuration`) that must be more than zero.
pub enum NonZeroDuration {}

impl NonZeroDuration {
    pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        units::HumanDuration::serialize(duration, serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let duration = units::HumanDuration::deserialize(deserializer)?;
        if duration.is_zero() {
            return Err(D::Error::invalid_value(
                Unexpected::Str("0s"),
                &"a duration of more than 0s",
            ));
        }
        Ok(duration)
    }
}

impl schemars::JsonSchema for NonZeroDuration {
    fn schema_name() -> Cow<'static, str> {
        "NonZeroDuration".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut schema = units::HumanDuration::json_schema(generator);
        schema.insert(
            "description".into(),
            "A duration of more than zero: a number and a unit, or several (ns, us, ms, s, m, h, d), e.g. \"250ms\", \"10s\", \"5m\", \"1h 30m\"".into(),
        );
        schema
    }
}

/// A whole number within `MIN..=MAX` (bytes, counts).
pub struct Range<const MIN: u64, const MAX: u64>;

impl<const MIN: u64, const MAX: u64> Range<MIN, MAX> {
    pub fn serialize<T: Serialize, S: Serializer>(
        value: &T,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        value.serialize(serializer)
    }

    pub fn deserialize<'de, T: TryFrom<u64>, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<T, D::Error> {
        let n = deserializer.deserialize_any(WholeNumber::<MIN, MAX>)?;
        T::try_from(n).map_err(|_| D::Error::custom(format!("{n} does not fit this knob")))
    }
}

/// Reads a number and refuses what is not a whole number in `MIN..=MAX`, saying so.
struct WholeNumber<const MIN: u64, const MAX: u64>;

impl<const MIN: u64, const MAX: u64> WholeNumber<MIN, MAX> {
    fn check<E: serde::de::Error>(found: Unexpected<'_>, n: Option<u64>) -> Result<u64, E> {
        n.filter(|n| (MIN..=MAX).contains(n)).ok_or_else(|| {
            E::invalid_value(
                found,
                &format!("a whole number from {MIN} to {MAX}").as_str(),
            )
        })
    }
}

impl<const MIN: u64, const MAX: u64> serde::de::Visitor<'_> for WholeNumber<MIN, MAX> {
    type Value = u64;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a whole number from {MIN} to {MAX}")
    }

    fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<u64, E> {
        Self::check(Unexpected::Unsigned(n), Some(n))
    }

    fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<u64, E> {
        Self::check(Unexpected::Signed(n), u64::try_from(n).ok())
    }

    fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<u64, E> {
        Self::check(Unexpected::Float(n), None)
    }
}

impl<const MIN: u64, const MAX: u64> schemars::JsonSchema for Range<MIN, MAX> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        format!("Range_{MIN}_to_{MAX}").into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "integer",
            "minimum": MIN,
            "maximum": MAX,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Knobs {
        #[serde(default = "second", with = "NonZeroDuration")]
        wait: Duration,
        #[serde(default, with = "Range::<1, 1460>")]
        mss: u16,
    }

    fn second() -> Duration {
        Duration::from_secs(1)
    }

    #[test]
    fn refuses_what_cannot_run() {
        // (JSON, the error it gives, or None)
        let cases = [
            (r#"{"wait": "2s", "mss": 1460}"#, None),
            (
                r#"{"wait": "0s"}"#,
                Some("expected a duration of more than 0s"),
            ),
            (
                r#"{"wait": "0ms"}"#,
                Some("expected a duration of more than 0s"),
            ),
            (
                r#"{"mss": 0}"#,
                Some("invalid value: integer `0`, expected a whole number from 1 to 1460"),
            ),
            (
                r#"{"mss": 1461}"#,
                Some("expected a whole number from 1 to 1460"),
            ),
            (
                r#"{"mss": -5}"#,
                Some("invalid value: integer `-5`, expected a whole number from 1 to 1460"),
            ),
            (
                r#"{"mss": 99999999999999999999}"#,
                Some("expected a whole number from 1 to 1460"),
            ),
            (
                r#"{"mss": 1.5}"#,
                Some("invalid value: floating point `1.5`, expected a whole number from 1 to 1460"),
            ),
            (
                r#"{"mss": "10"}"#,
                Some("invalid type: string \"10\", expected a whole number from 1 to 1460"),
            ),
        ];
        for (json, error) in cases {
            let got = serde_json::from_str::<Knobs>(json).map_err(|e| e.to_string());
            match (got, error) {
                (Ok(knobs), None) => {
                    assert_eq!((knobs.wait, knobs.mss), (Duration::from_secs(2), 1460))
                }
                (Err(got), Some(error)) => assert!(got.contains(error), "{json}: {got}"),
                (got, _) => panic!("{json}: {got:?}"),
            }
        }
    }
}
