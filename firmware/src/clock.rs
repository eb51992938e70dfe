//! B4, the network clock: the sync's steps and what each answer decides, for `bringup` and
//! `session`, which take one step per command they send.
//!
//! The first sync runs in bring-up, the IP ready, before the first connection ("the clock is
//! set from the network at boot": a `time` request then finds the network's time); then one
//! every `ntp_resync` in the session (every `ntp_retry` after a failure). A sync opens
//! bearer 1, which a real SIM800's `AT+CNTP` needs (as TinyGSM opens it):
//! `AT+SAPBR=3,1,"Contype","GPRS"`, `AT+SAPBR=3,1,"APN","<apn>"` (and `"USER"`, `"PWD"` when
//! set), `AT+SAPBR=1,1` (its `ERROR` when the bearer is open already is fine; up to
//! `ciicr_timeout`, as it is a PDP activation); then `AT+CNTPCID=1`,
//! `AT+CNTP="<ntp_server>",0`, `AT+CNTP`, and, on the URC `+CNTP: 1` within `ntp_timeout`,
//! `AT+CCLK?`, read again until two reads agree (three reads at most: line noise can change
//! a digit into another that parses). All but the last
//! `AT+CNTP` are best effort. However the sync ends (the time read, `+CNTP:` failed or never
//! came, `AT+CNTP` refused), the bearer is then closed, `AT+SAPBR=0,1` (its `ERROR` is fine):
//! an open bearer holds the PDP context that B7's `AT+CIPSHUT` must be able to deactivate.
//!
//! The clock is kept as Unix seconds at an [`Instant`] and advanced by the clock's `now`.
//! Until the first success (only when the network gave no time at boot), `time` is answered
//! with `0`, so a server can tell "no clock yet" from a time.

use embedded_io_async::{Read, Write};
use protocol::command::{Command, Name};

use crate::at::Outcome;
use crate::board::Board;
use crate::config::non_empty;
use crate::device::{Device, NtpState};
use crate::report::Report;
use crate::time::{Clock, Instant};

