//! The firmware side's incremental response decoder: it frames lines and payloads and says
//! whom each belongs to. What a line says is `parse`'s (the line grammar, no state).
//!
//! # Lines
//!
//! A line ends at CR or LF, so `\r\n`, a bare `\n` and a bare `\r` all end one; empty lines
//! are skipped. Three things do not wait for a line end:
//!
//! - the prompt `> `, recognised only while an `AT+CIPSEND` waits for it;
//! - `+IPD,<len>:`, whose payload follows the colon at once;
//! - `+RECEIVE,<n>,<len>:`, whose payload follows the colon and one optional `\r\n` (the
//!   reference leaves open whether the modem writes it; ours does).
//!
//! `+CIPRXGET: 2|3,...` ends at its line end and its data follows. A payload is read raw,
//! exactly `<len>` bytes (`2 * <len>` hex digits for mode 3), so CR, LF, `OK` or `ERROR` in it
//! are data.
//!
//! # Who a line belongs to
//!
//! [`Decoder::start`] tells the decoder which command was just sent. Until the line that ends
//! its answer ([`Event::Final`]), a line is [`Event::Echo`] if it starts with `AT`,
//! [`Event::Info`] if it belongs to the answer, and [`Event::Urc`] otherwise: URCs may arrive
//! in the middle of an answer (`+CREG: 1` between `+CSQ:` and `OK`). With nothing pending every
//! line is a URC.
//!
//! Every answer ends with `ERROR`, `+CME ERROR` or `+CMS ERROR`, and all but `AT+CIPSTATUS`'s
//! also with `OK`. Besides:
//!
//! | command | information lines | ends with |
//! |---|---|---|
//! | `ATI`, `AT+CGMR`, `AT+GMR`, `AT+CGSN`, `AT+GSN`, `AT+VER`, `AT+CCID`, `AT+CIMI`, `AT+CGMM`, `AT+CGMI` | free text | `OK` |
//! | `AT+CDNSCFG?` | free text (`PrimaryDns: ...`) | `OK` |
//! | `AT+NAME...` in any form | `+NAME: ...` of the same name (see below) | `OK` |
//! | `AT+CIFSR` | — | the bare IP line (no `OK`) |
//! | `AT+CIPSTATUS` | `OK` (first!), `STATE:`, `C:` lines | `STATE:` with 0 connection lines (single mode), else the last `C:` line |
//! | `AT+CIPSEND...` | `> ` | after the prompt: `SEND OK`, `SEND FAIL`, `DATA ACCEPT`; before it only an error (a stray `OK` or `SEND OK` is a URC, and `OK` never ends it) |
//! | `AT+CIPSHUT` | — | `SHUT OK` |
//! | `AT+CIPCLOSE...` | — | `CLOSE OK` |
//! | `AT+CPOWD=...` | — | `NORMAL POWER DOWN` |
//! | `ATO` | — | `CONNECT` (back in transparent mode), `NO CARRIER` |
//!
//! The status lines that are also URCs (`+CPIN`, `+CFUN`, `+CIPRXGET: 1`) belong only to
//! the read form of their command (`AT+CPIN?`), and `+CREG: <stat>` (the URC form, without the
//! mode) and `+CNTP: <code>` never belong to an answer: `AT+CNTP` answers `OK` and its result
//! comes later as a URC, as the result of `AT+CIPSTART` (`0, CONNECT OK`) does.
//!
//! What the decoder cannot know, and the host must:
//!
//! - `start` takes one command. A host that chains commands on one line, as TinyGSM does with
//!   `AT+CIFSR;E0` to force an `OK` after the IP line, gets the IP line as the `Final` of
//!   `AT+CIFSR` and then the `OK` as a URC; or it calls `start(&Command::Echo(false))` after
//!   that `Final` so the `OK` is its answer.
//! - `+PDP: DEACT` can arrive instead of the answer to `AT+CIPSEND`. It is a URC, because it
//!   also arrives at any other time; the host treats it as the send's failure, as Luat does.
//! - A real SIM800 never answers `AT&K0`, and may not answer `AT+CPOWD=0`: the host's timeout
//!   ends the wait with [`Decoder::cancel`].
//! - `start` while an answer is pending replaces it (the host gave up on the old one).
//! - While a text-answer command (`ATI`) is pending, a free-text URC (`DST: 1`) is taken for
//!   part of the answer: nothing tells them apart.
//! - Transparent mode (`AT+CIPMODE=1`): `CONNECT` after `AT+CIPSTART`'s `OK` is a URC, and
//!   what follows it is the link's raw data, not lines: the host reads it itself until it
//!   escapes with `+++`, whose answer is a bare `OK`, as `AT`'s (`start(&Command::At)`).
//! - The decoder reads verbose result codes (`ATV1`, the default), not `ATV0`'s digits.
//!
//! # Errors
//!
//! A line longer than `N` bytes gives [`DecodeError::LineTooLong`] at once and the rest of it
//! is skipped. A line with a known prefix whose fields do not parse gives
//! [`DecodeError::Malformed`]. Any other line is [`Response::Text`], or [`Response::Info`]
//! for `+NAME: ...`.
//!
//! Server data never reads as modem lines (where it could say `RDY` or `0, CLOSED`):
//!
//! - a payload larger than `N` bytes gives [`DecodeError::PayloadTooLong`] at once and is
//!   skipped by its length (up to [`MAX_PAYLOAD`]; a longer length is taken for noise, as
//!   below);
//! - a `+RECEIVE` / `+IPD` header garbled in its name or link but whose `,<len>:` end is
//!   whole (`+RECEVE,0,19:`) gives [`DecodeError::Malformed`], and its payload is skipped by
//!   that length;
//! - one garbled in its length or its colon (`+RECEIVE,0,1x:`, `+RECEIVE,0,19;`) gives
//!   [`DecodeError::Malformed`], and what follows is skipped up to the next line end after
//!   the header's own: the payload, unless it has a line end of its own (then its rest is
//!   read as lines: the one case noise can still turn into lines). Where the header's line
//!   goes on past its colon, the payload was on it, and nothing more is skipped;
//! - a `+CIPRXGET: 2|3` header announcing more than the pending `AT+CIPRXGET=2|3,...,<len>`
//!   asked for (noise added a digit) is [`DecodeError::Malformed`] and skipped the same way:
//!   taken by its length, it would swallow the `OK` and the lines after it.

