//! The long-link application protocol (behaviours B1–B4 of DESIGN.md), above the TCP/UDP link.
//!
//! The device sends [`HEARTBEAT`] periodically and answers three kinds of message
//! ([`reply_to`]): data that starts with `back` is sent back unchanged, `bin` is answered with
//! the bytes `11 22 33`, and `time` with the Unix time in decimal.
//!
//! # Framing
//!
//! TCP is a byte stream: the network may split one message over two segments or join two
//! messages into one. The link therefore has a [`Framing`]:
//!
//! - [`Framing::Raw`] (the seed's): every chunk the modem delivers (`+RECEIVE`) is one message,
//!   and a message is sent as it is. A split `back1|23` arrives as two messages (`back1` is
//!   echoed, `23` is not answered); joined `bin` + `time` arrive as `bintime`, which matches
//!   nothing. Right for UDP, where a datagram is a message, and for a lab server that types one
//!   short message at a time.
//! - [`Framing::Newline`]: a message is the bytes up to `\n` (a `\r` before it is dropped), in
//!   both directions; the device appends `\n` to what it sends. Split and joined segments give
//!   back exactly the messages that were sent; a message longer than the deframer's buffer is
//!   reported and skipped up to the next `\n`, and what follows is still delivered.
//! - [`Framing::Acked`], the acknowledged framing (opt-in): newline framing whose lines are
//!   [`Frame`]s, numbered, checksummed and acknowledged, so that each message is delivered
//!   exactly once, through lost connections, modem reboots and line noise on the UART. See
//!   below.
//!
//! Raw and newline framing deliver at least once: the device writes again what the peer's
//! TCP did not acknowledge (after a lost connection, or a modem reboot that lost the
//! modem's counts), so the server may get a message twice; and a request the server sent on
//! a connection that died is lost with it (the server never sends it again).
//!
//! # The acknowledged framing
//!
//! Every line is a frame, in both directions ([`Frame`]):
//!
//! ```text
//! M<seq> <crc> <payload>\n    a message
//! A<seq> <crc>\n              an acknowledgement: the other side's message <seq> arrived
//! ```
//!
//! `<seq>` is a decimal number, 0 to 65535, without leading zeros; `<crc>` four lowercase hex
//! digits, the CRC-16/CCITT-FALSE ([`crc16`]) of the kind letter, the number's digits and the
//! payload (`M7 ` + `back 1` is checked over `M`, `7`, `back 1`). A line that is no frame,
//! or whose checksum is wrong (line noise), is dropped by whoever reads it: it is as if it
//! never came, and the sender's timeout sends it again. A payload holds no `\n`.
//!
//! - The server numbers its requests from 1 (`M1 ... back 1`) and sends each again, with the
//!   same number, until it is answered: on every new connection of the device, and when it
//!   is not answered within its resend interval.
//! - The device answers request `n` with a message numbered `n` (`M1 ... back 1`), or, when
//!   the request asks for nothing (B2-B4), with `A<n>`. It answers every copy it gets: a
//!   copy means its answer was lost.
//! - The server acknowledges each numbered message of the device (`A1`) and takes the first
//!   copy only: duplicates (an answer written again) are acknowledged and dropped.
//! - The device keeps each numbered message until the server acknowledges it, and writes it
//!   again, with its number, on the next connection, after a modem reboot, and when no
//!   acknowledgement comes within its timeout. Heartbeats are `M0 ... heart beat`: number 0
//!   is never acknowledged nor deduplicated (a heartbeat only says the link is alive).
//!
//! Exactly once, then: each request is answered, and each answer delivered to the server's
//! application, once, whatever is lost, doubled or garbled on the way, as long as the device
//! and the server keep their state (a device that loses its RAM starts over; the server
//! tells a new run from its numbers only if the device says so, which it does not).

use crate::encode::{BufferFull, Writer};
use crate::types::{format_decimal, parse_decimal};

/// The heartbeat payload (B1).
pub const HEARTBEAT: &[u8] = b"heart beat";

/// The answer to `bin` (B3).
pub const BIN_REPLY: [u8; 3] = [0x11, 0x22, 0x33];

