//! Start-up and restart: bring a fresh modem to where bring-up can begin, and restart a
//! modem the device gave up on.
//!
//! # Start-up
//!
//! `AT` every `probe_interval` until the modem answers (a `RDY` is welcome but not required:
//! a modem at auto-baud sends none), at most `boot_timeout` (a `RDY` after that answer is a
//! restart in the middle of start-up, which then begins again); then `ATE0`, `AT+CMEE=0`,
//! `ATI` and `AT+CGMR` to pick the [`ModemKind`], `AT+CPIN?` until `READY` (at most
//! `sim_timeout`), `AT+CREG=2`, and the data settings, which need `IP INITIAL`, hence a
//! `AT+CIPSHUT` first: `AT+CIPMUX=1`, `AT+CIPHEAD=1` (`+RECEIVE,<n>,<len>:` headers) and
//! `AT+CIPQSEND=1`. Quick send mode answers a send with `DATA ACCEPT` as soon as the modem
//! holds the data, so a send never holds the AT channel while the network is slow or dark
//! (slow mode's `SEND OK` waits for the server's TCP acknowledgement, up to 645 s); the
//! session asks `AT+CIPACK` for the acknowledgement instead. It is required: a modem that
//! refuses it is restarted (`SetupRefused`).
//!
//! # Restart
//!
//! After a [`RestartReason`]: nothing when the modem restarted on its own; otherwise the
//! RESET line (`reset_pulse`) and the power key (`power_key_press`) alternately, as long as
//! the modem does not come up (the power key first for a modem that switched off). The LED is
//! `Off` and B10's query pauses from the restart until start-up is done.
//!
//! # Bounds
//!
//! - A hung modem: power-cycled within `Config::hung_modem_bound`; one that does not start:
//!   probed for `boot_timeout` after each RESET pulse or power-key press.

use embedded_io_async::{Read, Write};
use protocol::app::Framing;
use protocol::command::{Command, Name, RxGet};
use protocol::types::SimState;

use crate::at::Outcome;
use crate::board::Board;
use crate::device::Device;
use crate::report::Report;
use crate::state::Flags;
use crate::time::Clock;
use crate::values::{LedState, ModemKind, Phase, PowerAction, RestartReason};

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
    /// Manual receive, `AT+CIPRXGET=1`, required; but with raw framing, whose message is what
    /// the modem hands over in one piece (a read of its buffer would join them).
    ManualReceive,
}

/// Start-up once the modem answers `AT`, step by step: echo off, plain errors,
/// identification (`ATI`, `AT+CGMR`: Luat's modems name themselves), the SIM; then
/// registration URCs with the cell, and the data settings, which are only accepted in
/// `IP INITIAL` (hence `AT+CIPSHUT` first). (A `match`, not a table: a table of commands
/// takes 32 bytes a step.)
fn startup(step: u8) -> Option<Setup> {
    Some(match step {
        0 => Setup::Wanted(Command::Echo(false)),
        1 => Setup::Wanted(Command::Cmee(0)),
        2 => Setup::Any(Command::Info),
        3 => Setup::Any(Command::Exec(Name::Cgmr)),
        4 => Setup::Sim,
        5 => Setup::Wanted(Command::Creg(2)),
        6 => Setup::Any(Command::Exec(Name::Cipshut)),
        7 => Setup::Required(Command::Cipmux(true)),
        8 => Setup::Required(Command::Ciphead(true)),
        9 => Setup::Required(Command::Cipqsend(1)),
        10 => Setup::ManualReceive,
        _ => return None,
    })
}

impl<'a, U: Read + Write, C: Clock, B: Board + ?Sized> Device<'a, U, C, B> {
    /// Restarts the modem after `reason`: RESET and power key alternately, as long as it does
    /// not come up; nothing when it restarted on its own.
    pub(crate) async fn restart_modem(&mut self, reason: RestartReason) {
        let action = match reason {
            RestartReason::Rebooted => PowerAction::None,
            // The ladder: start-up again, power-cycled only after a few of those.
            RestartReason::NoProgress
                if self.startups < self.config.startups_before_power_cycle =>
            {
                self.startups += 1;
                PowerAction::None
            }
            // Off: only the power key brings it back.
            RestartReason::PoweredDown if self.restarts == 0 => PowerAction::PowerKey,
            _ if self.restarts % 2 == 0 => PowerAction::Reset,
            _ => PowerAction::PowerKey,
        };
        self.set_phase(Phase::Restarting);
        self.state.starting = true;
        // A modem that restarted, or is about to, says `Call Ready` and `SMS Ready` again.
        if action != PowerAction::None || reason == RestartReason::Rebooted {
            self.state.boot_urcs = 0;
        }
        self.state.radio_off = false;
        self.state.set_led(LedState::Off);
        self.state
            .board
            .report(Report::ModemRestart { reason, action });
        self.at.reset();
        let hold = match action {
            PowerAction::None => return,
            PowerAction::Reset => self.config.reset_pulse,
            PowerAction::PowerKey => self.config.power_key_press,
        };
        self.startups = 0;
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
    pub(crate) async fn start_modem(&mut self) -> Result<(), RestartReason> {
        self.set_phase(Phase::Starting);
        let c = self.config;
        let deadline = self.now() + c.boot_timeout;
        while self.cmd(&Command::At).await? == Outcome::Timeout {
            if self.now() >= deadline {
                return Err(RestartReason::NoAnswer);
            }
        }
        // What the modem said before it answered was its boot; a `RDY` from now on is a
        // restart, and start-up begins again (what was set is lost).
        self.state.flags = Flags::default();
        let mut luat = false;
        let mut sim_deadline = None;
        let mut step = 0;
        while let Some(setup) = startup(step) {
            let command = match setup {
                Setup::Wanted(command) | Setup::Required(command) | Setup::Any(command) => command,
                Setup::Sim => {
                    sim_deadline.get_or_insert(self.now() + c.sim_timeout);
                    Command::Read(Name::Cpin)
                }
                // (The last step.)
                Setup::ManualReceive if c.framing == Framing::Raw => break,
                Setup::ManualReceive => Command::Ciprxget(RxGet::Manual(true)),
            };
            let outcome = self.cmd(&command).await?;
            if self.state.flags.rebooted {
                return Err(RestartReason::Rebooted);
            }
            match setup {
                Setup::Wanted(command) => {
                    self.wanted(&command, outcome);
                }
                Setup::Required(command) if !self.wanted(&command, outcome) => {
                    return Err(RestartReason::SetupRefused);
                }
                Setup::ManualReceive if outcome != Outcome::Ok => {
                    return Err(RestartReason::SetupRefused);
                }
                Setup::Sim if self.at.answer().cpin != Some(SimState::Ready) => {
                    if sim_deadline.is_some_and(|d| self.now() >= d) {
                        return Err(RestartReason::SimNotReady);
                    }
                    self.pause(c.poll_interval).await;
                    continue;
                }
                _ => luat |= self.at.answer().luat,
            }
            step += 1;
        }
        let kind = if luat {
            ModemKind::AIR202
        } else {
            ModemKind::SIM800
        };
        self.at.set_connection_lines(kind.links);

        // The rest of what it said while starting (`+CPIN: READY`, `Call Ready` ...) is not
        // news.
        self.state.flags = Flags::default();
        self.at.take_echoed();
        self.state.starting = false;
        self.restarts = 0;
        self.state.board.report(Report::ModemReady(kind));
        Ok(())
    }
}
