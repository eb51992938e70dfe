//! The connected session (B1–B4, B8–B10): one event loop that sends heartbeats on time,
//! answers messages, queries signal and cell, keeps the network clock, and notices when the
//! link is gone.
//!
//! Each turn of the loop sends at most one command, the first of these that applies:
//!
//! 1. the modem failed (`RDY`, `+CPIN: NOT READY`, `NORMAL POWER DOWN`, as URCs set them):
//!    the session ends at once; the link failed (`CLOSED`, `+PDP: DEACT`, a failed send,
//!    no acknowledgement): a last `AT+CIPACK` if written messages wait, then it ends;
//! 2. a heartbeat is due: it is queued (B1) ahead of the replies never tried, unless the
//!    modem says the cell is lost (`+CREG:` not registered, the LED `Searching`); the next
//!    one is due on the grid (one interval after this one was due, however late it is);
//! 3. a send is in doubt, or written messages wait and `AT+CIPACK` is due: it is asked;
//! 4. a message waits to be written: it is (B9);
//! 5. received data waits in the modem (manual receive) and the outbox has room for its
//!    replies: `AT+CIPRXGET=2,0,<n>`, at most what the room allows (see "Receiving");
//! 6. signal and cell are due (B10): `AT+CSQ`, and `AT+CREG?` the next turn (on time: see
//!    `device.rs`);
//! 7. a step of the network clock sync is due (B4): that one step;
//! 8. otherwise: wait for the earliest of UART bytes and the deadlines of 2, 3, 6 and 7.
//!
//! # Receiving: pushed or read, as the outbox has room
//!
//! Received data is handled the moment it is decoded, whatever the loop is doing: deframed,
//! answered (`back…`, `bin`, `time`), the replies queued. With raw framing the modem pushes
//! it (`+RECEIVE,0,<len>:`): a message is what arrives in one piece, which a read of the
//! modem's buffer would join to the next. With the newline and acknowledged framings the
//! modem keeps it (manual receive, `AT+CIPRXGET=1`, required at start-up) and says so
//! (`+CIPRXGET: 1,0`); the session reads it (`AT+CIPRXGET=2,0,<n>`, the payload read by its
//! length) only as far as the outbox has room for the replies: `n` bytes of requests are
//! answered with at most `3n` bytes (`time\n` with 11), so `n` is at most a third of the
//! free bytes, less a partial message the deframer holds, and at most
//! [`MAX_MESSAGE`]` / 3`, one slot more (replies join the last one never written, see
//! `outbox`), with a slot kept for a heartbeat. What is not read waits in the modem, then in
//! the server's TCP (its receive window closes): a burst is backpressure, never a drop (B9).
//! A read is one command: a heartbeat due meanwhile waits for it, as for any command. The
//! modem gives its notice once, when its empty buffer gets data: a notice garbled by line
//! noise is looked for again after any line the decoder refuses (at the loop's next turn)
//! and with B10's query every minute (one read, empty or not).
//!
//! # Sending: quick mode and `AT+CIPACK`
//!
//! The modem is in quick send mode (`AT+CIPQSEND=1`, see `startup`): a send never holds
//! the AT channel. `AT+CIPSEND=0,<len>`, `> ` within `at_timeout`, the bytes (message and
//! framing terminator), `DATA ACCEPT:0,<len>` at once: the message is written, and it stays
//! in the outbox with its end offset in the connection's byte stream ([`crate::outbox`])
//! while replies decoded meanwhile queue behind it. Every `ack_poll_interval` while written
//! messages wait, `AT+CIPACK=0` gives the bytes written and the bytes the server's TCP
//! acknowledged: a message leaves the outbox ([`Report::Sent`](crate::report::Report::Sent)) when the acknowledged count
//! passes its end. When it does not move on for `send_timeout`, the link is taken for dead
//! (`LinkLost(SendTimeout)`): closed and connected again at once.
//!
//! With raw framing (the seed's) a message is what arrives in one piece, and TCP joins what it
//! has in flight (a retransmission carries it all at once; the server's stack hands it over
//! in one read): so one message is on the way at a time, the next written once the last is
//! acknowledged. Newline framing (and the acknowledged one) mark their message boundaries,
//! and messages are written back to back.
//!
//! A send's data whose `DATA ACCEPT` does not come (or comes garbled) is settled by the next
//! `AT+CIPACK` before anything more is written: written if the count grew by its length
//! (and no filler completed it), otherwise written again; the count may also have grown by
//! another length, when line noise changed the send's. An answer whose counts cannot be (a
//! `txlen` other than what was written, an `acklen` that went back or past it: line noise)
//! is left aside. No prompt in time (filler went instead, see `at`), `SEND FAIL`, `ERROR`,
//! `CLOSED` or `+PDP: DEACT` end the session. When it ends, a last `AT+CIPACK` (the
//! counts stay readable after the connection is gone) takes out what the server
//! acknowledged; what it did not is written again, first, on the next connection. The
//! modem's counts are lost when it restarts: then everything not yet acknowledged is
//! written again, and the server may get it twice (at-least-once delivery; the
//! acknowledged framing, `protocol::app`, makes it exactly once).
//!
//! A modem that refuses `AT+CIPACK` [`CIPACK_REFUSALS`] times in a row and never answered
//! one has none (line noise can garble a command or two into `ERROR`): what it took counts as
//! delivered at its `DATA ACCEPT`, and a dead link is then noticed only when the modem
//! reports it (`CLOSED`, `SEND FAIL`, `+PDP: DEACT`). UDP: the modem counts a datagram
//! acknowledged once it left (the simulator does; UNCONFIRMED on a real SIM800), so a dead
//! UDP path is not noticed unless the modem reports it.
//!
//! # The network clock (B4)
//!
//! Every `ntp_resync` after the first sync (which bring-up runs before the first connection;
//! every `ntp_retry` after a failure): the sync's steps (`clock`), one per turn of the loop. The sync never blocks the session: each of its steps is
//! taken only when nothing more urgent is due (a heartbeat, a send, `AT+CIPACK`), and the
//! `+CNTP:` wait is no turn at all. When the link is lost the rest of the sync is abandoned,
//! and it starts again on the next connection (its end then closes a bearer left open). A
//! step in progress is not cut short: on a modem whose bearer is slow to open,
//! `AT+SAPBR=1,1` alone may take up to `ciicr_timeout` (85 s; the simulated modem answers at
//! once, its bearer sharing the context `AT+CIICR` opened), and a heartbeat due meanwhile
//! waits for it.
//!
//! # Bounds
//!
//! - Heartbeats are on a `heartbeat_interval` grid from the connect: a due one is queued at
//!   the next turn of the loop, ahead of the replies never tried, and written at once, so it
//!   is late by at most the command in progress when it came due (one send, one
//!   `AT+CIPACK`, one read of received data, one clock-sync step, or B10's query: the
//!   longest is a send of [`MAX_MESSAGE`] bytes, some 145 ms on the UART at 115,200 baud,
//!   checked by `behaviour/b01_heartbeat_reply_burst.json`), and with
//!   raw framing the acknowledgement of the message on the way (a round trip and an
//!   `ack_poll_interval`); a late one does not move the next. None is queued while the
//!   modem says the cell is lost: it could only wait, and the connection may well survive
//!   the loss. Only what was written before it (on this connection, or on the last one and
//!   not acknowledged) goes on the link ahead of it.
//! - A burst of requests is read as the outbox has room (see "Receiving"): none is dropped
//!   while the server's TCP holds it back.
//! - A silently dead TCP link ends the session within `Config::dead_link_bound` (the next
//!   heartbeat's bytes are never acknowledged). UDP: see "Sending".
//! - `CLOSED` and `+PDP: DEACT` end the session at the end of the command in progress (a
//!   send's wait ends at once), plus one `AT+CIPACK` when written messages wait.

