//! The outbox (B9): a bounded FIFO of the messages to send, with a documented drop policy,
//! that keeps what was written until the connection acknowledges it.
//!
//! The seed's queue grows without bound during an outage (a heartbeat every 10 s for hours)
//! and loses the message whose send fails. Ours:
//!
//! | situation | what happens |
//! |---|---|
//! | a heartbeat is due and one waits to be written | the new one is dropped: [`DropReason::HeartbeatPending`]. At most one heartbeat is ever waiting. |
//! | a heartbeat is due and there is a slot | it goes ahead of the replies never tried (B1: heartbeats on time), behind what was written on this connection or an earlier one, or whose send failed |
//! | a reply arrives and there is room | queued at the tail; with newline (or acknowledged) framing, joined to the last reply never written if one send still carries both ([`MAX_MESSAGE`]) |
//! | a reply arrives, no room, a heartbeat waits (not written yet) | the heartbeat is dropped ([`DropReason::Evicted`]) to make room; replies are worth more |
//! | a reply arrives, still no room | the new reply is dropped ([`DropReason::Full`]): what was queued first keeps its place |
//! | a heartbeat is due and no slot is free | dropped ([`DropReason::Full`]) |
//! | a message longer than [`MAX_MESSAGE`], terminator included | dropped ([`DropReason::TooLong`]) |
//! | a message was written on the connection | it stays, with its end offset in the connection's byte stream, until the acknowledged count passes that end ([`Outbox::acked`]) |
//! | the send of a message fails | it stays, and is written first on the next connection ([`Outbox::tried`]) |
//! | the connection is lost | what was written and not acknowledged is written again, first, on the next one ([`Outbox::rewind`]); heartbeats are not (the next connection gets its own at once) |
//!
//! "Room" is a free slot ([`OUTBOX_ENTRIES`]) and enough bytes ([`OUTBOX_BYTES`]). A
//! heartbeat takes a slot and no bytes: its payload is the constant [`HEARTBEAT`]. What was
//! written is never evicted.
//!
//! Messages are stored as they go on the link, with the framing's terminator, so that each
//! is written straight from here ([`Outbox::next`]): no copy, and replies still queue behind
//! while earlier ones wait for their acknowledgement.

use heapless::Vec;
use protocol::app::{Frame, Framing, FRAME_OVERHEAD, HEARTBEAT, HEARTBEAT_FRAME};

use crate::config::{MAX_MESSAGE, OUTBOX_BYTES, OUTBOX_ENTRIES};

/// [`HEARTBEAT`] with the newline framing's `\n`.
const HEARTBEAT_LINE: [u8; HEARTBEAT.len() + 1] = {
    let mut line = [b'\n'; HEARTBEAT.len() + 1];
    let mut i = 0;
    while i < HEARTBEAT.len() {
        line[i] = HEARTBEAT[i];
        i += 1;
    }
    line
};

/// What a queued message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// B1's `heart beat`.
    Heartbeat,
    /// An answer to a received message (B2–B4).
    Reply,
}

/// Why a message was not queued, or was dropped from the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// A heartbeat was due while another was still queued.
    HeartbeatPending,
    /// A queued heartbeat made room for a reply.
    Evicted,
    /// No slot or not enough bytes left.
    Full,
    /// Longer than one send can carry.
    TooLong,
}

/// 8 bytes: a larger entry is swapped through `memmove` (see [`Outbox::remove`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    /// Bytes in `Outbox::bytes`: 0 for a heartbeat (its payload is a constant), and only for
    /// one.
    len: u16,
    /// Written: where it ends in the connection's byte stream.
    end: u32,
    /// Acknowledged framing: the frame's number, which the server acknowledges (it stays
    /// until then); 0 for what the connection's TCP acknowledgement settles.
    seq: u16,
}

impl Entry {
    fn kind(&self) -> Kind {
        if self.len == 0 {
            Kind::Heartbeat
        } else {
            Kind::Reply
        }
    }
}

