//! One TCP connection's byte streams, one per direction: what the sending end has sent, what
//! the receiving end acknowledged and what it handed to its application. Pure state: the
//! network (`super`) puts segments and acknowledgements on the path, schedules the timers
//! this asks for and delivers what arrives.
//!
//! What is modelled, and the source of each rule:
//!
//! - Sequence numbers count bytes from 0 (the handshake is `super`'s); the FIN takes one
//!   sequence number after the data (RFC 9293 §3.4).
//! - The sender cuts what was written into segments of at most `mss` bytes and never sends
//!   beyond the receiver's advertised window (RFC 9293 §3.8.6). Writes that wait for the
//!   window leave together, so one segment can carry the end of one write and the start of
//!   the next.
//! - Retransmission timeout (RFC 6298): the first RTT sample sets SRTT = R, RTTVAR = R/2; each
//!   later one RTTVAR = 3/4·RTTVAR + 1/4·|SRTT − R|, SRTT = 7/8·SRTT + 1/8·R (§2.2, §2.3);
//!   RTO = SRTT + max(G, 4·RTTVAR), at least `rto_min` (§2.4: 1 s) and at most `rto_max`
//!   (§2.5: a cap of at least 60 s is allowed); before any sample RTO = 1 s (§2.1).
//!   Retransmitted segments give no sample, and a backed-off RTO stays until a new sample
//!   comes (Karn, §3, §5.7). On expiry the earliest unacknowledged segment is sent again,
//!   the RTO doubles (§5.4, §5.5) and the rest follows once it is acknowledged (go-back-N,
//!   the one-segment window after a timeout of RFC 5681 §3.1).
//! - The sender gives up after `retransmissions` timeouts in a row, or once the oldest
//!   unacknowledged byte has waited `give_up` since it was first sent, whichever comes first.
//! - A zero window stops the sender; the persist timer (RTO, doubling) sends window probes
//!   (RFC 9293 §3.8.6.1). Probes that are answered never end the connection; unanswered ones
//!   count as retransmissions.
//! - The receiver takes in-order bytes up to its window and acknowledges every segment at
//!   once with its cumulative ACK and window (no delayed ACKs). It discards out-of-order
//!   segments (no reassembly queue, no SACK): a lost segment costs a timeout. When its
//!   application takes bytes, it sends a window update once the window has grown by
//!   min(MSS, buffer / 2) (receiver silly-window avoidance, RFC 9293 §3.8.6.2.2).
//!
//! Not modelled: congestion control (slow start, congestion avoidance, fast retransmit),
//! Nagle's algorithm, delayed ACKs, SACK, window scaling beyond the buffer sizes given,
//! keepalives, TIME-WAIT.

use std::collections::VecDeque;
use std::time::Duration;

/// A sending end's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Params {
    pub rto_min: Duration,
    /// The RTO's cap; never below `rto_min`.
    pub rto_max: Duration,
    /// Timeouts in a row the sender survives; one more and it gives up.
    pub retransmissions: u8,
    /// How long the oldest unacknowledged byte may wait before the sender gives up.
    pub give_up: Duration,
    /// Largest segment payload, bytes.
    pub mss: usize,
}

/// RFC 6298 §2.1: the RTO before any round-trip time was measured.
const INITIAL_RTO: Duration = Duration::from_secs(1);
/// RFC 6298 §2.3's clock granularity G: virtual time has none worth counting.
const GRANULARITY: Duration = Duration::from_millis(1);

/// What one segment carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Segment {
    pub seq: u64,
    pub data: Vec<u8>,
    pub fin: bool,
}

/// What a timer expiry asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Expiry {
    /// Send this again (a retransmission, or a window probe).
    Send(Segment),
    /// The connection is given up.
    GiveUp,
    /// The timer was stale.
    Nothing,
}

/// What an acknowledgement did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Acked {
    /// Data bytes newly acknowledged.
    pub bytes: u64,
    /// The FIN is acknowledged.
    pub fin: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimerKind {
    Retransmit,
    Persist,
}