use protocol::app::Framing;
use protocol::command::{Command, Name, RxGet};

use crate::at::Outcome;
use crate::board::Board;
use crate::config::{LINK, MAX_MESSAGE, OUTBOX_BYTES, OUTBOX_ENTRIES};
use crate::device::{Device, NtpState};
use crate::state::settle;
use crate::time::{Clock, Instant};
use crate::values::{LedState, LinkLoss, Phase, RestartReason};
use embedded_io_async::{Read, Write};

/// The shortest request frame of the acknowledged framing: `M1 <crc> b` and its `\n`.
const MIN_FRAME: usize = 10;

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
    /// Acknowledged framing: when the wait for the server's acknowledgement last started
    /// again (an acknowledgement, of TCP or of the server).
    app: Instant,
    /// `AT+CIPACK` answered `ERROR` this often in a row.
    refused: u8,
}

/// The one command a turn of the session loop sends (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chore<'a> {
    /// `AT+CIPSEND=0,<len>` for the next message in the outbox.
    Send(u16),
    /// `AT+CIPACK=0`.
    Acks,
    /// `AT+CIPRXGET=2,0,<len>`: read what waits in the modem (manual receive).
    Read(u16),
    /// B10: `AT+CSQ`, then (the next turn) `AT+CREG?`.
    Signal,
    Cell,
    /// A step of the clock sync (B4).
    Clock(Command<'a>),
}