/// The bounded FIFO. Replies' bytes are stored back to back in entry order.
#[derive(Debug)]
pub struct Outbox {
    framing: Framing,
    entries: Vec<Entry, OUTBOX_ENTRIES>,
    bytes: [u8; OUTBOX_BYTES],
    used: usize,
    /// `entries[..written]` were written on the connection and wait for its
    /// acknowledgement; the others wait to be written.
    written: usize,
    /// `entries[..resend]` were written on an earlier connection and not acknowledged:
    /// they are written first on this one, before a heartbeat that comes due.
    resend: usize,
    /// What the connection's TCP acknowledged, as last seen ([`Outbox::acked`]).
    tcp: u32,
}

impl Default for Outbox {
    fn default() -> Self {
        Self::new(Framing::Raw)
    }
}

impl Outbox {
    /// An empty outbox for messages framed by `framing`.
    pub const fn new(framing: Framing) -> Self {
        Outbox {
            framing,
            entries: Vec::new(),
            bytes: [0; OUTBOX_BYTES],
            used: 0,
            written: 0,
            resend: 0,
            tcp: 0,
        }
    }

    /// Messages in the outbox, written or not.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes of replies in the outbox, terminators included.
    pub fn bytes(&self) -> usize {
        self.used
    }

    /// Queues a heartbeat ahead of the replies never tried, unless one waits to be written
    /// already or no slot is free.
    pub fn push_heartbeat(&mut self) -> Result<(), DropReason> {
        let mut waiting = self.entries.iter().skip(self.written);
        if waiting.any(|e| e.kind() == Kind::Heartbeat) {
            return Err(DropReason::HeartbeatPending);
        }
        let heartbeat = Entry {
            len: 0,
            end: 0,
            seq: 0,
        };
        self.entries.push(heartbeat).map_err(|_| DropReason::Full)?;
        // Then down to its place, ahead of the replies never tried.
        let mut i = self.entries.len() - 1;
        while i > self.written.max(self.resend) {
            self.entries.swap(i - 1, i);
            i -= 1;
        }
        Ok(())
    }

    /// Queues a reply, with the framing's terminator; with a framing that marks its messages'
    /// ends, joined to the last reply never written when one send still carries both (a burst
    /// of requests takes few sends and slots). With the acknowledged framing, the frame
    /// numbered `seq` (the request's), which stays until the server acknowledges it; never
    /// joined. `Ok(true)` if a waiting heartbeat was evicted to make room.
    pub fn push_reply(&mut self, seq: u16, data: &[u8]) -> Result<bool, DropReason> {
        self.push(Frame::Message { seq, payload: data })
    }

    /// Acknowledged framing: queues `A<seq>`, the answer to a request that asks for nothing
    /// (settled by the connection's TCP acknowledgement, as a heartbeat).
    pub fn push_ack(&mut self, seq: u16) -> Result<bool, DropReason> {
        self.push(Frame::Ack { seq })
    }

    fn push(&mut self, frame: Frame<'_>) -> Result<bool, DropReason> {
        let (payload, seq) = match frame {
            Frame::Message { payload, seq } => (payload, seq),
            Frame::Ack { .. } => (&[][..], 0),
        };
        let acked = self.framing == Framing::Acked;
        let terminator = self.framing.terminator();
        // With the acknowledged framing, at most: the frame's exact length is known once
        // written.
        let most = payload.len()
            + if acked {
                FRAME_OVERHEAD
            } else {
                terminator.len()
            };
        if most > MAX_MESSAGE {
            return Err(DropReason::TooLong);
        }
        if most > OUTBOX_BYTES - self.used {
            return Err(DropReason::Full);
        }
        // Written after what is stored, taken in below (or left there if it finds no slot).
        let free = &mut self.bytes[self.used..self.used + most];
        let len = if acked {
            frame.encode(free).unwrap_or(0)
        } else {
            let (message, end) = free.split_at_mut(payload.len());
            message.copy_from_slice(payload);
            end.copy_from_slice(terminator);
            most
        };
        let fresh = self.written.max(self.resend);
        let last = self.entries.len().checked_sub(1).filter(|&i| i >= fresh);
        let last = last.map(|i| &mut self.entries[i]);
        let mut evicted = false;
        match last {
            // Lines join the last reply never tried, if one send still carries it: a burst
            // of requests takes few sends and slots (B9).
            Some(e)
                if self.framing == Framing::Newline
                    && e.kind() == Kind::Reply
                    && usize::from(e.len) + len <= MAX_MESSAGE =>
            {
                // At most `MAX_MESSAGE`.
                e.len += len as u16;
            }
            _ => {
                evicted = self.entries.is_full() && self.evict_heartbeat();
                self.entries
                    .push(Entry {
                        // At most `MAX_MESSAGE`, and not 0: a reply is never empty.
                        len: len as u16,
                        end: 0,
                        seq,
                    })
                    .map_err(|_| DropReason::Full)?;
            }
        }
        self.used += len;
        Ok(evicted)
    }