impl<'a, U: Read + Write, C: Clock, B: Board + ?Sized> Device<'a, U, C, B> {
    /// B4, "the clock is set from the network at boot": bring-up, the IP ready, runs the
    /// first sync to its end before the first connection, so that a `time` request finds the
    /// network's time: its next step, if one is due now. If the network gives no time
    /// (`ClockSyncFailed`), the connection opens all the same, `time` is answered `0` ("no
    /// clock yet"), and the session tries again after `ntp_retry`: a later connection never
    /// waits for a sync.
    pub(crate) fn first_sync(&mut self) -> Option<Command<'a>> {
        // Due at 0: none ran yet. (One under way goes to its end: the bearer is closed before
        // the connection.)
        if matches!(self.ntp, NtpState::Due(at) if at > Instant::ZERO) {
            return None;
        }
        // `+CNTP:` may have come in the same read as the `OK` to `AT+CNTP`.
        self.at.drain(&mut self.state);
        self.clock_step(self.now())
    }

    /// Whether `command` is one [`Device::clock_step`] gives.
    pub(crate) fn is_clock_step(command: &Command<'_>) -> bool {
        matches!(
            command,
            Command::Sapbr { .. }
                | Command::Cntpcid(_)
                | Command::Cntp { .. }
                | Command::Exec(Name::Cntp)
                | Command::Read(Name::Cclk)
        )
    }

    /// The clock sync's next step, if one is due: one command per turn of the caller's loop.
    /// A `+CNTP:` failure or no answer in time schedules the next try; however it ends, the
    /// bearer is closed after it.
    pub(crate) fn clock_step(&mut self, now: Instant) -> Option<Command<'a>> {
        let c = self.config;
        loop {
            match self.ntp {
                NtpState::Due(at) if now >= at => self.ntp = NtpState::Step(0),
                NtpState::Waiting(until) => {
                    let code = self.state.flags.ntp.take();
                    if code == Some(1) {
                        self.ntp = NtpState::Step(READ_CLOCK);
                    } else if code.is_some() || now >= until {
                        self.ntp = NtpState::Close(self.clock_sync_failed(code));
                    } else {
                        return None;
                    }
                }
                NtpState::Due(_) => return None,
                NtpState::Close(_) => return Some(SAPBR_CLOSE),
                NtpState::Step(step) => {
                    let bearer = |tag, value| Command::Sapbr {
                        cmd: 3,
                        cid: 1,
                        param: Some((tag, value)),
                    };
                    let command = match step {
                        0 => Some(bearer("Contype", "GPRS")),
                        1 => Some(bearer("APN", c.apn.as_str())),
                        2 => non_empty(c.user.as_str()).map(|user| bearer("USER", user)),
                        3 => non_empty(c.password.as_str()).map(|pwd| bearer("PWD", pwd)),
                        // `ERROR` when the bearer is open already: fine.
                        4 => Some(Command::Sapbr {
                            cmd: 1,
                            cid: 1,
                            param: None,
                        }),
                        5 => Some(Command::Cntpcid(1)),
                        6 => Some(Command::Cntp {
                            server: c.ntp_server.as_str(),
                            tz: 0,
                        }),
                        7 => Some(Command::Exec(Name::Cntp)),
                        _ => Some(Command::Read(Name::Cclk)),
                    };
                    match command {
                        Some(command) => return Some(command),
                        // No user or password: skipped.
                        None => self.ntp = NtpState::Step(step + 1),
                    }
                }
            }
        }
    }

    /// What a step of the clock sync answered. Its settings are best effort: a modem that
    /// has them already may refuse them; only `AT+CNTP` must be accepted.
    pub(crate) fn clock_answered(&mut self, outcome: Outcome) {
        self.ntp = match self.ntp {
            NtpState::Step(6) => {
                // What `+CNTP:` said before `AT+CNTP` is stale.
                self.state.flags.ntp = None;
                NtpState::Step(7)
            }
            NtpState::Step(7) if outcome == Outcome::Ok => {
                NtpState::Waiting(self.now() + self.config.ntp_timeout)
            }
            NtpState::Step(7) => NtpState::Close(self.clock_sync_failed(None)),
            NtpState::Step(step) if step >= READ_CLOCK => match self.at.answer().cclk {
                Some(time) => self.clock_read(step, time.to_unix()),
                None => NtpState::Close(self.clock_sync_failed(Some(1))),
            },
            NtpState::Step(step) => NtpState::Step(step + 1),
            NtpState::Close(next) => NtpState::Due(next),
            other => other,
        };
    }

    /// The clock was read (`unix`, at step `step`): set when the read agrees with the last
    /// one, within [`CLOCK_AGREE`]; otherwise read again, [`CLOCK_READS`] times at most. Line
    /// noise can change a digit of `+CCLK:` into another that parses (`00:00:13` read as
    /// `00:20:13`); it does not change two reads alike.
    fn clock_read(&mut self, step: u8, unix: u64) -> NtpState {
        let now = self.now();
        // In microseconds: no 64-bit division on the Cortex-M0+.
        let agrees = |(at, known): (Instant, u64)| {
            let between = now.as_micros().wrapping_sub(at.as_micros());
            let apart = unix.wrapping_sub(known).wrapping_mul(1_000_000);
            apart.abs_diff(between) <= CLOCK_AGREE
        };
        if self.state.clock_read.is_some_and(agrees) {
            self.state.clock_read = None;
            self.state.set_unix(now, unix);
            NtpState::Close(now + self.config.ntp_resync)
        } else if step < READ_CLOCK + CLOCK_READS - 1 {
            self.state.clock_read = Some((now, unix));
            NtpState::Step(step + 1)
        } else {
            self.state.clock_read = None;
            NtpState::Close(self.clock_sync_failed(Some(1)))
        }
    }

    /// The sync failed (`+CNTP: <code>`, or `None`): reported, and tried again after
    /// `ntp_retry`.
    fn clock_sync_failed(&mut self, code: Option<u8>) -> Instant {
        self.state.board.report(Report::ClockSyncFailed { code });
        self.now() + self.config.ntp_retry
    }
}

/// The clock sync's step that reads the clock (`AT+CCLK?`), after `+CNTP: 1`; the steps
/// after it read it again.
const READ_CLOCK: u8 = 8;

/// Clock reads per sync at most: a first one, and two that may confirm it.
const CLOCK_READS: u8 = 3;

/// How far two clock reads may differ beyond the time between them, microseconds: `+CCLK:`
/// has whole seconds, and a read takes a little while to answer.
const CLOCK_AGREE: u64 = 2_000_000;

/// Closes the clock sync's bearer, `AT+SAPBR=0,1`: an open bearer holds the PDP context that
/// B7's `AT+CIPSHUT` must be able to deactivate. `ERROR` (closed already) is fine.
const SAPBR_CLOSE: Command<'static> = Command::Sapbr {
    cmd: 0,
    cid: 1,
    param: None,
};