/// What the device answers to a received message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply<'a> {
    /// B2: the message itself, which starts with `back`.
    Echo(&'a [u8]),
    /// B3: the bytes `11 22 33`.
    Bin,
    /// B4: the Unix time as a decimal string, from a clock passed to [`Reply::encode`].
    Time,
}

/// The reply to `message`, if it asks for one.
pub fn reply_to(message: &[u8]) -> Option<Reply<'_>> {
    if message.starts_with(b"back") {
        Some(Reply::Echo(message))
    } else if message == b"bin" {
        Some(Reply::Bin)
    } else if message == b"time" {
        Some(Reply::Time)
    } else {
        None
    }
}

impl Reply<'_> {
    /// Writes the reply's bytes; `unix_seconds` is the clock's reading, used by [`Reply::Time`].
    pub fn encode(&self, unix_seconds: u64, out: &mut [u8]) -> Result<usize, BufferFull> {
        let mut w = Writer::new(out);
        match self {
            Reply::Echo(message) => w.bytes(message)?,
            Reply::Bin => w.bytes(&BIN_REPLY)?,
            Reply::Time => w.num(unix_seconds)?,
        };
        Ok(w.len())
    }
}

/// How messages are delimited on the link. See the [module documentation](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub enum Framing {
    /// One received chunk is one message; messages are sent as they are.
    #[default]
    Raw,
    /// Messages end with `\n`.
    Newline,
    /// Lines that are [`Frame`]s: numbered, checksummed, acknowledged (exactly once).
    Acked,
}

impl Framing {
    /// What to send after each message (a frame's line end, with [`Framing::Acked`]).
    pub const fn terminator(self) -> &'static [u8] {
        match self {
            Framing::Raw => b"",
            Framing::Newline | Framing::Acked => b"\n",
        }
    }
}

/// Bytes [`Frame::encode`] adds to a message's payload, at most: `M65535 ffff ` and `\n`.
pub const FRAME_OVERHEAD: usize = 13;

/// CRC-16/CCITT-FALSE (polynomial 0x1021, MSB first, no reflection, no final XOR), carried
/// on from `crc` over `data`; a checksum starts from `0xFFFF` (`b"123456789"` gives 0x29B1).
pub const fn crc16(mut crc: u16, data: &[u8]) -> u16 {
    let mut i = 0;
    while i < data.len() {
        crc ^= (data[i] as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            bit += 1;
        }
        i += 1;
    }
    crc
}

/// A frame's checksum: over the kind letter, the number's digits and the payload.
const fn frame_crc(kind: u8, digits: &[u8], payload: &[u8]) -> u16 {
    crc16(crc16(crc16(0xFFFF, &[kind]), digits), payload)
}

/// `crc` as four lowercase hex digits.
const fn hex4(crc: u16) -> [u8; 4] {
    let mut out = [0; 4];
    let mut i = 0;
    while i < 4 {
        let nibble = (crc >> (12 - 4 * i)) as u8 & 0xF;
        out[i] = if nibble < 10 {
            b'0' + nibble
        } else {
            b'a' + nibble - 10
        };
        i += 1;
    }
    out
}

/// The device's heartbeat as a frame: `M0 <crc> heart beat\n` (number 0: never acknowledged).
pub const HEARTBEAT_FRAME: [u8; HEARTBEAT.len() + 9] = {
    let crc = hex4(frame_crc(b'M', b"0", HEARTBEAT));
    let mut frame = [b' '; HEARTBEAT.len() + 9];
    frame[0] = b'M';
    frame[1] = b'0';
    let mut i = 0;
    while i < 4 {
        frame[3 + i] = crc[i];
        i += 1;
    }
    let mut i = 0;
    while i < HEARTBEAT.len() {
        frame[8 + i] = HEARTBEAT[i];
        i += 1;
    }
    frame[HEARTBEAT.len() + 8] = b'\n';
    frame
};

/// One frame of [`Framing::Acked`] (see the [module documentation](self)): one line,
/// without its `\n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// `M<seq> <crc> <payload>`: a message. Number 0 is never acknowledged.
    Message { seq: u16, payload: &'a [u8] },
    /// `A<seq> <crc>`: the other side's message `seq` arrived.
    Ack { seq: u16 },
}

