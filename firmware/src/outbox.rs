//! The outbox (B9): a bounded FIFO of the messages to send, with a documented drop policy.
//!
//! The seed's queue grows without bound during an outage (a heartbeat every 10 s for hours)
//! and loses the message whose send fails. Ours:
//!
//! | situation | what happens |
//! |---|---|
//! | a heartbeat is due and one is already queued (or being sent) | the new one is dropped: [`DropReason::HeartbeatPending`]. At most one heartbeat is ever queued. |
//! | a reply arrives and there is room | queued at the tail |
//! | a reply arrives, no room, a heartbeat waits (not being sent) | the heartbeat is dropped ([`DropReason::Evicted`]) to make room; replies are worth more |
//! | a reply arrives, still no room | the new reply is dropped ([`DropReason::Full`]): what was queued first keeps its place |
//! | a heartbeat is due and no slot is free | dropped ([`DropReason::Full`]) |
//! | a message longer than [`MAX_MESSAGE`], terminator included | dropped ([`DropReason::TooLong`]) |
//! | the send of the head fails | it stays at the head ([`Outbox::failed`]) and is sent first after the reconnect |
//!
//! "Room" is a free slot ([`OUTBOX_ENTRIES`]) and enough bytes ([`OUTBOX_BYTES`]). A
//! heartbeat takes a slot and no bytes: its payload is the constant [`HEARTBEAT`]. The head
//! being sent is never evicted.
//!
//! Messages are stored as they go on the link, with the framing's terminator, so that the
//! head is sent straight from here ([`Outbox::head`]): no copy, and replies still queue
//! behind it while its send waits for `SEND OK`.

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
    len: usize,
}

