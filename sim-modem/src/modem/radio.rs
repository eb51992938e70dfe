//! Registration, packet-domain attach and the PDP context.
//!
//! - Registration follows the coverage the network reports: usable coverage registers after
//!   the profile's `registration` time (`+CREG: 2` meanwhile), losing it unregisters at once.
//!   Only `AT+CFUN=1` with a ready SIM registers. `+CREG` URCs go out on every change of
//!   status (and, with `AT+CREG=2`, of cell).
//! - Attach follows registration when the coverage carries data, after `attach`, unless
//!   `AT+CGATT=0` asked otherwise; activating a PDP context attaches at once.
//! - One PDP context serves every user: the TCP/IP application (`AT+CIICR`), `AT+CGACT` and
//!   the bearer of `AT+SAPBR`. A real SIM800 has separate contexts, but the network here has
//!   one; the context is released when its last user lets go.
//! - A lost cell (no service, `+CREG: 2`) keeps an active context, and attach, for the
//!   profile's `pdp_hold`: links stay up, data stalls and flows again when the cell is back.
//!   A longer loss costs the context; the modem says so when the cell is back, or
//!   `pdp_deact_delay` after the hold ran out, whichever comes first.
//! - Losing the context (the network says so, registration is refused or data coverage
//!   goes, a lost cell outlasts the hold, `AT+CGATT=0`, flight mode) closes every link and
//!   reports `+PDP: DEACT`; the TCP/IP application then stays in PDP DEACT until
//!   `AT+CIPSHUT`.

use std::time::Duration;

use protocol::response::{Location, Response};
use protocol::types::RegStat;

use super::outcome::{cme, Failure, Outcome, PdpUser, Wait};
use super::{Modem, ModemEvent, Timer};
use crate::net::NetRequest;

#[derive(Debug)]
pub(super) struct Radio {
    /// `AT+CFUN`: 0 minimum, 1 full, 4 RF off.
    pub cfun: u8,
    pub sim_ready: bool,
    /// What `+CREG` reports.
    pub reg: RegStat,
    pub location: Option<Location>,
    /// `AT+CREG=<n>`: which URCs.
    pub creg_mode: u8,
    pub attached: bool,
    /// Cleared by `AT+CGATT=0`: no automatic attach.
    pub detached_by_host: bool,
    pub pdp: Pdp,
    /// Which users hold the context, by [`PdpUser`].
    pub users: [bool; 3],
    /// `AT+CGDCONT=1,...`'s APN.
    pub cgdcont_apn: Option<String>,
    /// `AT+SAPBR=3,1,"APN",...`.
    pub bearer_apn: Option<String>,
    /// A lost cell outlasted `pdp_hold`: the context is gone, not yet reported.
    pub pdp_expired: bool,
    /// `AT+COPS=2`, or a manual selection of a network that is not here: no registration.
    pub deregistered: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) enum Pdp {
    #[default]
    Inactive,
    Activating,
    Active([u8; 4]),
}

/// What asking for the context gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PdpStart {
    Active([u8; 4]),
    Pending,
    /// Not registered with data coverage: nothing to activate on.
    NoService,
}

impl Default for Radio {
    /// At power-up: full functionality, the SIM not read yet, nothing registered.
    fn default() -> Self {
        Radio {
            cfun: 1,
            sim_ready: false,
            reg: RegStat::NotRegistered,
            location: None,
            creg_mode: 0,
            attached: false,
            detached_by_host: false,
            pdp: Pdp::Inactive,
            users: [false; 3],
            cgdcont_apn: None,
            bearer_apn: None,
            pdp_expired: false,
            deregistered: false,
        }
    }
}

impl Modem {
    fn can_register(&self) -> bool {
        let r = &self.session.radio;
        r.cfun == 1 && r.sim_ready && !r.deregistered
    }

    fn has_data_coverage(&self) -> bool {
        self.session.radio.reg.is_registered() && self.coverage.is_some_and(|c| c.data)
    }

    /// Brings registration in line with the coverage and the modem's own state.
    pub(super) fn update_registration(&mut self, now: Duration) {
        let coverage = self.coverage.filter(|_| self.can_register());
        match coverage.map(|c| c.registration) {
            None if !self.can_register() => {
                self.timers.cancel(Timer::Register);
                self.set_registration(now, RegStat::NotRegistered);
            }
            Some(stat @ (RegStat::Home | RegStat::Roaming | RegStat::Denied)) => {
                let r = &self.session.radio;
                if r.reg == stat || (r.reg.is_registered() && stat.is_registered()) {
                    // Same network (or home <-> roaming): at once; the cell may have moved.
                    self.set_registration(now, stat);
                } else if !self.timers.is_set(Timer::Register) {
                    self.set_registration(now, RegStat::Searching);
                    self.timers
                        .set(now + self.profile.registration, Timer::Register);
                }
            }
            // No cell at all.
            _ => {
                self.timers.cancel(Timer::Register);
                self.set_registration(now, RegStat::Searching);
            }
        }
        self.update_attach(now);
    }

