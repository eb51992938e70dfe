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
use protocol::app::{Framing, HEARTBEAT};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    kind: Kind,
    /// Bytes in `Outbox::bytes` (0 for a heartbeat).
    len: u16,
    /// Written: where it ends in the connection's byte stream.
    end: u32,
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
        if waiting.any(|e| e.kind == Kind::Heartbeat) {
            return Err(DropReason::HeartbeatPending);
        }
        let heartbeat = Entry {
            kind: Kind::Heartbeat,
            len: 0,
            end: 0,
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
    /// of requests takes few sends and slots). `Ok(true)` if a waiting heartbeat was evicted
    /// to make room.
    pub fn push_reply(&mut self, data: &[u8]) -> Result<bool, DropReason> {
        let terminator = self.framing.terminator();
        let len = data.len() + terminator.len();
        if len > MAX_MESSAGE {
            return Err(DropReason::TooLong);
        }
        if len > OUTBOX_BYTES - self.used {
            return Err(DropReason::Full);
        }
        let fresh = self.written.max(self.resend);
        let last = self.entries.len().checked_sub(1).filter(|&i| i >= fresh);
        let last = last.map(|i| &mut self.entries[i]);
        let mut evicted = false;
        match last {
            // Lines join the last reply never tried, if one send still carries it: a burst
            // of requests takes few sends and slots (B9).
            Some(e)
                if self.framing != Framing::Raw
                    && e.kind == Kind::Reply
                    && usize::from(e.len) + len <= MAX_MESSAGE =>
            {
                // At most `MAX_MESSAGE`.
                e.len += len as u16;
            }
            _ => {
                evicted = self.entries.is_full() && self.evict_heartbeat();
                self.entries
                    .push(Entry {
                        kind: Kind::Reply,
                        // At most `MAX_MESSAGE`.
                        len: len as u16,
                        end: 0,
                    })
                    .map_err(|_| DropReason::Full)?;
            }
        }
        let (message, end) = self.bytes[self.used..self.used + len].split_at_mut(data.len());
        message.copy_from_slice(data);
        end.copy_from_slice(terminator);
        self.used += len;
        Ok(evicted)
    }

    /// Removes the queued heartbeat if it was never written.
    fn evict_heartbeat(&mut self) -> bool {
        let skip = self.written.max(self.resend);
        let mut waiting = self.entries.iter().skip(skip);
        match waiting.position(|e| e.kind == Kind::Heartbeat) {
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

    /// The message `i`: its kind and its bytes as they go on the link.
    fn message(&self, i: usize) -> Option<(Kind, &[u8])> {
        let entry = self.entries.get(i)?;
        let start: usize = self.entries[..i].iter().map(|e| usize::from(e.len)).sum();
        let data = match (entry.kind, self.framing) {
            (Kind::Heartbeat, Framing::Raw) => HEARTBEAT,
            (Kind::Heartbeat, Framing::Newline) => &HEARTBEAT_LINE,
            (Kind::Reply, _) => &self.bytes[start..start + usize::from(entry.len)],
        };
        Some((entry.kind, data))
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

    /// Whether written messages wait for their acknowledgement.
    pub fn unacked(&self) -> bool {
        self.written > 0
    }

    /// The oldest message, if it was written and the connection acknowledged it: `acked`
    /// bytes of the stream reach its end. [`Outbox::remove_head`] then takes it out.
    pub fn acked(&self, acked: u32) -> Option<(Kind, &[u8])> {
        let written = self
            .entries
            .first()
            .filter(|e| self.written > 0 && e.end <= acked);
        written.and_then(|_| self.message(0))
    }

    /// Takes the oldest message out (it was acknowledged, see [`Outbox::acked`]).
    pub fn remove_head(&mut self) {
        if self.entries.is_empty() {
            return;
        }
        let len = usize::from(self.entries[0].len);
        self.remove(0);
        // The bytes behind move down (see `remove`).
        for i in len..self.used {
            self.bytes.swap(i - len, i);
        }
        self.used -= len;
        self.written = self.written.saturating_sub(1);
        self.resend = self.resend.saturating_sub(1);
    }

    /// The connection was lost: what was written and not acknowledged is to be written
    /// again, first, on the next one; but heartbeats, which only say the link was alive.
    pub fn rewind(&mut self) {
        let mut end = self.resend.max(self.written);
        let mut i = 0;
        while i < end {
            if self.entries[i].kind == Kind::Heartbeat {
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
        while o.acked(end).is_some() {
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
        assert_eq!(o.acked(9), None);
        assert_eq!(o.acked(10), Some((Kind::Heartbeat, HEARTBEAT)));
        o.remove_head();
        assert_eq!(o.len(), 1);
    }

    #[test]
    fn heartbeats_are_not_written_again_after_a_loss() {
        let mut o = Outbox::new(Framing::Raw);
        o.push_heartbeat().unwrap();
        o.written(10);
        o.push_reply(b"back").unwrap();
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
        o.push_reply(b"back1").unwrap();
        o.push_reply(b"time-ish").unwrap();
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
        o.push_reply(b"back 1").unwrap();
        o.written(6);
        o.push_reply(b"back 2").unwrap();
        o.push_reply(b"back 3").unwrap();
        o.push_heartbeat().unwrap();
        let (h, r) = (Kind::Heartbeat, Kind::Reply);
        assert_eq!(o.next(), Some((h, HEARTBEAT)));
        // `back 1` was written already: it stays first.
        assert_eq!(o.acked(6), Some((r, &b"back 1"[..])));
        assert_eq!(kinds(&mut o), [h, r, r]);
    }

    #[test]
    fn written_messages_leave_when_acknowledged_and_are_written_again_after_a_loss() {
        let mut o = Outbox::new(Framing::Raw);
        o.push_reply(b"back!").unwrap();
        o.push_reply(b"second").unwrap();
        o.push_reply(b"third").unwrap();
        o.written(5);
        o.written(11);
        assert!(o.unacked());
        assert_eq!(o.next(), Some((Kind::Reply, &b"third"[..])));
        // The first is acknowledged, not the second (part of it only).
        assert_eq!(o.acked(8), Some((Kind::Reply, &b"back!"[..])));
        o.remove_head();
        assert_eq!(o.acked(8), None);
        // Lost: the second is the first written on the next connection, before a heartbeat
        // due then, which goes ahead of `third` (never written).
        o.rewind();
        assert!(!o.unacked());
        o.push_heartbeat().unwrap();
        assert_eq!(o.next(), Some((Kind::Reply, &b"second"[..])));
        o.written(6);
        assert_eq!(o.acked(6), Some((Kind::Reply, &b"second"[..])));
        o.remove_head();
        assert_eq!(o.next(), Some((Kind::Heartbeat, HEARTBEAT)));
        o.written(16);
        assert_eq!(o.next(), Some((Kind::Reply, &b"third"[..])));
    }

    #[test]
    fn a_message_whose_send_failed_stays_ahead_of_a_due_heartbeat() {
        let mut o = Outbox::new(Framing::Raw);
        o.push_reply(b"back!").unwrap();
        o.push_reply(b"later").unwrap();
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
            assert_eq!(o.push_reply(b"r"), Ok(false));
        }
        // Full: the heartbeat makes room for a reply...
        assert_eq!(o.push_reply(b"new"), Ok(true));
        // ...then new messages are refused and the old ones keep their places.
        assert_eq!(o.push_reply(b"newer"), Err(DropReason::Full));
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
            o.push_reply(b"r").unwrap();
        }
        o.written(10);
        assert_eq!(o.push_reply(b"new"), Err(DropReason::Full));
        assert!(o.acked(10).is_some());
        o.remove_head();
        assert_eq!(o.len(), OUTBOX_ENTRIES - 1);
    }

    #[test]
    fn messages_are_stored_framed() {
        let mut o = Outbox::new(Framing::Newline);
        assert_eq!(&HEARTBEAT_LINE[..], b"heart beat\n");
        o.push_heartbeat().unwrap();
        o.push_reply(b"back 1").unwrap();
        assert_eq!(o.bytes(), 7);
        assert_eq!(o.next(), Some((Kind::Heartbeat, &b"heart beat\n"[..])));
        o.written(11);
        o.remove_head();
        assert_eq!(o.next(), Some((Kind::Reply, &b"back 1\n"[..])));
        o.written(18);
        // A reply queued while the first is written goes behind; it stays put.
        o.push_reply(b"bin!").unwrap();
        o.remove_head();
        assert_eq!(o.next(), Some((Kind::Reply, &b"bin!\n"[..])));
        o.written(23);
        o.remove_head();
        let most = [b'b'; MAX_MESSAGE - 1];
        assert_eq!(o.push_reply(&most), Ok(false));
        assert_eq!(o.push_reply(&[b'b'; MAX_MESSAGE]), Err(DropReason::TooLong));
    }

    #[test]
    fn lines_join_the_last_reply_never_written() {
        let mut o = Outbox::new(Framing::Newline);
        o.push_reply(b"back 1").unwrap();
        o.written(7);
        // Not a written one.
        o.push_reply(b"back 2").unwrap();
        o.push_reply(b"back 3").unwrap();
        assert_eq!((o.len(), o.bytes()), (2, 21));
        // A heartbeat goes ahead; the next reply still joins the last one.
        o.push_heartbeat().unwrap();
        o.push_reply(b"back 4").unwrap();
        assert_eq!(o.len(), 3);
        o.remove_head();
        assert_eq!(o.next(), Some((Kind::Heartbeat, &b"heart beat\n"[..])));
        o.written(11);
        assert_eq!(
            o.next(),
            Some((Kind::Reply, &b"back 2\nback 3\nback 4\n"[..]))
        );
        // One send carries at most `MAX_MESSAGE` bytes.
        o.push_reply(&[b'b'; MAX_MESSAGE - 22]).unwrap();
        assert_eq!(o.len(), 2);
        o.push_reply(b"b").unwrap();
        assert_eq!(o.len(), 3);
        // With raw framing a message is what one send carries: never joined.
        let mut o = Outbox::new(Framing::Raw);
        o.push_reply(b"back 1").unwrap();
        o.push_reply(b"back 2").unwrap();
        assert_eq!(o.len(), 2);
    }

    #[test]
    fn byte_capacity_and_message_size() {
        let mut o = Outbox::new(Framing::Raw);
        let big = [7u8; MAX_MESSAGE];
        assert_eq!(
            o.push_reply(&[0; MAX_MESSAGE + 1]),
            Err(DropReason::TooLong)
        );
        assert_eq!(o.push_reply(&big), Ok(false));
        assert_eq!(o.push_reply(&big), Ok(false));
        assert_eq!(o.push_reply(b"x"), Err(DropReason::Full));
        o.written(MAX_MESSAGE as u32);
        o.remove_head();
        assert_eq!(o.push_reply(b"x"), Ok(false));
        assert_eq!(o.next(), Some((Kind::Reply, &big[..])));
        o.written(2 * MAX_MESSAGE as u32);
        o.remove_head();
        assert_eq!(o.next(), Some((Kind::Reply, &b"x"[..])));
    }
}
