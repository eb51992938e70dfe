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
//! # B10's signal and cell query
//!
//! `AT+CSQ`, `AT+CREG?` every `query_interval`, on time (the next is due one interval after
//! the last was due, see `Device::query_now`), in every phase where the modem answers:
//! connected, bring-up, flight mode (between `AT+CFUN=0` and `AT+CFUN=1`), the connect wait
//! and the pause after a lost connection. Skipped only while the modem is restarted and
//! started (from `Phase::Restarting` to `Report::ModemReady`), and held back while another
//! command waits for its answer (`AT+CIICR`, `AT+CFUN`, ...): then it goes right after.
//! During bring-up, `AT+CSQ` goes when due, and the next poll's `AT+CREG?` (at most
//! `poll_interval` later) is its cell query: the polls keep their pace.
//!
//! # The LED (B10)
//!
//! `Searching` the moment the URC handler sees the cell or the data link go (`+CREG:` not
//! registered, `+PDP: DEACT`), and while bring-up waits; `Registered` once the IP is ready
//! and while not connected; `Connected` while connected; `Off` while the modem restarts.
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

use crate::at::{Outcome, Stop, Wake};
use crate::board::LedState;
use crate::config::LINK;
use crate::device::{Device, Flags};
use crate::report::{Phase, Report};
use crate::session::LinkLoss;
use crate::time::{Clock, Instant};
use core::convert::Infallible;
use core::future::Future;
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
    pub const SIM800: Profile = Profile {
        model: Model::Sim800,
        links: 6,
    };

    pub const AIR202: Profile = Profile {
        model: Model::Air202,
        links: 8,
    };

    /// Picks the profile from identification texts: Luat's mention `Air` or `Luat`;
    /// anything else is taken for a SIM800.
    pub fn identify(texts: &[&[u8]]) -> Profile {
        let has =
            |t: &[u8], word: &[u8]| t.windows(word.len()).any(|w| w.eq_ignore_ascii_case(word));
        if texts.iter().any(|t| has(t, b"AIR") || has(t, b"LUAT")) {
            Profile::AIR202
        } else {
            Profile::SIM800
        }
    }
}