/// The sending end of one direction.
#[derive(Debug)]
pub(super) struct Sender {
    params: Params,
    /// The bytes from `una` to `end`.
    buf: VecDeque<u8>,
    /// Oldest unacknowledged, next to send, end of what was written.
    una: u64,
    nxt: u64,
    end: u64,
    /// The highest sequence number ever sent (after a timeout `nxt` goes back below it).
    high: u64,
    /// The application closed: a FIN follows the data (sequence number `end`).
    fin: bool,
    /// The window the receiver last advertised, bytes beyond `una`.
    window: u64,
    srtt: Option<Duration>,
    rttvar: Duration,
    rto: Duration,
    /// The segment being timed: the sequence number its ACK reaches, and when it left.
    timed: Option<(u64, Duration)>,
    /// Timeouts (and unanswered probes) since the last progress.
    timeouts: u8,
    /// When the oldest unacknowledged byte was first sent.
    oldest: Option<Duration>,
    timer: Option<(Duration, TimerKind)>,
    abandoned: bool,
}

impl Sender {
    /// A sender whose peer advertised `window`; `rtt`: the handshake's round trip, if it was
    /// not retransmitted (RFC 6298 §2.2 may start from it).
    pub fn new(params: Params, window: u64, rtt: Option<Duration>) -> Sender {
        let mut sender = Sender {
            params,
            buf: VecDeque::new(),
            una: 0,
            nxt: 0,
            end: 0,
            high: 0,
            fin: false,
            window,
            srtt: None,
            rttvar: Duration::ZERO,
            rto: INITIAL_RTO,
            timed: None,
            timeouts: 0,
            oldest: None,
            timer: None,
            abandoned: false,
        };
        if let Some(rtt) = rtt {
            sender.sample(rtt);
        }
        sender
    }

    /// The end is gone (its host reset, its PDP context went): it sends nothing more.
    pub fn abandon(&mut self) {
        self.abandoned = true;
        self.timer = None;
        self.buf.clear();
    }

    /// The application writes `data`.
    pub fn write(&mut self, data: &[u8]) {
        if self.abandoned {
            return;
        }
        self.buf.extend(data);
        self.end += data.len() as u64;
    }

    /// The application closes: a FIN follows what was written.
    pub fn close(&mut self) {
        self.fin = true;
    }

    /// When the sender's timer is due.
    pub fn timer(&self) -> Option<Duration> {
        self.timer.map(|(at, _)| at)
    }

    /// The segments the window lets go now, into `out`.
    pub fn poll(&mut self, now: Duration, out: &mut Vec<Segment>) {
        if self.abandoned {
            return;
        }
        let limit = self.end.min(self.una + self.window);
        while self.nxt < limit {
            let len = (limit - self.nxt).min(self.params.mss as u64);
            let segment = self.segment(self.nxt, len);
            self.sent(now, &segment);
            out.push(segment);
        }
        if self.fin && self.nxt == self.end {
            // The FIN after data that already left; it needs no window.
            let fin = Segment {
                seq: self.end,
                data: Vec::new(),
                fin: true,
            };
            self.sent(now, &fin);
            out.push(fin);
        }
        if self.una == self.nxt && self.nxt < self.end && self.window == 0 && self.timer.is_none() {
            self.timer = Some((now + self.rto, TimerKind::Persist));
        }
    }

    /// The bytes `[seq, seq + len)` as a segment (and the FIN when they end the stream).
    fn segment(&self, seq: u64, len: u64) -> Segment {
        let from = (seq - self.una) as usize;
        let data: Vec<u8> = self.buf.range(from..from + len as usize).copied().collect();
        Segment {
            seq,
            fin: self.fin && seq + len == self.end,
            data,
        }
    }

    fn sent(&mut self, now: Duration, segment: &Segment) {
        let reach = segment.seq + segment.data.len() as u64 + u64::from(segment.fin);
        self.nxt = self.nxt.max(reach);
        self.oldest.get_or_insert(now);
        // Only a first transmission is timed (Karn): bytes sent again after a timeout
        // (go-back-N) are not.
        if segment.seq >= self.high && self.timed.is_none() {
            self.timed = Some((reach, now));
        }
        self.high = self.high.max(reach);
        if !matches!(self.timer, Some((_, TimerKind::Retransmit))) {
            self.timer = Some((self.retransmit_at(now), TimerKind::Retransmit));
        }
    }

