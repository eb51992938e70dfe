//! The URC handler's state ([`State`]): what the modem said unasked ([`Flags`]), the board,
//! the outbox and the receive path. The AT client hands it every URC as it is decoded
//! ([`Handler`]), whatever the loops above are doing: received data is deframed and answered
//! (B2–B4) at once, and the events that end a wait (`CLOSED`, `+PDP: DEACT`, `RDY`, ...) are
//! kept in [`Flags`] until the loop that cares looks.

use protocol::app::{reply_to, Deframer, Frame, Framing, Reply};
use protocol::response::{ConnectResult, Response, RxGetResponse, VoltageAlarm};
use protocol::types::SimState;

use crate::at::{Handler, Wake};
use crate::board::Board;
use crate::config::{LINK, MAX_FRAMED};
use crate::outbox::{DropReason, Kind, Outbox};
use crate::report::Report;
use crate::time::Instant;
use crate::values::LedState;

/// What URCs tell, kept until the loop that cares looks.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Flags {
    /// `RDY`: the modem restarted.
    pub rebooted: bool,
    /// `+CPIN: NOT READY` / `NOT INSERTED`: the SIM went away (a modem restart, or worse).
    pub sim_lost: bool,
    /// `NORMAL POWER DOWN` or a voltage power-down: the modem is off.
    pub powered_down: bool,
    /// `<n>, CLOSED` on our link.
    pub closed: bool,
    /// `+PDP: DEACT`.
    pub pdp_deact: bool,
    /// The asynchronous result of `AT+CIPSTART` on our link.
    pub connect: Option<ConnectResult>,
    /// The result code of `AT+CNTP`.
    pub ntp: Option<u8>,
    /// A sign that the modem may have restarted unseen (no `RDY` at auto-baud, or a garbled
    /// one): `Call Ready` or `SMS Ready` a second time since it booted, `+CPIN: READY`
    /// unasked, an echo, an `ERROR` to a multi-link command. The next command checks first
    /// (see `device`).
    pub suspect: bool,
    /// Manual receive (newline and acknowledged framings): data waits in the modem
    /// (`+CIPRXGET: 1,0`, or a read that left some).
    pub rx: bool,
    /// A `DATA ACCEPT` came after its send's wait ended: the data was short (line noise ate
    /// bytes) and the filler written then completed it (see `at`'s "Sending").
    pub padded: bool,
    /// Acknowledged framing: the server acknowledged a numbered frame (it left the outbox).
    pub app_acked: bool,
}

/// Everything the URC handler touches: the board, the outbox and the receive path.
pub(crate) struct State<'a, B: ?Sized> {
    pub board: &'a mut B,
    pub flags: Flags,
    pub outbox: Outbox,
    pub deframer: Deframer<MAX_FRAMED>,
    /// The modem is being (re)started: its `RDY` and `+CPIN: NOT READY` are expected, and
    /// end no wait ([`Wake::Abort`] rather than [`Wake::Restart`]).
    pub starting: bool,
    /// Flight mode (B6): the SIM goes with the radio, its `+CPIN: NOT READY` is no restart;
    /// from `AT+CFUN=0` until the SIM is back (`+CPIN: READY`, or the IP ready): a modem that
    /// resets its SIM when the radio comes back says `+CPIN: NOT READY` after the `OK` to
    /// `AT+CFUN=1` too.
    pub radio_off: bool,
    /// `Call Ready` (bit 0) and `SMS Ready` (bit 1) came since the modem last booted: each
    /// comes once a boot, often after start-up; again, it is a sign of a reboot unseen.
    pub boot_urcs: u8,
    led: Option<LedState>,
    /// The LED the loops last set; the URC handler may show `Searching` over it for a while.
    wanted_led: Option<LedState>,
    /// The network clock: Unix seconds at an instant, once set (B4).
    unix: Option<(Instant, u64)>,
    /// A clock read (`AT+CCLK?`) not yet confirmed: when, and what it said (see `session`).
    /// (Here rather than in `Device`: a field there costs the Cortex-M0+ 200 bytes of code,
    /// its offsets past what one instruction reaches.)
    pub clock_read: Option<(Instant, u64)>,
    /// Whether the modem has `AT+CIPACK`: `Some(true)` once it answered one, `Some(false)`
    /// once it refused `CIPACK_REFUSALS` in a row without ever answering (see `session`).
    pub has_cipack: Option<bool>,
}

