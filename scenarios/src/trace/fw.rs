//! The firmware's reports as the trace keeps them: [`Reported`], the text form the JSON Lines
//! write (`firmware::Report`'s `Display`) and, when the firmware ran in the process, the
//! typed form [`FwReport`]: the report's kind and its fields as values, its bytes owned.
//!
//! Checks and the swarm's invariants judge the typed form (`FwReport::Dropped { reason:
//! DropReason::Full, .. }`), never the text. A scenario's typed report pattern
//! (`{"kind": "ModemRestart", "reason": "Unresponsive"}`) matches the fields of
//! [`FwReport::fields`], the report as a JSON object: enum values by their variant's name,
//! numbers as numbers, bytes as text one character per byte. [`FwReport::kind_fields`] lists
//! each kind's fields, for the scenario loader to refuse an unknown one.
//!
//! `FwReport` mirrors `firmware::Report` variant by variant: a report's one value becomes a
//! named field (`Phase(Connected)` is `{"kind": "Phase", "phase": "Connected"}`), and the
//! outbox's message kind is `message` (the key `kind` names the report's kind). The
//! conversion from `firmware::Report` has no wildcard, so a new firmware report does not
//! build until it is mirrored here.

use std::fmt::Debug;
use std::net::Ipv4Addr;

use embedded_io_async::ErrorKind;
use firmware::outbox::{DropReason, Kind};
use firmware::{LedState, LinkLoss, Model, Phase, PowerAction, Report, RestartReason};
use protocol::response::DecodeError;
use protocol::types::{IpState, RegStat};
use serde::{Serialize, Serializer};

use super::Bytes;

/// A firmware report in the trace: its text form, and its typed form when the firmware ran
/// in the process (a device outside it shows only its log's text).
#[derive(Debug, Clone, PartialEq)]
pub struct Reported {
    pub text: String,
    pub typed: Option<FwReport>,
}

impl Reported {
    /// A report the firmware made in the process: both forms.
    pub fn new(report: &Report<'_>) -> Reported {
        Reported {
            text: report.to_string(),
            typed: Some(FwReport::from(report)),
        }
    }

    /// A report known only by its text (a device's log line).
    pub fn text(text: impl Into<String>) -> Reported {
        Reported {
            text: text.into(),
            typed: None,
        }
    }
}

/// The text form: what the trace writes, and what text patterns match.
impl std::ops::Deref for Reported {
    type Target = str;

    fn deref(&self) -> &str {
        &self.text
    }
}

impl std::fmt::Display for Reported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialEq<str> for Reported {
    fn eq(&self, text: &str) -> bool {
        self.text == text
    }
}

/// Written as its text form: the JSON Lines hold only that.
impl Serialize for Reported {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

/// `firmware::Report`, owned. See the module documentation for the field names.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind")]
pub enum FwReport {
    Phase {
        #[serde(serialize_with = "name")]
        phase: Phase,
    },
    Led {
        #[serde(serialize_with = "name")]
        state: LedState,
    },
    WatchdogFed,
    ModemRestart {
        #[serde(serialize_with = "name")]
        reason: RestartReason,
        #[serde(serialize_with = "name")]
        action: PowerAction,
    },
    ModemReady {
        #[serde(serialize_with = "name")]
        model: Model,
        links: u8,
    },
    Registration {
        #[serde(serialize_with = "name")]
        stat: RegStat,
    },
    IpState {
        #[serde(serialize_with = "name")]
        state: IpState,
    },
    IpAddress {
        address: Ipv4Addr,
    },
    FlightMode {
        on: bool,
    },
    Signal {
        rssi: u8,
        ber: u8,
    },
    /// The cell's location area code and cell id, when the modem gave them.
    Cell {
        #[serde(serialize_with = "name")]
        stat: RegStat,
        lac: Option<u16>,
        ci: Option<u32>,
    },
    Connected,
    ConnectFailed {
        failures: u8,
    },
    DataLinkShut,
    LinkLost {
        #[serde(serialize_with = "name")]
        reason: LinkLoss,
    },
    Queued {
        #[serde(serialize_with = "name")]
        message: Kind,
        len: usize,
    },
    Dropped {
        #[serde(serialize_with = "name")]
        message: Kind,
        #[serde(serialize_with = "name")]
        reason: DropReason,
    },
    Outbox {
        messages: usize,
        bytes: usize,
    },
    Sent {
        #[serde(serialize_with = "name")]
        message: Kind,
        data: Bytes,
    },
    Received {
        data: Bytes,
    },
    ReceivedTooLong,
    ClockSet {
        unix: u64,
    },
    ClockSyncFailed {
        code: Option<u8>,
    },
    /// The command as the modem received it, without its `\r`: `AT+CIPSEND=0,10`.
    AtTimeout {
        command: Bytes,
    },
    AtRejected {
        command: Bytes,
    },
    AtResync,
    Decode {
        #[serde(serialize_with = "name")]
        error: DecodeError,
    },
    UartError {
        #[serde(serialize_with = "name")]
        error: ErrorKind,
    },
}

/// An enum value by its variant's name (`Unresponsive`, `Connecting(Tcp)`): as the firmware's
/// text form writes it.
fn name<T: Debug, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("{value:?}"))
}

