//! The firmware's reports as defmt log lines.
//!
//! defmt keeps format strings off the chip; `Debug2Format` would run core::fmt on it, which
//! cost ~15 KiB of flash used on whole reports, and still ~1 KiB for the small enums. So each
//! variant is spelled out here with defmt's own formatting, enums by name through
//! `defmt::intern!` (only an index of the name is in flash), and commands shown as the AT
//! text they encode to. The match is exhaustive on purpose: a new kind of report gets a log
//! line here, or the build says so.

use defmt::{info, intern, warn, Str};
use embedded_io_async::ErrorKind;
use firmware::config::COMMAND_BUF;
use firmware::outbox::{DropReason, Kind};
use firmware::values::{LedState, LinkLoss, Model, Phase, PowerAction, RestartReason};
use firmware::Report;
use protocol::response::DecodeError;
use protocol::types::RegStat;

pub fn log(report: Report<'_>) {
    match report {
        // Up to once a second: too much for a log.
        Report::WatchdogFed => {}
        Report::Phase(phase) => info!("phase {=istr}", phase_name(phase)),
        Report::Led(led) => info!("led {=istr}", led_name(led)),
        Report::ModemRestart { reason, action } => {
            warn!(
                "modem restart: {=istr} ({=istr})",
                reason_name(reason),
                action_name(action)
            )
        }
        Report::ModemReady(kind) => {
            let model = match kind.model {
                Model::Sim800 => intern!("SIM800"),
                Model::Air202 => intern!("Air202"),
            };
            info!("modem ready: {=istr} ({=u8} links)", model, kind.links)
        }
        Report::Registration(stat) => info!("registration {=istr}", reg_name(stat)),
        Report::IpState(state) => info!("ip state {=str}", state.as_str()),
        Report::IpAddress([a, b, c, d]) => info!("ip address {}.{}.{}.{}", a, b, c, d),
        Report::FlightMode(on) => info!("flight mode {=bool}", on),
        Report::Signal { rssi, ber } => info!("signal: rssi {=u8}, ber {=u8}", rssi, ber),
        Report::Cell {
            stat,
            location: Some(at),
        } => {
            info!(
                "cell: {=istr}, lac {=u16:#x}, ci {=u32:#x}",
                reg_name(stat),
                at.lac,
                at.ci
            )
        }
        Report::Cell {
            stat,
            location: None,
        } => info!("cell: {=istr}", reg_name(stat)),
        Report::Connected => info!("connected"),
        Report::ConnectFailed { failures } => warn!("connect failed ({=u8} in a row)", failures),
        Report::DataLinkShut => info!("data link shut"),
        Report::LinkLost(loss) => warn!("link lost: {=istr}", loss_name(loss)),
        Report::Queued { kind, len } => info!("queued {=istr} ({=usize} bytes)", kind_name(kind), len),
        Report::Dropped { kind, reason } => {
            warn!("dropped {=istr}: {=istr}", kind_name(kind), drop_name(reason))
        }
        Report::Outbox { messages, bytes } => {
            info!("outbox: {=usize} messages, {=usize} bytes", messages, bytes)
        }
        Report::Sent { kind, data } => info!("sent {=istr} {=[u8]:a}", kind_name(kind), data),
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
        Report::AtResync => info!("in step with the modem again"),
        Report::Decode(DecodeError::LineTooLong) => warn!("modem line too long"),
        Report::Decode(DecodeError::PayloadTooLong { len }) => {
            warn!("modem payload too long ({=u64} bytes)", len)
        }
        Report::Decode(DecodeError::Malformed) => warn!("modem line malformed"),
        Report::UartError(kind) => {
            let kind = match kind {
                ErrorKind::TimedOut => intern!("timed out"),
                ErrorKind::Interrupted => intern!("interrupted"),
                _ => intern!("other"),
            };
            warn!("uart error: {=istr}", kind)
        }
    }
}

fn phase_name(phase: Phase) -> Str {
    match phase {
        Phase::Starting => intern!("Starting"),
        Phase::BringingUp => intern!("BringingUp"),
        Phase::FlightMode => intern!("FlightMode"),
        Phase::Connecting => intern!("Connecting"),
        Phase::Connected => intern!("Connected"),
        Phase::Pausing => intern!("Pausing"),
        Phase::Restarting => intern!("Restarting"),
    }
}

fn led_name(led: LedState) -> Str {
    match led {
        LedState::Off => intern!("Off"),
        LedState::Searching => intern!("Searching"),
        LedState::Registered => intern!("Registered"),
        LedState::Connected => intern!("Connected"),
    }
}

fn reason_name(reason: RestartReason) -> Str {
    match reason {
        RestartReason::NoAnswer => intern!("NoAnswer"),
        RestartReason::Unresponsive => intern!("Unresponsive"),
        RestartReason::Rebooted => intern!("Rebooted"),
        RestartReason::PoweredDown => intern!("PoweredDown"),
        RestartReason::SimNotReady => intern!("SimNotReady"),
        RestartReason::SetupRefused => intern!("SetupRefused"),
        RestartReason::Uart => intern!("Uart"),
        RestartReason::CommandTooLong => intern!("CommandTooLong"),
        RestartReason::NoProgress => intern!("NoProgress"),
    }
}

fn action_name(action: PowerAction) -> Str {
    match action {
        PowerAction::None => intern!("None"),
        PowerAction::Reset => intern!("Reset"),
        PowerAction::PowerKey => intern!("PowerKey"),
    }
}

fn reg_name(stat: RegStat) -> Str {
    match stat {
        RegStat::NotRegistered => intern!("NotRegistered"),
        RegStat::Home => intern!("Home"),
        RegStat::Searching => intern!("Searching"),
        RegStat::Denied => intern!("Denied"),
        RegStat::Unknown => intern!("Unknown"),
        RegStat::Roaming => intern!("Roaming"),
    }
}

fn loss_name(loss: LinkLoss) -> Str {
    match loss {
        LinkLoss::Closed => intern!("Closed"),
        LinkLoss::PdpDeact => intern!("PdpDeact"),
        LinkLoss::SendFailed => intern!("SendFailed"),
        LinkLoss::SendTimeout => intern!("SendTimeout"),
    }
}

fn kind_name(kind: Kind) -> Str {
    match kind {
        Kind::Heartbeat => intern!("Heartbeat"),
        Kind::Reply => intern!("Reply"),
    }
}

fn drop_name(reason: DropReason) -> Str {
    match reason {
        DropReason::HeartbeatPending => intern!("HeartbeatPending"),
        DropReason::Evicted => intern!("Evicted"),
        DropReason::Full => intern!("Full"),
        DropReason::TooLong => intern!("TooLong"),
    }
}