    /// The next retransmission: one RTO from now, but not past the give-up time.
    fn retransmit_at(&self, now: Duration) -> Duration {
        let at = now + self.rto;
        self.oldest
            .map_or(at, |oldest| at.min(oldest + self.params.give_up))
    }

    /// An acknowledgement arrived: everything before `ack` is received, and the receiver
    /// takes `window` bytes beyond it.
    pub fn on_ack(&mut self, now: Duration, ack: u64, window: u64) -> Acked {
        let stream_end = self.end + u64::from(self.fin);
        if self.abandoned || ack > stream_end || ack < self.una {
            // Not for anything sent (or an old one overtaken): ignore.
            return Acked::default();
        }
        self.window = window;
        let mut acked = Acked::default();
        if ack > self.una {
            let data_end = ack.min(self.end);
            acked.bytes = data_end - self.una;
            acked.fin = self.fin && ack == self.end + 1;
            self.buf.drain(..acked.bytes as usize);
            self.una = ack;
            self.nxt = self.nxt.max(ack);
            if let Some((reach, at)) = self.timed {
                if ack >= reach {
                    self.timed = None;
                    self.sample(now.saturating_sub(at));
                }
            }
            // The RTO is recomputed from a new sample only: a backed-off RTO stays until one
            // comes (Karn; RFC 6298 §5.7).
            self.timeouts = 0;
            self.oldest = (self.una < self.nxt).then_some(now);
            self.timer = None;
        } else if self.una == self.nxt {
            // A window update (or a probe's answer): the probe was answered.
            self.timeouts = 0;
        }
        if self.una < self.nxt {
            if self.timer.is_none() {
                self.timer = Some((self.retransmit_at(now), TimerKind::Retransmit));
            }
        } else if window > 0 || self.nxt >= self.end {
            self.timer = None;
        }
        acked
    }

    /// The timer is due (at `now`).
    pub fn on_timer(&mut self, now: Duration) -> Expiry {
        let Some((at, kind)) = self.timer.take() else {
            return Expiry::Nothing;
        };
        if kind == TimerKind::Retransmit && self.una == self.nxt {
            return Expiry::Nothing;
        }
        if at > now {
            self.timer = Some((at, kind));
            return Expiry::Nothing;
        }
        let out_of_time = self
            .oldest
            .is_some_and(|oldest| now >= oldest + self.params.give_up);
        if self.timeouts >= self.params.retransmissions || out_of_time {
            return Expiry::GiveUp;
        }
        self.timeouts += 1;
        self.rto = (self.rto * 2).min(self.rto_cap());
        self.timed = None;
        match kind {
            TimerKind::Retransmit => {
                // Go back to the oldest unacknowledged byte; the rest follows its ACK.
                let len =
                    (self.nxt.min(self.end).saturating_sub(self.una)).min(self.params.mss as u64);
                let segment = if len == 0 {
                    Segment {
                        seq: self.una,
                        data: Vec::new(),
                        fin: self.fin,
                    }
                } else {
                    self.segment(self.una, len)
                };
                self.nxt = self.una + segment.data.len() as u64 + u64::from(segment.fin);
                self.timer = Some((self.retransmit_at(now), TimerKind::Retransmit));
                Expiry::Send(segment)
            }
            TimerKind::Persist => {
                self.timer = Some((now + self.rto, TimerKind::Persist));
                Expiry::Send(Segment {
                    seq: self.nxt,
                    data: Vec::new(),
                    fin: false,
                })
            }
        }
    }

    fn rto_cap(&self) -> Duration {
        self.params.rto_max.max(self.params.rto_min)
    }

    fn computed_rto(&self) -> Duration {
        let rto = match self.srtt {
            Some(srtt) => srtt + GRANULARITY.max(4 * self.rttvar),
            None => INITIAL_RTO,
        };
        rto.clamp(self.params.rto_min, self.rto_cap())
    }

    /// RFC 6298 §2.2 and §2.3.
    fn sample(&mut self, r: Duration) {
        match self.srtt {
            None => {
                self.srtt = Some(r);
                self.rttvar = r / 2;
            }
            Some(srtt) => {
                let delta = srtt.abs_diff(r);
                self.rttvar = self.rttvar * 3 / 4 + delta / 4;
                self.srtt = Some(srtt * 7 / 8 + r / 8);
            }
        }
        self.rto = self.computed_rto();
    }
}

