//! The modem side's incremental command parser: bytes from the host in, command lines and
//! data out. (PLACEHOLDER SIGNATURES: being implemented.)

use super::Command;

/// How the data that follows a `> ` prompt ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataMode {
    /// Exactly this many bytes, any values (`AT+CIPSEND=<len>`).
    Fixed(u16),
    /// Up to Ctrl-Z (0x1A), which ends it; ESC (0x1B) cancels it. At most `max` bytes.
    CtrlZ { max: u16 },
}

/// What the parser recognised.
#[derive(Debug, PartialEq, Eq)]
pub enum ParserEvent<'a> {
    /// A command line, possibly of several `;`-chained commands.
    Line(CommandLine<'a>),
    /// The data after a `> ` prompt, complete.
    Data(&'a [u8]),
    /// ESC ended the Ctrl-Z data: the send is cancelled.
    DataCancelled,
}

/// Why bytes were not a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// The line exceeded the parser's buffer; it was dropped up to its terminator.
    LineTooLong,
    /// Ctrl-Z data exceeded its `max`; it was dropped.
    DataTooLong,
    /// A line without `AT`: line noise, dropped.
    Noise,
    /// `AT+NAME` that the command set does not have.
    UnknownCommand,
    /// A known command with parameters it cannot take.
    BadParameters,
}

/// One terminated line that started with `AT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandLine<'a> {
    raw: &'a [u8],
    body: &'a [u8],
}

/// One command of a line, not yet parsed (parsing depends on `AT+CIPMUX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<'a>(&'a [u8]);

impl<'a> CommandLine<'a> {
    /// The bytes as received, terminator included: what the modem echoes with `ATE1`.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The commands of the line, split at `;` outside quotes.
    pub fn segments(&self) -> impl Iterator<Item = Segment<'a>> {
        let _ = self.body;
        core::iter::empty()
    }
}

impl<'a> Segment<'a> {
    /// Parses the command; `multi` is the `AT+CIPMUX` mode, which decides between the single
    /// and multi-connection spellings of CIPSEND, CIPCLOSE and CIPRXGET.
    pub fn parse(self, multi: bool) -> Result<Command<'a>, ParseError> {
        let _ = multi;
        todo!()
    }
}

/// Turns host bytes into [`ParserEvent`]s. `N` bytes hold one line or one data block.
#[derive(Debug)]
pub struct CommandParser<const N: usize = 1600> {
    buf: [u8; N],
}

impl<const N: usize> Default for CommandParser<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> CommandParser<N> {
    pub const fn new() -> Self {
        CommandParser { buf: [0; N] }
    }

    /// After the modem has sent `> `: the next bytes are data, not commands.
    pub fn expect_data(&mut self, mode: DataMode) {
        let _ = mode;
        todo!()
    }

    /// Consumes bytes from the front of `input` and returns how many it took, and the event
    /// they completed, if any. Call again with the rest until it is empty.
    pub fn feed(&mut self, input: &[u8]) -> (usize, Option<Result<ParserEvent<'_>, ParseError>>) {
        let _ = (input, &self.buf);
        todo!()
    }
}