    pub(super) fn on_register_due(&mut self, now: Duration) {
        if let Some(c) = self.coverage.filter(|_| self.can_register()) {
            if matches!(
                c.registration,
                RegStat::Home | RegStat::Roaming | RegStat::Denied
            ) {
                self.set_registration(now, c.registration);
            }
        }
        self.update_attach(now);
    }

    fn set_registration(&mut self, now: Duration, stat: RegStat) {
        let location = self
            .coverage
            .filter(|_| stat.is_registered())
            .map(|c| Location {
                lac: c.lac,
                ci: c.ci,
            });
        let r = &mut self.session.radio;
        let (old, old_location) = (r.reg, r.location);
        if old == stat && old_location == location {
            return;
        }
        r.reg = stat;
        r.location = location;
        let mode = r.creg_mode;
        if old != stat {
            self.event(ModemEvent::Registration(stat));
        }
        match mode {
            1 if old != stat => self.urc(&Response::Creg {
                mode: None,
                stat,
                location: None,
            }),
            2 => self.urc(&Response::Creg {
                mode: None,
                stat,
                location,
            }),
            _ => {}
        }
        // `+CGREG` follows registration too (`housekeeping`).
        self.gprs_registration_changed();
        if stat.is_registered() && !old.is_registered() && self.session.clts {
            // The network's time, `*PSUTTZ` ... (`housekeeping`).
            self.network_time(now);
        }
    }

    /// Brings attach in line with registration and coverage.
    pub(super) fn update_attach(&mut self, now: Duration) {
        let possible = self.has_data_coverage();
        if self.holds_pdp_without_cell(now, possible) {
            return;
        }
        let r = &self.session.radio;
        if r.attached && !possible {
            self.set_attached(now, false);
        } else if !r.attached
            && possible
            && !r.detached_by_host
            && !self.timers.is_set(Timer::Attach)
        {
            self.timers.set(now + self.profile.attach, Timer::Attach);
        }
        if !possible {
            self.timers.cancel(Timer::Attach);
            if self.waiting() == Some(Wait::Attach) {
                self.resume(now, Outcome::Fail(Failure::Cme(cme::NO_NETWORK)));
            }
        }
    }

    /// While only the cell is missing (no refusal, no data-service loss, not the host's
    /// doing), an active context and attach are kept for `pdp_hold`. Returns whether they
    /// are. When the cell is back after the hold ran out, the lost context is reported now.
    fn holds_pdp_without_cell(&mut self, now: Duration, possible: bool) -> bool {
        let cell_only = self.coverage.is_some_and(|c| {
            c.registration != RegStat::Denied
                && (c.data || c.registration == RegStat::NotRegistered)
        });
        let r = &self.session.radio;
        let holding = !possible
            && cell_only
            && self.can_register()
            && r.attached
            && matches!(r.pdp, Pdp::Active(_))
            && !self.profile.pdp_hold.is_zero();
        if holding {
            if !r.pdp_expired && !self.timers.is_set(Timer::PdpHold) {
                self.timers.set(now + self.profile.pdp_hold, Timer::PdpHold);
            }
            return true;
        }
        self.timers.cancel(Timer::PdpHold);
        self.timers.cancel(Timer::PdpLostReport);
        if std::mem::take(&mut self.session.radio.pdp_expired) && possible {
            self.lose_pdp(now, true);
        }
        false
    }

    /// The hold ran out without the cell: the context is gone, said after `pdp_deact_delay`
    /// unless the cell comes back first.
    pub(super) fn on_pdp_hold_over(&mut self, now: Duration) {
        if !self.has_data_coverage() && matches!(self.session.radio.pdp, Pdp::Active(_)) {
            self.session.radio.pdp_expired = true;
            self.timers
                .set(now + self.profile.pdp_deact_delay, Timer::PdpLostReport);
        }
    }

    pub(super) fn on_pdp_lost_report(&mut self, now: Duration) {
        if std::mem::take(&mut self.session.radio.pdp_expired) {
            self.set_attached(now, false);
        }
    }

    pub(super) fn on_attach_due(&mut self, now: Duration) {
        if self.has_data_coverage() && !self.session.radio.attached {
            self.set_attached(now, true);
        }
    }

    pub(super) fn set_attached(&mut self, now: Duration, on: bool) {
        if self.session.radio.attached == on {
            return;
        }
        self.session.radio.attached = on;
        self.event(ModemEvent::Attached(on));
        self.gprs_registration_changed();
        if on {
            self.timers.cancel(Timer::Attach);
            if self.waiting() == Some(Wait::Attach) {
                self.resume(
                    now,
                    Outcome::Done {
                        result: Some(Response::Ok),
                        takes: Duration::ZERO,
                    },
                );
            }
        } else {
            self.lose_pdp(now, true);
        }
    }