use super::parse::{
    colon_header, garbled_header, parse_line, rxget_header, Lead, Malformed, Payload,
};
use super::{Response, RxGetResponse};
use crate::command::{Command, Name, RxGet};

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

impl<'a> Event<'a> {
    /// The response, for every event but an echo.
    pub fn response(&self) -> Option<&Response<'a>> {
        match self {
            Event::Echo(_) => None,
            Event::Urc(r) | Event::Info(r) | Event::Final(r) => Some(r),
        }
    }
}

/// Bytes the decoder refused; it has resynchronised at the next line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// A line longer than the decoder's buffer.
    LineTooLong,
    /// A payload length larger than the buffer (not trusted, not waited for). `len` is the
    /// number of bytes announced: `2 * <len>` for `+CIPRXGET: 3`.
    PayloadTooLong { len: u64 },
    /// A line with a known prefix whose fields do not parse.
    Malformed,
}

impl From<Malformed> for DecodeError {
    fn from(_: Malformed) -> DecodeError {
        DecodeError::Malformed
    }
}

/// Turns modem bytes into [`Event`]s. `N` bytes hold one line or one payload: at least 1460
/// (the largest `+RECEIVE`) and twice that for hex `+CIPRXGET: 3` reads of 1460 bytes.
#[derive(Debug)]
pub struct Decoder<const N: usize = 1600> {
    buf: [u8; N],
    /// Bytes of the current line or payload in `buf`.
    len: usize,
    mode: Mode,
    pending: Option<Answer>,
    connection_lines: u8,
    /// The most payload bytes a `+CIPRXGET: 2|3` header may announce: what the last
    /// `AT+CIPRXGET=2|3,...,<len>` asked for (`2 * <len>` in hex); [`MAX_PAYLOAD`] otherwise.
    read_limit: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Line,
    /// Dropping the rest of an overlong line.
    Skip,
    /// Dropping the payload of a header whose length did not parse: the line end after the
    /// header, then up to the next line end.
    SkipPayload,
    /// Reading `need` raw bytes, after the line ends in `lead`; dropping them (counted in
    /// `len`) when `kind` is `None`.
    Payload {
        kind: Option<Payload>,
        need: usize,
        lead: Lead,
    },
}