/// The bounded FIFO. Replies' bytes are stored back to back in entry order.
#[derive(Debug)]
pub struct Outbox {
    framing: Framing,
    entries: Vec<Entry, OUTBOX_ENTRIES>,
    bytes: [u8; OUTBOX_BYTES],
    used: usize,
    /// The head is being sent: it may not be evicted.
    in_flight: bool,
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
            in_flight: false,
        }
    }

    /// Messages queued, the one being sent included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes of replies queued, terminators included.
    pub fn bytes(&self) -> usize {
        self.used
    }

    /// Queues a heartbeat, unless one is queued already or no slot is free.
    pub fn push_heartbeat(&mut self) -> Result<(), DropReason> {
        if self.entries.iter().any(|e| e.kind == Kind::Heartbeat) {
            return Err(DropReason::HeartbeatPending);
        }
        self.entries
            .push(Entry {
                kind: Kind::Heartbeat,
                len: 0,
            })
            .map_err(|_| DropReason::Full)
    }

    /// Queues a reply, with the framing's terminator. `Ok(true)` if a waiting heartbeat was
    /// evicted to make room.
    pub fn push_reply(&mut self, data: &[u8]) -> Result<bool, DropReason> {
        let terminator = self.framing.terminator();
        let len = data.len() + terminator.len();
        if len > MAX_MESSAGE {
            return Err(DropReason::TooLong);
        }
        if len > OUTBOX_BYTES - self.used {
            return Err(DropReason::Full);
        }
        let evicted = self.entries.is_full() && self.evict_heartbeat();
        self.entries
            .push(Entry {
                kind: Kind::Reply,
                len,
            })
            .map_err(|_| DropReason::Full)?;
        let (message, end) = self.bytes[self.used..self.used + len].split_at_mut(data.len());
        message.copy_from_slice(data);
        end.copy_from_slice(terminator);
        self.used += len;
        Ok(evicted)
    }

    /// Removes the queued heartbeat if it is not being sent.
    fn evict_heartbeat(&mut self) -> bool {
        let skip = usize::from(self.in_flight);
        match self
            .entries
            .iter()
            .skip(skip)
            .position(|e| e.kind == Kind::Heartbeat)
        {
            Some(i) => {
                self.entries.remove(i + skip);
                true
            }
            None => false,
        }
    }

    /// The head, marked as being sent: its kind and bytes ([`Outbox::head`]).
    pub fn begin_send(&mut self) -> Option<(Kind, &[u8])> {
        let kind = self.entries.first()?.kind;
        self.in_flight = true;
        Some((kind, self.head()))
    }

    /// The head's bytes as they go on the link, terminator included; empty if there is none.
    /// They stay in place until [`Outbox::sent`], whatever is queued meanwhile.
    pub fn head(&self) -> &[u8] {
        match self.entries.first() {
            None => &[],
            Some(Entry {
                kind: Kind::Heartbeat,
                ..
            }) => match self.framing {
                Framing::Raw => HEARTBEAT,
                Framing::Newline => &HEARTBEAT_LINE,
            },
            Some(&Entry { len, .. }) => &self.bytes[..len],
        }
    }

    /// The head was sent: it leaves the queue.
    pub fn sent(&mut self) {
        self.in_flight = false;
        if self.entries.is_empty() {
            return;
        }
        let head = self.entries.remove(0);
        self.bytes.copy_within(head.len..self.used, 0);
        self.used -= head.len;
    }

    /// The head's send failed: it stays at the head, to be sent first after the reconnect.
    pub fn failed(&mut self) {
        self.in_flight = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The queue as (kind, payload) pairs, head first.
    fn contents(outbox: &Outbox) -> heapless::Vec<(Kind, heapless::Vec<u8, MAX_MESSAGE>), 32> {
        let mut out = heapless::Vec::new();
        let mut at = 0;
        for e in &outbox.entries {
            let data = match e.kind {
                Kind::Heartbeat => HEARTBEAT,
                Kind::Reply => &outbox.bytes[at..at + e.len],
            };
            at += e.len;
            out.push((e.kind, heapless::Vec::from_slice(data).unwrap()))
                .unwrap();
        }
        out
    }

    #[test]
    fn at_most_one_heartbeat() {
        let mut o = Outbox::new(Framing::Raw);
        assert_eq!(o.push_heartbeat(), Ok(()));
        assert_eq!(o.push_heartbeat(), Err(DropReason::HeartbeatPending));
        // Also while it is being sent.
        assert_eq!(o.begin_send(), Some((Kind::Heartbeat, HEARTBEAT)));
        assert_eq!(o.push_heartbeat(), Err(DropReason::HeartbeatPending));
        o.sent();
        assert!(o.is_empty());
        assert_eq!(o.push_heartbeat(), Ok(()));
    }

    #[test]
    fn fifo_order_and_bytes() {
        let mut o = Outbox::new(Framing::Raw);
        o.push_reply(b"back1").unwrap();
        o.push_heartbeat().unwrap();
        o.push_reply(b"time-ish").unwrap();
        assert_eq!((o.len(), o.bytes()), (3, 13));
        assert_eq!(o.begin_send(), Some((Kind::Reply, &b"back1"[..])));
        o.sent();
        assert_eq!(o.begin_send(), Some((Kind::Heartbeat, HEARTBEAT)));
        o.sent();
        assert_eq!(o.begin_send(), Some((Kind::Reply, &b"time-ish"[..])));
        o.sent();
        assert_eq!((o.len(), o.bytes()), (0, 0));
        assert_eq!(o.begin_send(), None);
    }

    #[test]
    fn a_failed_send_stays_at_the_head() {
        let mut o = Outbox::new(Framing::Raw);
        o.push_reply(b"back!").unwrap();
        o.push_reply(b"second").unwrap();
        assert_eq!(o.begin_send(), Some((Kind::Reply, &b"back!"[..])));
        o.failed();
        assert_eq!(o.begin_send(), Some((Kind::Reply, &b"back!"[..])));
        o.sent();
        assert_eq!(o.begin_send(), Some((Kind::Reply, &b"second"[..])));
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
        assert!(contents(&o).iter().all(|(k, _)| *k == Kind::Reply));
        // ...then new messages are refused and the old ones keep their places.
        assert_eq!(o.push_reply(b"newer"), Err(DropReason::Full));
        assert_eq!(o.push_heartbeat(), Err(DropReason::Full));
        assert_eq!(
            contents(&o).last().map(|(_, d)| d.as_slice()),
            Some(&b"new"[..])
        );
    }

    #[test]
    fn the_heartbeat_being_sent_is_not_evicted() {
        let mut o = Outbox::new(Framing::Raw);
        o.push_heartbeat().unwrap();
        for _ in 1..OUTBOX_ENTRIES {
            o.push_reply(b"r").unwrap();
        }
        o.begin_send();
        assert_eq!(o.push_reply(b"new"), Err(DropReason::Full));
        o.sent();
        assert_eq!(o.len(), OUTBOX_ENTRIES - 1);
    }

    #[test]
    fn messages_are_stored_framed() {
        let mut o = Outbox::new(Framing::Newline);
        assert_eq!(&HEARTBEAT_LINE[..], b"heart beat\n");
        o.push_heartbeat().unwrap();
        o.push_reply(b"back 1").unwrap();
        assert_eq!(o.bytes(), 7);
        assert_eq!(
            o.begin_send(),
            Some((Kind::Heartbeat, &b"heart beat\n"[..]))
        );
        // A reply queued while the head is in flight goes behind it; the head stays put.
        o.push_reply(b"bin!").unwrap();
        assert_eq!(o.head(), b"heart beat\n");
        o.sent();
        assert_eq!(o.begin_send(), Some((Kind::Reply, &b"back 1\n"[..])));
        o.sent();
        assert_eq!(o.head(), b"bin!\n");
        let most = [b'b'; MAX_MESSAGE - 1];
        assert_eq!(o.push_reply(&most), Ok(false));
        assert_eq!(o.push_reply(&[b'b'; MAX_MESSAGE]), Err(DropReason::TooLong));
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
        o.begin_send();
        o.sent();
        assert_eq!(o.push_reply(b"x"), Ok(false));
        assert_eq!(o.begin_send(), Some((Kind::Reply, &big[..])));
        o.sent();
        assert_eq!(o.begin_send(), Some((Kind::Reply, &b"x"[..])));
    }
}
