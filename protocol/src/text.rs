//! Bytes as readable text, the one way LongLink writes them: in traces, logs, golden
//! transcripts and reports.
//!
//! `\r`, `\n`, `\t` and `\\` as escapes, printable ASCII as it is, any other byte as `\xNN`
//! (lower-case hex). [`Quoted`] also escapes `"` and puts the text in quotes, for a value
//! inside a line (`Sent(Heartbeat, "heart beat")`); [`Escaped`] leaves `"` alone, for a line
//! of its own (a golden transcript's `AT+CIPSTART=0,"TCP",...`). [`unescape`] reads either
//! back (the quotes taken off).

use core::fmt::{self, Write};

/// Bytes as text, unquoted. See the module documentation.
#[derive(Clone, Copy)]
pub struct Escaped<'a>(pub &'a [u8]);

/// Bytes as text in quotes, `"` escaped. See the module documentation.
#[derive(Clone, Copy)]
pub struct Quoted<'a>(pub &'a [u8]);

fn write_escaped(f: &mut fmt::Formatter<'_>, bytes: &[u8], quote: bool) -> fmt::Result {
    for &b in bytes {
        match b {
            b'\r' => f.write_str("\\r")?,
            b'\n' => f.write_str("\\n")?,
            b'\t' => f.write_str("\\t")?,
            b'\\' => f.write_str("\\\\")?,
            b'"' if quote => f.write_str("\\\"")?,
            0x20..=0x7e => f.write_char(b as char)?,
            _ => write!(f, "\\x{b:02x}")?,
        }
    }
    Ok(())
}

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_escaped(f, self.0, false)
    }
}

impl fmt::Debug for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        write_escaped(f, self.0, true)?;
        f.write_char('"')
    }
}

impl fmt::Debug for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// An escape [`unescape`] cannot read, at this byte offset of the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadEscape {
    pub at: usize,
}

impl fmt::Display for BadEscape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bad escape at byte {}: use \\r, \\n, \\t, \\\\, \\\" or \\xNN",
            self.at
        )
    }
}

/// The bytes [`Escaped`] or [`Quoted`] wrote, one at a time (without the quotes: take them
/// off first).
pub fn unescape(text: &str) -> Unescape<'_> {
    Unescape {
        text: text.as_bytes(),
        at: 0,
    }
}

/// The iterator of [`unescape`].
pub struct Unescape<'a> {
    text: &'a [u8],
    at: usize,
}

impl Iterator for Unescape<'_> {
    type Item = Result<u8, BadEscape>;

    fn next(&mut self) -> Option<Self::Item> {
        let start = self.at;
        let &b = self.text.get(start)?;
        if b != b'\\' {
            self.at += 1;
            return Some(Ok(b));
        }
        let bad = BadEscape { at: start };
        let (byte, len) = match self.text.get(start + 1) {
            Some(b'r') => (b'\r', 2),
            Some(b'n') => (b'\n', 2),
            Some(b't') => (b'\t', 2),
            Some(b'\\') => (b'\\', 2),
            Some(b'"') => (b'"', 2),
            Some(b'x') => {
                let hex = |i: usize| {
                    self.text
                        .get(start + i)
                        .and_then(|&c| (c as char).to_digit(16))
                };
                match (hex(2), hex(3)) {
                    (Some(hi), Some(lo)) => ((hi * 16 + lo) as u8, 4),
                    _ => {
                        self.at = self.text.len();
                        return Some(Err(bad));
                    }
                }
            }
            _ => {
                self.at = self.text.len();
                return Some(Err(bad));
            }
        };
        self.at += len;
        Some(Ok(byte))
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::{format, vec::Vec};

    #[test]
    fn writes_and_reads_back() {
        for (bytes, escaped, quoted) in [
            (&b"heart beat"[..], "heart beat", "\"heart beat\""),
            (
                b"AT+CIPSTART=0,\"TCP\"\r\n",
                "AT+CIPSTART=0,\"TCP\"\\r\\n",
                "\"AT+CIPSTART=0,\\\"TCP\\\"\\r\\n\"",
            ),
            (
                &[0x11, 0x22, 0x33, 0xff, b'\t', b'\\'],
                "\\x11\"3\\xff\\t\\\\",
                "\"\\x11\\\"3\\xff\\t\\\\\"",
            ),
        ] {
            assert_eq!(format!("{}", Escaped(bytes)), escaped);
            assert_eq!(format!("{}", Quoted(bytes)), quoted);
            let back: Result<Vec<u8>, _> = unescape(escaped).collect();
            assert_eq!(back.as_deref(), Ok(bytes));
            let inner = &quoted[1..quoted.len() - 1];
            let back: Result<Vec<u8>, _> = unescape(inner).collect();
            assert_eq!(back.as_deref(), Ok(bytes));
        }
    }

    #[test]
    fn refuses_bad_escapes() {
        for (text, at) in [("a\\q", 1), ("\\x1", 0), ("ab\\", 2), ("\\xzz", 0)] {
            let got: Result<Vec<u8>, _> = unescape(text).collect();
            assert_eq!(got, Err(BadEscape { at }), "{text}");
        }
    }
}