    /// Asks for the context on behalf of `user`, attaching first if need be.
    pub(super) fn request_pdp(&mut self, now: Duration, user: PdpUser, apn: &str) -> PdpStart {
        if !self.session.radio.attached {
            if !self.has_data_coverage() {
                return PdpStart::NoService;
            }
            self.session.radio.detached_by_host = false;
            self.set_attached(now, true);
        }
        let r = &mut self.session.radio;
        r.users[user as usize] = true;
        match r.pdp {
            Pdp::Active(ip) => PdpStart::Active(ip),
            Pdp::Activating => PdpStart::Pending,
            Pdp::Inactive => {
                r.pdp = Pdp::Activating;
                self.request(NetRequest::ActivatePdp { apn: apn.into() });
                self.timers
                    .set(now + self.profile.ciicr_max, Timer::PdpDeadline);
                PdpStart::Pending
            }
        }
    }

    /// `user` lets go; the last one out releases the context.
    pub(super) fn release_pdp(&mut self, user: PdpUser) {
        let r = &mut self.session.radio;
        r.users[user as usize] = false;
        if r.users.iter().any(|&u| u) || r.pdp == Pdp::Inactive {
            return;
        }
        let was_active = matches!(r.pdp, Pdp::Active(_));
        r.pdp = Pdp::Inactive;
        self.timers.cancel(Timer::PdpDeadline);
        self.request(NetRequest::DeactivatePdp);
        if was_active {
            self.event(ModemEvent::PdpDeactivated);
        }
    }

    pub(super) fn holds_pdp(&self, user: PdpUser) -> bool {
        self.session.radio.users[user as usize]
    }

    pub(super) fn on_pdp_activated(&mut self, now: Duration, ip: [u8; 4]) {
        match self.session.radio.pdp {
            Pdp::Activating => {}
            // Stale: nobody wants it any more; let the network know.
            Pdp::Inactive => return self.request(NetRequest::DeactivatePdp),
            Pdp::Active(_) => return,
        }
        self.session.radio.pdp = Pdp::Active(ip);
        self.timers.cancel(Timer::PdpDeadline);
        self.event(ModemEvent::PdpActivated { ip });
        self.ip_pdp_up();
        if let Some(Wait::Pdp { until, .. }) = self.waiting() {
            self.resume(
                now,
                Outcome::Done {
                    result: Some(Response::Ok),
                    takes: until.saturating_sub(now),
                },
            );
        }
    }

    /// Activation was rejected, or gave up (`tell`: the network never answered, so it is
    /// told to forget the request).
    pub(super) fn on_pdp_failed(&mut self, now: Duration, tell: bool) {
        if self.session.radio.pdp != Pdp::Activating {
            return;
        }
        let r = &mut self.session.radio;
        r.pdp = Pdp::Inactive;
        r.users = [false; 3];
        self.timers.cancel(Timer::PdpDeadline);
        if tell {
            self.request(NetRequest::DeactivatePdp);
        }
        let waiter = match self.waiting() {
            Some(Wait::Pdp { user, failure, .. }) => Some((user, failure)),
            _ => None,
        };
        self.ip_pdp_failed(waiter.map(|(user, _)| user) == Some(PdpUser::Cip));
        if let Some((_, failure)) = waiter {
            self.resume(now, Outcome::Fail(failure));
        }
    }

    /// The context is gone (`tell`: the modem let go, so the network is told).
    pub(super) fn lose_pdp(&mut self, now: Duration, tell: bool) {
        let r = &mut self.session.radio;
        let was = r.pdp;
        let bearer_up = self.session.ip.bearer_up();
        if was == Pdp::Inactive && !bearer_up {
            return;
        }
        let r = &mut self.session.radio;
        r.pdp = Pdp::Inactive;
        let bearer_held = r.users[PdpUser::Bearer as usize];
        r.users = [false; 3];
        self.timers.cancel(Timer::PdpDeadline);
        if was != Pdp::Inactive {
            if tell {
                self.request(NetRequest::DeactivatePdp);
            }
            if matches!(was, Pdp::Active(_)) {
                self.event(ModemEvent::PdpDeactivated);
            }
        }
        self.ip_pdp_lost();
        self.services_pdp_lost(bearer_held);
        match self.waiting() {
            // A command waiting for the context fails with its error.
            Some(Wait::Pdp { failure, .. }) => self.resume(now, Outcome::Fail(failure)),
            // A send waiting for its acknowledgement gets `+PDP: DEACT` as its answer
            // (reference §2: it "can also arrive as the reply to AT+CIPSEND").
            Some(Wait::Delivered { .. }) => {
                self.timers.cancel(Timer::SendDeadline);
                self.resume(
                    now,
                    Outcome::Done {
                        result: Some(Response::PdpDeact),
                        takes: Duration::ZERO,
                    },
                );
            }
            _ => self.urc(&Response::PdpDeact),
        }
    }
}
