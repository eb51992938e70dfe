//! The connected session (B1–B4, B8–B10): one event loop that sends heartbeats on time,
//! answers messages, queries signal and cell, keeps the network clock, and notices when the
//! link is gone.
//!
//! Each turn of the loop, in this order:
//!
//! 1. the link or the modem failed (`CLOSED`, `+PDP: DEACT`, `RDY`, `+CPIN: NOT READY`,
//!    `NORMAL POWER DOWN`, as URCs set them): the session ends;
//! 2. a heartbeat is due: it is queued (B1) ahead of the replies never tried, the next one
//!    is due on the grid (one interval after this one was due, however late it is);
//! 3. a send is in doubt, or written messages wait and `AT+CIPACK` is due: it is asked;
//! 4. a message waits to be written: it is (B9);
//! 5. signal and cell are due (B10): `AT+CSQ`, `AT+CREG?` (on time: see `device.rs`);
//! 6. the network clock is due, or its sync answered (B4);
//! 7. otherwise: wait for the earliest of UART bytes and the deadlines of 2, 3, 5 and 6.
//!
//! Received data (`+RECEIVE`) is handled the moment it is decoded, whatever the loop is doing:
//! deframed, answered (`back…`, `bin`, `time`), the replies queued. A heartbeat never waits
//! behind a read: there is no read to wait for, only URCs.
//!
//! # Sending: quick mode and `AT+CIPACK`
//!
//! The modem is in quick send mode (`AT+CIPQSEND=1`, see `startup`): a send never holds
//! the AT channel. `AT+CIPSEND=0,<len>`, `> ` within `at_timeout`, the bytes (message and
//! framing terminator), `DATA ACCEPT:0,<len>` at once: the message is written, and it stays
//! in the outbox with its end offset in the connection's byte stream ([`crate::outbox`])
//! while replies decoded meanwhile queue behind it. Every `ack_poll_interval` while written
//! messages wait, `AT+CIPACK=0` gives the bytes written and the bytes the server's TCP
//! acknowledged: a message leaves the outbox ([`Report::Sent`]) when the acknowledged count
//! passes its end. When it does not move on for `send_timeout`, the link is taken for dead
//! (`LinkLost(SendTimeout)`): closed and connected again at once.
//!
//! A send's data whose `DATA ACCEPT` does not come (or comes garbled) is settled by the next
//! `AT+CIPACK` before anything more is written: written if the count grew by its length,
//! otherwise written again. No prompt in time (filler went instead, see `at`), `SEND FAIL`,
//! `ERROR`, `CLOSED` or `+PDP: DEACT` end the session. When it ends, a last `AT+CIPACK` (the
//! counts stay readable after the connection is gone) takes out what the server
//! acknowledged; what it did not is written again, first, on the next connection. The
//! modem's counts are lost when it restarts: then everything not yet acknowledged is
//! written again, and the server may get it twice (at-least-once delivery; the
//! acknowledged framing, `protocol::app`, makes it exactly once).
//!
//! A modem that answers `AT+CIPACK` with `ERROR` (one without it): what it took counts as
//! delivered at its `DATA ACCEPT`, and a dead link is then noticed only when the modem
//! reports it (`CLOSED`, `SEND FAIL`, `+PDP: DEACT`). UDP: the modem counts a datagram
//! acknowledged once it left (the simulator does; UNCONFIRMED on a real SIM800), so a dead
//! UDP path is not noticed unless the modem reports it.
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
//! - Heartbeats are on a `heartbeat_interval` grid from the connect: a due one is queued at
//!   the next turn of the loop, ahead of the replies never tried, and written at once, so it
//!   is late by at most the command in progress when it came due (one send, one
//!   `AT+CIPACK`, one clock-sync step, or B10's query); a late one does not move the next.
//!   Only what was written before it (on this connection, or on the last one and not
//!   acknowledged) goes on the link ahead of it.
//! - A silently dead TCP link ends the session within `Config::dead_link_bound` (the next
//!   heartbeat's bytes are never acknowledged). UDP: see "Sending".
//! - `CLOSED` and `+PDP: DEACT` end the session as soon as they are decoded.

use protocol::command::{Command, Name};
use protocol::types::DateTime;

use crate::at::Outcome;
use crate::config::{non_empty, LINK};
use crate::device::{Device, NtpState};
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

/// The connection's byte stream as `AT+CIPACK` counts it, while a session runs.
struct Stream {
    /// Bytes written on the connection (the modem's `txlen`), as far as the firmware knows.
    tx: u32,
    /// Bytes the peer acknowledged (`acklen`).
    acked: u32,
    /// When `acked` last moved on, or written bytes started to wait.
    progress: Instant,
    /// When `AT+CIPACK` is due while written messages wait.
    poll: Instant,
    /// A send's data was written and its `DATA ACCEPT` did not come: `AT+CIPACK` tells
    /// whether the modem took the data (`len` more bytes written) before anything more is.
    unsure: Option<u32>,
}

