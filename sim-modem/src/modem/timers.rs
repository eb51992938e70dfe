//! The modem's pending wake-ups: a handful at a time, so a small vector, not a heap.

use std::time::Duration;

use protocol::types::LinkId;

/// What happens when a wake-up is due. At most one of each is pending: setting one again
/// moves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Timer {
    /// Boot: `RDY` (and the UART starts listening).
    Rdy,
    /// Boot or `AT+CFUN=1`: the SIM is read, `+CPIN: READY`.
    SimReady,
    CallReady,
    SmsReady,
    /// The executing line's reply goes out.
    Reply,
    /// Registration completes (`+CREG: 1`).
    Register,
    /// Packet-domain attach completes.
    Attach,
    /// PDP activation gives up (`ciicr_max`).
    PdpDeadline,
    /// A lost cell has kept the PDP context for the profile's `pdp_hold`: it is gone.
    PdpHold,
    /// A context lost with the cell is reported (`pdp_deact_delay` after the hold).
    PdpLostReport,
    /// `AT+CIPSTART` gives up on this link.
    ConnectDeadline(LinkId),
    /// A slow-mode `AT+CIPSEND` gives up waiting for the peer's acknowledgement.
    SendDeadline,
    /// `AT+CNTP` gives up.
    CntpDeadline,
    /// `AT+HTTPACTION` gives up (`AT+HTTPPARA="TIMEOUT"`).
    HttpTimeout,
    /// `AT+HTTPDATA`'s time to send the bytes is over.
    HttpDataDeadline,
    /// PWRKEY has been held long enough.
    PowerKey,
    /// `UNDER-VOLTAGE POWER DOWN` (a brown-out).
    BrownOut,
    /// Off, after `NORMAL POWER DOWN` or `AT+CPOWD=0`.
    PowerOff,
    /// `AT+CFUN=1,1`: reboot.
    Restart,
    /// The injected hang after hours of work (`Modem::hang_after`).
    HangAfter,
    /// `AT+CSCLK`: the modem may go to sleep.
    Sleep,
    /// Transparent mode: the silence after `+++` held.
    Escape,
    /// Transparent mode: the host was silent for `<WaitTm>`: send what waits.
    TransparentSend,
}

impl Timer {
    /// Survives power loss: the pins and the supply are outside the modem's firmware.
    pub(super) fn is_hardware(self) -> bool {
        matches!(self, Timer::PowerKey | Timer::BrownOut)
    }
}

/// Pending wake-ups in the order they were set; the earliest (then the first set) is due
/// first, so equal times keep a deterministic order.
#[derive(Debug, Default)]
pub(super) struct Timers {
    pending: Vec<(Duration, Timer)>,
}

impl Timers {
    pub(super) fn set(&mut self, at: Duration, timer: Timer) {
        self.cancel(timer);
        self.pending.push((at, timer));
    }

    pub(super) fn cancel(&mut self, timer: Timer) {
        self.pending.retain(|&(_, t)| t != timer);
    }

    pub(super) fn is_set(&self, timer: Timer) -> bool {
        self.pending.iter().any(|&(_, t)| t == timer)
    }

    pub(super) fn retain(&mut self, keep: impl Fn(Timer) -> bool) {
        self.pending.retain(|&(_, t)| keep(t));
    }

    pub(super) fn next(&self) -> Option<Duration> {
        self.pending.iter().map(|&(at, _)| at).min()
    }

    /// Removes and returns the first timer due at `now`, with the time it was due.
    pub(super) fn pop_due(&mut self, now: Duration) -> Option<(Duration, Timer)> {
        let at = self.next().filter(|&at| at <= now)?;
        let i = self.pending.iter().position(|&(t, _)| t == at)?;
        Some(self.pending.remove(i))
    }
}
