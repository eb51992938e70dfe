//! What the firmware reports of itself through [`Board::report`](crate::Board::report): one
//! [`Report`] per thing it did or saw, for a log (defmt on a board, tracing on a host) or a
//! replay trace that scenarios check.
//!
//! # The trace form
//!
//! A report's `Display` is the one text form of it: what a replay trace's `fw` records hold,
//! what the QEMU board logs, and what scenario files match (`{"report": {"prefix":
//! "Dropped"}}`). It is the `Debug` form, except that the bytes of [`Report::Sent`] and
//! [`Report::Received`] are quoted text ([`Quoted`]): `Sent(Heartbeat, "heart beat")`,
//! `Received("back 1\n")`, `Phase(Connecting)`, `ModemRestart { reason: Unresponsive,
//! action: Reset }`. It always starts with the report's kind ([`Report::kind`]), one of
//! [`REPORT_KINDS`].

use core::fmt;

use embedded_io_async::ErrorKind;
use protocol::response::{DecodeError, Location};
use protocol::text::Quoted;
use protocol::types::{IpState, RegStat};
use protocol::Command;

use crate::outbox::{DropReason, Kind};
use crate::values::{LedState, LinkLoss, ModemKind, Phase, PowerAction, RestartReason};

/// One thing the firmware did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report<'a> {
    /// The phase changed.
    Phase(Phase),
    /// The LED changed (B10).
    Led(LedState),
    /// The watchdog was fed (B10): the core's loop woke up and carried on. The watchdog is
    /// fed on every wake; this is reported at most every
    /// [`WATCHDOG_REPORT_GAP`](crate::config::WATCHDOG_REPORT_GAP) (1 s), and at least every
    /// `Config::watchdog_feed_interval` while the core runs.
    WatchdogFed,
    /// The modem is restarted, and why.
    ModemRestart {
        reason: RestartReason,
        action: PowerAction,
    },
    /// The modem answered, was configured and identified.
    ModemReady(ModemKind),
    /// The registration status changed.
    Registration(RegStat),
    /// The TCP/IP state (`STATE:` of `AT+CIPSTATUS`) changed.
    IpState(IpState),
    /// The data link has an address (`AT+CIFSR`).
    IpAddress([u8; 4]),
    /// B6: flight mode on (`true`) or off.
    FlightMode(bool),
    /// B10: signal quality, `AT+CSQ`'s rssi (0–31, 99 unknown) and ber.
    Signal { rssi: u8, ber: u8 },
    /// B10: the serving cell, from `AT+CREG?`.
    Cell {
        stat: RegStat,
        location: Option<Location>,
    },
    /// Connected to the server.
    Connected,
    /// A connect failed; `failures` in a row so far (B7).
    ConnectFailed { failures: u8 },
    /// The data link was shut (`AT+CIPSHUT`): after B7's failures or a PDP deactivation.
    DataLinkShut,
    /// The connection was lost, and how.
    LinkLost(LinkLoss),
    /// A message was queued in the outbox.
    Queued { kind: Kind, len: usize },
    /// A message was not queued, or was dropped from the outbox.
    Dropped { kind: Kind, reason: DropReason },
    /// The outbox now holds `messages` messages and `bytes` bytes of replies.
    Outbox { messages: usize, bytes: usize },
    /// A message was delivered: the server's TCP acknowledged its bytes (`AT+CIPACK`);
    /// terminator included.
    Sent { kind: Kind, data: &'a [u8] },
    /// A message was received (after framing).
    Received(&'a [u8]),
    /// A received newline-framed message was too long and skipped.
    ReceivedTooLong,
    /// The clock was set from the network (B4): Unix seconds now.
    ClockSet { unix: u64 },
    /// A network clock sync failed (`+CNTP` code, `None` for no answer); it is retried.
    ClockSyncFailed { code: Option<u8> },
    /// A command got no final result in time.
    AtTimeout(Command<'a>),
    /// A command was answered with an error where the firmware needed `OK`.
    AtRejected(Command<'a>),
    /// After a timeout, the AT client is in step with the modem again: an `AT` probe was
    /// answered and the line went quiet (late answers taken as URCs). See `at`.
    AtResync,
    /// The modem sent bytes the decoder refused.
    Decode(DecodeError),
    /// A UART read failed (framing, parity, overrun, break); the core reads again at once.
    UartError(ErrorKind),
}

/// Every kind of report: the variant names of [`Report`], in declaration order. A report's
/// text form starts with its kind ([`Report::kind`]).
pub const REPORT_KINDS: &[&str] = &[
    "Phase",
    "Led",
    "WatchdogFed",
    "ModemRestart",
    "ModemReady",
    "Registration",
    "IpState",
    "IpAddress",
    "FlightMode",
    "Signal",
    "Cell",
    "Connected",
    "ConnectFailed",
    "DataLinkShut",
    "LinkLost",
    "Queued",
    "Dropped",
    "Outbox",
    "Sent",
    "Received",
    "ReceivedTooLong",
    "ClockSet",
    "ClockSyncFailed",
    "AtTimeout",
    "AtRejected",
    "AtResync",
    "Decode",
    "UartError",
];

impl Report<'_> {
    /// The report's kind: its variant's name, one of [`REPORT_KINDS`].
    pub fn kind(&self) -> &'static str {
        match self {
            Report::Phase(_) => "Phase",
            Report::Led(_) => "Led",
            Report::WatchdogFed => "WatchdogFed",
            Report::ModemRestart { .. } => "ModemRestart",
            Report::ModemReady(_) => "ModemReady",
            Report::Registration(_) => "Registration",
            Report::IpState(_) => "IpState",
            Report::IpAddress(_) => "IpAddress",
            Report::FlightMode(_) => "FlightMode",
            Report::Signal { .. } => "Signal",
            Report::Cell { .. } => "Cell",
            Report::Connected => "Connected",
            Report::ConnectFailed { .. } => "ConnectFailed",
            Report::DataLinkShut => "DataLinkShut",
            Report::LinkLost(_) => "LinkLost",
            Report::Queued { .. } => "Queued",
            Report::Dropped { .. } => "Dropped",
            Report::Outbox { .. } => "Outbox",
            Report::Sent { .. } => "Sent",
            Report::Received(_) => "Received",
            Report::ReceivedTooLong => "ReceivedTooLong",
            Report::ClockSet { .. } => "ClockSet",
            Report::ClockSyncFailed { .. } => "ClockSyncFailed",
            Report::AtTimeout(_) => "AtTimeout",
            Report::AtRejected(_) => "AtRejected",
            Report::AtResync => "AtResync",
            Report::Decode(_) => "Decode",
            Report::UartError(_) => "UartError",
        }
    }
}

impl fmt::Display for Report<'_> {
    /// The trace form: see the module documentation.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Report::Sent { kind, data } => write!(f, "Sent({kind:?}, {})", Quoted(data)),
            Report::Received(data) => write!(f, "Received({})", Quoted(data)),
            other => write!(f, "{other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::values::Model;
    use protocol::command::Name;
    use std::{string::ToString, vec::Vec};

    /// The report after `report` in declaration order, one of each kind; `None` after the
    /// last. No wildcard: a new variant does not build until it has an arm here, which
    /// takes it into the walk below, and the walk fails until [`REPORT_KINDS`] lists it.
    fn next(report: &Report<'_>) -> Option<Report<'static>> {
        Some(match report {
            Report::Phase(_) => Report::Led(LedState::Searching),
            Report::Led(_) => Report::WatchdogFed,
            Report::WatchdogFed => Report::ModemRestart {
                reason: RestartReason::Unresponsive,
                action: PowerAction::Reset,
            },
            Report::ModemRestart { .. } => Report::ModemReady(ModemKind::AIR202),
            Report::ModemReady(_) => Report::Registration(RegStat::Home),
            Report::Registration(_) => Report::IpState(IpState::IpStatus),
            Report::IpState(_) => Report::IpAddress([10, 0, 0, 1]),
            Report::IpAddress(_) => Report::FlightMode(true),
            Report::FlightMode(_) => Report::Signal { rssi: 20, ber: 0 },
            Report::Signal { .. } => Report::Cell {
                stat: RegStat::Home,
                location: Some(Location {
                    lac: 6334,
                    ci: 37857,
                }),
            },
            Report::Cell { .. } => Report::Connected,
            Report::Connected => Report::ConnectFailed { failures: 2 },
            Report::ConnectFailed { .. } => Report::DataLinkShut,
            Report::DataLinkShut => Report::LinkLost(LinkLoss::PdpDeact),
            Report::LinkLost(_) => Report::Queued {
                kind: Kind::Reply,
                len: 3,
            },
            Report::Queued { .. } => Report::Dropped {
                kind: Kind::Heartbeat,
                reason: DropReason::HeartbeatPending,
            },
            Report::Dropped { .. } => Report::Outbox {
                messages: 2,
                bytes: 6,
            },
            Report::Outbox { .. } => Report::Sent {
                kind: Kind::Heartbeat,
                data: b"heart beat\n",
            },
            Report::Sent { .. } => Report::Received(b"bin\"\x11\\"),
            Report::Received(_) => Report::ReceivedTooLong,
            Report::ReceivedTooLong => Report::ClockSet {
                unix: 1_704_067_200,
            },
            Report::ClockSet { .. } => Report::ClockSyncFailed { code: None },
            Report::ClockSyncFailed { .. } => Report::AtTimeout(Command::Exec(Name::Cipshut)),
            Report::AtTimeout(_) => Report::AtRejected(Command::Cmee(0)),
            Report::AtRejected(_) => Report::AtResync,
            Report::AtResync => Report::Decode(DecodeError::Malformed),
            Report::Decode(_) => Report::UartError(ErrorKind::TimedOut),
            Report::UartError(_) => return None,
        })
    }

    /// One report of every kind, in declaration order.
    fn one_of_each() -> Vec<Report<'static>> {
        let mut all = Vec::new();
        let mut report = Some(Report::Phase(Phase::Connecting));
        while let Some(this) = report {
            report = next(&this);
            all.push(this);
        }
        all
    }

    #[test]
    fn report_kinds_name_every_variant() {
        let all = one_of_each();
        let kinds: Vec<_> = all.iter().map(Report::kind).collect();
        assert_eq!(kinds, REPORT_KINDS);
        for report in &all {
            let text = report.to_string();
            let rest = text.strip_prefix(report.kind());
            // The kind is the whole leading name, not a prefix of a longer one.
            assert!(
                rest.is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '('])),
                "{text}"
            );
        }
    }

    #[test]
    fn the_trace_form() {
        // Texts as the replay traces have them.
        for (report, text) in [
            (Report::Phase(Phase::Connecting), "Phase(Connecting)"),
            (
                Report::ModemRestart {
                    reason: RestartReason::Unresponsive,
                    action: PowerAction::Reset,
                },
                "ModemRestart { reason: Unresponsive, action: Reset }",
            ),
            (
                Report::ModemReady(ModemKind {
                    model: Model::Sim800,
                    links: 6,
                }),
                "ModemReady(ModemKind { model: Sim800, links: 6 })",
            ),
            (
                Report::Cell {
                    stat: RegStat::Home,
                    location: Some(Location {
                        lac: 6334,
                        ci: 37857,
                    }),
                },
                "Cell { stat: Home, location: Some(Location { lac: 6334, ci: 37857 }) }",
            ),
            (
                Report::Sent {
                    kind: Kind::Heartbeat,
                    data: b"heart beat\n",
                },
                r#"Sent(Heartbeat, "heart beat\n")"#,
            ),
            (
                Report::Received(b"bin\"\x11\\\r"),
                r#"Received("bin\"\x11\\\r")"#,
            ),
            (
                Report::Dropped {
                    kind: Kind::Heartbeat,
                    reason: DropReason::HeartbeatPending,
                },
                "Dropped { kind: Heartbeat, reason: HeartbeatPending }",
            ),
            (
                Report::IpAddress([10, 68, 27, 49]),
                "IpAddress([10, 68, 27, 49])",
            ),
            (
                Report::AtTimeout(Command::Cipsend {
                    link: Some(0),
                    len: Some(10),
                }),
                "AtTimeout(Cipsend { link: Some(0), len: Some(10) })",
            ),
        ] {
            assert_eq!(report.to_string(), text);
        }
    }
}
