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
//! 4. signal and cell are due (B10): `AT+CSQ`, `AT+CREG?`;
//! 5. the network clock is due, or its sync answered (B4);
//! 6. otherwise: wait for the earliest of UART bytes and the deadlines of 2, 4 and 5.
//!
//! Received data (`+RECEIVE`) is handled the moment it is decoded, whatever the loop is doing
//! (even waiting for a `SEND OK`): deframed, answered (`back…`, `bin`, `time`), the replies
//! queued. A heartbeat never waits behind a read: there is no read to wait for, only URCs.
//!
//! # Sending
//!
//! `AT+CIPSEND=0,<len>`, `> `, the bytes (message and framing terminator), `SEND OK` (or
//! `DATA ACCEPT`) within `send_timeout`. `SEND FAIL`, `ERROR`, no answer in time, `CLOSED`
//! or `+PDP: DEACT` end the session; the message stays at the outbox head and is the first
//! sent after the reconnect.
//!
//! # The network clock (B4)
//!
//! After connecting, then every `ntp_resync` (every `ntp_retry` after a failure):
//! `AT+CNTPCID=1`, `AT+CNTP="<ntp_server>",0`, `AT+CNTP`, then, on the URC `+CNTP: 1`
//! within `ntp_timeout`, `AT+CCLK?`. The clock is kept as Unix seconds at an [`Instant`] and
//! advanced by [`Clock::now`]. Until the first success, `time` is answered with `0`, so a
//! server can tell "no clock yet" from a time. (A real SIM800 also needs bearer 1 opened with
//! `AT+SAPBR` for `AT+CNTP`; the firmware does not do that yet.)
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
use crate::board::Board;
use crate::config::{LINK, MAX_MESSAGE};
use crate::device::Device;
use crate::link::Fault;
use crate::outbox::DropReason;
use crate::report::{Phase, Report};
use crate::time::{Clock, Instant};
use embedded_io_async::{Read, Write};

/// How a connection was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkLoss {
    /// `<n>, CLOSED`: the server closed it, or the network dropped it.
    Closed,
    /// `+PDP: DEACT`: the network released the data link.
    PdpDeact,
    /// `SEND FAIL` or `ERROR` to a send.
    SendFailed,
    /// No `SEND OK` within `send_timeout`: the link is taken for dead.
    SendTimeout,
}

/// The network clock sync, between turns of the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NtpState {
    /// The next sync starts at this instant.
    Due(Instant),
    /// `AT+CNTP` was accepted; its `+CNTP:` is awaited until this instant.
    Waiting(Instant),
}

impl<U: Read + Write, C: Clock, B: Board> Device<'_, U, C, B> {
    /// Runs the connected session until the link is lost (`Ok`) or the modem fails (`Err`).
    pub(crate) async fn session(&mut self) -> Result<LinkLoss, Fault> {
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
            if !self.state.outbox.is_empty() {
                if let Err(loss) = self.send_head().await? {
                    return Ok(loss);
                }
                continue;
            }
            if now >= self.query_due {
                self.query_if_due().await?;
                continue;
            }
            if self.clock_sync_step().await? {
                continue;
            }
            let ntp_deadline = match self.ntp {
                NtpState::Due(at) | NtpState::Waiting(at) => at,
            };
            let deadline = heartbeat_due.min(self.query_due).min(ntp_deadline);
            self.at.wait_until(deadline, &mut self.state).await;
        }
    }

    /// Sends the outbox head. `Err` with the loss when the link failed; the message stays.
    async fn send_head(&mut self) -> Result<Result<(), LinkLoss>, Fault> {
        let terminator = self.config.framing.terminator();
        let Some((kind, data)) = self.state.outbox.begin_send() else {
            return Ok(Ok(()));
        };
        let len = data.len() + terminator.len();
        if len > MAX_MESSAGE {
            self.state.outbox.sent();
            let reason = DropReason::TooLong;
            self.state.board.report(Report::Dropped { kind, reason });
            return Ok(Ok(()));
        }
        self.tx[..data.len()].copy_from_slice(data);
        self.tx[data.len()..len].copy_from_slice(terminator);

        let answer = self
            .at
            .send(
                LINK,
                &self.tx[..len],
                self.config.send_timeout,
                &mut self.state,
            )
            .await?;
        if answer.is_ok() {
            self.state.outbox.sent();
            self.state.board.report(Report::Sent {
                kind,
                data: &self.tx[..len],
            });
            self.state.report_outbox();
            return Ok(Ok(()));
        }
        self.state.outbox.failed();
        let flags = &self.state.flags;
        Ok(Err(match answer.outcome {
            Outcome::Timeout => LinkLoss::SendTimeout,
            _ if flags.pdp_deact => LinkLoss::PdpDeact,
            _ if flags.closed => LinkLoss::Closed,
            _ => LinkLoss::SendFailed,
        }))
    }

    /// Moves the clock sync on if it is due or answered. `Ok(true)` if it did something.
    async fn clock_sync_step(&mut self) -> Result<bool, Fault> {
        let c = self.config;
        let now = self.now();
        match self.ntp {
            NtpState::Due(at) if now >= at => {
                // Best effort: a modem that has them set already may refuse these.
                self.cmd(&Command::Cntpcid(1), c.at_timeout).await?;
                let server = c.ntp_server.as_str();
                self.cmd(&Command::Cntp { server, tz: 0 }, c.at_timeout)
                    .await?;
                self.state.flags.ntp = None;
                self.ntp = match self
                    .cmd(&Command::Exec(Name::Cntp), c.at_timeout)
                    .await?
                    .outcome
                {
                    Outcome::Ok => NtpState::Waiting(self.now() + c.ntp_timeout),
                    _ => self.clock_sync_failed(None),
                };
                Ok(true)
            }
            NtpState::Waiting(until) => match self.state.flags.ntp.take() {
                Some(1) => {
                    let time = self
                        .cmd(&Command::Read(Name::Cclk), c.at_timeout)
                        .await?
                        .cclk;
                    self.ntp = match time {
                        Some(time) => self.clock_set(time),
                        None => self.clock_sync_failed(Some(1)),
                    };
                    Ok(true)
                }
                Some(code) => {
                    self.ntp = self.clock_sync_failed(Some(code));
                    Ok(true)
                }
                None if now >= until => {
                    self.ntp = self.clock_sync_failed(None);
                    Ok(true)
                }
                None => Ok(false),
            },
            NtpState::Due(_) => Ok(false),
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
