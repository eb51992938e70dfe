//! The `client` section: a scripted AT client in the device's place, for scenarios that
//! drive the modem's own applications (HTTP, SMS, transparent mode) instead of running the
//! firmware.
//!
//! ```json
//! "client": { "steps": [
//!   { "expect": "SMS Ready", "within": "30s" },
//!   { "send": "AT+CMGF=1" },
//!   { "expect": "OK" },
//!   { "wait": "2s" },
//!   { "send_raw": "hello\u001a" },
//!   { "expect": { "prefix": "+CMGS: " }, "within": "10s" }
//! ] }
//! ```
//!
//! A step is one object with exactly one of `send` (a command line: CR appended), `send_raw`
//! (text as it is; JSON escapes such as `\u001a` for Ctrl-Z), `send_hex` (bytes in hex),
//! `expect` (a line, `within` a bound: default [`DEFAULT_WITHIN`]) and `wait` (a duration).
//! Steps run one after the other; the first `expect` that times out fails the run, and the
//! script stops there. Read through [`RawClientStep`], as timeline steps are.

use std::fmt;
use std::time::Duration;

use schemars::JsonSchema;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::expect::Pattern;
use super::hex::Hex;

/// How long an `expect` waits when the step does not say.
pub const DEFAULT_WITHIN: Duration = Duration::from_secs(5);

/// The client's script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Client {
    /// What the client does, in order.
    pub steps: Vec<ClientStep>,
}

/// One step of the client's script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawClientStep", into = "RawClientStep")]
pub enum ClientStep {
    /// Writes bytes to the modem's UART.
    Send(Vec<u8>),
    /// Waits for a line that matches, skipping the others, at most `within`.
    Expect { line: LinePattern, within: Duration },
    /// Lets time pass.
    Wait(Duration),
}

impl fmt::Display for ClientStep {
    /// The step in a few words, for the trace and failures.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientStep::Send(bytes) => write!(f, "send {}", protocol::text::Quoted(bytes)),
            ClientStep::Expect { line, within } => write!(
                f,
                "expect {} within {}",
                line.0,
                units::format_duration(*within)
            ),
            ClientStep::Wait(d) => write!(f, "wait {}", units::format_duration(*d)),
        }
    }
}

/// A client step as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [
    { "required": ["send"] }, { "required": ["send_raw"] }, { "required": ["send_hex"] },
    { "required": ["expect"] }, { "required": ["wait"] }
]))]
pub struct RawClientStep {
    /// A command line to write; a CR is appended (`"AT+HTTPINIT"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send: Option<String>,
    /// Text to write as it is (UTF-8; JSON escapes work: `"\u001a"` is Ctrl-Z).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_raw: Option<String>,
    /// Bytes to write, in hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_hex: Option<Hex>,
    /// A line the modem writes, waited for: the lines before it that do not match are
    /// skipped (a `send` drops what came and no `expect` took). A line ends at CR or LF; what came after the last one counts as a line too
    /// (a prompt such as `"> "`, or data in transparent mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<LinePattern>,
    /// `expect`: how long to wait for the line (default 5s); the run fails when it does not
    /// come.
    #[serde(
        default,
        with = "units::OptionHumanDuration",
        skip_serializing_if = "Option::is_none"
    )]
    pub within: Option<Duration>,
    /// Lets this much time pass (what the modem writes meanwhile is kept for the next
    /// `expect`).
    #[serde(
        default,
        with = "units::OptionHumanDuration",
        skip_serializing_if = "Option::is_none"
    )]
    pub wait: Option<Duration>,
}

impl TryFrom<RawClientStep> for ClientStep {
    type Error = String;

    fn try_from(raw: RawClientStep) -> Result<ClientStep, String> {
        let given = [
            raw.send.is_some(),
            raw.send_raw.is_some(),
            raw.send_hex.is_some(),
            raw.expect.is_some(),
            raw.wait.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(
                "a client step has exactly one of `send`, `send_raw`, `send_hex`, `expect` and `wait`"
                    .into(),
            );
        }
        if raw.within.is_some() && raw.expect.is_none() {
            return Err("`within` goes with `expect`".into());
        }
        Ok(if let Some(line) = raw.send {
            ClientStep::Send(format!("{line}\r").into_bytes())
        } else if let Some(text) = raw.send_raw {
            ClientStep::Send(text.into_bytes())
        } else if let Some(hex) = raw.send_hex {
            ClientStep::Send(hex.0)
        } else if let Some(line) = raw.expect {
            ClientStep::Expect {
                line,
                within: raw.within.unwrap_or(DEFAULT_WITHIN),
            }
        } else {
            ClientStep::Wait(raw.wait.unwrap_or_default())
        })
    }
}

impl From<ClientStep> for RawClientStep {
    /// Bytes are written back as the plainest form that gives them again.
    fn from(step: ClientStep) -> RawClientStep {
        let mut raw = RawClientStep {
            send: None,
            send_raw: None,
            send_hex: None,
            expect: None,
            within: None,
            wait: None,
        };
        match step {
            ClientStep::Send(bytes) => match String::from_utf8(bytes) {
                Ok(text) => match text.strip_suffix('\r') {
                    Some(line) if !line.contains(['\r', '\n']) => raw.send = Some(line.into()),
                    _ => raw.send_raw = Some(text),
                },
                Err(e) => raw.send_hex = Some(Hex(e.into_bytes())),
            },
            ClientStep::Expect { line, within } => {
                raw.expect = Some(line);
                raw.within = Some(within);
            }
            ClientStep::Wait(d) => raw.wait = Some(d),
        }
        raw
    }
}

impl JsonSchema for ClientStep {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ClientStep".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        RawClientStep::json_schema(generator)
    }
}

/// The line an `expect` waits for: a string is the whole line (`"OK"`), an object one of
/// the patterns expectations use (`{ "prefix": "+HTTPACTION: 0," }`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinePattern(pub Pattern);

impl Serialize for LinePattern {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Pattern::Text(text) => s.serialize_str(text),
            other => other.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for LinePattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<LinePattern, D::Error> {
        struct LineVisitor;

        impl<'de> Visitor<'de> for LineVisitor {
            type Value = LinePattern;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a line (a string) or a pattern (`text`, `prefix`, `contains`, `hex`)")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<LinePattern, E> {
                Ok(LinePattern(Pattern::Text(text.into())))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<LinePattern, A::Error> {
                Pattern::deserialize(de::value::MapAccessDeserializer::new(map)).map(LinePattern)
            }
        }

        d.deserialize_any(LineVisitor)
    }
}

impl JsonSchema for LinePattern {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "LinePattern".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let pattern = generator.subschema_for::<Pattern>();
        schemars::json_schema!({
            "description": "A line: a string is the whole line, an object a pattern.",
            "anyOf": [{ "type": "string" }, pattern],
        })
    }
}
