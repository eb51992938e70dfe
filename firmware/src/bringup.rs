//! Bring-up and connect: once the modem is started, register, bring the data link up
//! through the SIM800 TCP/IP state machine, and open the connection to the server.
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
//! # The LED (B10)
//!
//! `Searching` the moment the URC handler sees the cell or the data link go (`+CREG:` not
//! registered, `+PDP: DEACT`), and while bring-up waits; `Registered` once the IP is ready
//! and while not connected; `Connected` while connected; `Off` while the modem restarts.
//!
//! # Connect (B7)
//!
//! `AT+CIPSTART=0,"TCP"|"UDP","<host>",<port>`, then `0, CONNECT OK` within
//! `connect_timeout`. `ALREADY CONNECT` is a link this attempt did not open (one given up on
//! earlier, whose close failed): it is closed (`AT+CIPCLOSE=0,1`) and the attempt counts as
//! failed, so the next one opens a fresh link. A failure is counted; the 5th in
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

use embedded_io_async::{Read, Write};
use protocol::command::{Command, Name};
use protocol::response::ConnectResult;
use protocol::types::{IpState, RegStat};

use crate::at::{Outcome, Stop, Wake};
use crate::board::Board;
use crate::config::{non_empty, LINK};
use crate::device::{Device, NtpState};
use crate::report::Report;
use crate::time::Clock;
use crate::values::{LedState, Phase, RestartReason};

/// `AT+CIPCLOSE=0,1`: a quick close of the link; an `ERROR` (already closed) is fine.
pub(crate) const CLOSE: Command<'static> = Command::Cipclose {
    link: Some(LINK),
    quick: Some(true),
};

/// `AT+CIPSHUT`: closes every link and deactivates the PDP context (B7, `+PDP: DEACT`).
pub(crate) const SHUT: Command<'static> = Command::Exec(Name::Cipshut);

impl<'a, U: Read + Write, C: Clock, B: Board + ?Sized> Device<'a, U, C, B> {
    /// Waits until the IP is ready (B6). `Ok(true)` if it was ready at the first look. If it
    /// is not ready within `ip_wait`, flight mode: `AT+CFUN=0`, `flight_mode`, `AT+CFUN=1`,
    /// and the wait starts again.
    pub(crate) async fn bring_up(&mut self) -> Result<bool, RestartReason> {
        let c = self.config;
        let mut deadline = self.now() + c.ip_wait;
        let mut at_once = true;
        loop {
            self.check_modem()?;
            if self.ip_step().await? {
                self.state.flags.sim_lost = false;
                self.state.radio_off = false;
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
            // (`radio_off` stays until the SIM is back: some modems reset it when the radio
            // comes back, `+CPIN: NOT READY` after the `OK`, see `state`.)
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
    async fn ip_step(&mut self) -> Result<bool, RestartReason> {
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
            // `None`: the IP is ready, and the first clock sync goes before the connection.
            let next = match command {
                // A step of the first clock sync was answered.
                _ if Self::is_clock_step(&command) => {
                    self.clock_answered(outcome);
                    None
                }
                Command::Exec(Name::Csq) => {
                    self.report_signal();
                    Some(Command::Read(Name::Creg))
                }
                Command::Read(Name::Creg) => {
                    let Some(stat) = self.report_cell(cell) else {
                        return Ok(false);
                    };
                    self.note_registration(stat);
                    if !stat.is_registered() {
                        return Ok(false);
                    }
                    Some(Command::Read(Name::Cgatt))
                }
                Command::Read(Name::Cgatt) if answer.cgatt == Some(true) => {
                    Some(Command::Exec(Name::Cipstatus))
                }
                Command::Exec(Name::Cipstatus) => {
                    let (state, connections) = (answer.state, answer.connections);
                    if outcome == Outcome::Timeout {
                        if connections > 0 {
                            // The modem has another link count than its profile: learn it.
                            self.at.set_connection_lines(connections);
                        } else {
                            // A `STATE:` and no `C:` line: single-link mode, a modem that
                            // restarted unseen; checked before the next command.
                            self.state.flags.suspect = true;
                        }
                    }
                    let Some(state) = state else {
                        return Ok(false);
                    };
                    self.note_ip_state(state);
                    rounds += 1;
                    match state {
                        IpState::IpStatus | IpState::IpProcessing => None,
                        IpState::IpConfig => return Ok(false),
                        IpState::IpInitial => Some(Command::Cstt {
                            apn: c.apn.as_str(),
                            user: non_empty(c.user.as_str()),
                            pwd: non_empty(c.password.as_str()),
                        }),
                        IpState::IpStart => Some(Command::Exec(Name::Ciicr)),
                        IpState::IpGprsact => Some(Command::Exec(Name::Cifsr)),
                        _ => Some(Command::Exec(Name::Cipshut)),
                    }
                }
                Command::Cstt { .. } if self.wanted(&command, outcome) => {
                    Some(Command::Exec(Name::Ciicr))
                }
                // The action after `AT+CIPSTATUS` is done: read the state again.
                Command::Exec(_) if rounds < 4 => Some(Command::Exec(Name::Cipstatus)),
                _ => return Ok(false),
            };
            command = match next {
                Some(next) => next,
                None => match self.first_sync() {
                    Some(step) => step,
                    // Ready, unless `+CNTP:` is awaited: bring-up waits for it.
                    None => return Ok(!matches!(self.ntp, NtpState::Waiting(_))),
                },
            };
        }
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
    pub(crate) async fn connect(&mut self) -> Result<bool, RestartReason> {
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
            // Maybe a modem that restarted unseen (single-link mode again): checked first.
            self.state.flags.suspect |= outcome == Outcome::Error;
            return Ok(false);
        }
        let deadline = self.now() + c.connect_timeout;
        loop {
            let result = self.state.flags.connect.take();
            match result {
                Some(ConnectResult::Ok) => return Ok(true),
                Some(ConnectResult::Fail) => return Ok(false),
                _ => {}
            }
            self.check_modem()?;
            if self.state.flags.closed || self.state.flags.pdp_deact {
                return Ok(false);
            }
            // No answer in time, or `ALREADY CONNECT`: not the link this attempt opened,
            // one given up on earlier. Either is closed.
            if result.is_some() || self.now() >= deadline {
                self.cmd(&CLOSE).await?;
                return Ok(false);
            }
            self.idle(deadline, Wake::Yes).await?;
        }
    }
}