/// The longest payload a modem announces, in bytes: a `+RECEIVE` or `+IPD` is at most a TCP
/// segment or a UDP datagram (1472 bytes), a `+CIPRXGET: 3` read twice 1460. A longer one the
/// decoder cannot hold is skipped by its length; beyond this, the length itself is taken
/// for noise and the payload is skipped up to the next line end.
const MAX_PAYLOAD: u64 = 4096;

/// What a step of [`Decoder::feed`] completed; the bytes are in `buf[..len]`.
#[derive(Debug, Clone, Copy)]
enum Ready {
    Line,
    Prompt,
    Payload(Payload),
    Error(DecodeError),
}

/// The answer the pending command expects (see the module's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// Ends with `OK`. `+NAME:` lines of `name` belong to it; status lines only if `read`;
    /// free text if `text`.
    Lines {
        name: Option<Name>,
        read: bool,
        text: bool,
    },
    Cifsr,
    /// `seen` counts the `C:` lines so far.
    Cipstatus {
        seen: u8,
    },
    Cipsend {
        prompted: bool,
    },
    Cipshut,
    Cipclose,
    Cpowd,
    /// `ATO`.
    Online,
}

/// Where a response stands in the pending answer.
enum Role {
    Urc,
    Info,
    Final,
}

impl<const N: usize> Default for Decoder<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Decoder<N> {
    pub const fn new() -> Self {
        Decoder {
            buf: [0; N],
            len: 0,
            mode: Mode::Line,
            pending: None,
            connection_lines: 0,
            read_limit: MAX_PAYLOAD,
        }
    }

    /// How many `C:` lines follow `STATE:` in the answer to `AT+CIPSTATUS`: 0 in single mode
    /// (the default), the profile's link count (6 on SIM800, 8 on Air202) in multi mode.
    pub fn set_connection_lines(&mut self, count: u8) {
        self.connection_lines = count;
    }

    /// `command` has just been sent: its answer is now pending.
    pub fn start(&mut self, command: &Command<'_>) {
        self.pending = Some(Answer::of(command));
        self.read_limit = match *command {
            Command::Ciprxget(RxGet::Read { len, hex, .. }) => u64::from(len) << u8::from(hex),
            _ => MAX_PAYLOAD,
        };
    }

    /// The host stopped waiting for the pending answer (a timeout).
    pub fn cancel(&mut self) {
        self.pending = None;
    }

    /// Whether an answer is pending.
    pub fn is_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Gives up a payload that its header announced and the line did not bring: a modem sends
    /// a payload in one piece right after its header, so one still unfinished on a quiet
    /// line had its length made by noise (`+CIPRXGET: 2,0,233,0` for `23`), and reading on
    /// would take the answers to come for payload. Returns whether there was one; the next
    /// byte starts a line.
    pub fn abandon_payload(&mut self) -> bool {
        let reading = matches!(self.mode, Mode::Payload { .. } | Mode::SkipPayload);
        if reading {
            self.len = 0;
            self.mode = Mode::Line;
        }
        reading
    }

    /// Forgets the pending answer and any partial line or payload, as after a modem reset.
    pub fn reset(&mut self) {
        self.len = 0;
        self.mode = Mode::Line;
        self.pending = None;
    }