impl<'a> Frame<'a> {
    /// The frame's number.
    pub const fn seq(&self) -> u16 {
        match *self {
            Frame::Message { seq, .. } | Frame::Ack { seq } => seq,
        }
    }

    /// Writes the frame, with its `\n`; at most [`FRAME_OVERHEAD`] bytes more than the
    /// payload.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, BufferFull> {
        let (kind, seq, payload): (u8, u16, &[u8]) = match *self {
            Frame::Message { seq, payload } => (b'M', seq, payload),
            Frame::Ack { seq } => (b'A', seq, &[]),
        };
        let mut digits = [0u8; 20];
        let digits = format_decimal(u64::from(seq), &mut digits);
        let crc = hex4(frame_crc(kind, digits, payload));
        let mut w = Writer::new(out);
        w.bytes(&[kind])?.bytes(digits)?.bytes(b" ")?.bytes(&crc)?;
        if kind == b'M' {
            w.bytes(b" ")?.bytes(payload)?;
        }
        w.bytes(b"\n")?;
        Ok(w.len())
    }

    /// A line (without its `\n`) as a frame; `None` if it is none, or its checksum is wrong.
    pub fn parse(line: &'a [u8]) -> Option<Frame<'a>> {
        let (&kind, rest) = line.split_first()?;
        let space = rest.iter().position(|&b| b == b' ')?;
        let (digits, rest) = rest.split_at(space);
        // 1 to 5 digits, without leading zeros.
        let canonical = digits.len() <= 5 && matches!(digits, [_] | [b'1'..=b'9', _, ..]);
        if !canonical || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let seq = u16::try_from(parse_decimal(digits)?).ok()?;
        let (crc, rest) = rest.get(1..)?.split_at_checked(4)?;
        let crc = crc.iter().try_fold(0u16, |acc, &b| {
            let nibble = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                _ => return None,
            };
            Some(acc << 4 | u16::from(nibble))
        })?;
        let (frame, payload) = match (kind, rest) {
            (b'M', [b' ', payload @ ..]) => (Frame::Message { seq, payload }, payload),
            (b'A', []) => (Frame::Ack { seq }, &[][..]),
            _ => return None,
        };
        (frame_crc(kind, digits, payload) == crc).then_some(frame)
    }
}

/// A newline-framed message did not fit the deframer's buffer; it was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageTooLong;

/// Cuts received chunks into messages by a [`Framing`]; `N` bytes hold a partial message.
#[derive(Debug, Clone)]
pub struct Deframer<const N: usize> {
    framing: Framing,
    partial: [u8; N],
    len: usize,
    /// Skipping the rest of a message that did not fit, up to its `\n`.
    skipping: bool,
}

impl<const N: usize> Deframer<N> {
    pub const fn new(framing: Framing) -> Self {
        Deframer {
            framing,
            partial: [0; N],
            len: 0,
            skipping: false,
        }
    }

    pub const fn framing(&self) -> Framing {
        self.framing
    }

    /// Bytes of a partial message held (whose end has not come yet).
    pub const fn partial(&self) -> usize {
        self.len
    }

    /// Forgets a partial message, as when the link is reconnected.
    pub fn reset(&mut self) {
        self.len = 0;
        self.skipping = false;
    }