impl<'a, B: Board + ?Sized> State<'a, B> {
    pub(crate) fn new(board: &'a mut B, framing: Framing) -> Self {
        State {
            board,
            flags: Flags::default(),
            outbox: Outbox::new(framing),
            deframer: Deframer::new(framing),
            starting: true,
            radio_off: false,
            boot_urcs: 0,
            led: None,
            wanted_led: None,
            unix: None,
            clock_read: None,
            has_cipack: None,
        }
    }

    /// The LED now; `None` before it was first set.
    pub fn led(&self) -> Option<LedState> {
        self.led
    }

    /// Sets the LED, as the loops see the state.
    pub fn set_led(&mut self, led: LedState) {
        self.wanted_led = Some(led);
        self.show_led(led);
    }

    fn show_led(&mut self, led: LedState) {
        if self.led != Some(led) {
            self.led = Some(led);
            self.board.set_led(led);
            self.board.report(Report::Led(led));
        }
    }

    /// Unix seconds at `now`, or 0 while the clock has not been set from the network.
    pub fn unix_at(&self, now: Instant) -> u64 {
        self.unix.map_or(0, |(at, unix)| {
            let micros = now.as_micros().saturating_sub(at.as_micros());
            unix + protocol::types::div_rem(micros, 1_000_000).0
        })
    }

    pub fn set_unix(&mut self, now: Instant, unix: u64) {
        self.unix = Some((now, unix));
        self.board.report(Report::ClockSet { unix });
    }

    pub fn report_outbox(&mut self) {
        report_outbox(&mut *self.board, &self.outbox);
    }

    pub fn queue_heartbeat(&mut self) {
        match self.outbox.push_heartbeat() {
            Ok(()) => self.board.report(Report::Queued {
                kind: Kind::Heartbeat,
                len: 0,
            }),
            Err(reason) => self.board.report(Report::Dropped {
                kind: Kind::Heartbeat,
                reason,
            }),
        }
        self.report_outbox();
    }

    /// B2–B4: deframes a received chunk and queues the replies its messages ask for. With
    /// the acknowledged framing a message is a frame: a request (answered with its number,
    /// or `A<n>` when it asks for nothing), or the server's acknowledgement of one of ours
    /// (it leaves the outbox); a line that is no frame, or whose checksum is wrong, is
    /// dropped (the server sends the request again).
    fn received(&mut self, now: Instant, chunk: &[u8]) {
        let unix = self.unix_at(now);
        let State {
            board,
            outbox,
            deframer,
            flags,
            ..
        } = self;
        let acked = deframer.framing() == Framing::Acked;
        deframer.push(chunk, |message| {
            let Ok(message) = message else {
                board.report(Report::ReceivedTooLong);
                return;
            };
            board.report(Report::Received(message));
            let frame = if acked {
                Frame::parse(message)
            } else {
                Some(Frame::Message {
                    seq: 0,
                    payload: message,
                })
            };
            let (seq, request) = match frame {
                Some(Frame::Message { seq, payload }) => (seq, payload),
                Some(Frame::Ack { seq }) => {
                    // (Every copy: one was written again before the first was acknowledged.)
                    while let Some(i) = outbox.app_acked(seq) {
                        settle(&mut **board, outbox, i);
                        flags.app_acked = true;
                    }
                    return;
                }
                None => return,
            };
            let pushed = match reply_to(request) {
                Some(reply) => queue_reply(outbox, seq, reply, unix),
                // A numbered request that asks for nothing is acknowledged all the same.
                None if seq != 0 => outbox.push_ack(seq).map(|e| (e, 0)),
                None => return,
            };
            match pushed {
                Ok((evicted, len)) => {
                    if evicted {
                        board.report(Report::Dropped {
                            kind: Kind::Heartbeat,
                            reason: DropReason::Evicted,
                        });
                    }
                    board.report(Report::Queued {
                        kind: Kind::Reply,
                        len,
                    });
                }
                Err(reason) => board.report(Report::Dropped {
                    kind: Kind::Reply,
                    reason,
                }),
            }
            report_outbox(&mut **board, outbox);
        });
    }
}