    /// Consumes bytes from the front of `input` and returns how many it took, and the event
    /// they completed, if any. Call again with the rest until it is empty. The event borrows
    /// the decoder's buffer until the next call.
    ///
    /// Feeding the same bytes in any chunks, one at a time or all at once, gives the same
    /// events.
    pub fn feed(&mut self, input: &[u8]) -> (usize, Option<Result<Event<'_>, DecodeError>>) {
        let mut used = 0;
        let mut ready = None;
        while ready.is_none() {
            let Some(rest) = input.get(used..).filter(|r| !r.is_empty()) else {
                break;
            };
            let (n, r) = match self.mode {
                Mode::Line => self.line_bytes(rest),
                Mode::Skip => self.skip_bytes(rest),
                Mode::SkipPayload => {
                    // The line end after the header first.
                    let lead = rest.iter().take_while(|&&b| b == b'\r' || b == b'\n');
                    let n = lead.count();
                    if n < rest.len() {
                        self.mode = Mode::Skip;
                    }
                    (n, None)
                }
                Mode::Payload { kind, need, lead } => self.payload_bytes(rest, kind, need, lead),
            };
            used += n;
            ready = r;
        }
        (used, ready.map(|r| self.event(r)))
    }

    fn line_bytes(&mut self, rest: &[u8]) -> (usize, Option<Ready>) {
        for (i, &b) in rest.iter().enumerate() {
            if b == b'\r' || b == b'\n' {
                if self.len == 0 {
                    continue; // an empty line, or the LF of a CRLF
                }
                // `+CIPRXGET: 2|3,...`: its data follows the line end.
                let lead = if b == b'\r' { Lead::Lf } else { Lead::None };
                let line = self.line();
                let ready = match rxget_header(line) {
                    Some(header) if header.1 <= self.read_limit => self.begin(header, lead),
                    // More than was asked for: a length line noise changed. Its payload is
                    // skipped as a garbled `+RECEIVE`'s is (below), never taken by a length
                    // that would swallow the modem's next lines.
                    Some(_) => {
                        self.mode = Mode::SkipPayload;
                        self.len = 0;
                        Some(Ready::Error(DecodeError::Malformed))
                    }
                    // A payload header that did not parse (its length, or its colon, was
                    // garbled): what follows is server data, not lines.
                    None if line.starts_with(b"+RECEIVE") || line.starts_with(b"+IPD") => {
                        // Unless the payload came on the header's line (after its colon).
                        if let [.., a, b] = line {
                            if *b == b':' || a.is_ascii_digit() || b.is_ascii_digit() {
                                self.mode = Mode::SkipPayload;
                            }
                        }
                        self.len = 0;
                        Some(Ready::Error(DecodeError::Malformed))
                    }
                    None => Some(Ready::Line),
                };
                return (i + 1, ready);
            }
            let Some(slot) = self.buf.get_mut(self.len) else {
                self.len = 0;
                self.mode = Mode::Skip;
                return (i + 1, Some(Ready::Error(DecodeError::LineTooLong)));
            };
            *slot = b;
            self.len += 1;
            if b == b':' {
                // `+IPD,<len>:` and `+RECEIVE,<n>,<len>:`: the payload follows the colon.
                if let Some(header) = colon_header(self.line()) {
                    return (i + 1, self.begin(header, header.0.lead()));
                }
                // The same with a garbled name or link: its payload is dropped.
                if let Some(len) = garbled_header(self.line()) {
                    let lead = Payload::Receive(0).lead();
                    let ready = self.begin((Payload::Receive(0), len), lead);
                    if let Mode::Payload { need, lead, .. } = self.mode {
                        self.mode = Mode::Payload {
                            kind: None,
                            need,
                            lead,
                        };
                    }
                    return (i + 1, ready.or(Some(Ready::Error(DecodeError::Malformed))));
                }
            } else if b == b' ' && self.line() == b"> " && self.wants_prompt() {
                self.len = 0;
                return (i + 1, Some(Ready::Prompt));
            }
        }
        (rest.len(), None)
    }

