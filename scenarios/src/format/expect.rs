//! Expectations: what must (or must not) happen, what they look at (`What`, `Pattern`), the
//! window each looks in, and their one-line summaries.
//!
//! An expectation is written as one flat object (`expect` says which kind, and which keys go
//! with it); it is read through [`RawExpectation`], which holds the window's keys once for
//! every kind (serde's `flatten` does not combine with `deny_unknown_fields`), and checked
//! into an [`Expectation`], its count rule normalised once.

use std::fmt;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::hex::Hex;

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
    /// The firmware reported something: by its kind and fields (`{"kind": "ModemRestart",
    /// "reason": "Unresponsive"}`), or by its text as the trace writes it (`{"text":
    /// "Phase(Connected)"}`, `{"prefix": "Dropped"}`), which starts with a report kind.
    Report(ReportPattern),
    /// The lab's phone got an SMS from the device: its text.
    Sms(Pattern),
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

/// How to match a firmware report: typed, by its kind and some of its fields, or by its text.
/// The loader refuses a kind the firmware does not report and a field the kind does not have,
/// and a text pattern that does not start with a kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    try_from = "serde_json::Map<String, serde_json::Value>",
    into = "serde_json::Map<String, serde_json::Value>"
)]
pub enum ReportPattern {
    /// A report of this kind whose fields (the report's JSON form, `trace::FwReport::fields`)
    /// equal these.
    Typed {
        kind: String,
        fields: serde_json::Map<String, serde_json::Value>,
    },
    /// The report's text form.
    Text(Pattern),
}

impl ReportPattern {
    /// Whether a typed report matches (a typed pattern); `None` for a text pattern.
    pub fn matches_typed(&self, report: &crate::trace::FwReport) -> Option<bool> {
        let ReportPattern::Typed { kind, fields } = self else {
            return None;
        };
        if report.kind() != kind {
            return Some(false);
        }
        let have = report.fields();
        Some(fields.iter().all(|(k, v)| have.get(k) == Some(v)))
    }
}

impl TryFrom<serde_json::Map<String, serde_json::Value>> for ReportPattern {
    type Error = String;

    fn try_from(mut map: serde_json::Map<String, serde_json::Value>) -> Result<Self, String> {
        match map.remove("kind") {
            Some(serde_json::Value::String(kind)) => Ok(ReportPattern::Typed { kind, fields: map }),
            Some(other) => Err(format!("`kind` is a report kind's name, not {other}")),
            None => serde_json::from_value(map.into())
                .map(ReportPattern::Text)
                .map_err(|e| format!("{e}; or a typed pattern: `kind` and fields")),
        }
    }
}

impl From<ReportPattern> for serde_json::Map<String, serde_json::Value> {
    fn from(pattern: ReportPattern) -> Self {
        match pattern {
            ReportPattern::Typed { kind, fields } => {
                let mut map = serde_json::Map::new();
                map.insert("kind".into(), kind.into());
                map.extend(fields);
                map
            }
            ReportPattern::Text(pattern) => match serde_json::to_value(pattern) {
                Ok(serde_json::Value::Object(map)) => map,
                _ => unreachable!("a pattern serializes as an object"),
            },
        }
    }
}

/// A text pattern, or one shape per report kind with its fields (each typed as the report
/// writes it), so that editors offer the kinds and their fields.
impl JsonSchema for ReportPattern {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ReportPattern".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let text = generator.subschema_for::<Pattern>();
        let mut shapes = vec![serde_json::to_value(text).unwrap_or_default()];
        for (kind, fields) in crate::trace::FwReport::kind_fields() {
            let mut properties = serde_json::Map::new();
            properties.insert("kind".into(), serde_json::json!({ "const": kind }));
            for (field, value) in fields {
                let form = match value {
                    serde_json::Value::Bool(_) => serde_json::json!({ "type": "boolean" }),
                    serde_json::Value::Number(_) => {
                        serde_json::json!({ "type": ["integer", "null"] })
                    }
                    serde_json::Value::Null => serde_json::json!({}),
                    _ => serde_json::json!({ "type": "string" }),
                };
                properties.insert(field, form);
            }
            shapes.push(serde_json::json!({
                "type": "object",
                "properties": properties,
                "required": ["kind"],
                "additionalProperties": false,
            }));
        }
        schemars::json_schema!({
            "description": "A firmware report: typed, by `kind` and some of its fields, or by its text (`text`, `prefix`, `contains`), which starts with a report kind.",
            "oneOf": shapes,
        })
    }
}

