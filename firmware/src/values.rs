//! The small values the firmware reports ([`Report`](crate::report::Report)) and the board
//! shows: where the firmware is, the LED, which modem it found, why and how it restarted the
//! modem, and how a connection was lost. Plain data, used by every layer above.

/// Where the firmware is, coarsely. Reported on every change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Probing and configuring the modem (after power-up or a restart).
    Starting,
    /// Waiting for registration and bringing up the data link (B6).
    BringingUp,
    /// B6's flight mode.
    FlightMode,
    /// Opening the connection to the server (B7).
    Connecting,
    /// Connected: the session loop runs (B1–B4, B8–B10).
    Connected,
    /// Waiting before the next connect (B7).
    Pausing,
    /// Restarting the modem through its RESET line or power key.
    Restarting,
}

/// The network-status LED (B10), as the seed's `netLed` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LedState {
    /// No modem answer yet, or the modem is being restarted.
    Off,
    /// Searching for the network / bringing up data.
    Searching,
    /// Registered and the data link is up, but no server connection.
    Registered,
    /// Connected to the server.
    Connected,
}

/// Why the device gave up on the modem and restarted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RestartReason {
    /// No answer to `AT` within `boot_timeout`.
    NoAnswer,
    /// No final result for `at_no_answer_limit`.
    Unresponsive,
    /// The modem restarted on its own (`RDY`, `+CPIN: NOT READY`): no power action needed.
    Rebooted,
    /// The modem switched off (`NORMAL POWER DOWN`, a voltage power-down).
    PoweredDown,
    /// The SIM was not ready within `sim_timeout`.
    SimNotReady,
    /// A setting the firmware cannot work without was refused (`AT+CIPMUX=1`, `AT+CIPHEAD=1`).
    SetupRefused,
    /// Writing to the UART failed or stalled.
    Uart,
    /// A command did not fit its buffer (cannot happen with `Config`'s text limits).
    CommandTooLong,
    /// `connect_rounds_before_startup` rounds of connect failures in a row, nothing
    /// delivered (the ladder above B7): start-up again, and after
    /// `startups_before_power_cycle` of those, a power cycle.
    NoProgress,
}

/// What was done to the modem's power lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PowerAction {
    /// Nothing: it restarted on its own.
    None,
    /// RESET held for `reset_pulse`, then released.
    Reset,
    /// PWRKEY held for `power_key_press`, then released (switches the modem on, or off).
    PowerKey,
}

/// The modem family, from `ATI` / `AT+CGMR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Model {
    /// SIMCom SIM800: links 0–5.
    Sim800,
    /// Luat Air202 AT firmware: links 0–7.
    Air202,
}

/// What the firmware needs to know about the modem it found: its family and link count.
/// (Not the simulator's `sim_modem::profile::Profile`, which is a modem's timing and quirks.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ModemKind {
    pub model: Model,
    /// Connection links, and so `C:` lines in a multi-mode `AT+CIPSTATUS` answer.
    pub links: u8,
}

impl ModemKind {
    pub const SIM800: ModemKind = ModemKind {
        model: Model::Sim800,
        links: 6,
    };

    pub const AIR202: ModemKind = ModemKind {
        model: Model::Air202,
        links: 8,
    };

    /// Picks the kind from identification texts: Luat's mention `Air` or `Luat`; anything
    /// else is taken for a SIM800.
    pub fn identify(texts: &[&[u8]]) -> ModemKind {
        let has =
            |t: &[u8], word: &[u8]| t.windows(word.len()).any(|w| w.eq_ignore_ascii_case(word));
        if texts.iter().any(|t| has(t, b"AIR") || has(t, b"LUAT")) {
            ModemKind::AIR202
        } else {
            ModemKind::SIM800
        }
    }
}

/// How a connection was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkLoss {
    /// `<n>, CLOSED`: the server closed it, or the network dropped it.
    Closed,
    /// `+PDP: DEACT`: the network released the data link.
    PdpDeact,
    /// `SEND FAIL` or `ERROR` to a send.
    SendFailed,
    /// Written bytes not acknowledged for `send_timeout`, or no `> ` prompt in time: the
    /// link is taken for dead.
    SendTimeout,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modem_kinds() {
        for (texts, kind) in [
            (
                [&b"SIM800 R14.18"[..], b"Revision:1418B04SIM800L24"],
                ModemKind::SIM800,
            ),
            ([b"", b"Luat_V0034_AIR202"], ModemKind::AIR202),
            ([b"air202", b""], ModemKind::AIR202),
            ([b"", b""], ModemKind::SIM800),
        ] {
            assert_eq!(ModemKind::identify(&texts), kind, "{texts:?}");
        }
        assert_eq!(
            (ModemKind::AIR202.model, ModemKind::AIR202.links),
            (Model::Air202, 8)
        );
        assert_eq!(
            (ModemKind::SIM800.model, ModemKind::SIM800.links),
            (Model::Sim800, 6)
        );
    }
}
