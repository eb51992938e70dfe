//! Bring-up and connection: start the modem, register, bring the data link up through the
//! SIM800 TCP/IP state machine, connect to the server, and restart the modem when it fails.
//!
//! # Start-up
//!
//! `AT` every `probe_interval` until the modem answers (a `RDY` is welcome but not required:
//! a modem at auto-baud sends none), at most `boot_timeout`; then `ATE0`, `AT+CMEE=0`,
//! `ATI` and `AT+CGMR` to pick the [`Profile`], `AT+CPIN?` until `READY` (at most
//! `sim_timeout`), `AT+CREG=2`, and the data settings, which need `IP INITIAL`, hence a
//! `AT+CIPSHUT` first: `AT+CIPMUX=1`, `AT+CIPHEAD=1` (`+RECEIVE,<n>,<len>:` headers) and
//! `AT+CIPQSEND=0`. Slow send mode makes `SEND OK` wait for the server's TCP ACK: a send
//! that is never acknowledged times out, and that is how a silently dead link is noticed.
//!
//! # Bring-up (B6), as Luat's `link.lua`
//!
//! Poll every `poll_interval`: `AT+CREG?` until registered (home or roaming), `AT+CGATT?`
//! until attached, then `AT+CIPSTATUS` and act on its `STATE:`:
//!
//! | state | action |
//! |---|---|
//! | `IP INITIAL` | `AT+CSTT="<apn>"...`, `AT+CIICR` |
//! | `IP START` | `AT+CIICR` |
//! | `IP CONFIG` | wait |
//! | `IP GPRSACT` | `AT+CIFSR` |
//! | `IP STATUS`, `IP PROCESSING` | ready |
//! | `PDP DEACT`, anything else | `AT+CIPSHUT` |
//!
//! After an action the state is read again at once. If the IP is not ready within `ip_wait`,
//! flight mode: `AT+CFUN=0`, `flight_mode`, `AT+CFUN=1`, and the wait starts again.
//!
//! # Connect (B7)
//!
//! `AT+CIPSTART=0,"TCP"|"UDP","<host>",<port>`, then `0, CONNECT OK` within
//! `connect_timeout` (`ALREADY CONNECT` counts as connected). A failure is counted; the 5th in
//! a row shuts the data link (`AT+CIPSHUT`) and resets the count, and so does finding the IP
//! not ready (as in the seed). Every attempt, failed or ended, is followed by `connect_pause`.
//!
//! # Bounds
//!
//! - IP ready, once the network is: within `poll_interval` plus the bring-up commands.
//! - Flight mode: at least every `ip_wait` + `flight_mode` + two `cfun_timeout` while the IP
//!   is not ready.
//! - A connect round: `Config::connect_round_bound` before `AT+CIPSHUT`.
//! - After a lost connection (IP still ready): the next `AT+CIPSTART` within
//!   `connect_pause` plus the close and three status commands.
//! - A hung modem: power-cycled within `Config::hung_modem_bound`; one that does not start:
//!   probed for `boot_timeout` after each RESET pulse or power-key press.

use protocol::command::{Command, Name};
use protocol::response::ConnectResult;
use protocol::types::{IpState, RegStat, SimState};

use crate::at::{Answer, Outcome};
use crate::board::{Board, LedState};
use crate::config::LINK;
use crate::device::{Device, Flags};
use crate::report::{Phase, Report};
use crate::session::LinkLoss;
use crate::time::Clock;
use core::convert::Infallible;
use core::time::Duration;
use embedded_io_async::{Read, Write};

/// Why the device gave up on the modem and restarted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
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

/// What the firmware needs to know about the modem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Profile {
    pub model: Model,
    /// Connection links, and so `C:` lines in a multi-mode `AT+CIPSTATUS` answer.
    pub links: u8,
}

impl Profile {
    /// Picks the profile from identification texts: Luat's mention `Air` or `Luat`;
    /// anything else is taken for a SIM800.
    pub fn identify(texts: &[&[u8]]) -> Profile {
        let has =
            |t: &[u8], word: &[u8]| t.windows(word.len()).any(|w| w.eq_ignore_ascii_case(word));
        if texts.iter().any(|t| has(t, b"AIR") || has(t, b"LUAT")) {
            Profile {
                model: Model::Air202,
                links: 8,
            }
        } else {
            Profile {
                model: Model::Sim800,
                links: 6,
            }
        }
    }
}

