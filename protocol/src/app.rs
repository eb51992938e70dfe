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

use crate::encode::{BufferFull, Writer};

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
}

impl Framing {
    /// What to send after each message.
    pub const fn terminator(self) -> &'static [u8] {
        match self {
            Framing::Raw => b"",
            Framing::Newline => b"\n",
        }
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
