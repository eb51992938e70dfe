//! The firmware's reports as defmt log lines.
//!
//! defmt keeps format strings off the chip, but `Debug2Format` runs core::fmt on it: used on a
//! whole `Report` (with its commands and strings) it cost ~15 KiB of flash. So each variant is
//! spelled out here, with defmt's own formatting where it can, `Debug2Format` only for small
//! field-less enums, and commands shown as the AT text they encode to. The match is exhaustive
//! on purpose: a new kind of report gets a log line here, or the build says so.

use defmt::{info, warn, Debug2Format as Dbg};
use firmware::config::COMMAND_BUF;
use firmware::Report;
use protocol::response::DecodeError;

pub fn log(report: Report<'_>) {
    match report {
        // Fed on every answer from the modem: too much for a log.
        Report::WatchdogFed => {}
        Report::Phase(phase) => info!("phase {}", Dbg(&phase)),
        Report::Led(led) => info!("led {}", Dbg(&led)),
        Report::ModemRestart { reason, action } => {
            warn!("modem restart: {} ({})", Dbg(&reason), Dbg(&action))
        }
        Report::ModemReady(profile) => {
            info!(
                "modem ready: {} ({=u8} links)",
                Dbg(&profile.model),
                profile.links
            )
        }
        Report::Registration(stat) => info!("registration {}", Dbg(&stat)),
        Report::IpState(state) => info!("ip state {=str}", state.as_str()),
        Report::IpAddress([a, b, c, d]) => info!("ip address {}.{}.{}.{}", a, b, c, d),
        Report::FlightMode(on) => info!("flight mode {=bool}", on),
        Report::Signal { rssi, ber } => info!("signal: rssi {=u8}, ber {=u8}", rssi, ber),
        Report::Cell {
            stat,
            location: Some(at),
        } => {
            info!(
                "cell: {}, lac {=u16:#x}, ci {=u32:#x}",
                Dbg(&stat),
                at.lac,
                at.ci
            )
        }
        Report::Cell {
            stat,
            location: None,
        } => info!("cell: {}", Dbg(&stat)),
        Report::Connected => info!("connected"),
        Report::ConnectFailed { failures } => warn!("connect failed ({=u8} in a row)", failures),
        Report::DataLinkShut => info!("data link shut"),
        Report::LinkLost(loss) => warn!("link lost: {}", Dbg(&loss)),
        Report::Queued { kind, len } => info!("queued {} ({=usize} bytes)", Dbg(&kind), len),
        Report::Dropped { kind, reason } => warn!("dropped {}: {}", Dbg(&kind), Dbg(&reason)),
        Report::Outbox { messages, bytes } => {
            info!("outbox: {=usize} messages, {=usize} bytes", messages, bytes)
        }
        Report::Sent { kind, data } => info!("sent {} {=[u8]:a}", Dbg(&kind), data),
        Report::Received(data) => info!("received {=[u8]:a}", data),
        Report::ReceivedTooLong => warn!("received a message too long to frame; skipped"),
        Report::ClockSet { unix } => info!("clock set: unix {=u64}", unix),
        Report::ClockSyncFailed { code } => warn!("clock sync failed: {}", code),
        Report::AtTimeout(command) => {
            let mut at = [0; COMMAND_BUF];
            let len = command.encode(&mut at).unwrap_or(0);
            warn!("no answer to {=[u8]:a}", at[..len]);
        }
        Report::AtRejected(command) => {
            let mut at = [0; COMMAND_BUF];
            let len = command.encode(&mut at).unwrap_or(0);
            warn!("rejected: {=[u8]:a}", at[..len]);
        }
        Report::Decode(DecodeError::LineTooLong) => warn!("modem line too long"),
        Report::Decode(DecodeError::PayloadTooLong { len }) => {
            warn!("modem payload too long ({=u64} bytes)", len)
        }
        Report::Decode(DecodeError::Malformed) => warn!("modem line malformed"),
        Report::UartError(kind) => warn!("uart error: {}", Dbg(&kind)),
    }
}