    fn skip_bytes(&mut self, rest: &[u8]) -> (usize, Option<Ready>) {
        match rest.iter().position(|&b| b == b'\r' || b == b'\n') {
            Some(end) => {
                self.mode = Mode::Line;
                (end + 1, None)
            }
            None => (rest.len(), None),
        }
    }

    fn payload_bytes(
        &mut self,
        rest: &[u8],
        kind: Option<Payload>,
        need: usize,
        lead: Lead,
    ) -> (usize, Option<Ready>) {
        if lead != Lead::None {
            // Skip the line end after the header; without one the payload starts here.
            let (skip, lead) = match (lead, rest.first()) {
                (Lead::CrLf, Some(b'\r')) => (1, Lead::Lf),
                (_, Some(b'\n')) => (1, Lead::None),
                _ => (0, Lead::None),
            };
            self.mode = Mode::Payload { kind, need, lead };
            return (skip, None);
        }
        let take = need.saturating_sub(self.len).min(rest.len());
        let Some(kind) = kind else {
            // Dropped: only counted.
            self.len += take;
            if self.len >= need {
                self.len = 0;
                self.mode = Mode::Line;
            }
            return (take, None);
        };
        let (Some(dst), Some(src)) = (
            self.buf.get_mut(self.len..self.len + take),
            rest.get(..take),
        ) else {
            // Unreachable: `begin` checked that `need` fits. Resynchronise rather than panic.
            self.len = 0;
            self.mode = Mode::Line;
            return (
                0,
                Some(Ready::Error(DecodeError::PayloadTooLong {
                    len: need as u64,
                })),
            );
        };
        dst.copy_from_slice(src);
        self.len += take;
        if self.len < need {
            return (take, None);
        }
        self.mode = Mode::Line;
        (take, Some(Ready::Payload(kind)))
    }

    /// Starts reading the payload of `len` bytes announced by a header; an empty payload is
    /// complete at once. One larger than the buffer is refused and skipped by its length, or,
    /// beyond [`MAX_PAYLOAD`], up to the next line end.
    fn begin(&mut self, (kind, len): (Payload, u64), lead: Lead) -> Option<Ready> {
        self.len = 0;
        let need = usize::try_from(len.min(MAX_PAYLOAD)).unwrap_or(0);
        let (kind, ready) = match need {
            0 => {
                self.mode = Mode::Line;
                return Some(Ready::Payload(kind));
            }
            need if need <= N => (Some(kind), None),
            _ => (
                None,
                Some(Ready::Error(DecodeError::PayloadTooLong { len })),
            ),
        };
        self.mode = if len > MAX_PAYLOAD {
            Mode::SkipPayload
        } else {
            Mode::Payload { kind, need, lead }
        };
        ready
    }

    fn line(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }

    fn wants_prompt(&self) -> bool {
        self.pending == Some(Answer::Cipsend { prompted: false })
    }

    /// Turns what a step completed into an event, and moves the pending answer on.
    fn event(&mut self, ready: Ready) -> Result<Event<'_>, DecodeError> {
        let len = core::mem::take(&mut self.len);
        let bytes = self.buf.get(..len).unwrap_or_default();
        let response = match ready {
            Ready::Error(e) => return Err(e),
            Ready::Prompt => Response::Prompt,
            Ready::Payload(kind) => kind.response(bytes),
            Ready::Line if self.pending.is_some() && is_echo(bytes) => {
                return Ok(Event::Echo(bytes));
            }
            Ready::Line => parse_line(bytes)?,
        };
        let Some(answer) = &mut self.pending else {
            return Ok(Event::Urc(response));
        };
        Ok(match answer.role(&response, self.connection_lines) {
            Role::Urc => Event::Urc(response),
            Role::Info => Event::Info(response),
            Role::Final => {
                self.pending = None;
                Event::Final(response)
            }
        })
    }
}

