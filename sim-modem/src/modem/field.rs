//! The SIM800's field misbehaviours that live in the modem, injected from outside (the
//! `fault` module says where each was seen): a send-fail loop, a hang after hours of work
//! that only a power cycle cures, a restart whose `RDY` is garbled or missing, a SIM reset
//! on `AT+CFUN=1`. (Auto-bauding, which keeps a restarted modem silent until the host's
//! first `AT`, is the line discipline's.)

use std::time::Duration;

use protocol::response::Response;
use protocol::types::LinkId;

use super::ip::LinkState;
use super::outcome::Outcome;
use super::{Modem, ModemEvent, Power, Timer};
use crate::fault::BadRdy;

/// The misbehaviours injected so far that outlive a power cycle.
#[derive(Debug, Default)]
pub(super) struct Field {
    /// `hang_after`: the uptime before the hang, and whether the RESET line cures it.
    pub hang_after: Option<(Duration, bool)>,
    /// Hung by `hang_after` where the RESET line does not help: only losing power does.
    pub needs_power_cycle: bool,
    /// When power last came on.
    pub powered_at: Duration,
    /// What the next boot's `RDY` looks like, when not as usual.
    pub next_rdy: Option<BadRdy>,
    /// `AT+CFUN=1` resets the SIM.
    pub cfun_resets_sim: bool,
}

/// `RDY`'s letters with the top bit set: what a host reading at the wrong moment (or rate)
/// may see. UNCONFIRMED bytes.
const GARBLED_RDY: &[u8] = b"\r\n\xd2\xc4\xd9\r\n";

impl Modem {
    /// A send-fail loop on `link` (every link when `None`): each `AT+CIPSEND` on it takes
    /// its data and answers `SEND FAIL` while the link stays `CONNECTED`, until the link is
    /// started again (`AT+CIPSTART`).
    pub fn fail_sends_until_restarted(&mut self, link: Option<LinkId>) {
        self.session.stuck_sends |= match link {
            Some(n) => 1u16.checked_shl(u32::from(n)).unwrap_or(0),
            None => u16::MAX,
        };
    }

    /// The modem hangs once it has been powered for `uptime` (this power-up and every one
    /// after); with `reset_line_recovers` false only a power cycle brings it back.
    pub fn hang_after(&mut self, now: Duration, uptime: Duration, reset_line_recovers: bool) {
        self.run_timers(now);
        self.field.hang_after = Some((uptime, reset_line_recovers));
        if self.power == Power::On {
            let at = (self.field.powered_at + uptime).max(now);
            self.timers.set(at, Timer::HangAfter);
        }
        self.settle(now);
    }

    /// A restart whose `RDY` is garbled or missing.
    pub fn reboot_bad_rdy(&mut self, now: Duration, rdy: BadRdy) {
        self.field.next_rdy = Some(rdy);
        self.reboot(now);
    }

    /// From now on `AT+CFUN=1` resets the SIM (`+CPIN: NOT READY` after its `OK`).
    pub fn reset_sim_on_cfun(&mut self) {
        self.field.cfun_resets_sim = true;
    }

    /// Power came on at `now`: the hang, if one is due, is `uptime` away.
    pub(super) fn field_power_on(&mut self, now: Duration) {
        self.field.powered_at = now;
        self.field.needs_power_cycle = false;
        if let Some((uptime, _)) = self.field.hang_after {
            self.timers.set(now + uptime, Timer::HangAfter);
        }
    }

    pub(super) fn on_hang_due(&mut self) {
        if let Some((_, reset_line_recovers)) = self.field.hang_after {
            if self.go_hung() {
                self.field.needs_power_cycle = !reset_line_recovers;
            }
        }
    }

    /// The answer to a send whose data just arrived, when a send-fail loop holds its link.
    pub(super) fn stuck_send(&mut self, link: LinkId) -> Option<Outcome> {
        let n = usize::from(link);
        let stuck = self.session.stuck_sends & 1u16.checked_shl(u32::from(link)).unwrap_or(0);
        let connected = self.session.ip.links.get(n).map(|l| l.state) == Some(LinkState::Connected);
        if stuck == 0 || !connected {
            return None;
        }
        self.event(ModemEvent::SendFailInjected { link });
        let tag = self.session.ip.multi.then_some(link);
        Some(Outcome::Done {
            result: Some(Response::SendFail(tag)),
            takes: self.profile.command,
        })
    }

    /// `AT+CIPSTART` on `link`: a new connection, free of any send-fail loop.
    pub(super) fn restart_sends(&mut self, link: LinkId) {
        self.session.stuck_sends &= !1u16.checked_shl(u32::from(link)).unwrap_or(0);
    }

    /// Boot reached `RDY`: says it, or not, as the next boot was set to.
    pub(super) fn say_rdy(&mut self) {
        match self.field.next_rdy.take() {
            None => self.urc(&Response::Ready),
            Some(BadRdy::Garbled) => self.urc_bytes(GARBLED_RDY),
            Some(BadRdy::Missing) => {}
        }
    }
}