/// Reports the outbox's size.
fn report_outbox(board: &mut (impl Board + ?Sized), outbox: &Outbox) {
    let (messages, bytes) = (outbox.len(), outbox.bytes());
    board.report(Report::Outbox { messages, bytes });
}

/// Takes message `i` out of the outbox, acknowledged (by the connection's TCP, or the
/// server's own acknowledgement with the acknowledged framing), and reports it `Sent`.
pub(crate) fn settle(board: &mut (impl Board + ?Sized), outbox: &mut Outbox, i: usize) {
    if let Some((kind, data)) = outbox.message(i) {
        board.report(Report::Sent { kind, data });
    }
    outbox.remove_at(i);
    report_outbox(board, outbox);
}

/// Queues the reply (numbered `seq`, acknowledged framing): whether a heartbeat was evicted
/// for it, and its length.
fn queue_reply(
    outbox: &mut Outbox,
    seq: u16,
    reply: Reply<'_>,
    unix: u64,
) -> Result<(bool, usize), DropReason> {
    let mut small = [0u8; 20]; // `bin`'s 3 bytes, or a u64 in decimal
    let data = match reply {
        Reply::Echo(message) => message,
        other => {
            let len = other.encode(unix, &mut small).unwrap_or(0);
            &small[..len]
        }
    };
    outbox.push_reply(seq, data).map(|e| (e, data.len()))
}

impl<B: Board + ?Sized> State<'_, B> {
    /// Registration or the data link is gone (`+CREG: <not registered>`, `+PDP: DEACT`): the
    /// LED says `Searching` at once (B10), unless the modem is being started (`Off`).
    fn lost_network(&mut self) {
        if !self.starting {
            self.show_led(LedState::Searching);
        }
    }

    /// How a URC saying the modem restarted or went off ends waits: every wait
    /// ([`Wake::Restart`]), except while the modem is being started, when it is expected.
    fn restart_wake(&self) -> Wake {
        if self.starting {
            Wake::Abort
        } else {
            Wake::Restart
        }
    }
}