/// A command as the modem received it, without its line end.
fn command(command: &protocol::Command<'_>) -> Bytes {
    let mut buf = [0; 256];
    match command.encode(&mut buf) {
        Ok(n) => Bytes(buf[..n].strip_suffix(b"\r").unwrap_or(&buf[..n]).to_vec()),
        // Longer than any command the firmware can write (`COMMAND_BUF`): its text form.
        Err(_) => Bytes(format!("{command:?}").into_bytes()),
    }
}

impl From<&Report<'_>> for FwReport {
    fn from(report: &Report<'_>) -> FwReport {
        use FwReport as F;
        match *report {
            Report::Phase(phase) => F::Phase { phase },
            Report::Led(state) => F::Led { state },
            Report::WatchdogFed => F::WatchdogFed,
            Report::ModemRestart { reason, action } => F::ModemRestart { reason, action },
            Report::ModemReady(kind) => F::ModemReady {
                model: kind.model,
                links: kind.links,
            },
            Report::Registration(stat) => F::Registration { stat },
            Report::IpState(state) => F::IpState { state },
            Report::IpAddress(address) => F::IpAddress {
                address: address.into(),
            },
            Report::FlightMode(on) => F::FlightMode { on },
            Report::Signal { rssi, ber } => F::Signal { rssi, ber },
            Report::Cell { stat, location } => F::Cell {
                stat,
                lac: location.map(|l| l.lac),
                ci: location.map(|l| l.ci),
            },
            Report::Connected => F::Connected,
            Report::ConnectFailed { failures } => F::ConnectFailed { failures },
            Report::DataLinkShut => F::DataLinkShut,
            Report::LinkLost(reason) => F::LinkLost { reason },
            Report::Queued { kind, len } => F::Queued { message: kind, len },
            Report::Dropped { kind, reason } => F::Dropped {
                message: kind,
                reason,
            },
            Report::Outbox { messages, bytes } => F::Outbox { messages, bytes },
            Report::Sent { kind, data } => F::Sent {
                message: kind,
                data: Bytes(data.to_vec()),
            },
            Report::Received(data) => F::Received {
                data: Bytes(data.to_vec()),
            },
            Report::ReceivedTooLong => F::ReceivedTooLong,
            Report::ClockSet { unix } => F::ClockSet { unix },
            Report::ClockSyncFailed { code } => F::ClockSyncFailed { code },
            Report::AtTimeout(c) => F::AtTimeout {
                command: command(&c),
            },
            Report::AtRejected(c) => F::AtRejected {
                command: command(&c),
            },
            Report::AtResync => F::AtResync,
            Report::Decode(error) => F::Decode { error },
            Report::UartError(error) => F::UartError { error },
        }
    }
}

impl FwReport {
    /// The report's kind: its variant's name, one of `firmware::REPORT_KINDS`.
    pub fn kind(&self) -> &'static str {
        match self {
            FwReport::Phase { .. } => "Phase",
            FwReport::Led { .. } => "Led",
            FwReport::WatchdogFed => "WatchdogFed",
            FwReport::ModemRestart { .. } => "ModemRestart",
            FwReport::ModemReady { .. } => "ModemReady",
            FwReport::Registration { .. } => "Registration",
            FwReport::IpState { .. } => "IpState",
            FwReport::IpAddress { .. } => "IpAddress",
            FwReport::FlightMode { .. } => "FlightMode",
            FwReport::Signal { .. } => "Signal",
            FwReport::Cell { .. } => "Cell",
            FwReport::Connected => "Connected",
            FwReport::ConnectFailed { .. } => "ConnectFailed",
            FwReport::DataLinkShut => "DataLinkShut",
            FwReport::LinkLost { .. } => "LinkLost",
            FwReport::Queued { .. } => "Queued",
            FwReport::Dropped { .. } => "Dropped",
            FwReport::Outbox { .. } => "Outbox",
            FwReport::Sent { .. } => "Sent",
            FwReport::Received { .. } => "Received",
            FwReport::ReceivedTooLong => "ReceivedTooLong",
            FwReport::ClockSet { .. } => "ClockSet",
            FwReport::ClockSyncFailed { .. } => "ClockSyncFailed",
            FwReport::AtTimeout { .. } => "AtTimeout",
            FwReport::AtRejected { .. } => "AtRejected",
            FwReport::AtResync => "AtResync",
            FwReport::Decode { .. } => "Decode",
            FwReport::UartError { .. } => "UartError",
        }
    }

    /// The report as a JSON object: `kind` and its fields (see the module documentation).
    pub fn fields(&self) -> serde_json::Map<String, serde_json::Value> {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => unreachable!("a report serializes as an object"),
        }
    }

    /// Each kind's fields with an example value (`kind` left out), in
    /// `firmware::REPORT_KINDS` order: what a typed pattern may name.
    pub fn kind_fields() -> Vec<(&'static str, serde_json::Map<String, serde_json::Value>)> {
        examples()
            .iter()
            .map(|report| {
                let mut fields = report.fields();
                fields.remove("kind");
                (report.kind(), fields)
            })
            .collect()
    }
}