impl<'a, U: Read + Write, C: Clock, B: Board + ?Sized> Device<'a, U, C, B> {
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
            app: now,
            refused: 0,
        };
        let mut lost = None;
        let mut last_look = false;
        loop {
            self.check_modem()?;
            let now = self.now();
            let unacked = self.state.outbox.unacked();
            if core::mem::take(&mut self.state.flags.app_acked) {
                stream.app = now;
                self.delivered = true;
                self.at.progressed();
            }
            // Acknowledged framing: numbered frames the server's TCP has and the server did
            // not acknowledge within `resend_timeout` go again.
            let resend = (!unacked && self.state.outbox.app_waiting())
                .then_some(stream.app + self.config.resend_timeout);
            let flags = &self.state.flags;
            if lost.is_none() {
                if flags.pdp_deact {
                    lost = Some(LinkLoss::PdpDeact);
                } else if flags.closed {
                    lost = Some(LinkLoss::Closed);
                }
            }
            let chore = if let Some(loss) = lost {
                // What the peer acknowledged up to the end is not written again: the counts
                // stay readable after the connection ends.
                if !unacked || last_look {
                    if !matches!(self.ntp, NtpState::Due(_)) {
                        // A sync the loss cut short: again on the next connection.
                        self.ntp = NtpState::Due(now);
                    }
                    return Ok(loss);
                }
                last_look = true;
                Chore::Acks
            } else if now >= heartbeat_due {
                // B1, while the network is up: not while the modem says the cell is lost
                // (the LED shows it), when it could only wait and be dropped.
                if self.state.led() != Some(LedState::Searching) {
                    self.state.queue_heartbeat();
                }
                // On the grid: a late one does not move the next.
                while heartbeat_due <= now {
                    heartbeat_due = heartbeat_due + interval;
                }
                continue;
            } else if stream.unsure.is_some() || (unacked && now >= stream.poll) {
                Chore::Acks
            } else if resend.is_some_and(|at| now >= at) {
                self.state.outbox.resend_written();
                stream.app = now;
                continue;
            } else if let Some((_, data)) = self.state.outbox.next().filter(|_| {
                // Raw framing: a message is what arrives in one piece, and TCP joins what
                // it has in flight; so one message at a time.
                !unacked || self.config.framing != Framing::Raw
            }) {
                // At most `MAX_MESSAGE`.
                Chore::Send(data.len() as u16)
            } else if let Some(len) = self.room().filter(|_| self.state.flags.rx) {
                Chore::Read(len)
            } else if core::mem::take(&mut self.cell_pending) {
                Chore::Cell
            } else if self.query_now() {
                Chore::Signal
            } else if let Some(step) = self.clock_step(now) {
                Chore::Clock(step)
            } else {
                let ntp_deadline = match self.ntp {
                    NtpState::Waiting(at) | NtpState::Due(at) => at,
                    _ => now,
                };
                let mut deadline = heartbeat_due.min(self.query_due).min(ntp_deadline);
                if unacked {
                    deadline = deadline.min(stream.poll);
                }
                if let Some(at) = resend {
                    deadline = deadline.min(at);
                }
                self.at.wait_until(deadline, &mut self.state).await;
                continue;
            };
            let command = match chore {
                Chore::Send(len) => Command::Cipsend {
                    link: Some(LINK),
                    len: Some(len),
                },
                Chore::Acks => Command::CipackLink(LINK),
                Chore::Read(len) => Command::Ciprxget(RxGet::Read {
                    link: Some(LINK),
                    len,
                    hex: false,
                }),
                Chore::Signal => Command::Exec(Name::Csq),
                Chore::Cell => Command::Read(Name::Creg),
                Chore::Clock(step) => step,
            };
            let outcome = self.cmd(&command).await?;
            let loss = match chore {
                Chore::Send(len) => self.sent(outcome, len, &mut stream).await?,
                Chore::Acks => self.acks(outcome, &mut stream),
                Chore::Read(_) => {
                    // Its data went to the URC handler as it was decoded.
                    self.state.flags.rx &= outcome == Outcome::Ok;
                    None
                }
                Chore::Signal => {
                    self.report_signal();
                    self.cell_pending = true;
                    // A notice of received data garbled into a line that still parses is
                    // no decode error: B10's minute looks for such data too.
                    self.state.flags.rx = true;
                    None
                }
                Chore::Cell => {
                    self.report_cell(true);
                    None
                }
                Chore::Clock(_) => {
                    self.clock_answered(outcome);
                    None
                }
            };
            lost = lost.or(loss);
        }
    }

    /// How much received data to read now (manual receive): what the outbox has room to
    /// answer, `None` if nothing. A request of `n` bytes is answered with at most 11 bytes
    /// if it is 4 or more (`time\n`, `bin\n`, `back...`), so `n` bytes read need at most
    /// `3n` bytes, plus what a partial message held by the deframer adds. With newline
    /// framing replies join the last one never tried (see `outbox`), so at most
    /// [`MAX_MESSAGE`]` / 3` bytes read take one slot more; a frame of the acknowledged
    /// framing is never joined and is at least [`MIN_FRAME`] bytes long. One slot is kept for
    /// a heartbeat. With the acknowledged framing, the server's acknowledgements, which free
    /// the outbox, wait to be read too: when numbered frames wait for them, a little is read
    /// whatever the room (a request whose answer finds none is sent again by the server).
    fn room(&self) -> Option<u16> {
        let outbox = &self.state.outbox;
        let bytes = OUTBOX_BYTES - outbox.bytes();
        let bytes = bytes.saturating_sub(self.state.deframer.partial()) / 3;
        let slots = (OUTBOX_ENTRIES - outbox.len()).saturating_sub(1);
        let acked = self.config.framing == Framing::Acked;
        let len = match slots {
            0 if acked && outbox.app_waiting() => MIN_FRAME * 4,
            0 => 0,
            _ if acked => bytes.min(MIN_FRAME * slots),
            _ => bytes.min(MAX_MESSAGE / 3),
        };
        // At most `MAX_MESSAGE`.
        (len > 0).then_some(len as u16)
    }

    /// The answer to `AT+CIPSEND=0,<len>`: on the prompt, the bytes, then `DATA ACCEPT:0,<len>`.
    /// `Some` with the loss when the link failed.
    async fn sent(
        &mut self,
        mut outcome: Outcome,
        len: u16,
        stream: &mut Stream,
    ) -> Result<Option<LinkLoss>, RestartReason> {
        let mut written = None;
        if outcome == Outcome::Prompt {
            let data = self.state.outbox.next().map_or(&[][..], |(_, data)| data);
            self.at.write(data).await?;
            outcome = self
                .at
                .send_result(LINK, len.into(), &mut self.state)
                .await?;
            written = Some(u32::from(len));
        }
        Ok(match outcome {
            Outcome::Ok if self.at.answer().accepted == Some(len) => {
                let now = self.now();
                if !self.state.outbox.unacked() {
                    // Written bytes start to wait now.
                    stream.progress = now;
                    stream.poll = now + self.config.ack_poll_interval;
                }
                stream.tx = stream.tx.wrapping_add(u32::from(len));
                self.state.outbox.written(stream.tx);
                if self.state.has_cipack == Some(false) {
                    // No counts to wait for: what the modem took counts as delivered.
                    self.take_acked(stream.tx);
                }
                None
            }
            // The data went, its answer did not come (or garbled): `AT+CIPACK` tells
            // whether the modem took it. (It keeps its place meanwhile.)
            Outcome::Timeout | Outcome::Ok if written.is_some() => {
                stream.unsure = written;
                self.state.flags.padded = false;
                self.send_failed(None)
            }
            // No prompt in time (filler went instead): a modem that does not answer, or a
            // garbled prompt; a new connection will tell.
            Outcome::Timeout | Outcome::Ok => self.send_failed(LinkLoss::SendTimeout),
            // `CLOSED`, `+PDP: DEACT`, a restart: the loop sees why.
            Outcome::Aborted => self.send_failed(None),
            Outcome::Error => {
                // The link is gone, or the modem restarted unseen (single-link mode again).
                self.state.flags.suspect = true;
                self.send_failed(LinkLoss::SendFailed)
            }
            Outcome::SendFail | Outcome::Prompt => self.send_failed(LinkLoss::SendFailed),
        })
    }

    /// The send of the next message failed, or is in doubt (`loss`: the link failed with
    /// it): it keeps its place ahead of a heartbeat that comes due.
    fn send_failed(&mut self, loss: impl Into<Option<LinkLoss>>) -> Option<LinkLoss> {
        self.state.outbox.tried();
        loss.into()
    }

    /// The answer to `AT+CIPACK=0`: what the peer acknowledged leaves the outbox
    /// ([`Report::Sent`](crate::report::Report::Sent)); a send in doubt is settled by the written count.
    /// `Some(LinkLoss::SendTimeout)` when written bytes waited `send_timeout` without the
    /// acknowledged count moving on.
    fn acks(&mut self, outcome: Outcome, stream: &mut Stream) -> Option<LinkLoss> {
        let now = self.now();
        stream.poll = now + self.config.ack_poll_interval;
        // The firmware knows what it wrote: `txlen` is that, or that and the data of a send
        // whose `DATA ACCEPT` was lost; `acklen` only grows, up to `txlen`. An answer line
        // noise changed into another that parses is left aside (the next poll asks again).
        // A send in doubt may have written another length than its own, up to a send's
        // most, when line noise changed `<len>` (filler then completed it, see `at`,
        // "Sending"): it counts as written only at its own length, unpadded.
        let (tx, was_acked, unsure) = (stream.tx, stream.acked, stream.unsure);
        let plausible = |txlen: u32, acklen: u32| {
            let more = txlen.wrapping_sub(tx);
            let written = more == 0 || unsure.is_some() && more <= MAX_MESSAGE as u32;
            written && (was_acked..=txlen).contains(&acklen)
        };
        let answer = self.at.answer().cipack;
        let acked = match (outcome, answer) {
            (Outcome::Ok, Some((txlen, acklen))) if plausible(txlen, acklen) => {
                self.state.has_cipack = Some(true);
                stream.refused = 0;
                if let Some(len) = stream.unsure {
                    // The data went, only its `DATA ACCEPT` was lost; unless that came
                    // after the filler, which completed data short of some bytes: then
                    // the message goes again.
                    if txlen == stream.tx.wrapping_add(len) && !self.state.flags.padded {
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
                    stream.app = now;
                }
                acklen
            }
            // `ERROR`: a modem that restarted unseen (single-link mode again), checked before
            // the next command; or line noise garbled the command. A modem that never
            // answered one and refuses [`CIPACK_REFUSALS`] in a row has no `AT+CIPACK`: what it
            // took counts as delivered (here, and in `sent` from now on), and a dead link is
            // noticed only when the modem says so.
            (Outcome::Error, _) => {
                self.state.flags.suspect = true;
                stream.refused = stream.refused.saturating_add(1);
                if self.state.has_cipack.is_none() && stream.refused >= CIPACK_REFUSALS {
                    self.state.has_cipack = Some(false);
                }
                if self.state.has_cipack == Some(false) {
                    stream.tx
                } else {
                    stream.acked
                }
            }
            _ => stream.acked,
        };
        let garbled = answer.is_some_and(|(txlen, acklen)| !plausible(txlen, acklen));
        if outcome != Outcome::Timeout && !garbled {
            stream.unsure = None;
        }
        self.take_acked(acked);
        let dead = self.state.outbox.unacked() && now >= stream.progress + self.config.send_timeout;
        dead.then_some(LinkLoss::SendTimeout)
    }

    /// The connection's first `acked` bytes are delivered: the messages they end leave the
    /// outbox ([`Report::Sent`](crate::report::Report::Sent)).
    fn take_acked(&mut self, acked: u32) {
        let state = &mut self.state;
        while let Some(i) = state.outbox.acked(acked) {
            settle(&mut *state.board, &mut state.outbox, i);
            self.delivered = true;
            self.at.progressed();
        }
    }
}

/// `AT+CIPACK` refusals in a row that tell a modem without it: fewer could be line noise,
/// which garbles a command into `ERROR` (the swarm's seed 353 had two in a row).
const CIPACK_REFUSALS: u8 = 3;
