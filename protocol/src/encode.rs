//! A bounded byte writer shared by the command and response encoders.

/// The output buffer given to an encoder was too small for the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferFull;

impl core::fmt::Display for BufferFull {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("output buffer too small")
    }
}

/// Writes into a caller's buffer and fails, instead of panicking, when it is full.
pub(crate) struct Writer<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf, len: 0 }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn bytes(&mut self, bytes: &[u8]) -> Result<&mut Self, BufferFull> {
        let end = self.len.checked_add(bytes.len()).ok_or(BufferFull)?;
        self.buf
            .get_mut(self.len..end)
            .ok_or(BufferFull)?
            .copy_from_slice(bytes);
        self.len = end;
        Ok(self)
    }

    pub(crate) fn str(&mut self, s: &str) -> Result<&mut Self, BufferFull> {
        self.bytes(s.as_bytes())
    }

    /// A decimal number, without allocation.
    pub(crate) fn num(&mut self, n: u64) -> Result<&mut Self, BufferFull> {
        let mut digits = [0u8; 20];
        let text = crate::types::format_decimal(n, &mut digits);
        self.bytes(text)
    }

    pub(crate) fn signed(&mut self, n: i64) -> Result<&mut Self, BufferFull> {
        if n < 0 {
            self.bytes(b"-")?;
        }
        self.num(n.unsigned_abs())
    }

    /// A string in double quotes, as AT parameters are written.
    pub(crate) fn quoted(&mut self, s: &str) -> Result<&mut Self, BufferFull> {
        self.bytes(b"\"")?.str(s)?.bytes(b"\"")
    }
}

/// A command as the host sends it, `AT<body>\r`, into `out`; returns its length.
pub(crate) fn command_line(
    out: &mut [u8],
    body: impl FnOnce(&mut Writer<'_>) -> Result<(), BufferFull>,
) -> Result<usize, BufferFull> {
    let mut w = Writer::new(out);
    w.bytes(b"AT")?;
    body(&mut w)?;
    w.bytes(b"\r")?;
    Ok(w.len())
}

/// What `body` writes into `out`; returns its length.
pub(crate) fn written(
    out: &mut [u8],
    body: impl FnOnce(&mut Writer<'_>) -> Result<(), BufferFull>,
) -> Result<usize, BufferFull> {
    let mut w = Writer::new(out);
    body(&mut w)?;
    Ok(w.len())
}