/// What the receiving end took from a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Received {
    /// New in-order bytes for the application.
    pub data: Vec<u8>,
    /// The FIN arrived, in order, with this segment.
    pub fin: bool,
}

/// The receiving end of one direction.
#[derive(Debug)]
pub(super) struct Receiver {
    /// The next byte expected.
    nxt: u64,
    /// The receive buffer, bytes: the most it advertises.
    capacity: u64,
    /// Bytes taken in and not yet taken by the application.
    held: u64,
    fin: bool,
    /// The window it last advertised.
    advertised: u64,
    mss: u64,
}

impl Receiver {
    pub fn new(capacity: u64, mss: usize) -> Receiver {
        Receiver {
            nxt: 0,
            capacity,
            held: 0,
            fin: false,
            advertised: capacity,
            mss: mss as u64,
        }
    }

    fn window(&self) -> u64 {
        self.capacity.saturating_sub(self.held)
    }

    /// A segment arrived: the in-order part that fits the window is taken, the rest (and
    /// anything out of order) discarded. Answer it with [`Receiver::ack`].
    pub fn on_segment(&mut self, segment: &Segment) -> Received {
        let mut got = Received {
            data: Vec::new(),
            fin: false,
        };
        let len = segment.data.len() as u64;
        if self.fin || segment.seq > self.nxt || segment.seq + len < self.nxt {
            return got;
        }
        let skip = (self.nxt - segment.seq) as usize;
        let take = (len - skip as u64).min(self.window()) as usize;
        got.data.extend_from_slice(&segment.data[skip..skip + take]);
        self.nxt += take as u64;
        self.held += take as u64;
        if segment.fin && skip + take == segment.data.len() {
            self.fin = true;
            got.fin = true;
            self.nxt += 1;
        }
        got
    }

    /// The acknowledgement to send now: cumulative ACK and window.
    pub fn ack(&mut self) -> (u64, u64) {
        self.advertised = self.window();
        (self.nxt, self.advertised)
    }

