//! The connected session (B1–B4, B8–B10): one event loop that sends heartbeats on time,
//! answers messages, queries signal and cell, keeps the network clock, and notices when the
//! link is gone.
//!
//! Each turn of the loop, in this order:
//!
//! 1. the link or the modem failed (`CLOSED`, `+PDP: DEACT`, `RDY`, `+CPIN: NOT READY`,
//!    `NORMAL POWER DOWN`, as URCs set them): the session ends;
//! 2. a heartbeat is due: it is queued (B1), the next one is due one interval later;
//! 3. the outbox is not empty: its head is sent (B9);
//! 4. signal and cell are due (B10): `AT+CSQ`, `AT+CREG?` (on time: see `device.rs`);
//! 5. the network clock is due, or its sync answered (B4);
//! 6. otherwise: wait for the earliest of UART bytes and the deadlines of 2, 4 and 5.
//!
//! Received data (`+RECEIVE`) is handled the moment it is decoded, whatever the loop is doing
//! (even waiting for a `SEND OK`): deframed, answered (`back…`, `bin`, `time`), the replies
//! queued. A heartbeat never waits behind a read: there is no read to wait for, only URCs.
//!
//! # Sending
//!
//! `AT+CIPSEND=0,<len>`, `> ` within `at_timeout`, the bytes (message and framing
//! terminator), `SEND OK` (or `DATA ACCEPT`) within `send_timeout` (no prompt: filler goes
//! instead of the bytes, see `at`). `SEND FAIL`, `ERROR`, no answer in time, `CLOSED`
//! or `+PDP: DEACT` end the session; the message stays at the outbox head and is the first
//! sent after the reconnect. The bytes are written straight from the outbox head, which
//! stays in place while replies decoded during the send queue behind it.
//!
//! # The network clock (B4)
//!
//! After connecting, then every `ntp_resync` (every `ntp_retry` after a failure): bearer 1,
//! which a real SIM800's `AT+CNTP` needs (as TinyGSM opens it): `AT+SAPBR=3,1,"Contype","GPRS"`,
//! `AT+SAPBR=3,1,"APN","<apn>"` (and `"USER"`, `"PWD"` when set), `AT+SAPBR=1,1` (its
//! `ERROR` when the bearer is open already is fine; up to `ciicr_timeout`, as it is a PDP
//! activation); then `AT+CNTPCID=1`, `AT+CNTP="<ntp_server>",0`, `AT+CNTP`, and, on the URC
//! `+CNTP: 1` within `ntp_timeout`, `AT+CCLK?`. All but the last `AT+CNTP` are best effort.
//! However the sync ends (the time read, `+CNTP:` failed or never came, `AT+CNTP` refused),
//! the bearer is then closed, `AT+SAPBR=0,1` (its `ERROR` is fine): an open bearer holds the
//! PDP context that B7's `AT+CIPSHUT` must be able to deactivate.
//! The clock is kept as Unix seconds at an [`Instant`] and advanced by [`Clock::now`]. Until
//! the first success, `time` is answered with `0`, so a server can tell "no clock yet" from a
//! time.
//!
//! # Bounds
//!
//! - A heartbeat is queued within one turn of being due, and sent as soon as the send before
//!   it ends: at most `send_timeout` late, and only when a send is slow.
//! - A silently dead TCP link ends the session within `Config::dead_link_bound` (the next
//!   heartbeat's `SEND OK` never comes). UDP has no acknowledgement: a dead UDP path is not
//!   noticed unless the modem reports it.
//! - `CLOSED` and `+PDP: DEACT` end the session as soon as they are decoded.

use protocol::command::{Command, Name};
use protocol::types::DateTime;

use crate::at::Outcome;
use crate::config::{non_empty, LINK};
use crate::device::{Device, NtpState};
use crate::outbox::Kind;
use crate::report::Report;
use crate::time::{Clock, Instant};
use crate::values::{LinkLoss, Phase, RestartReason};
use embedded_io_async::{Read, Write};

/// A few commands a turn of the loop sends back to back, besides sending data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Job {
    /// B4: the bearer, the NTP settings, `AT+CNTP` (see the module documentation).
    ClockSync,
    /// B4: the sync ended: `AT+CCLK?` if `+CNTP: 1` came (`read`), then the bearer is
    /// closed, `AT+SAPBR=0,1`.
    ClockEnd { read: bool },
}

impl Job {
    /// How many steps the job has (some may be skipped, see [`Device::job_command`]).
    const fn steps(self) -> usize {
        match self {
            Job::ClockSync => 9,
            Job::ClockEnd { .. } => 2,
        }
    }
}