impl fmt::Display for ReportPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportPattern::Text(pattern) => pattern.fmt(f),
            ReportPattern::Typed { kind, fields } => {
                f.write_str(kind)?;
                if !fields.is_empty() {
                    let fields: Vec<String> =
                        fields.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                    write!(f, " {{ {} }}", fields.join(", "))?;
                }
                Ok(())
            }
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
            What::Sms(p) => write!(f, "lab got an SMS {p}"),
            What::Fault(kind) => write!(f, "fault {kind}"),
            What::Accepted => write!(f, "server accepted a connection"),
            What::Closed => write!(f, "a server connection closed"),
        }
    }
}

/// What must (or must not) happen in a window. See the module documentation of
/// [`crate::format`] for windows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawExpectation", into = "RawExpectation")]
pub struct Expectation {
    /// The name other expectations anchor to (the time of its first match).
    pub id: Option<String>,
    pub window: Window,
    pub check: Check,
}

/// What an expectation checks in its window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// `what` happens as many times as `times` allows.
    Happens { what: What, times: Times },
    /// `what` never happens.
    Never { what: What },
    /// `what` happens every `every` ± `tolerance`, edges of the window included.
    Periodic {
        what: What,
        every: Duration,
        tolerance: Duration,
    },
    /// Every message that asks for a reply is answered exactly once, within `within`.
    Answered { within: Option<Duration> },
    /// The run keeps the invariant of this name (`crate::invariants`), over the whole run.
    Invariant { name: String },
}

impl Check {
    /// What it looks for in the trace (`answered` looks at the lab's messages).
    pub fn what(&self) -> Option<&What> {
        match self {
            Check::Happens { what, .. } | Check::Never { what } | Check::Periodic { what, .. } => {
                Some(what)
            }
            Check::Answered { .. } | Check::Invariant { .. } => None,
        }
    }
}

/// How many times `happens` wants: `count` (exactly), or `min` (default 1) to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Times {
    pub min: u32,
    pub max: Option<u32>,
}

impl Times {
    pub fn allows(self, n: u32) -> bool {
        n >= self.min && self.max.is_none_or(|max| n <= max)
    }

    /// Exactly one number.
    pub fn exact(self) -> Option<u32> {
        (self.max == Some(self.min)).then_some(self.min)
    }
}

/// Where an expectation looks: `from`..`to` counted from `after`, ended early by `until`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Window {
    pub after: Option<String>,
    /// The window also ends when this anchor happens.
    pub until: Option<String>,
    pub from: Duration,
    pub to: Option<Duration>,
}

impl Window {
    /// The anchors it names: `after`, then `until`.
    pub fn anchors(&self) -> impl Iterator<Item = &str> {
        self.after.iter().chain(&self.until).map(String::as_str)
    }
}