    /// The application took `len` bytes. Returns the window update to send, if the window
    /// grew enough since it was last advertised to be worth one.
    pub fn consumed(&mut self, len: u64) -> Option<(u64, u64)> {
        self.held = self.held.saturating_sub(len);
        let worth = self.mss.min(self.capacity / 2).max(1);
        (self.window() >= self.advertised + worth).then(|| self.ack())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Params {
        Params {
            rto_min: Duration::from_secs(1),
            rto_max: Duration::from_secs(64),
            retransmissions: 12,
            give_up: Duration::from_secs(645),
            mss: 1460,
        }
    }

    fn s(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    #[test]
    fn rto_follows_rfc_6298() {
        // (samples in ms, RTO after them in ms)
        let cases: &[(&[u64], u64)] = &[
            (&[], 1000),
            // SRTT 300, RTTVAR 150: 300 + 600 = 900, raised to the 1 s minimum.
            (&[300], 1000),
            // SRTT 2000, RTTVAR 1000: 2000 + 4000.
            (&[2000], 6000),
            // SRTT 2000 then 7/8·2000 + 1/8·1000 = 1875; RTTVAR 3/4·1000 + 1/4·1000 = 1000.
            (&[2000, 1000], 5875),
            // Capped at rto_max.
            (&[30_000], 64_000),
        ];
        for (samples, rto) in cases {
            let mut sender = Sender::new(params(), 65_535, None);
            for &r in *samples {
                sender.sample(Duration::from_millis(r));
            }
            assert_eq!(sender.rto, Duration::from_millis(*rto), "{samples:?}");
        }
    }

    #[test]
    fn segments_by_mss_and_window() {
        let mut sender = Sender::new(params(), 3000, None);
        sender.write(&[7; 4000]);
        let mut out = Vec::new();
        sender.poll(s(0), &mut out);
        let cut: Vec<(u64, usize)> = out.iter().map(|s| (s.seq, s.data.len())).collect();
        assert_eq!(cut, vec![(0, 1460), (1460, 1460), (2920, 80)]);
        // The rest waits for the window.
        out.clear();
        sender.poll(s(0), &mut out);
        assert!(out.is_empty());
        assert_eq!(
            sender.on_ack(s(1), 1460, 3000),
            Acked {
                bytes: 1460,
                fin: false
            }
        );
        sender.poll(s(1), &mut out);
        let cut: Vec<(u64, usize)> = out.iter().map(|s| (s.seq, s.data.len())).collect();
        assert_eq!(cut, vec![(3000, 1000)]);
    }

    #[test]
    fn timeouts_back_off_then_give_up() {
        let mut p = params();
        p.retransmissions = 3;
        let mut sender = Sender::new(p, 65_535, None);
        sender.write(b"hello");
        let mut out = Vec::new();
        sender.poll(s(0), &mut out);
        let mut at = Vec::new();
        while let Some(t) = sender.timer() {
            match sender.on_timer(t) {
                Expiry::Send(segment) => {
                    assert_eq!(segment.data, b"hello");
                    at.push(t.as_secs());
                }
                Expiry::GiveUp => {
                    at.push(t.as_secs());
                    break;
                }
                Expiry::Nothing => unreachable!(),
            }
        }
        // 1, 2, 4 s apart, then the fourth timeout gives up.
        assert_eq!(at, vec![1, 3, 7, 15]);
    }

    #[test]
    fn give_up_time_bounds_the_backoff() {
        let mut p = params();
        p.give_up = s(20);
        let mut sender = Sender::new(p, 65_535, None);
        sender.write(b"x");
        sender.poll(s(0), &mut Vec::new());
        let mut last = Duration::ZERO;
        while let Some(t) = sender.timer() {
            last = t;
            if sender.on_timer(t) == Expiry::GiveUp {
                break;
            }
        }
        assert_eq!(last, s(20));
    }

    #[test]
    fn zero_window_probes_and_resumes() {
        let mut sender = Sender::new(params(), 10, None);
        sender.write(&[1; 30]);
        let mut out = Vec::new();
        sender.poll(s(0), &mut out);
        assert_eq!(out.len(), 1);
        sender.on_ack(s(1), 10, 0);
        out.clear();
        sender.poll(s(1), &mut out);
        assert!(out.is_empty(), "a zero window stops the sender");
        let probe_at = sender.timer().expect("persist timer");
        assert_eq!(
            sender.on_timer(probe_at),
            Expiry::Send(Segment {
                seq: 10,
                data: vec![],
                fin: false
            })
        );
        // Answered probes never give up.
        for _ in 0..100 {
            let t = sender.timer().unwrap();
            assert!(matches!(sender.on_timer(t), Expiry::Send(_)));
            sender.on_ack(t, 10, 0);
        }
        sender.on_ack(s(10_000), 10, 100);
        sender.poll(s(10_000), &mut out);
        assert_eq!(out.last().map(|s| (s.seq, s.data.len())), Some((10, 20)));
    }

    #[test]
    fn receiver_takes_in_order_bytes_within_its_window() {
        let seg = |seq, data: &[u8], fin| Segment {
            seq,
            data: data.to_vec(),
            fin,
        };
        let mut r = Receiver::new(8, 4);
        // (segment, data taken, ack, window)
        let cases: Vec<(Segment, &[u8], u64, u64)> = vec![
            (seg(0, b"abc", false), b"abc", 3, 5),
            (seg(5, b"zz", false), b"", 3, 5), // out of order: discarded
            (seg(0, b"abcdef", false), b"def", 6, 2), // overlap: the new part
            (seg(6, b"ghijk", false), b"gh", 8, 0), // the window ends it
            (seg(8, b"", false), b"", 8, 0),   // a probe
        ];
        for (segment, data, ack, window) in cases {
            let got = r.on_segment(&segment);
            assert_eq!(
                (got.data.as_slice(), r.ack()),
                (data, (ack, window)),
                "{segment:?}"
            );
        }
        assert_eq!(r.consumed(1), None, "1 byte is not worth an update");
        assert_eq!(r.consumed(7), Some((8, 8)));
        let got = r.on_segment(&seg(8, b"ijk", true));
        assert_eq!((got.data, got.fin, r.ack().0), (b"ijk".to_vec(), true, 12));
    }
}