    /// Removes the queued heartbeat if it was never written.
    fn evict_heartbeat(&mut self) -> bool {
        let skip = self.written.max(self.resend);
        let mut waiting = self.entries.iter().skip(skip);
        match waiting.position(|e| e.kind() == Kind::Heartbeat) {
            Some(i) => {
                self.remove(skip + i);
                true
            }
            None => false,
        }
    }

    /// Takes entry `i` out. (Swaps, not `Vec::remove` or `copy_within`: those use
    /// `memmove`, 722 bytes of library code on a Cortex-M0+ for this alone.)
    fn remove(&mut self, i: usize) {
        for j in i + 1..self.entries.len() {
            self.entries.swap(j - 1, j);
        }
        self.entries.pop();
    }

    /// Where message `i`'s bytes start.
    fn start(&self, i: usize) -> usize {
        self.entries[..i].iter().map(|e| usize::from(e.len)).sum()
    }

    /// The message `i`: its kind and its bytes as they go on the link.
    pub fn message(&self, i: usize) -> Option<(Kind, &[u8])> {
        let entry = self.entries.get(i)?;
        let start = self.start(i);
        let data = match (entry.kind(), self.framing) {
            (Kind::Heartbeat, Framing::Raw) => HEARTBEAT,
            (Kind::Heartbeat, Framing::Newline) => &HEARTBEAT_LINE,
            (Kind::Heartbeat, Framing::Acked) => &HEARTBEAT_FRAME,
            (Kind::Reply, _) => &self.bytes[start..start + usize::from(entry.len)],
        };
        Some((entry.kind(), data))
    }

    /// The next message to write: its kind and bytes. They stay in place until it is
    /// acknowledged, whatever is queued meanwhile.
    pub fn next(&self) -> Option<(Kind, &[u8])> {
        self.message(self.written)
    }

    /// The message [`Outbox::next`] gave was written; it ends at `end` in the connection's
    /// byte stream.
    pub fn written(&mut self, end: u32) {
        if let Some(entry) = self.entries.get_mut(self.written) {
            entry.end = end;
            self.written += 1;
        }
    }

    /// The send of the message [`Outbox::next`] gave failed: like what was written, it goes
    /// first on the next connection, before a heartbeat that comes due.
    pub fn tried(&mut self) {
        self.resend = self.resend.max(self.written + 1);
    }

    /// Whether written messages wait for the connection's TCP acknowledgement.
    pub fn unacked(&self) -> bool {
        self.entries[..self.written]
            .iter()
            .any(|e| e.end > self.tcp)
    }

    /// Acknowledged framing: whether written messages wait for the server's
    /// acknowledgement.
    pub fn app_waiting(&self) -> bool {
        self.entries[..self.written].iter().any(|e| e.seq != 0)
    }

    /// The connection's TCP acknowledged `acked` bytes of its stream: the index of a written
    /// message they cover that waits for nothing more ([`Outbox::remove_at`] then takes it
    /// out). A numbered frame (acknowledged framing) waits for the server's own
    /// acknowledgement ([`Outbox::app_acked`]).
    pub fn acked(&mut self, acked: u32) -> Option<usize> {
        self.tcp = acked;
        let written = &self.entries[..self.written];
        written.iter().position(|e| e.end <= acked && e.seq == 0)
    }

