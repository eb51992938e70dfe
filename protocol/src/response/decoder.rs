//! The firmware side's incremental response decoder. (PLACEHOLDER SIGNATURES: being implemented.)

use super::Response;
use crate::command::Command;

/// What a decoded line is to the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// The echo of the pending command (before `ATE0`).
    Echo(&'a [u8]),
    /// An unsolicited result code: not part of the pending command's answer.
    Urc(Response<'a>),
    /// An information line of the pending command's answer (including `> ` and the `OK`
    /// that CIPSTATUS sends before its lines).
    Info(Response<'a>),
    /// The line that ends the pending command's answer.
    Final(Response<'a>),
}

/// Bytes the decoder refused; it has resynchronised at the next line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// A line longer than the decoder's buffer.
    LineTooLong,
    /// A payload length larger than the buffer (not trusted, not waited for).
    PayloadTooLong { len: u64 },
    /// A line with a known prefix whose fields do not parse.
    Malformed,
}

/// Turns modem bytes into [`Event`]s. `N` bytes hold one line or one payload.
#[derive(Debug)]
pub struct Decoder<const N: usize = 1600> {
    buf: [u8; N],
}

impl<const N: usize> Default for Decoder<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Decoder<N> {
    pub const fn new() -> Self {
        Decoder { buf: [0; N] }
    }

    /// How many `C:` lines follow `STATE:` in the answer to `AT+CIPSTATUS`: 0 in single mode
    /// (the default), the profile's link count (6 on SIM800, 8 on Air202) in multi mode.
    pub fn set_connection_lines(&mut self, count: u8) {
        let _ = count;
        todo!()
    }

    /// `command` has just been sent: its answer is now pending.
    pub fn start(&mut self, command: &Command<'_>) {
        let _ = command;
        todo!()
    }

    /// The host stopped waiting for the pending answer (a timeout).
    pub fn cancel(&mut self) {
        todo!()
    }

    /// Whether an answer is pending.
    pub fn is_pending(&self) -> bool {
        todo!()
    }

    /// Consumes bytes from the front of `input` and returns how many it took, and the event
    /// they completed, if any. Call again with the rest until it is empty.
    pub fn feed(&mut self, input: &[u8]) -> (usize, Option<Result<Event<'_>, DecodeError>>) {
        let _ = (input, &self.buf);
        todo!()
    }
}
