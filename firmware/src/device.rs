//! The device ([`Device`]): the AT client, the URC handler's [`State`], what the phases
//! remember between them, and the few operations every phase uses: send a command and wait
//! for its answer ([`Device::cmd`]), pause or idle while URCs are handled, notice a modem that
//! restarted ([`Device::check_modem`]), and B10's signal and cell query when it comes due.
//!
//! The phases are `impl Device` blocks of their own, above this file: `startup` (start-up and
//! restart), `bringup` (registration, data bring-up, connect), `session` (connected), and
//! `run`, the top loop that ties them together.
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

use core::future::Future;
use core::time::Duration;

use embedded_io_async::{Read, Write};
use protocol::command::{Command, Name};
use protocol::types::{IpState, RegStat};

use crate::at::{At, AtError, Handler, Outcome, Stop, Wake};
use crate::board::Board;
use crate::config::Config;
use crate::report::Report;
use crate::state::State;
use crate::time::{Clock, Instant};
use crate::values::{Phase, RestartReason};

/// The whole device; its phases are `impl Device` blocks in `startup`, `bringup`, `session`
/// and `run`.
// `repr(C)`, the small fields first: the Cortex-M0+ reaches a field in one instruction only
// within 124 bytes of the start (`ldr` with a 5-bit word offset); after `at` and `state`
// (kilobytes of buffers), each access costs a literal load more.
#[repr(C)]
pub(crate) struct Device<'a, U, C, B: ?Sized> {
    pub(crate) config: &'a Config,
    /// Modem restarts in a row without the modem coming up: alternates RESET and power key.
    pub(crate) restarts: u32,
    /// Start-ups the ladder ran in a row, nothing delivered (`RestartReason::NoProgress`).
    pub(crate) startups: u8,
    /// The session delivered something (the server acknowledged it).
    pub(crate) delivered: bool,
    /// When signal and cell are queried next (B10).
    pub(crate) query_due: Instant,
    /// B10's signal was queried between bring-up polls: the next poll's `AT+CREG?` reports
    /// the cell.
    pub(crate) cell_pending: bool,
    pub(crate) phase: Option<Phase>,
    /// The last registration and IP state reported, to report changes only.
    pub(crate) registration: Option<RegStat>,
    pub(crate) ip_state: Option<IpState>,
    /// The network clock sync (B4).
    pub(crate) ntp: NtpState,
    pub(crate) at: At<'a, U, C>,
    pub(crate) state: State<'a, B>,
}

/// The network clock sync (B4, in `session`): one step per turn of the session loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NtpState {
    /// The next sync starts at this instant.
    Due(Instant),
    /// The step of the sync to send next (see `session`).
    Step(u8),
    /// `AT+CNTP` was accepted; its `+CNTP:` is awaited until this instant.
    Waiting(Instant),
    /// The sync is over: the bearer is closed, then the next one is due at this instant.
    Close(Instant),
}

impl From<AtError> for RestartReason {
    fn from(e: AtError) -> RestartReason {
        match e {
            AtError::Unresponsive => RestartReason::Unresponsive,
            AtError::Uart(_) => RestartReason::Uart,
            AtError::TooLong => RestartReason::CommandTooLong,
        }
    }
}

impl<'a, U: Read + Write, C: Clock, B: Board + ?Sized> Device<'a, U, C, B> {
    pub(crate) fn new(config: &'a Config, uart: U, clock: &'a C, board: &'a mut B) -> Self {
        Device {
            config,
            at: At::new(uart, clock, config),
            state: State::new(board, config.framing),
            restarts: 0,
            startups: 0,
            delivered: false,
            query_due: Instant::ZERO,
            cell_pending: false,
            phase: None,
            registration: None,
            ip_state: None,
            ntp: NtpState::Due(Instant::ZERO),
        }
    }

    pub(crate) fn now(&self) -> Instant {
        self.at.now()
    }

    pub(crate) fn set_phase(&mut self, phase: Phase) {
        if self.phase != Some(phase) {
            self.phase = Some(phase);
            self.at.progressed();
            self.state.report(Report::Phase(phase));
        }
    }

    /// The modem-level events that end whatever the device is doing.
    // Out of line: every loop checks it.
    #[inline(never)]
    pub(crate) fn check_modem(&self) -> Result<(), RestartReason> {
        let flags = &self.state.flags;
        if flags.powered_down {
            Err(RestartReason::PoweredDown)
        } else if flags.rebooted || flags.sim_lost {
            Err(RestartReason::Rebooted)
        } else {
            Ok(())
        }
    }

    /// Sends a command and waits for its answer (in `self.at.answer()` afterwards), as long
    /// as [`At::timeout`](crate::at::At::timeout) says; `Err` when the modem is given up on,
    /// or restarted: once the modem is started, a restart URC (`RDY`, `+CPIN: NOT READY`, a
    /// power-down) seen before the command or while it is pending ends it with the
    /// [`Device::check_modem`] reason, and nothing is sent to the fresh modem.
    ///
    /// Once the modem is started, a sign that it restarted unseen ([`Flags::suspect`](crate::state::Flags::suspect): an
    /// echo, a second `Call Ready`, an `ERROR` to a multi-link command ...) makes the next command
    /// check first, `AT+CIPMUX?`: a modem that says `+CIPMUX: 0` lost its settings, and the
    /// command ends with [`RestartReason::Rebooted`] (start-up again, no power action).
    pub(crate) async fn cmd(&mut self, command: &Command<'_>) -> Result<Outcome, RestartReason> {
        let started = !self.state.starting;
        if started {
            self.check_modem()?;
            if core::mem::take(&mut self.state.flags.suspect) {
                let check = Command::Read(Name::Cipmux);
                let outcome = self.at.command(&check, &mut self.state).await?;
                match (outcome, self.at.answer().multi) {
                    (Outcome::Ok, Some(false)) => return Err(RestartReason::Rebooted),
                    // No answer in time: again before the next command.
                    (Outcome::Timeout | Outcome::Aborted, _) => self.state.flags.suspect = true,
                    _ => {}
                }
            }
        }
        let outcome = self.at.command(command, &mut self.state).await?;
        self.state.flags.suspect |= started && self.at.take_echoed();
        if outcome == Outcome::Aborted {
            self.check_modem()?;
        }
        Ok(outcome)
    }

    /// The answer to a command the firmware wants `OK` to: an `ERROR` is reported. `true` on
    /// `OK`.
    // Out of line: called from several places, and `Report::AtRejected` copies the command.
    #[inline(never)]
    pub(crate) fn wanted(&mut self, command: &Command<'_>, outcome: Outcome) -> bool {
        if outcome == Outcome::Error {
            self.state.board.report(Report::AtRejected(*command));
        }
        outcome == Outcome::Ok
    }

    /// A pause that still handles URCs, whatever they say.
    pub(crate) fn pause(
        &mut self,
        duration: Duration,
    ) -> impl Future<Output = Stop> + use<'_, 'a, U, C, B> {
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
    pub(crate) async fn query_if_due(&mut self) -> Result<bool, RestartReason> {
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
    pub(crate) async fn idle(
        &mut self,
        deadline: Instant,
        stop_on: Wake,
    ) -> Result<Stop, RestartReason> {
        loop {
            self.query_if_due().await?;
            let until = deadline.min(self.query_due);
            let stop = self.at.pump(until, Some(stop_on), &mut self.state).await;
            if stop != Stop::Deadline || self.now() >= deadline {
                return Ok(stop);
            }
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
}