/// One step of start-up, once the modem answers `AT`.
#[derive(Debug, Clone, Copy)]
enum Setup {
    /// A setting whose `ERROR` is reported; start-up goes on.
    Wanted(Command<'static>),
    /// A setting the firmware cannot work without: anything but `OK` restarts the modem.
    Required(Command<'static>),
    /// A command whose answer informs (identification) or does not matter.
    Any(Command<'static>),
    /// `AT+CPIN?` every `poll_interval` until `READY`, at most `sim_timeout`.
    Sim,
}

/// Start-up once the modem answers `AT`: echo off, plain errors, identification (`ATI`,
/// `AT+CGMR`: Luat's modems name themselves), the SIM; then registration URCs with the
/// cell, and the data settings, which are only accepted in `IP INITIAL` (hence
/// `AT+CIPSHUT` first).
static STARTUP: [Setup; 10] = [
    Setup::Wanted(Command::Echo(false)),
    Setup::Wanted(Command::Cmee(0)),
    Setup::Any(Command::Info),
    Setup::Any(Command::Exec(Name::Cgmr)),
    Setup::Sim,
    Setup::Wanted(Command::Creg(2)),
    Setup::Any(Command::Exec(Name::Cipshut)),
    Setup::Required(Command::Cipmux(true)),
    Setup::Required(Command::Ciphead(true)),
    Setup::Wanted(Command::Cipqsend(0)),
];

/// `AT+CIPCLOSE=0,1`: a quick close of the link; an `ERROR` (already closed) is fine.
const CLOSE: Command<'static> = Command::Cipclose {
    link: Some(LINK),
    quick: Some(true),
};

/// `AT+CIPSHUT`: closes every link and deactivates the PDP context (B7, `+PDP: DEACT`).
const SHUT: Command<'static> = Command::Exec(Name::Cipshut);

impl<'a, U: Read + Write, C: Clock> Device<'a, U, C> {
    /// Sends a command and waits for its answer (in `self.at.answer()` afterwards), as long
    /// as [`At::timeout`](crate::at::At::timeout) says; `Err` when the modem is given up on,
    /// or restarted: once the modem is started, a restart URC (`RDY`, `+CPIN: NOT READY`, a
    /// power-down) seen before the command or while it is pending ends it with the
    /// [`Device::check_modem`] fault, and nothing is sent to the fresh modem.
    pub(crate) async fn cmd(&mut self, command: &Command<'_>) -> Result<Outcome, Fault> {
        if !self.state.starting {
            self.check_modem()?;
        }
        let outcome = self.at.command(command, &mut self.state).await?;
        if outcome == Outcome::Aborted {
            self.check_modem()?;
        }
        Ok(outcome)
    }

    /// The answer to a command the firmware wants `OK` to: an `ERROR` is reported. `true` on
    /// `OK`.
    // Out of line: called from several places, and `Report::AtRejected` copies the command.
    #[inline(never)]
    fn wanted(&mut self, command: &Command<'_>, outcome: Outcome) -> bool {
        if outcome == Outcome::Error {
            self.state.board.report(Report::AtRejected(*command));
        }
        outcome == Outcome::Ok
    }

    /// A pause that still handles URCs, whatever they say.
    pub(crate) fn pause(
        &mut self,
        duration: Duration,
    ) -> impl Future<Output = Stop> + use<'_, 'a, U, C> {
        let deadline = self.now() + duration;
        self.at.sleep_until(deadline, &mut self.state)
    }

    /// B10: whether signal and cell are due now. If so, the next query is due one
    /// `query_interval` after this one was due (on time, without drift), or, when this one
    /// is more than `poll_interval` late (the first, or the modem was being started, or a
    /// long command such as `AT+CIICR` held it back), one `query_interval` from now.
    pub(crate) fn query_now(&mut self) -> bool {
        let now = self.now();
        if now < self.query_due {
            return false;
        }
        let c = self.config;
        let base = if now > self.query_due + c.poll_interval {
            now
        } else {
            self.query_due
        };
        self.query_due = base + c.query_interval;
        true
    }

    /// B10: `AT+CSQ` and `AT+CREG?` when due. `Ok(true)` if they were sent.
    pub(crate) async fn query_if_due(&mut self) -> Result<bool, Fault> {
        if !self.query_now() {
            return Ok(false);
        }
        self.cmd(&Command::Exec(Name::Csq)).await?;
        self.report_signal();
        self.cmd(&Command::Read(Name::Creg)).await?;
        self.report_cell(true);
        Ok(true)
    }

    /// Handles URCs until `deadline`, or until one reaches `stop_on`, querying signal and
    /// cell when they come due (B10).
    async fn idle(&mut self, deadline: Instant, stop_on: Wake) -> Result<Stop, Fault> {
        loop {
            self.query_if_due().await?;
            let until = deadline.min(self.query_due);
            let stop = self.at.pump(until, Some(stop_on), &mut self.state).await;
            if stop != Stop::Deadline || self.now() >= deadline {
                return Ok(stop);
            }
        }
    }

    /// Brings the modem up and keeps the connection alive until the modem must be restarted.
    pub(crate) async fn serve(&mut self) -> Result<Infallible, Fault> {
        self.start_modem().await?;
        let mut failures = 0u8;
        loop {
            if !self.bring_up().await? {
                failures = 0;
            }
            // What the attempt leaves to clean up: the connection, or the whole data link.
            let cleanup = if self.connect().await? {
                failures = 0;
                self.state.board.report(Report::Connected);
                self.state.set_led(LedState::Connected);
                let loss = self.session().await?;
                self.state.board.report(Report::LinkLost(loss));
                // B10: `Registered` while the IP is up; the URC handler may have seen the
                // cell or the data link go already (`Searching`), maybe in the same read.
                self.at.drain(&mut self.state);
                let led = if loss == LinkLoss::PdpDeact
                    || self.state.led() == Some(LedState::Searching)
                {
                    LedState::Searching
                } else {
                    LedState::Registered
                };
                self.state.set_led(led);
                // A PDP deactivation needs `AT+CIPSHUT` (Luat), a failed send a close; a
                // closed link needs nothing.
                match loss {
                    LinkLoss::Closed => None,
                    LinkLoss::PdpDeact => Some(SHUT),
                    LinkLoss::SendFailed | LinkLoss::SendTimeout => Some(CLOSE),
                }
            } else {
                failures = failures.saturating_add(1);
                self.state.board.report(Report::ConnectFailed { failures });
                let shut = failures >= self.config.connect_failures_before_shut;
                if shut {
                    failures = 0;
                }
                shut.then_some(SHUT)
            };
            if let Some(command) = cleanup {
                self.cmd(&command).await?;
                if matches!(command, Command::Exec(Name::Cipshut)) {
                    self.state.board.report(Report::DataLinkShut);
                    self.ip_state = None;
                }
            }
            self.set_phase(Phase::Pausing);
            let end = self.now() + self.config.connect_pause;
            self.idle(end, Wake::Restart).await?;
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
        self.state.starting = true;
        self.state.radio_off = false;
        self.state.set_led(LedState::Off);
        self.state.board.report(Report::ModemRestart {
            reason: fault,
            action,
        });
        self.at.reset();
        let hold = match action {
            PowerAction::None => return,
            PowerAction::Reset => self.config.reset_pulse,
            PowerAction::PowerKey => self.config.power_key_press,
        };
        self.power_line(action, true);
        self.pause(hold).await;
        self.power_line(action, false);
        self.restarts = self.restarts.saturating_add(1);
    }

    /// Drives the line of a power action: RESET or PWRKEY.
    fn power_line(&mut self, action: PowerAction, on: bool) {
        match action {
            PowerAction::Reset => self.state.board.set_modem_reset(on),
            _ => self.state.board.set_power_key(on),
        }
    }

    /// Probes, configures and identifies the modem.
    async fn start_modem(&mut self) -> Result<(), Fault> {
        self.set_phase(Phase::Starting);
        let c = self.config;
        let deadline = self.now() + c.boot_timeout;
        while self.cmd(&Command::At).await? == Outcome::Timeout {
            if self.now() >= deadline {
                return Err(Fault::NoAnswer);
            }
        }
        let mut luat = false;
        let mut sim_deadline = None;
        let mut steps = STARTUP.iter();
        let mut step = steps.next();
        while let Some(&setup) = step {
            let command = match setup {
                Setup::Wanted(command) | Setup::Required(command) | Setup::Any(command) => command,
                Setup::Sim => {
                    sim_deadline.get_or_insert(self.now() + c.sim_timeout);
                    Command::Read(Name::Cpin)
                }
            };
            let outcome = self.cmd(&command).await?;
            match setup {
                Setup::Wanted(command) => {
                    self.wanted(&command, outcome);
                }
                Setup::Required(command) if !self.wanted(&command, outcome) => {
                    return Err(Fault::SetupRefused);
                }
                Setup::Sim if self.at.answer().cpin != Some(SimState::Ready) => {
                    if sim_deadline.is_some_and(|d| self.now() >= d) {
                        return Err(Fault::SimNotReady);
                    }
                    self.pause(c.poll_interval).await;
                    continue;
                }
                _ => luat |= Profile::identify(&[&self.at.answer().text]) == Profile::AIR202,
            }
            step = steps.next();
        }
        let profile = if luat {
            Profile::AIR202
        } else {
            Profile::SIM800
        };
        self.at.set_connection_lines(profile.links);

        // Whatever the modem said while starting is not news.
        self.state.flags = Flags::default();
        self.state.starting = false;
        self.restarts = 0;
        self.state.board.report(Report::ModemReady(profile));
        Ok(())
    }

    /// Waits until the IP is ready (B6). `Ok(true)` if it was ready at the first look. If it
    /// is not ready within `ip_wait`, flight mode: `AT+CFUN=0`, `flight_mode`, `AT+CFUN=1`,
    /// and the wait starts again.
    async fn bring_up(&mut self) -> Result<bool, Fault> {
        let c = self.config;
        let mut deadline = self.now() + c.ip_wait;
        let mut at_once = true;
        loop {
            self.check_modem()?;
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
            if now < deadline {
                let poll = (now + c.poll_interval).min(deadline);
                // B10 on time between polls: `AT+CSQ` when due, and the next poll's
                // `AT+CREG?` is its cell query (the polls keep their pace).
                loop {
                    if self.query_now() {
                        self.cmd(&Command::Exec(Name::Csq)).await?;
                        self.report_signal();
                        self.cell_pending = true;
                    }
                    let until = poll.min(self.query_due);
                    let stop = self.at.wait_until(until, &mut self.state).await;
                    if stop != Stop::Deadline || self.now() >= poll {
                        break;
                    }
                }
                continue;
            }
            self.set_phase(Phase::FlightMode);
            self.state.board.report(Report::FlightMode(true));
            self.state.radio_off = true;
            for fun in [0, 1] {
                if fun == 1 {
                    // The modem still answers: B10's query goes on.
                    let end = self.now() + c.flight_mode;
                    self.idle(end, Wake::Restart).await?;
                }
                self.cmd(&Command::Cfun { fun, rst: None }).await?;
            }
            self.state.radio_off = false;
            self.state.board.report(Report::FlightMode(false));
            // The SIM goes and comes back with the radio; that is not a modem restart.
            self.state.flags.sim_lost = false;
            self.registration = None;
            self.ip_state = None;
            self.set_phase(Phase::BringingUp);
            deadline = self.now() + c.ip_wait;
        }
    }

    /// One look at registration, attach and the IP state, acting on it, as Luat's
    /// `link.lua`: each answer decides the next command. `Ok(true)` when the IP is ready.
    /// B10's signal query goes first when it is due, and its cell query is the `AT+CREG?`.
    async fn ip_step(&mut self) -> Result<bool, Fault> {
        let c = self.config;
        let signal = self.query_now();
        let cell = signal || core::mem::take(&mut self.cell_pending);
        let mut command = if signal {
            Command::Exec(Name::Csq)
        } else {
            Command::Read(Name::Creg)
        };
        // Each action moves the state on; a few rounds reach IP STATUS from IP INITIAL.
        let mut rounds = 0;
        loop {
            let outcome = self.cmd(&command).await?;
            if let Some(ip) = self.at.answer().ip {
                self.state.board.report(Report::IpAddress(ip));
            }
            let answer = self.at.answer();
            command = match command {
                Command::Exec(Name::Csq) => {
                    self.report_signal();
                    Command::Read(Name::Creg)
                }
                Command::Read(Name::Creg) => {
                    let Some(stat) = self.report_cell(cell) else {
                        return Ok(false);
                    };
                    self.note_registration(stat);
                    if !stat.is_registered() {
                        return Ok(false);
                    }
                    Command::Read(Name::Cgatt)
                }
                Command::Read(Name::Cgatt) if answer.cgatt == Some(true) => {
                    Command::Exec(Name::Cipstatus)
                }
                Command::Exec(Name::Cipstatus) => {
                    let (state, connections) = (answer.state, answer.connections);
                    if outcome == Outcome::Timeout && connections > 0 {
                        // The modem has another link count than its profile: learn it.
                        self.at.set_connection_lines(connections);
                    }
                    let Some(state) = state else {
                        return Ok(false);
                    };
                    self.note_ip_state(state);
                    rounds += 1;
                    match state {
                        IpState::IpStatus | IpState::IpProcessing => return Ok(true),
                        IpState::IpConfig => return Ok(false),
                        IpState::IpInitial => Command::Cstt {
                            apn: c.apn.as_str(),
                            user: non_empty(c.user.as_str()),
                            pwd: non_empty(c.password.as_str()),
                        },
                        IpState::IpStart => Command::Exec(Name::Ciicr),
                        IpState::IpGprsact => Command::Exec(Name::Cifsr),
                        _ => Command::Exec(Name::Cipshut),
                    }
                }
                Command::Cstt { .. } if self.wanted(&command, outcome) => {
                    Command::Exec(Name::Ciicr)
                }
                // The action after `AT+CIPSTATUS` is done: read the state again.
                Command::Exec(_) if rounds < 4 => Command::Exec(Name::Cipstatus),
                _ => return Ok(false),
            };
        }
    }

    /// B10's signal, from the answer to `AT+CSQ`.
    pub(crate) fn report_signal(&mut self) {
        if let Some((rssi, ber)) = self.at.answer().csq {
            self.state.board.report(Report::Signal { rssi, ber });
        }
    }

    /// The registration status from the answer to `AT+CREG?`, reported as B10's cell when
    /// `cell`.
    pub(crate) fn report_cell(&mut self, cell: bool) -> Option<RegStat> {
        let (stat, location) = self.at.answer().creg?;
        if cell {
            self.state.board.report(Report::Cell { stat, location });
        }
        Some(stat)
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
        let outcome = self.cmd(&start).await?;
        if !self.wanted(&start, outcome) {
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
                self.cmd(&CLOSE).await?;
                return Ok(false);
            }
            self.idle(deadline, Wake::Yes).await?;
        }
    }
}

pub(crate) fn non_empty(text: &str) -> Option<&str> {
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