impl<'a, U: Read + Write, C: Clock> Device<'a, U, C> {
    /// Runs the connected session until the link is lost (`Ok`) or the modem fails (`Err`).
    pub(crate) async fn session(&mut self) -> Result<LinkLoss, RestartReason> {
        self.set_phase(Phase::Connected);
        let interval = self.config.heartbeat_interval;
        let mut heartbeat_due = self.now();
        loop {
            self.check_modem()?;
            if self.state.flags.pdp_deact {
                return Ok(LinkLoss::PdpDeact);
            }
            if self.state.flags.closed {
                return Ok(LinkLoss::Closed);
            }
            let now = self.now();
            if now >= heartbeat_due {
                self.state.queue_heartbeat();
                // Late (behind a slow send): the next one is a whole interval from now.
                heartbeat_due = (heartbeat_due + interval).max(now + interval);
                continue;
            }
            if let Some((kind, head)) = self.state.outbox.begin_send() {
                // The head is sent straight from the outbox, and stays there until its
                // `SEND OK`: replies decoded meanwhile queue behind it.
                let len = head.len();
                let cipsend = Command::Cipsend {
                    link: Some(LINK),
                    len: u16::try_from(len).ok(),
                };
                let mut outcome = self.cmd(&cipsend).await?;
                if outcome == Outcome::Prompt {
                    self.at.write(self.state.outbox.head()).await?;
                    outcome = self.at.send_result(LINK, len, &mut self.state).await?;
                }
                if outcome == Outcome::Aborted {
                    // A restart URC, not a failed send: straight to start-up.
                    if let Err(reason) = self.check_modem() {
                        self.state.outbox.failed();
                        return Err(reason);
                    }
                }
                if let Err(loss) = self.sent(kind, outcome) {
                    return Ok(loss);
                }
                continue;
            }
            if self.query_if_due().await? {
                continue;
            }
            if let Some(job) = self.clock_job(now) {
                for step in 0..job.steps() {
                    let Some(command) = self.job_command(job, step) else {
                        continue;
                    };
                    let outcome = self.cmd(&command).await?;
                    self.job_answered(job, step, outcome);
                }
                continue;
            }
            let ntp_deadline = match self.ntp {
                NtpState::Due(at) | NtpState::Waiting(at) => at,
            };
            let deadline = heartbeat_due.min(self.query_due).min(ntp_deadline);
            self.at.wait_until(deadline, &mut self.state).await;
        }
    }

    /// The outbox head's send ended with `outcome`. `Err` with the loss when the link
    /// failed; the message then stays at the head.
    fn sent(&mut self, kind: Kind, outcome: Outcome) -> Result<(), LinkLoss> {
        let state = &mut self.state;
        if outcome == Outcome::Ok {
            let data = state.outbox.head();
            state.board.report(Report::Sent { kind, data });
            state.outbox.sent();
            state.report_outbox();
            return Ok(());
        }
        state.outbox.failed();
        let flags = &state.flags;
        Err(match outcome {
            Outcome::Timeout => LinkLoss::SendTimeout,
            _ if flags.pdp_deact => LinkLoss::PdpDeact,
            _ if flags.closed => LinkLoss::Closed,
            _ => LinkLoss::SendFailed,
        })
    }

    /// The clock sync's job now, if any; a `+CNTP:` failure or no answer in time schedules
    /// the next try. Whatever the result, the bearer is closed after it.
    fn clock_job(&mut self, now: Instant) -> Option<Job> {
        match self.ntp {
            NtpState::Due(at) if now >= at => return Some(Job::ClockSync),
            NtpState::Waiting(until) => {
                let code = self.state.flags.ntp.take();
                if code == Some(1) {
                    return Some(Job::ClockEnd { read: true });
                }
                if code.is_none() && now < until {
                    return None;
                }
                self.ntp = self.clock_sync_failed(code);
                return Some(Job::ClockEnd { read: false });
            }
            NtpState::Due(_) => {}
        }
        None
    }

    /// The command of a job's step; `None` to skip it.
    fn job_command(&self, job: Job, step: usize) -> Option<Command<'a>> {
        let c = self.config;
        let bearer = |tag, value| Command::Sapbr {
            cmd: 3,
            cid: 1,
            param: Some((tag, value)),
        };
        Some(match (job, step) {
            (Job::ClockSync, 0) => bearer("Contype", "GPRS"),
            (Job::ClockSync, 1) => bearer("APN", c.apn.as_str()),
            (Job::ClockSync, 2) => bearer("USER", non_empty(c.user.as_str())?),
            (Job::ClockSync, 3) => bearer("PWD", non_empty(c.password.as_str())?),
            // `ERROR` when the bearer is open already: fine.
            (Job::ClockSync, 4) => Command::Sapbr {
                cmd: 1,
                cid: 1,
                param: None,
            },
            (Job::ClockSync, 5) => Command::Cntpcid(1),
            (Job::ClockSync, 6) => Command::Cntp {
                server: c.ntp_server.as_str(),
                tz: 0,
            },
            (Job::ClockSync, 7) => Command::Exec(Name::Cntp),
            // `AT+CNTP` refused: the bearer is closed at once.
            (Job::ClockSync, _) if matches!(self.ntp, NtpState::Waiting(_)) => return None,
            (Job::ClockEnd { read: false }, 0) => return None,
            (Job::ClockEnd { .. }, 0) => Command::Read(Name::Cclk),
            // Closing what step 4 opened; `ERROR` (closed already) is fine.
            (_, _) => Command::Sapbr {
                cmd: 0,
                cid: 1,
                param: None,
            },
        })
    }

    /// What a job's step answered. The clock sync's settings are best effort: a modem that
    /// has them already may refuse them; only `AT+CNTP` must be accepted.
    fn job_answered(&mut self, job: Job, step: usize, outcome: Outcome) {
        match (job, step) {
            // What `+CNTP:` said before `AT+CNTP` is stale.
            (Job::ClockSync, 6) => self.state.flags.ntp = None,
            (Job::ClockSync, 7) if outcome == Outcome::Ok => {
                self.ntp = NtpState::Waiting(self.now() + self.config.ntp_timeout);
            }
            (Job::ClockSync, 7) => self.ntp = self.clock_sync_failed(None),
            (Job::ClockEnd { read: true }, 0) => {
                self.ntp = match self.at.answer().cclk {
                    Some(time) => self.clock_set(time),
                    None => self.clock_sync_failed(Some(1)),
                }
            }
            _ => {}
        }
    }

    fn clock_set(&mut self, time: DateTime) -> NtpState {
        let now = self.now();
        self.state.set_unix(now, time.to_unix());
        NtpState::Due(now + self.config.ntp_resync)
    }

    fn clock_sync_failed(&mut self, code: Option<u8>) -> NtpState {
        self.state.board.report(Report::ClockSyncFailed { code });
        NtpState::Due(self.now() + self.config.ntp_retry)
    }
}