/// One report of each kind, in `firmware::REPORT_KINDS` order (a test holds them to it).
fn examples() -> Vec<FwReport> {
    use FwReport as F;
    vec![
        F::Phase {
            phase: Phase::Connected,
        },
        F::Led {
            state: LedState::Connected,
        },
        F::WatchdogFed,
        F::ModemRestart {
            reason: RestartReason::Unresponsive,
            action: PowerAction::Reset,
        },
        F::ModemReady {
            model: Model::Sim800,
            links: 6,
        },
        F::Registration {
            stat: RegStat::Home,
        },
        F::IpState {
            state: IpState::IpStatus,
        },
        F::IpAddress {
            address: Ipv4Addr::new(10, 0, 0, 1),
        },
        F::FlightMode { on: true },
        F::Signal { rssi: 24, ber: 0 },
        F::Cell {
            stat: RegStat::Home,
            lac: Some(1),
            ci: Some(2),
        },
        F::Connected,
        F::ConnectFailed { failures: 1 },
        F::DataLinkShut,
        F::LinkLost {
            reason: LinkLoss::Closed,
        },
        F::Queued {
            message: Kind::Reply,
            len: 3,
        },
        F::Dropped {
            message: Kind::Heartbeat,
            reason: DropReason::HeartbeatPending,
        },
        F::Outbox {
            messages: 1,
            bytes: 3,
        },
        F::Sent {
            message: Kind::Heartbeat,
            data: Bytes::default(),
        },
        F::Received {
            data: Bytes::default(),
        },
        F::ReceivedTooLong,
        F::ClockSet { unix: 0 },
        F::ClockSyncFailed { code: None },
        F::AtTimeout {
            command: Bytes::default(),
        },
        F::AtRejected {
            command: Bytes::default(),
        },
        F::AtResync,
        F::Decode {
            error: DecodeError::Malformed,
        },
        F::UartError {
            error: ErrorKind::Other,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use firmware::ModemKind;
    use protocol::command::Name;
    use protocol::response::Location;
    use protocol::Command;

    #[test]
    fn every_kind_is_mirrored() {
        let kinds: Vec<&str> = examples().iter().map(FwReport::kind).collect();
        assert_eq!(kinds, firmware::REPORT_KINDS);
    }

    /// A firmware report, its typed form as a pattern sees it.
    #[test]
    fn reports_as_fields() {
        let check = |report: Report<'_>, json: serde_json::Value| {
            let typed = FwReport::from(&report);
            assert_eq!(serde_json::Value::Object(typed.fields()), json, "{report}");
            assert_eq!(typed.kind(), report.kind());
        };
        use serde_json::json;
        check(
            Report::ModemRestart {
                reason: RestartReason::Unresponsive,
                action: PowerAction::Reset,
            },
            json!({ "kind": "ModemRestart", "reason": "Unresponsive", "action": "Reset" }),
        );
        check(
            Report::Phase(Phase::Connecting),
            json!({ "kind": "Phase", "phase": "Connecting" }),
        );
        check(Report::Connected, json!({ "kind": "Connected" }));
        check(
            Report::Sent {
                kind: Kind::Reply,
                data: b"back \x11\n",
            },
            json!({ "kind": "Sent", "message": "Reply", "data": "back \u{11}\n" }),
        );
        check(
            Report::Dropped {
                kind: Kind::Reply,
                reason: DropReason::Full,
            },
            json!({ "kind": "Dropped", "message": "Reply", "reason": "Full" }),
        );
        check(
            Report::ModemReady(ModemKind::AIR202),
            json!({ "kind": "ModemReady", "model": "Air202", "links": 8 }),
        );
        check(
            Report::IpState(IpState::Connecting(protocol::types::Transport::Tcp)),
            json!({ "kind": "IpState", "state": "Connecting(Tcp)" }),
        );
        check(
            Report::IpAddress([10, 68, 27, 49]),
            json!({ "kind": "IpAddress", "address": "10.68.27.49" }),
        );
        check(
            Report::Cell {
                stat: RegStat::Home,
                location: Some(Location { lac: 6334, ci: 1 }),
            },
            json!({ "kind": "Cell", "stat": "Home", "lac": 6334, "ci": 1 }),
        );
        check(
            Report::ClockSyncFailed { code: None },
            json!({ "kind": "ClockSyncFailed", "code": null }),
        );
        check(
            Report::AtTimeout(Command::Cipsend {
                link: Some(0),
                len: Some(10),
            }),
            json!({ "kind": "AtTimeout", "command": "AT+CIPSEND=0,10" }),
        );
        check(
            Report::AtRejected(Command::Exec(Name::Cipshut)),
            json!({ "kind": "AtRejected", "command": "AT+CIPSHUT" }),
        );
    }

    #[test]
    fn the_text_form_is_written() {
        let reported = Reported::new(&Report::Received(b"hi\n"));
        assert_eq!(
            serde_json::to_string(&reported).unwrap(),
            r#""Received(\"hi\\n\")""#
        );
        assert!(reported.starts_with("Received("));
    }
}
