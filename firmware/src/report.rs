//! What the firmware reports of itself through [`Board::report`](crate::Board::report): one
//! [`Report`] per thing it did or saw, for a log (defmt on a board, tracing on a host) or a
//! replay trace that scenarios check.

use embedded_io_async::ErrorKind;
use protocol::response::{DecodeError, Location};
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
    /// A message was sent and the modem confirmed it (`SEND OK`), terminator included.
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
    /// The UART failed to read; the core waits and carries on.
    UartError(ErrorKind),
}
