//! The scenario format: JSON, read with serde, its JSON Schema generated from these types
//! (`scenarios/scenario.schema.json`, checked in; `UPDATE_EXPECT=1 cargo test -p scenarios --test format` writes it).
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
//!
//! # Layout
//!
//! [`scenario`](Scenario) holds the top-level object; `device` the firmware's configuration
//! (a partial `firmware::Config`, through its own deserializer); `client` the scripted AT
//! client that can take the device's place; `modem` the profile
//! override (hand-written serde and schema); `timeline` the steps and random faults; `expect`
//! the expectations, their patterns and windows; `hex` bytes in hex. Here, [`parse`] reads
//! with serde, then `validate` checks what the types cannot; `location` turns either's error
//! into `path:line:column`.

mod client;
mod device;
mod expect;
mod hex;
mod location;
mod modem;
mod scenario;
mod timeline;
mod validate;

use std::fmt;
use std::path::Path;

pub use client::{Client, ClientStep, LinePattern, RawClientStep, DEFAULT_WITHIN};
pub use device::Device;
pub use expect::{
    Check, Expectation, Kind, Pattern, RawExpectation, ReportPattern, Times, What, Window,
};
pub use hex::Hex;
pub use modem::{Modem, ModemProfile};
pub use scenario::{KnownFailure, Scenario};
pub use timeline::{LabAction, RandomFault, RandomFaults, RawStep, Step, StepKind};

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
    let refused = |offset: usize, message: String| {
        let (line, column) = location::line_column(text, offset);
        LoadError {
            path: path.to_string(),
            line,
            column,
            message,
        }
    };
    let mut reader = serde_json::Deserializer::from_str(text);
    let scenario: Scenario = serde_path_to_error::deserialize(&mut reader)
        .map_err(|e| {
            let segments = location::segments(e.path());
            (segments, e.into_inner())
        })
        .and_then(|scenario| match reader.end() {
            Ok(()) => Ok(scenario),
            Err(e) => Err((Vec::new(), e)),
        })
        .map_err(|(segments, e)| {
            let message = serde_message(&e);
            // Past the syntax, the path says which key or value is at fault.
            let stop = location::offset(text, e.line(), e.column());
            let place = match e.classify() {
                serde_json::error::Category::Data => {
                    location::serde_place(text, &segments, stop, &message)
                }
                _ => None,
            };
            match place {
                Some(offset) => refused(offset, message),
                None => LoadError {
                    path: path.to_string(),
                    line: e.line(),
                    column: e.column(),
                    message,
                },
            }
        })?;
    validate::validate(&scenario).map_err(|invalid| {
        let found = location::find(text, &invalid.path);
        refused(found.map_or(0, |f| f.value.start), invalid.message)
    })?;
    Ok(scenario)
}

/// serde_json's message without the position it appends (`path:line:column` says it).
fn serde_message(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    match message.strip_suffix(&suffix) {
        Some(bare) => bare.to_string(),
        None => message,
    }
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