impl<B: Board + ?Sized> Handler for State<'_, B> {
    fn urc(&mut self, now: Instant, urc: &Response<'_>) -> Wake {
        let ours = |link: Option<u8>| link.is_none_or(|l| l == LINK);
        match *urc {
            Response::Receive { link, data } if link == LINK => {
                self.received(now, data);
                Wake::Yes
            }
            Response::RxGet(RxGetResponse::DataReady(link)) if ours(link) => {
                self.flags.rx = true;
                Wake::Yes
            }
            Response::RxGet(RxGetResponse::Data {
                link,
                remaining,
                data,
                ..
            }) if ours(link) => {
                self.received(now, data);
                self.flags.rx = remaining > 0;
                Wake::Yes
            }
            Response::Connect { link, result } if ours(link) => {
                self.flags.connect = Some(result);
                Wake::Yes
            }
            Response::DataAccept { link, .. } if ours(link) => {
                self.flags.padded = true;
                Wake::No
            }
            Response::Closed(link) if ours(link) => {
                self.flags.closed = true;
                Wake::Abort
            }
            Response::PdpDeact => {
                self.flags.pdp_deact = true;
                // B10: no data link, whatever the loops are doing.
                self.lost_network();
                Wake::Abort
            }
            Response::Creg {
                mode: None, stat, ..
            } => {
                if !stat.is_registered() {
                    self.lost_network();
                } else if let (Some(led), false) = (self.wanted_led, self.flags.pdp_deact) {
                    // Back before the data link went: what the loops last said holds again.
                    self.show_led(led);
                }
                Wake::No
            }
            Response::Cpin(SimState::NotReady | SimState::NotInserted) if self.radio_off => {
                Wake::No
            }
            Response::Ready => {
                self.flags.rebooted = true;
                self.boot_urcs = 0;
                self.restart_wake()
            }
            Response::Cpin(SimState::NotReady | SimState::NotInserted) => {
                self.flags.sim_lost = true;
                self.restart_wake()
            }
            Response::NormalPowerDown
            | Response::Voltage(VoltageAlarm::UnderPowerDown | VoltageAlarm::OverPowerDown) => {
                self.flags.powered_down = true;
                self.restart_wake()
            }
            Response::Cntp(code) => {
                self.flags.ntp = Some(code);
                Wake::Yes
            }
            // What a modem says as it boots: `Call Ready` and `SMS Ready` once a boot (often
            // after start-up), `+CPIN: READY` also after flight mode; otherwise it may have
            // restarted without a `RDY`.
            Response::CallReady | Response::SmsReady => {
                let bit = 1 << u8::from(matches!(urc, Response::SmsReady));
                self.flags.suspect |= self.boot_urcs & bit != 0 && !self.starting;
                self.boot_urcs |= bit;
                Wake::No
            }
            Response::Cpin(SimState::Ready) if self.radio_off => {
                self.radio_off = false;
                Wake::No
            }
            Response::Cpin(SimState::Ready) => {
                self.flags.suspect |= !self.starting;
                Wake::No
            }
            _ => Wake::No,
        }
    }

    fn alive(&mut self, _now: Instant) {
        self.board.feed_watchdog();
    }

    fn report(&mut self, report: Report<'_>) {
        // The modem says `+CIPRXGET: 1,<n>` once, when its empty buffer gets data: if the
        // garbled line was that notice, the data would wait unread for good. So look.
        self.flags.rx |= matches!(report, Report::Decode(_));
        self.board.report(report);
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use protocol::app::Frame;
    use std::{format, string::String, vec::Vec};

    #[derive(Default)]
    struct Log(Vec<String>);

    impl Board for Log {
        fn set_led(&mut self, _: LedState) {}
        fn feed_watchdog(&mut self) {}
        fn set_power_key(&mut self, _: bool) {}
        fn set_modem_reset(&mut self, _: bool) {}
        fn report(&mut self, report: Report<'_>) {
            if let Report::Queued { .. } | Report::Dropped { .. } = report {
                self.0.push(format!("{report:?}"));
            }
        }
    }

    /// Feeds `chunks` as received data and returns the queued replies, head first.
    fn replies(state: &mut State<'_, Log>, now: Instant, chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        for chunk in chunks {
            state.urc(
                now,
                &Response::Receive {
                    link: LINK,
                    data: chunk,
                },
            );
        }
        let mut out = Vec::new();
        while let Some((_, data)) = state.outbox.next() {
            out.push(data.to_vec());
            state.outbox.written(0);
            state.outbox.remove_head();
        }
        out
    }

    #[test]
    fn replies_to_back_bin_and_time() {
        let mut log = Log::default();
        let mut state = State::new(&mut log, Framing::Raw);
        let t = Instant::from_millis(5_000);
        let got = replies(
            &mut state,
            t,
            &[b"back 1", b"bin", b"time", b"hello", b"bintime"],
        );
        // Before the clock is set, `time` is answered with 0.
        assert_eq!(got, [&b"back 1"[..], &[0x11, 0x22, 0x33], b"0"]);

        state.set_unix(t, 1_795_000_000);
        let later = Instant::from_millis(7_500);
        assert_eq!(replies(&mut state, later, &[b"time"]), [b"1795000002"]);
    }

    #[test]
    fn newline_framing_joins_and_splits() {
        let mut log = Log::default();
        let mut state = State::new(&mut log, Framing::Newline);
        let got = replies(
            &mut state,
            Instant::ZERO,
            &[b"ba", b"ck 1\nbin\r\nti", b"me\n"],
        );
        // Queued as sent: with the framing's terminator, and joined (never written yet).
        assert_eq!(got, [&b"back 1\n\x11\x22\x33\n0\n"[..]]);
    }

    fn frame(frame: Frame<'_>) -> Vec<u8> {
        let mut buf = [0u8; 64];
        let n = frame.encode(&mut buf).unwrap();
        buf[..n].to_vec()
    }

    #[test]
    fn acknowledged_framing_answers_with_the_request_number_until_acknowledged() {
        let mut log = Log::default();
        let mut state = State::new(&mut log, Framing::Acked);
        let request = |seq, payload| frame(Frame::Message { seq, payload });
        let mut garbled = request(3, b"back 3");
        garbled[7] ^= 1;
        let chunk = [
            request(1, b"back 1"),
            request(2, b"hello"),
            garbled,
            request(1, b"back 1"),
        ]
        .concat();
        state.urc(
            Instant::ZERO,
            &Response::Receive {
                link: LINK,
                data: &chunk,
            },
        );
        // Request 1 answered with its number, twice (the copy means the answer was lost);
        // request 2, which asks for nothing, acknowledged; request 3 dropped (its checksum).
        let mut queued = Vec::new();
        let mut end = 0;
        while let Some((_, data)) = state.outbox.next() {
            queued.push(data.to_vec());
            end += data.len() as u32;
            state.outbox.written(end);
        }
        let ack2 = frame(Frame::Ack { seq: 2 });
        assert_eq!(queued, [request(1, b"back 1"), ack2, request(1, b"back 1")]);
        // TCP acknowledges everything: the acknowledgement leaves, the answers wait for the
        // server's.
        while let Some(i) = state.outbox.acked(end) {
            state.outbox.remove_at(i);
        }
        assert_eq!(state.outbox.len(), 2);
        assert!(state.outbox.app_waiting() && !state.outbox.unacked());
        // Not acknowledged in time: written again (the server drops a copy it has).
        state.outbox.resend_written();
        assert_eq!(
            state.outbox.next().map(|(_, d)| d.to_vec()),
            Some(request(1, b"back 1"))
        );
        state.urc(
            Instant::ZERO,
            &Response::Receive {
                link: LINK,
                data: &frame(Frame::Ack { seq: 1 }),
            },
        );
        assert!(state.flags.app_acked);
        assert!(state.outbox.is_empty());
    }

    #[test]
    fn a_full_outbox_reports_the_drop() {
        let mut log = Log::default();
        let mut state = State::new(&mut log, Framing::Raw);
        for _ in 0..crate::config::OUTBOX_ENTRIES + 1 {
            state.urc(
                Instant::ZERO,
                &Response::Receive {
                    link: LINK,
                    data: b"bin",
                },
            );
        }
        drop(state);
        let full = Report::Dropped {
            kind: Kind::Reply,
            reason: DropReason::Full,
        };
        assert_eq!(log.0.last(), Some(&format!("{full:?}")));
    }

    #[test]
    fn call_ready_once_a_boot_is_no_sign_of_a_reboot() {
        // The SIM800 says `Call Ready` and `SMS Ready` seconds after booting, often after
        // start-up is over: once is no sign; again, without a `RDY`, is.
        let mut log = Log::default();
        let mut state = State::new(&mut log, Framing::Raw);
        state.starting = false;
        state.urc(Instant::ZERO, &Response::CallReady);
        state.urc(Instant::ZERO, &Response::SmsReady);
        assert!(!state.flags.suspect);
        state.urc(Instant::ZERO, &Response::SmsReady);
        assert!(state.flags.suspect);
        // After a `RDY`, once again.
        state.urc(Instant::ZERO, &Response::Ready);
        state.flags = Flags::default();
        state.urc(Instant::ZERO, &Response::CallReady);
        assert!(!state.flags.suspect);
    }

    #[test]
    fn link_events_set_flags() {
        let mut log = Log::default();
        let mut state = State::new(&mut log, Framing::Raw);
        assert_eq!(
            state.urc(Instant::ZERO, &Response::Closed(Some(LINK + 1))),
            Wake::No
        );
        assert!(!state.flags.closed);
        assert_eq!(
            state.urc(Instant::ZERO, &Response::Closed(Some(LINK))),
            Wake::Abort
        );
        assert_eq!(state.urc(Instant::ZERO, &Response::PdpDeact), Wake::Abort);
        assert_eq!(state.urc(Instant::ZERO, &Response::Ready), Wake::Abort);
        assert!(state.flags.closed && state.flags.pdp_deact && state.flags.rebooted);
    }
}