    /// Acknowledged framing: the server acknowledged frame `seq`: its index, written or not
    /// ([`Outbox::remove_at`] then takes it out).
    pub fn app_acked(&self, seq: u16) -> Option<usize> {
        let numbered = seq != 0;
        self.entries.iter().position(|e| numbered && e.seq == seq)
    }

    /// Takes message `i` out (it was acknowledged).
    pub fn remove_at(&mut self, i: usize) {
        let Some(entry) = self.entries.get(i) else {
            return;
        };
        let (start, len) = (self.start(i), usize::from(entry.len));
        self.remove(i);
        // The bytes behind move down (see `remove`).
        for k in start + len..self.used {
            self.bytes.swap(k - len, k);
        }
        self.used -= len;
        if i < self.written {
            self.written -= 1;
        }
        if i < self.resend {
            self.resend -= 1;
        }
    }

    /// The connection was lost: what was written and not acknowledged is to be written
    /// again, first, on the next one; but heartbeats, which only say the link was alive.
    pub fn rewind(&mut self) {
        self.resend_written();
        self.tcp = 0;
    }

    /// Acknowledged framing: the server did not acknowledge what its TCP has: everything
    /// written is written again, first, on the same connection (heartbeats are not).
    pub fn resend_written(&mut self) {
        let mut end = self.resend.max(self.written);
        let mut i = 0;
        while i < end {
            if self.entries[i].kind() == Kind::Heartbeat {
                self.remove(i);
                end -= 1;
            } else {
                i += 1;
            }
        }
        self.resend = end;
        self.written = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Outbox {
        /// What [`Outbox::acked`] gives, as the message.
        fn acked_msg(&mut self, acked: u32) -> Option<(Kind, &[u8])> {
            let i = self.acked(acked)?;
            self.message(i)
        }

        /// Takes the oldest message out.
        pub(crate) fn remove_head(&mut self) {
            self.remove_at(0);
        }
    }

    /// Writes every waiting message, ending at `end` and on, and acknowledges them all:
    /// what went out, in order.
    fn drain(o: &mut Outbox) -> heapless::Vec<(Kind, heapless::Vec<u8, MAX_MESSAGE>), 32> {
        let mut out = heapless::Vec::new();
        let mut end = 0;
        while let Some((kind, data)) = o.next() {
            end += data.len() as u32;
            out.push((kind, heapless::Vec::from_slice(data).unwrap()))
                .unwrap();
            o.written(end);
        }
        while o.acked_msg(end).is_some() {
            o.remove_head();
        }
        out
    }

    fn kinds(o: &mut Outbox) -> heapless::Vec<Kind, 32> {
        drain(o).iter().map(|(k, _)| *k).collect()
    }

    #[test]
    fn at_most_one_heartbeat_waits() {
        let mut o = Outbox::new(Framing::Raw);
        assert_eq!(o.push_heartbeat(), Ok(()));
        assert_eq!(o.push_heartbeat(), Err(DropReason::HeartbeatPending));
        // Written, it waits for its acknowledgement like any message; the next one is due.
        assert_eq!(o.next(), Some((Kind::Heartbeat, HEARTBEAT)));
        o.written(10);
        assert_eq!(o.push_heartbeat(), Ok(()));
        assert_eq!(o.push_heartbeat(), Err(DropReason::HeartbeatPending));
        assert_eq!(o.acked_msg(9), None);
        assert_eq!(o.acked_msg(10), Some((Kind::Heartbeat, HEARTBEAT)));
        o.remove_head();
        assert_eq!(o.len(), 1);
    }

    #[test]
    fn heartbeats_are_not_written_again_after_a_loss() {
        let mut o = Outbox::new(Framing::Raw);
        o.push_heartbeat().unwrap();
        o.written(10);
        o.push_reply(0, b"back").unwrap();
        o.written(14);
        o.push_heartbeat().unwrap();
        o.written(24);
        o.rewind();
        assert_eq!(o.len(), 1);
        assert_eq!(o.next(), Some((Kind::Reply, &b"back"[..])));
    }

    #[test]
    fn fifo_order_and_bytes() {
        let mut o = Outbox::new(Framing::Raw);
        o.push_reply(0, b"back1").unwrap();
        o.push_reply(0, b"time-ish").unwrap();
        assert_eq!((o.len(), o.bytes()), (2, 13));
        let sent = drain(&mut o);
        assert_eq!(
            sent[0],
            (Kind::Reply, heapless::Vec::from_slice(b"back1").unwrap())
        );
        assert_eq!(sent[1].1.as_slice(), b"time-ish");
        assert_eq!((o.len(), o.bytes()), (0, 0));
        assert_eq!(o.next(), None);
    }

    #[test]
    fn a_due_heartbeat_goes_ahead_of_waiting_replies_behind_written_ones() {
        let mut o = Outbox::new(Framing::Raw);
        o.push_reply(0, b"back 1").unwrap();
        o.written(6);
        o.push_reply(0, b"back 2").unwrap();
        o.push_reply(0, b"back 3").unwrap();
        o.push_heartbeat().unwrap();
        let (h, r) = (Kind::Heartbeat, Kind::Reply);
        assert_eq!(o.next(), Some((h, HEARTBEAT)));
        // `back 1` was written already: it stays first.
        assert_eq!(o.acked_msg(6), Some((r, &b"back 1"[..])));
        assert_eq!(kinds(&mut o), [h, r, r]);
    }

    #[test]
    fn written_messages_leave_when_acknowledged_and_are_written_again_after_a_loss() {
        let mut o = Outbox::new(Framing::Raw);
        o.push_reply(0, b"back!").unwrap();
        o.push_reply(0, b"second").unwrap();
        o.push_reply(0, b"third").unwrap();
        o.written(5);
        o.written(11);
        assert!(o.unacked());
        assert_eq!(o.next(), Some((Kind::Reply, &b"third"[..])));
        // The first is acknowledged, not the second (part of it only).
        assert_eq!(o.acked_msg(8), Some((Kind::Reply, &b"back!"[..])));
        o.remove_head();
        assert_eq!(o.acked_msg(8), None);
        // Lost: the second is the first written on the next connection, before a heartbeat
        // due then, which goes ahead of `third` (never written).
        o.rewind();
        assert!(!o.unacked());
        o.push_heartbeat().unwrap();
        assert_eq!(o.next(), Some((Kind::Reply, &b"second"[..])));
        o.written(6);
        assert_eq!(o.acked_msg(6), Some((Kind::Reply, &b"second"[..])));
        o.remove_head();
        assert_eq!(o.next(), Some((Kind::Heartbeat, HEARTBEAT)));
        o.written(16);
        assert_eq!(o.next(), Some((Kind::Reply, &b"third"[..])));
    }

    #[test]
    fn a_message_whose_send_failed_stays_ahead_of_a_due_heartbeat() {
        let mut o = Outbox::new(Framing::Raw);
        o.push_reply(0, b"back!").unwrap();
        o.push_reply(0, b"later").unwrap();
        o.tried();
        o.rewind();
        o.push_heartbeat().unwrap();
        assert_eq!(o.next(), Some((Kind::Reply, &b"back!"[..])));
        o.written(5);
        assert_eq!(o.next(), Some((Kind::Heartbeat, HEARTBEAT)));
    }

    #[test]
    fn full_slots_evict_the_waiting_heartbeat_then_refuse() {
        let mut o = Outbox::new(Framing::Raw);
        o.push_heartbeat().unwrap();
        for _ in 1..OUTBOX_ENTRIES {
            assert_eq!(o.push_reply(0, b"r"), Ok(false));
        }
        // Full: the heartbeat makes room for a reply...
        assert_eq!(o.push_reply(0, b"new"), Ok(true));
        // ...then new messages are refused and the old ones keep their places.
        assert_eq!(o.push_reply(0, b"newer"), Err(DropReason::Full));
        assert_eq!(o.push_heartbeat(), Err(DropReason::Full));
        let sent = drain(&mut o);
        assert!(sent.iter().all(|(k, _)| *k == Kind::Reply));
        assert_eq!(sent.last().map(|(_, d)| d.as_slice()), Some(&b"new"[..]));
    }

    #[test]
    fn a_written_heartbeat_is_not_evicted() {
        let mut o = Outbox::new(Framing::Raw);
        o.push_heartbeat().unwrap();
        for _ in 1..OUTBOX_ENTRIES {
            o.push_reply(0, b"r").unwrap();
        }
        o.written(10);
        assert_eq!(o.push_reply(0, b"new"), Err(DropReason::Full));
        assert!(o.acked_msg(10).is_some());
        o.remove_head();
        assert_eq!(o.len(), OUTBOX_ENTRIES - 1);
    }

    #[test]
    fn messages_are_stored_framed() {
        let mut o = Outbox::new(Framing::Newline);
        assert_eq!(&HEARTBEAT_LINE[..], b"heart beat\n");
        o.push_heartbeat().unwrap();
        o.push_reply(0, b"back 1").unwrap();
        assert_eq!(o.bytes(), 7);
        assert_eq!(o.next(), Some((Kind::Heartbeat, &b"heart beat\n"[..])));
        o.written(11);
        o.remove_head();
        assert_eq!(o.next(), Some((Kind::Reply, &b"back 1\n"[..])));
        o.written(18);
        // A reply queued while the first is written goes behind; it stays put.
        o.push_reply(0, b"bin!").unwrap();
        o.remove_head();
        assert_eq!(o.next(), Some((Kind::Reply, &b"bin!\n"[..])));
        o.written(23);
        o.remove_head();
        let most = [b'b'; MAX_MESSAGE - 1];
        assert_eq!(o.push_reply(0, &most), Ok(false));
        assert_eq!(
            o.push_reply(0, &[b'b'; MAX_MESSAGE]),
            Err(DropReason::TooLong)
        );
    }

    #[test]
    fn lines_join_the_last_reply_never_written() {
        let mut o = Outbox::new(Framing::Newline);
        o.push_reply(0, b"back 1").unwrap();
        o.written(7);
        // Not a written one.
        o.push_reply(0, b"back 2").unwrap();
        o.push_reply(0, b"back 3").unwrap();
        assert_eq!((o.len(), o.bytes()), (2, 21));
        // A heartbeat goes ahead; the next reply still joins the last one.
        o.push_heartbeat().unwrap();
        o.push_reply(0, b"back 4").unwrap();
        assert_eq!(o.len(), 3);
        o.remove_head();
        assert_eq!(o.next(), Some((Kind::Heartbeat, &b"heart beat\n"[..])));
        o.written(11);
        assert_eq!(
            o.next(),
            Some((Kind::Reply, &b"back 2\nback 3\nback 4\n"[..]))
        );
        // One send carries at most `MAX_MESSAGE` bytes.
        o.push_reply(0, &[b'b'; MAX_MESSAGE - 22]).unwrap();
        assert_eq!(o.len(), 2);
        o.push_reply(0, b"b").unwrap();
        assert_eq!(o.len(), 3);
        // With raw framing a message is what one send carries: never joined.
        let mut o = Outbox::new(Framing::Raw);
        o.push_reply(0, b"back 1").unwrap();
        o.push_reply(0, b"back 2").unwrap();
        assert_eq!(o.len(), 2);
    }

    #[test]
    fn byte_capacity_and_message_size() {
        let mut o = Outbox::new(Framing::Raw);
        let big = [7u8; MAX_MESSAGE];
        assert_eq!(
            o.push_reply(0, &[0; MAX_MESSAGE + 1]),
            Err(DropReason::TooLong)
        );
        assert_eq!(o.push_reply(0, &big), Ok(false));
        assert_eq!(o.push_reply(0, &big), Ok(false));
        assert_eq!(o.push_reply(0, b"x"), Err(DropReason::Full));
        o.written(MAX_MESSAGE as u32);
        o.remove_head();
        assert_eq!(o.push_reply(0, b"x"), Ok(false));
        assert_eq!(o.next(), Some((Kind::Reply, &big[..])));
        o.written(2 * MAX_MESSAGE as u32);
        o.remove_head();
        assert_eq!(o.next(), Some((Kind::Reply, &b"x"[..])));
    }
}