impl<'a, U: Read + Write, C: Clock> Device<'a, U, C> {
    /// Runs the connected session until the link is lost (`Ok`) or the modem fails (`Err`).
    pub(crate) async fn session(&mut self) -> Result<LinkLoss, RestartReason> {
        self.set_phase(Phase::Connected);
        let interval = self.config.heartbeat_interval;
        let now = self.now();
        let mut heartbeat_due = now;
        // A new connection: what the last one did not acknowledge is written again first.
        self.state.outbox.rewind();
        let mut stream = Stream {
            tx: 0,
            acked: 0,
            progress: now,
            poll: now,
            unsure: None,
        };
        let loss = loop {
            self.check_modem()?;
            let flags = &self.state.flags;
            if flags.pdp_deact {
                break LinkLoss::PdpDeact;
            }
            if flags.closed {
                break LinkLoss::Closed;
            }
            let now = self.now();
            if now >= heartbeat_due {
                self.state.queue_heartbeat();
                // On the grid: a late one does not move the next.
                while heartbeat_due <= now {
                    heartbeat_due = heartbeat_due + interval;
                }
            }
            let unacked = self.state.outbox.unacked();
            if stream.unsure.is_some() || (unacked && now >= stream.poll) {
                if let Some(loss) = self.poll_acks(&mut stream).await? {
                    break loss;
                }
                continue;
            }
            if self.state.outbox.next().is_some() {
                if let Some(loss) = self.write_next(&mut stream).await? {
                    break loss;
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
            let mut deadline = heartbeat_due.min(self.query_due).min(ntp_deadline);
            if unacked {
                deadline = deadline.min(stream.poll);
            }
            self.at.wait_until(deadline, &mut self.state).await;
        };
        // What the peer acknowledged up to the end is not written again: the counts stay
        // readable after the connection ends.
        if self.state.outbox.unacked() {
            self.poll_acks(&mut stream).await?;
        }
        Ok(loss)
    }

    /// Writes the next message from the outbox: `AT+CIPSEND=0,<len>`, the bytes, `DATA
    /// ACCEPT:0,<len>`. `Some` with the loss when the link failed.
    async fn write_next(&mut self, stream: &mut Stream) -> Result<Option<LinkLoss>, RestartReason> {
        let len = self.state.outbox.next().map_or(0, |(_, data)| data.len());
        let cipsend = Command::Cipsend {
            link: Some(LINK),
            // At most `MAX_MESSAGE`.
            len: Some(len as u16),
        };
        let mut outcome = self.cmd(&cipsend).await?;
        let mut written = None;
        if outcome == Outcome::Prompt {
            let data = self.state.outbox.next().map_or(&[][..], |(_, data)| data);
            self.at.write(data).await?;
            outcome = self.at.send_result(LINK, len, &mut self.state).await?;
            written = Some(len as u32);
        }
        Ok(match outcome {
            Outcome::Ok if self.at.answer().accepted == Some(len as u16) => {
                let now = self.now();
                if !self.state.outbox.unacked() {
                    // Written bytes start to wait now.
                    stream.progress = now;
                    stream.poll = now + self.config.ack_poll_interval;
                }
                stream.tx = stream.tx.wrapping_add(len as u32);
                self.state.outbox.written(stream.tx);
                None
            }
            // The data went, its answer did not come (or garbled): `AT+CIPACK` tells
            // whether the modem took it.
            // (It keeps its place meanwhile.)
            Outcome::Timeout | Outcome::Ok if written.is_some() => {
                stream.unsure = written;
                self.send_failed(None)
            }
            // No prompt in time (filler went instead): a modem that does not answer, or a
            // garbled prompt; a new connection will tell.
            Outcome::Timeout | Outcome::Ok => self.send_failed(LinkLoss::SendTimeout),
            // `CLOSED`, `+PDP: DEACT`, a restart: the loop sees why.
            Outcome::Aborted => self.send_failed(None),
            Outcome::SendFail | Outcome::Error | Outcome::Prompt => {
                self.send_failed(LinkLoss::SendFailed)
            }
        })
    }

    /// The send of the next message failed, or is in doubt (`loss`: the link failed with
    /// it): it keeps its place ahead of a heartbeat that comes due.
    fn send_failed(&mut self, loss: impl Into<Option<LinkLoss>>) -> Option<LinkLoss> {
        self.state.outbox.tried();
        loss.into()
    }

    /// `AT+CIPACK=0`: what the peer acknowledged leaves the outbox ([`Report::Sent`]); a
    /// send in doubt is settled by the written count. `Some(LinkLoss::SendTimeout)` when
    /// written bytes waited `send_timeout` without the acknowledged count moving on.
    async fn poll_acks(&mut self, stream: &mut Stream) -> Result<Option<LinkLoss>, RestartReason> {
        let outcome = self.cmd(&Command::CipackLink(LINK)).await?;
        let now = self.now();
        stream.poll = now + self.config.ack_poll_interval;
        let acked = match (outcome, self.at.answer().cipack) {
            (Outcome::Ok, Some((txlen, acklen))) => {
                if let Some(len) = stream.unsure {
                    if txlen == stream.tx.wrapping_add(len) {
                        // The data went, only its `DATA ACCEPT` was lost.
                        if !self.state.outbox.unacked() {
                            stream.progress = now;
                        }
                        self.state.outbox.written(txlen);
                    }
                }
                stream.tx = txlen;
                if acklen != stream.acked {
                    stream.acked = acklen;
                    stream.progress = now;
                }
                acklen
            }
            // No `AT+CIPACK` on this modem: what it took counts as delivered, and a dead
            // link is noticed only when the modem says so.
            (Outcome::Error, _) => u32::MAX,
            _ => stream.acked,
        };
        if outcome != Outcome::Timeout {
            stream.unsure = None;
        }
        let state = &mut self.state;
        while let Some((kind, data)) = state.outbox.acked(acked) {
            state.board.report(Report::Sent { kind, data });
            state.outbox.remove_head();
            state.report_outbox();
        }
        let waited = now - stream.progress;
        let dead = state.outbox.unacked() && waited >= self.config.send_timeout;
        Ok(dead.then_some(LinkLoss::SendTimeout))
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