/// The kinds of expectation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(inline)]
pub enum Kind {
    /// `what` happens in the window: at least once, or as `count` / `min` / `max` say. Its
    /// match time (for others' `after`) is the first occurrence.
    Happens,
    /// `what` never happens in the window.
    Never,
    /// `what` happens every `every` (± `tolerance`) throughout the window: between two
    /// occurrences, and from the window's start to the first and from the last to its end,
    /// no more than `every` + `tolerance`; between two, no less than `every` − `tolerance`.
    Periodic,
    /// Every message the lab server sends in the window that asks for a reply (`back…`,
    /// `bin`, `time`: B2–B4) is answered, exactly once, within `within` of being sent: the
    /// same bytes, `11 22 33`, or the Unix time (± 5 s of the network's). Nothing is lost
    /// and nothing is doubled, whatever happens to the connection meanwhile.
    Answered,
    /// The run keeps an invariant (`invariant` names it: `answered`, `no_command_in_data`,
    /// `only_asked_for`, `replies_unchanged`, `outbox_bounded`, `healthy_modem_kept`,
    /// `reconnected`, `heartbeat_grid`, `replies_delivered`; see
    /// `scenarios/src/invariants.rs`), judged over the whole run with the bounds the device's
    /// configuration gives: no window.
    Invariant,
}

impl Kind {
    /// The keys that go with this kind besides `expect`, `id` and the window's, and those
    /// of them it needs.
    fn keys(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            Kind::Happens => (&["what", "count", "min", "max"], &["what"]),
            Kind::Never => (&["what"], &["what"]),
            Kind::Periodic => (&["what", "every", "tolerance"], &["what", "every"]),
            Kind::Answered => (&["within"], &[]),
            Kind::Invariant => (&["invariant"], &["invariant"]),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Happens => "happens",
            Kind::Never => "never",
            Kind::Periodic => "periodic",
            Kind::Answered => "answered",
            Kind::Invariant => "invariant",
        }
    }
}

/// The keys every kind takes besides its own.
const SHARED_KEYS: [&str; 5] = ["id", "after", "until", "from", "to"];

/// An expectation as written: every key of every kind, each once; [`Expectation`]'s
/// `TryFrom` checks which go together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawExpectation {
    /// The kind of expectation.
    pub expect: Kind,
    /// A name for others' `after` / `until`: the time of this one's first match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// What to look for (`happens`, `never`, `periodic`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub what: Option<What>,
    /// `happens`: exactly this many times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// `happens`: at least this many times (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u32>,
    /// `happens`: at most this many times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u32>,
    /// `periodic`: the period.
    #[serde(
        default,
        with = "units::OptionHumanDuration",
        skip_serializing_if = "Option::is_none"
    )]
    pub every: Option<Duration>,
    /// `periodic`: how far a gap may be from the period (default 0s).
    #[serde(
        default,
        with = "units::OptionHumanDuration",
        skip_serializing_if = "Option::is_none"
    )]
    pub tolerance: Option<Duration>,
    /// `invariant`: the invariant's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invariant: Option<String>,
    /// `answered`: how soon after being sent a message must be answered.
    #[serde(
        default,
        with = "units::OptionHumanDuration",
        skip_serializing_if = "Option::is_none"
    )]
    pub within: Option<Duration>,
    /// The anchor the window counts from: a step id, `<id>.end`, or an expectation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// An anchor that ends the window early, when it happens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// Where the window starts, from `after`.
    #[serde(
        default,
        with = "units::HumanDuration",
        skip_serializing_if = "Duration::is_zero"
    )]
    pub from: Duration,
    /// Where the window ends, from `after` (default: the end of the run).
    #[serde(
        default,
        with = "units::OptionHumanDuration",
        skip_serializing_if = "Option::is_none"
    )]
    pub to: Option<Duration>,
}

impl RawExpectation {
    /// The kind-specific keys the object holds.
    fn given(&self) -> impl Iterator<Item = &'static str> + '_ {
        [
            ("what", self.what.is_some()),
            ("count", self.count.is_some()),
            ("min", self.min.is_some()),
            ("max", self.max.is_some()),
            ("every", self.every.is_some()),
            ("tolerance", self.tolerance.is_some()),
            ("within", self.within.is_some()),
            ("invariant", self.invariant.is_some()),
        ]
        .into_iter()
        .filter_map(|(key, given)| given.then_some(key))
    }
}

impl TryFrom<RawExpectation> for Expectation {
    type Error = String;