    /// Feeds one received chunk and calls `on_message` for each whole message in order.
    pub fn push(
        &mut self,
        chunk: &[u8],
        mut on_message: impl FnMut(Result<&[u8], MessageTooLong>),
    ) {
        if self.framing == Framing::Raw {
            if !chunk.is_empty() {
                on_message(Ok(chunk));
            }
            return;
        }
        for piece in chunk.split_inclusive(|&b| b == b'\n') {
            let (body, ends) = match piece.split_last() {
                Some((b'\n', body)) => (body, true),
                _ => (piece, false),
            };
            if !self.skipping {
                match self.partial.get_mut(self.len..self.len + body.len()) {
                    Some(room) => {
                        room.copy_from_slice(body);
                        self.len += body.len();
                    }
                    None => {
                        self.skipping = true;
                        self.len = 0;
                        on_message(Err(MessageTooLong));
                    }
                }
            }
            if ends {
                if !self.skipping {
                    let message = &self.partial[..self.len];
                    let message = message.strip_suffix(b"\r").unwrap_or(message);
                    if !message.is_empty() {
                        on_message(Ok(message));
                    }
                }
                self.len = 0;
                self.skipping = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use pretty_assertions::assert_eq;
    use std::{string::String, vec::Vec};

    fn check_reply(message: &[u8], expected: Option<&[u8]>) {
        let unix = 1_795_000_000;
        let mut out = [0u8; 64];
        let actual = reply_to(message).map(|r| {
            let n = r.encode(unix, &mut out).unwrap();
            &out[..n]
        });
        assert_eq!(
            actual,
            expected,
            "reply to {:?}",
            String::from_utf8_lossy(message)
        );
    }

    #[test]
    fn replies() {
        let cases: &[(&[u8], Option<&[u8]>)] = &[
            (b"back", Some(b"back")),
            (b"back 123\r\n\x00\xff", Some(b"back 123\r\n\x00\xff")),
            (b"bin", Some(&[0x11, 0x22, 0x33])),
            (b"time", Some(b"1795000000")),
            (b"bac", None),
            (b"Back", None),
            (b"bin ", None),
            (b"time\n", None),
            (b"times", None),
            (b"", None),
            (b"heart beat", None),
        ];
        for (message, expected) in cases {
            check_reply(message, *expected);
        }
    }

    #[test]
    fn reply_that_does_not_fit_is_an_error() {
        let mut out = [0u8; 3];
        assert_eq!(Reply::Echo(b"back!").encode(0, &mut out), Err(BufferFull));
        assert_eq!(Reply::Time.encode(1_795_000_000, &mut out), Err(BufferFull));
    }

    /// Feeds `chunks` and renders each message, or `!` for one too long.
    fn deframe<const N: usize>(framing: Framing, chunks: &[&[u8]]) -> Vec<String> {
        let mut deframer = Deframer::<N>::new(framing);
        let mut messages = Vec::new();
        for chunk in chunks {
            deframer.push(chunk, |m| {
                messages.push(match m {
                    Ok(m) => String::from_utf8_lossy(m).into_owned(),
                    Err(MessageTooLong) => String::from("!"),
                })
            });
        }
        messages
    }

    /// Framing, the chunks as they arrive, the messages expected.
    type FramingCase<'a> = (Framing, &'a [&'a [u8]], &'a [&'a str]);

    #[test]
    fn framing_of_split_and_joined_segments() {
        let cases: &[FramingCase] = &[
            // Raw: segment boundaries are message boundaries, as in the seed.
            (Framing::Raw, &[b"back1", b"23"], &["back1", "23"]),
            (Framing::Raw, &[b"bintime"], &["bintime"]),
            (Framing::Raw, &[b"a\nb"], &["a\nb"]),
            (Framing::Raw, &[b""], &[]),
            // Newline: boundaries come from `\n`, whatever the segments.
            (Framing::Newline, &[b"back1", b"23\n"], &["back123"]),
            (Framing::Newline, &[b"bin\ntime\n"], &["bin", "time"]),
            (
                Framing::Newline,
                &[b"bin\r\n", b"ti", b"me\r", b"\n"],
                &["bin", "time"],
            ),
            (Framing::Newline, &[b"\n\n", b"x"], &[]),
            (Framing::Newline, &[b"unfinished"], &[]),
        ];
        for (framing, chunks, expected) in cases {
            assert_eq!(
                deframe::<16>(*framing, chunks),
                *expected,
                "{framing:?} {chunks:?}"
            );
        }
    }

    #[test]
    fn newline_message_too_long_is_skipped_and_the_rest_delivered() {
        let messages = deframe::<8>(Framing::Newline, &[b"0123456", b"789abc\nbin", b"\nback\n"]);
        assert_eq!(messages, ["!", "bin", "back"]);
        // Exactly the capacity fits.
        assert_eq!(deframe::<4>(Framing::Newline, &[b"time\n"]), ["time"]);
    }
}