impl<U: Read + Write, C: Clock, B: Board> Device<'_, U, C, B> {
    /// Sends a command and waits for its answer; `Err` only when the modem is given up on.
    pub(crate) async fn cmd(
        &mut self,
        command: &Command<'_>,
        timeout: Duration,
    ) -> Result<Answer, Fault> {
        Ok(self.at.command(command, timeout, &mut self.state).await?)
    }

    /// A command whose failure the firmware can live with: reported, not fatal.
    async fn setting(&mut self, command: &Command<'_>) -> Result<bool, Fault> {
        let answer = self.cmd(command, self.config.at_timeout).await?;
        if answer.outcome == Outcome::Error {
            self.state.board.report(Report::AtRejected(*command));
        }
        Ok(answer.is_ok())
    }

    /// A pause that still handles URCs.
    pub(crate) async fn pause(&mut self, duration: Duration) {
        let deadline = self.now() + duration;
        self.at.sleep_until(deadline, &mut self.state).await;
    }

    /// Brings the modem up and keeps the connection alive until the modem must be restarted.
    pub(crate) async fn serve(&mut self) -> Result<Infallible, Fault> {
        self.start_modem().await?;
        let mut failures = 0u8;
        loop {
            if !self.bring_up().await? {
                failures = 0;
            }
            if self.connect().await? {
                failures = 0;
                self.state.board.report(Report::Connected);
                self.state.set_led(LedState::Connected);
                let loss = self.session().await?;
                self.state.board.report(Report::LinkLost(loss));
                self.state.set_led(LedState::Registered);
                self.close(loss).await?;
            } else {
                failures = failures.saturating_add(1);
                self.state.board.report(Report::ConnectFailed { failures });
                if failures >= self.config.connect_failures_before_shut {
                    self.shut().await?;
                    failures = 0;
                }
            }
            self.set_phase(Phase::Pausing);
            self.pause(self.config.connect_pause).await;
            self.check_modem()?;
        }
    }

    /// Restarts the modem after `fault`: RESET and power key alternately, as long as it does
    /// not come up; nothing when it restarted on its own.
    pub(crate) async fn restart_modem(&mut self, fault: Fault) {
        let action = match fault {
            Fault::Rebooted => PowerAction::None,
            // Off: only the power key brings it back.
            Fault::PoweredDown if self.restarts == 0 => PowerAction::PowerKey,
            _ if self.restarts % 2 == 0 => PowerAction::Reset,
            _ => PowerAction::PowerKey,
        };
        self.set_phase(Phase::Restarting);
        self.state.set_led(LedState::Off);
        self.state.board.report(Report::ModemRestart {
            reason: fault,
            action,
        });
        self.at.reset();
        match action {
            PowerAction::None => return,
            PowerAction::Reset => {
                self.state.board.set_modem_reset(true);
                self.pause(self.config.reset_pulse).await;
                self.state.board.set_modem_reset(false);
            }
            PowerAction::PowerKey => {
                self.state.board.set_power_key(true);
                self.pause(self.config.power_key_press).await;
                self.state.board.set_power_key(false);
            }
        }
        self.restarts = self.restarts.saturating_add(1);
    }

    /// Probes, configures and identifies the modem.
    async fn start_modem(&mut self) -> Result<(), Fault> {
        self.set_phase(Phase::Starting);
        let c = self.config;
        let deadline = self.now() + c.boot_timeout;
        loop {
            let answer = self.cmd(&Command::At, c.probe_interval).await?;
            if answer.outcome != Outcome::Timeout {
                break;
            }
            if self.now() >= deadline {
                return Err(Fault::NoAnswer);
            }
        }
        self.setting(&Command::Echo(false)).await?;
        self.setting(&Command::Cmee(0)).await?;
        let ati = self.cmd(&Command::Info, c.at_timeout).await?;
        let cgmr = self.cmd(&Command::Exec(Name::Cgmr), c.at_timeout).await?;
        let profile = Profile::identify(&[&ati.text, &cgmr.text]);

        let sim_deadline = self.now() + c.sim_timeout;
        loop {
            let answer = self.cmd(&Command::Read(Name::Cpin), c.at_timeout).await?;
            if answer.cpin == Some(SimState::Ready) {
                break;
            }
            if self.now() >= sim_deadline {
                return Err(Fault::SimNotReady);
            }
            self.pause(c.poll_interval).await;
        }

        self.setting(&Command::Creg(2)).await?;
        // The data settings are only accepted in IP INITIAL.
        self.cmd(&Command::Exec(Name::Cipshut), c.cipshut_timeout)
            .await?;
        if !self.setting(&Command::Cipmux(true)).await? {
            return Err(Fault::SetupRefused);
        }
        self.at.set_connection_lines(profile.links);
        if !self.setting(&Command::Ciphead(true)).await? {
            return Err(Fault::SetupRefused);
        }
        self.setting(&Command::Cipqsend(0)).await?;

        // Whatever the modem said while starting is not news.
        self.state.flags = Flags::default();
        self.restarts = 0;
        self.state.board.report(Report::ModemReady(profile));
        Ok(())
    }

    /// Waits until the IP is ready (B6). `Ok(true)` if it was ready at the first look.
    async fn bring_up(&mut self) -> Result<bool, Fault> {
        let c = self.config;
        let mut deadline = self.now() + c.ip_wait;
        let mut at_once = true;
        loop {
            self.check_modem()?;
            self.query_if_due().await?;
            if self.ip_step().await? {
                self.state.flags.sim_lost = false;
                self.state.set_led(LedState::Registered);
                return Ok(at_once);
            }
            if at_once {
                at_once = false;
                self.set_phase(Phase::BringingUp);
                self.state.set_led(LedState::Searching);
            }
            let now = self.now();
            if now >= deadline {
                self.flight_mode().await?;
                deadline = self.now() + c.ip_wait;
                continue;
            }
            let next = (now + c.poll_interval).min(deadline);
            self.at.wait_until(next, &mut self.state).await;
        }
    }

    /// One look at registration, attach and the IP state, acting on it. `Ok(true)` when the
    /// IP is ready.
    async fn ip_step(&mut self) -> Result<bool, Fault> {
        let c = self.config;
        let creg = self
            .cmd(&Command::Read(Name::Creg), c.at_timeout)
            .await?
            .creg;
        let Some((stat, _)) = creg else {
            return Ok(false);
        };
        self.note_registration(stat);
        if !stat.is_registered() {
            return Ok(false);
        }
        let attached = self
            .cmd(&Command::Read(Name::Cgatt), c.at_timeout)
            .await?
            .cgatt;
        if attached != Some(true) {
            return Ok(false);
        }
        // Each action moves the state on; a few rounds reach IP STATUS from IP INITIAL.
        for _ in 0..4 {
            let status = self
                .cmd(&Command::Exec(Name::Cipstatus), c.at_timeout)
                .await?;
            if status.outcome == Outcome::Timeout && status.connections > 0 {
                // The modem has another link count than its profile: learn it.
                self.at.set_connection_lines(status.connections);
            }
            let Some(state) = status.state else {
                return Ok(false);
            };
            self.note_ip_state(state);
            match state {
                IpState::IpStatus | IpState::IpProcessing => return Ok(true),
                IpState::IpConfig => return Ok(false),
                IpState::IpInitial => {
                    let cstt = Command::Cstt {
                        apn: c.apn.as_str(),
                        user: non_empty(c.user.as_str()),
                        pwd: non_empty(c.password.as_str()),
                    };
                    if !self.setting(&cstt).await? {
                        return Ok(false);
                    }
                    self.cmd(&Command::Exec(Name::Ciicr), c.ciicr_timeout)
                        .await?;
                }
                IpState::IpStart => {
                    self.cmd(&Command::Exec(Name::Ciicr), c.ciicr_timeout)
                        .await?;
                }
                IpState::IpGprsact => {
                    if let Some(ip) = self
                        .cmd(&Command::Exec(Name::Cifsr), c.at_timeout)
                        .await?
                        .ip
                    {
                        self.state.board.report(Report::IpAddress(ip));
                    }
                }
                _ => {
                    self.cmd(&Command::Exec(Name::Cipshut), c.cipshut_timeout)
                        .await?;
                }
            }
        }
        Ok(false)
    }

    fn note_registration(&mut self, stat: RegStat) {
        if self.registration != Some(stat) {
            self.registration = Some(stat);
            self.state.board.report(Report::Registration(stat));
        }
    }

    fn note_ip_state(&mut self, state: IpState) {
        if self.ip_state != Some(state) {
            self.ip_state = Some(state);
            self.state.board.report(Report::IpState(state));
        }
    }

    /// B6: `AT+CFUN=0`, `flight_mode`, `AT+CFUN=1`.
    async fn flight_mode(&mut self) -> Result<(), Fault> {
        let c = self.config;
        self.set_phase(Phase::FlightMode);
        self.state.board.report(Report::FlightMode(true));
        self.cmd(&Command::Cfun { fun: 0, rst: None }, c.cfun_timeout)
            .await?;
        self.pause(c.flight_mode).await;
        self.cmd(&Command::Cfun { fun: 1, rst: None }, c.cfun_timeout)
            .await?;
        self.state.board.report(Report::FlightMode(false));
        // The SIM goes and comes back with the radio; that is not a modem restart.
        self.state.flags.sim_lost = false;
        self.registration = None;
        self.ip_state = None;
        self.set_phase(Phase::BringingUp);
        Ok(())
    }

    /// One connect attempt (B7). `Ok(true)` when connected.
    async fn connect(&mut self) -> Result<bool, Fault> {
        let c = self.config;
        self.set_phase(Phase::Connecting);
        let flags = &mut self.state.flags;
        flags.connect = None;
        flags.closed = false;
        flags.pdp_deact = false;
        // A partial message from the last connection is not the start of the next one.
        self.state.deframer.reset();
        let start = Command::Cipstart {
            link: Some(LINK),
            transport: c.transport,
            host: c.server_host.as_str(),
            port: c.server_port,
        };
        if !self.setting(&start).await? {
            return Ok(false);
        }
        let deadline = self.now() + c.connect_timeout;
        loop {
            if let Some(result) = self.state.flags.connect.take() {
                return Ok(matches!(
                    result,
                    ConnectResult::Ok | ConnectResult::AlreadyConnected
                ));
            }
            self.check_modem()?;
            if self.state.flags.closed || self.state.flags.pdp_deact {
                return Ok(false);
            }
            if self.now() >= deadline {
                self.close_link().await?;
                return Ok(false);
            }
            self.at.wait_until(deadline, &mut self.state).await;
        }
    }

    /// Cleans up after a lost connection: a PDP deactivation needs `AT+CIPSHUT` (Luat), a
    /// failed send a close; a closed link needs nothing.
    async fn close(&mut self, loss: LinkLoss) -> Result<(), Fault> {
        match loss {
            LinkLoss::Closed => Ok(()),
            LinkLoss::PdpDeact => self.shut().await,
            LinkLoss::SendFailed | LinkLoss::SendTimeout => self.close_link().await,
        }
    }

    /// `AT+CIPCLOSE=0,1`: a quick close; an `ERROR` (already closed) is fine.
    pub(crate) async fn close_link(&mut self) -> Result<(), Fault> {
        let close = Command::Cipclose {
            link: Some(LINK),
            quick: Some(true),
        };
        self.cmd(&close, self.config.at_timeout).await?;
        Ok(())
    }

    /// `AT+CIPSHUT`: closes every link and deactivates the PDP context.
    pub(crate) async fn shut(&mut self) -> Result<(), Fault> {
        self.cmd(&Command::Exec(Name::Cipshut), self.config.cipshut_timeout)
            .await?;
        self.state.board.report(Report::DataLinkShut);
        self.ip_state = None;
        Ok(())
    }

    /// B10: signal and cell, every `query_interval`.
    pub(crate) async fn query_if_due(&mut self) -> Result<(), Fault> {
        let c = self.config;
        if self.now() < self.query_due {
            return Ok(());
        }
        self.query_due = self.now() + c.query_interval;
        if let Some((rssi, ber)) = self.cmd(&Command::Exec(Name::Csq), c.at_timeout).await?.csq {
            self.state.board.report(Report::Signal { rssi, ber });
        }
        if let Some((stat, location)) = self
            .cmd(&Command::Read(Name::Creg), c.at_timeout)
            .await?
            .creg
        {
            self.state.board.report(Report::Cell { stat, location });
        }
        Ok(())
    }
}

fn non_empty(text: &str) -> Option<&str> {
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles() {
        let air = Profile {
            model: Model::Air202,
            links: 8,
        };
        let sim = Profile {
            model: Model::Sim800,
            links: 6,
        };
        assert_eq!(
            Profile::identify(&[b"SIM800 R14.18", b"Revision:1418B04SIM800L24"]),
            sim
        );
        assert_eq!(Profile::identify(&[b"", b"Luat_V0034_AIR202"]), air);
        assert_eq!(Profile::identify(&[b"air202", b""]), air);
        assert_eq!(Profile::identify(&[b"", b""]), sim);
    }
}