    fn try_from(raw: RawExpectation) -> Result<Expectation, String> {
        let kind = raw.expect;
        let (keys, needed) = kind.keys();
        if let Some(stray) = raw.given().find(|key| !keys.contains(key)) {
            return Err(format!("`{stray}` does not go with `{}`", kind.name()));
        }
        let given: Vec<&str> = raw.given().collect();
        if let Some(missing) = needed.iter().find(|key| !given.contains(key)) {
            return Err(format!(
                "missing field `{missing}` (`{}` needs it)",
                kind.name()
            ));
        }
        let what = || raw.what.clone().ok_or("missing field `what`");
        let check = match kind {
            Kind::Happens => Check::Happens {
                what: what()?,
                times: times(raw.count, raw.min, raw.max)?,
            },
            Kind::Never => Check::Never { what: what()? },
            Kind::Periodic => Check::Periodic {
                what: what()?,
                every: raw.every.ok_or("missing field `every`")?,
                tolerance: raw.tolerance.unwrap_or_default(),
            },
            Kind::Answered => Check::Answered { within: raw.within },
            Kind::Invariant => {
                let windowed = raw.after.is_some()
                    || raw.until.is_some()
                    || raw.to.is_some()
                    || !raw.from.is_zero();
                if windowed {
                    return Err("an invariant is judged over the whole run: no `after`, `until`, `from` or `to`".into());
                }
                Check::Invariant {
                    name: raw.invariant.clone().ok_or("missing field `invariant`")?,
                }
            }
        };
        Ok(Expectation {
            id: raw.id,
            window: Window {
                after: raw.after,
                until: raw.until,
                from: raw.from,
                to: raw.to,
            },
            check,
        })
    }
}

/// The count rule, once: `count` is exactly; otherwise `min` (default 1) to `max`.
fn times(count: Option<u32>, min: Option<u32>, max: Option<u32>) -> Result<Times, String> {
    let times = match (count, min, max) {
        (Some(n), None, None) => Times {
            min: n,
            max: Some(n),
        },
        (Some(_), ..) => return Err("`count` goes with neither `min` nor `max`".into()),
        (None, min, max) => Times {
            min: min.unwrap_or(1),
            max,
        },
    };
    match times.max {
        Some(max) if max < times.min => {
            Err(format!("`min` ({}) is more than `max` ({max})", times.min))
        }
        _ => Ok(times),
    }
}

impl From<Expectation> for RawExpectation {
    fn from(e: Expectation) -> RawExpectation {
        let mut raw = RawExpectation {
            expect: Kind::Answered,
            id: e.id,
            what: None,
            count: None,
            min: None,
            max: None,
            every: None,
            tolerance: None,
            within: None,
            invariant: None,
            after: e.window.after,
            until: e.window.until,
            from: e.window.from,
            to: e.window.to,
        };
        match e.check {
            Check::Happens { what, times } => {
                raw.expect = Kind::Happens;
                raw.what = Some(what);
                match times.exact() {
                    Some(n) => raw.count = Some(n),
                    None => {
                        raw.min = (times.min != 1).then_some(times.min);
                        raw.max = times.max;
                    }
                }
            }
            Check::Never { what } => {
                raw.expect = Kind::Never;
                raw.what = Some(what);
            }
            Check::Periodic {
                what,
                every,
                tolerance,
            } => {
                raw.expect = Kind::Periodic;
                raw.what = Some(what);
                raw.every = Some(every);
                raw.tolerance = Some(tolerance);
            }
            Check::Answered { within } => raw.within = within,
            Check::Invariant { name } => {
                raw.expect = Kind::Invariant;
                raw.invariant = Some(name);
            }
        }
        raw
    }
}