impl Answer {
    fn of(command: &Command<'_>) -> Answer {
        let lines = |name, read, text| Answer::Lines {
            name: Some(name),
            read,
            text,
        };
        match *command {
            Command::Test(name) => lines(name, false, false),
            Command::Read(name) => lines(name, true, name == Name::Cdnscfg),
            Command::Info => Answer::Lines {
                name: None,
                read: false,
                text: true,
            },
            Command::Exec(
                name @ (Name::Cgmr
                | Name::Cgmm
                | Name::Cgmi
                | Name::Cgsn
                | Name::Gsn
                | Name::Ver
                | Name::Ccid
                | Name::Cimi
                | Name::Gmr),
            ) => lines(name, false, true),
            Command::Exec(Name::Cifsr) => Answer::Cifsr,
            Command::Exec(Name::Cipstatus) => Answer::Cipstatus { seen: 0 },
            Command::Exec(Name::Cipshut) => Answer::Cipshut,
            Command::Exec(Name::Cipsend) | Command::Cipsend { .. } => {
                Answer::Cipsend { prompted: false }
            }
            Command::Exec(Name::Cipclose) | Command::Cipclose { .. } => Answer::Cipclose,
            Command::Exec(Name::Cpowd) | Command::Cpowd(_) => Answer::Cpowd,
            Command::Online => Answer::Online,
            ref other => Answer::Lines {
                name: other.name(),
                read: false,
                text: false,
            },
        }
    }

    fn role(&mut self, r: &Response<'_>, connection_lines: u8) -> Role {
        if r.is_error() {
            return Role::Final;
        }
        let done = |end: bool| if end { Role::Final } else { Role::Urc };
        match self {
            Answer::Lines { name, read, text } => {
                if *r == Response::Ok {
                    Role::Final
                } else if belongs(r, *name, *read) || (*text && matches!(r, Response::Text(_))) {
                    Role::Info
                } else {
                    Role::Urc
                }
            }
            Answer::Cifsr => done(matches!(r, Response::IpAddress(_) | Response::Ok)),
            Answer::Cipstatus { seen } => match r {
                Response::Ok => Role::Info,
                Response::State(_) if connection_lines == 0 => Role::Final,
                Response::State(_) => {
                    *seen = 0;
                    Role::Info
                }
                Response::Connection(_) => {
                    *seen = seen.saturating_add(1);
                    if *seen >= connection_lines {
                        Role::Final
                    } else {
                        Role::Info
                    }
                }
                _ => Role::Urc,
            },
            // Before the prompt only an error ends it (checked above): a stray `OK` or a
            // late `SEND OK` ending it would leave the prompt to come, and the modem would
            // take the host's next bytes for data. `OK` never ends it.
            Answer::Cipsend { prompted } => match r {
                Response::Prompt => {
                    *prompted = true;
                    Role::Info
                }
                Response::SendOk(_) | Response::SendFail(_) | Response::DataAccept { .. }
                    if *prompted =>
                {
                    Role::Final
                }
                _ => Role::Urc,
            },
            Answer::Cipshut => done(matches!(r, Response::ShutOk | Response::Ok)),
            Answer::Cipclose => done(matches!(r, Response::CloseOk(_) | Response::Ok)),
            Answer::Cpowd => done(matches!(r, Response::NormalPowerDown | Response::Ok)),
            Answer::Online => done(matches!(
                r,
                Response::Connect { .. } | Response::NoCarrier | Response::Ok
            )),
        }
    }
}

/// Whether `r` is an information line of the command `name` (read form if `read`).
fn belongs(r: &Response<'_>, name: Option<Name>, read: bool) -> bool {
    let (Some(name), Some(info)) = (name, r.info_name()) else {
        return false;
    };
    if !name.as_str().eq_ignore_ascii_case(info) {
        return false;
    }
    match r {
        // URC forms: the read answer always carries the mode.
        Response::Creg { mode: None, .. } | Response::Cntp(_) => false,
        // Status lines that are also URCs belong only to the read form.
        Response::Cpin(_) | Response::Cfun(_) | Response::RxGet(RxGetResponse::DataReady(_)) => {
            read
        }
        _ => true,
    }
}

fn is_echo(line: &[u8]) -> bool {
    line.get(..2).is_some_and(|p| p.eq_ignore_ascii_case(b"AT"))
}