/// One object shape per kind, each with its own keys and the shared ones (all documented
/// once, on [`RawExpectation`]), so that editors offer the right keys.
impl JsonSchema for Expectation {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Expectation".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let raw = RawExpectation::json_schema(generator);
        let properties = raw
            .get("properties")
            .and_then(serde_json::Value::as_object)
            .cloned()
            .unwrap_or_default();
        // The keys a kind needs, without the `null` their optional raw form allows.
        let needed_forms = [
            ("what", generator.subschema_for::<What>()),
            ("every", generator.subschema_for::<units::HumanDuration>()),
        ];
        let kinds = [
            Kind::Happens,
            Kind::Never,
            Kind::Periodic,
            Kind::Answered,
            Kind::Invariant,
        ];
        let shapes: Vec<serde_json::Value> = kinds
            .into_iter()
            .map(|kind| {
                let (keys, needed) = kind.keys();
                let mut shape = serde_json::Map::new();
                shape.insert(
                    "expect".into(),
                    serde_json::json!({ "type": "string", "const": kind.name() }),
                );
                for key in keys.iter().chain(&SHARED_KEYS) {
                    let Some(property) = properties.get(*key) else {
                        continue;
                    };
                    let needed_form = needed_forms
                        .iter()
                        .find(|(k, _)| needed.contains(k) && k == key);
                    let property = match needed_form {
                        Some((_, form)) => {
                            let mut form = form.clone();
                            if let (Some(map), Some(doc)) =
                                (form.as_object_mut(), property.get("description"))
                            {
                                map.insert("description".into(), doc.clone());
                            }
                            form.into()
                        }
                        None => property.clone(),
                    };
                    shape.insert(key.to_string(), property);
                }
                let mut required = vec!["expect"];
                required.extend(needed);
                serde_json::json!({
                    "description": kind_description(generator, kind),
                    "type": "object",
                    "properties": shape,
                    "additionalProperties": false,
                    "required": required,
                })
            })
            .collect();
        schemars::json_schema!({
            "description": "What must (or must not) happen in a window: `expect` says which kind.",
            "oneOf": shapes,
        })
    }
}

/// A kind's documentation, as its schema carries it.
fn kind_description(generator: &mut schemars::SchemaGenerator, kind: Kind) -> serde_json::Value {
    let schema = Kind::json_schema(generator);
    let variants = schema.get("oneOf").and_then(serde_json::Value::as_array);
    variants
        .into_iter()
        .flatten()
        .find(|v| v.get("const").and_then(serde_json::Value::as_str) == Some(kind.name()))
        .and_then(|v| v.get("description"))
        .cloned()
        .unwrap_or_default()
}

impl Expectation {
    /// The expectation in a few words, for tables and reports.
    pub fn summary(&self) -> String {
        let mut text = match &self.check {
            Check::Happens { what, times } => {
                let times = match (times.exact(), times) {
                    (Some(n), _) => format!(" exactly {n}x"),
                    (None, Times { min: 1, max: None }) => String::new(),
                    (None, Times { min, max }) => {
                        format!(" {min}..{}x", max.map_or(String::new(), |m| m.to_string()))
                    }
                };
                format!("{what}{times}")
            }
            Check::Never { what } => format!("never: {what}"),
            Check::Periodic {
                what,
                every,
                tolerance,
            } => format!(
                "{what} every {} ± {}",
                units::format_duration(*every),
                units::format_duration(*tolerance)
            ),
            Check::Answered { within } => format!(
                "every back/bin/time answered once{}",
                within.map_or(String::new(), |w| format!(
                    " within {}",
                    units::format_duration(w)
                ))
            ),
            Check::Invariant { name } => return format!("invariant {name}"),
        };
        let window = &self.window;
        text.push_str(&format!(
            " [{}{}..{}{}]",
            window
                .after
                .as_ref()
                .map_or(String::new(), |a| format!("{a} + ")),
            units::format_duration(window.from),
            window.to.map_or("end".to_string(), units::format_duration),
            window
                .until
                .as_ref()
                .map_or(String::new(), |u| format!(" until {u}")),
        ));
        text
    }
}
