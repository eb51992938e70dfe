//! The modem side's incremental command parser: bytes from the host in, command lines and
//! data out.
//!
//! Line discipline (reference §0), and the choices made where the reference is silent:
//!
//! - A line ends at `\r` (Luat) or `\r\n` (TinyGSM); a lone `\n` ends one too. The `\n` of a
//!   `\r\n` is part of the terminator, never an empty line, even when it arrives in a later
//!   `feed`. Empty lines are ignored.
//! - Bytes before `AT` (any case) on a line are line noise and dropped; a line with no `AT`
//!   is [`ParseError::Noise`]. `\r` ends a line even inside quotes, so a stray `"` cannot
//!   swallow the next command.
//! - A line, terminator included, must fit the parser's `N` bytes; a longer one is dropped up
//!   to its terminator and reported there, as [`ParseError::LineTooLong`], when the modem
//!   would answer it.
//! - Basic commands may follow each other without a separator, and an extended command may
//!   follow them (`AT&FZE0&W`, `ATE0V1`, `ATE0+CMEE=1`: V.250 §5.4.1); each is one
//!   [`Segment`]. A basic command's missing number is 0 (`ATE` is `ATE0`, V.250 §5.3.1);
//!   `D` takes the rest of its segment (the dial string), so a chain ends there.
//! - No backspace editing.

use super::{Cipccfg, CipccfgRx, Command, Name, RxGet};
use crate::types::{parse_decimal, DateTime, LinkId, Transport};

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
    /// The data after a `> ` prompt, complete (without the Ctrl-Z).
    Data(&'a [u8]),
    /// ESC ended the Ctrl-Z data: the send is cancelled.
    DataCancelled,
}

/// Why bytes were not a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// The line exceeded the parser's buffer; it was dropped up to its terminator.
    LineTooLong,
    /// The data exceeded its `max` (Ctrl-Z) or the parser's buffer; it was dropped.
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
    /// `raw` is `AT<body>` and one terminator byte.
    fn new(raw: &'a [u8]) -> Self {
        let body = raw.get(2..raw.len().saturating_sub(1)).unwrap_or_default();
        CommandLine { raw, body }
    }

    /// The bytes as received from `AT` to the terminator (`\r`, or `\n` alone): what the
    /// modem echoes with `ATE1`. The `\n` of a `\r\n` is not included, as it may not have
    /// arrived yet when the line is complete.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// What follows `AT`, without the terminator.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// The commands of the line, split at `;` outside quotes and trimmed of spaces, and a run
    /// of basic commands split into one segment each (`&F`, `Z`, `E0`, `&W` of `AT&FZE0&W`).
    /// Empty segments (`AT+CSQ;`) are skipped, except that a line with nothing after `AT` is
    /// the one empty segment that parses as [`Command::At`].
    pub fn segments(&self) -> impl Iterator<Item = Segment<'a>> {
        let mut at = self.body.iter().all(|&b| b == b';' || b == b' ');
        let mut rest = (!at).then_some(self.body);
        // What is left of a segment that began with basic commands.
        let mut basics: &[u8] = &[];
        core::iter::from_fn(move || {
            if core::mem::take(&mut at) {
                return Some(Segment(b""));
            }
            loop {
                if !basics.is_empty() {
                    let (first, tail) = split_basic(basics);
                    basics = trim(tail);
                    return Some(Segment(first));
                }
                let (segment, tail) = split_unquoted(rest?, b';');
                rest = tail;
                basics = trim(segment);
            }
        })
    }
}

impl<'a> Segment<'a> {
    /// The command's text: what follows `AT` or `;`, e.g. `+CSQ` or `E0`.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// Parses the command; `multi` is the `AT+CIPMUX` mode, which decides between the single
    /// and multi-connection spellings of CIPSTART, CIPSEND, CIPCLOSE, CIPSTATUS and
    /// CIPRXGET: in each mode only that mode's spelling is accepted, as on a real modem.
    ///
    /// Checked here: the syntax, that each number fits its field, that switches are 0 or 1,
    /// link ids 0–7 (Air202; a SIM800 has 0–5) and `AT+CCLK`'s calendar ranges. Values a
    /// modem may refuse although the type holds them (`AT+CFUN=2`, an unsupported baud rate,
    /// CIPSEND beyond 1460 bytes, link 6 on a SIM800) are left to the modem.
    ///
    /// Parameters may have spaces around them; strings must be quoted, with no escapes;
    /// numbers must not be, except the port of `AT+CIPSTART` (Luat writes it bare, some
    /// libraries quote it).
    pub fn parse(self, multi: bool) -> Result<Command<'a>, ParseError> {
        match self.0 {
            [] => Ok(Command::At),
            [b'+', rest @ ..] => parse_extended(rest, multi),
            basic => parse_basic(basic),
        }
    }
}

/// The first basic command of `text` and what follows it: `&` and a letter, or one of V.250's
/// basic letters that take a number (`E`, `H`, `I`, `L`, `M`, `O`, `Q`, `V`, `X`, `Z`), with
/// its digits; `S<n>=<v>` and `S<n>?` for S-registers. Anything else (`D` and its dial
/// string, `A`, a stray `AT` after `;`) takes all of `text`, as does an extended command.
fn split_basic(text: &[u8]) -> (&[u8], &[u8]) {
    let amp = text.first() == Some(&b'&');
    let start = usize::from(amp);
    let end = match text.get(start).map(u8::to_ascii_uppercase) {
        Some(c) if amp && c.is_ascii_alphabetic() => digits_from(text, start + 1),
        Some(b'E' | b'H' | b'I' | b'L' | b'M' | b'O' | b'Q' | b'V' | b'X' | b'Z') => {
            digits_from(text, start + 1)
        }
        Some(b'S') => {
            let digits = digits_from(text, start + 1);
            match text.get(digits) {
                Some(b'?') => digits + 1,
                Some(b'=') => digits_from(text, digits + 1),
                _ => digits,
            }
        }
        _ => text.len(),
    };
    text.split_at(end.min(text.len()))
}

/// The index of the first byte at or after `from` that is not a digit.
fn digits_from(text: &[u8], from: usize) -> usize {
    from + text
        .get(from..)
        .unwrap_or_default()
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count()
}

/// `E<n>`, `V<n>`, `Q<n>`, `I`, `Z`, `O`, `&F`, `&W`, `&K<n>`: a missing number is 0
/// (V.250 §5.3.1), and the profile commands take only 0.
fn parse_basic(text: &[u8]) -> Result<Command<'_>, ParseError> {
    let (amp, letter, arg) = match text {
        [b'&', letter, arg @ ..] => (true, letter.to_ascii_uppercase(), arg),
        [letter, arg @ ..] => (false, letter.to_ascii_uppercase(), arg),
        [] => return Err(ParseError::UnknownCommand),
    };
    let zero = |command| match arg {
        [] | b"0" => Ok(command),
        _ => Err(ParseError::BadParameters),
    };
    let arg_or_zero = if arg.is_empty() { &b"0"[..] } else { arg };
    match (amp, letter) {
        (false, b'E') => Ok(Command::Echo(flag(arg_or_zero)?)),
        (false, b'V') => Ok(Command::Verbose(flag(arg_or_zero)?)),
        (false, b'Q') => Ok(Command::Quiet(flag(arg_or_zero)?)),
        (false, b'I') if arg.is_empty() => Ok(Command::Info),
        (false, b'I') => Err(ParseError::BadParameters),
        (false, b'Z') => zero(Command::Reset),
        (false, b'O') => zero(Command::Online),
        (true, b'F') => zero(Command::FactoryDefaults),
        (true, b'W') => zero(Command::SaveProfile),
        (true, b'K') => Ok(Command::FlowControl(number(arg)?)),
        _ => Err(ParseError::UnknownCommand),
    }
}

/// What follows `+`: `NAME`, `NAME?`, `NAME=?` or `NAME=<params>`.
fn parse_extended(text: &[u8], multi: bool) -> Result<Command<'_>, ParseError> {
    let name_end = text
        .iter()
        .position(|&b| b == b'=' || b == b'?')
        .unwrap_or(text.len());
    let (name, form) = text.split_at(name_end);
    let name = Name::from_text(name).ok_or(ParseError::UnknownCommand)?;
    match form {
        b"" => Ok(Command::Exec(name)),
        b"?" => Ok(Command::Read(name)),
        b"=?" => Ok(Command::Test(name)),
        [b'=', params @ ..] => {
            let mut fields = [&b""[..]; MAX_FIELDS];
            let count = split_fields(params, &mut fields)?;
            set_form(name, fields.get(..count).unwrap_or_default(), multi)
        }
        _ => Err(ParseError::BadParameters),
    }
}

/// The most parameters any command takes (`AT+CIPCCFG`).
pub(crate) const MAX_FIELDS: usize = 7;

/// The set form `AT+NAME=<fields>`. A table: one arm per spelling.
#[rustfmt::skip]
fn set_form<'a>(name: Name, fields: &[&'a [u8]], multi: bool) -> Result<Command<'a>, ParseError> {
    use Command as C;
    Ok(match (name, fields) {
        (Name::Cmee, [n]) => C::Cmee(number(n)?),
        (Name::Cpin, [pin]) => C::Cpin(string(pin)?),
        (Name::Atwmft, [n]) => C::Atwmft(number(n)?),
        (Name::Creg, [n]) => C::Creg(number(n)?),
        (Name::Cgatt, [on]) => C::Cgatt(flag(on)?),
        (Name::Cfun, [fun]) => C::Cfun { fun: number(fun)?, rst: None },
        (Name::Cfun, [fun, rst]) => C::Cfun { fun: number(fun)?, rst: Some(number(rst)?) },
        (Name::Cpowd, [n]) => C::Cpowd(number(n)?),
        (Name::Cclk, [time]) => C::Cclk(date_time(string(time)?)?),
        (Name::Cntpcid, [cid]) => C::Cntpcid(number(cid)?),
        (Name::Cntp, [server, tz]) => C::Cntp { server: string(server)?, tz: signed(tz)? },
        (Name::Ceng, [mode]) => C::Ceng { mode: number(mode)?, ncell: None },
        (Name::Ceng, [mode, ncell]) => C::Ceng { mode: number(mode)?, ncell: Some(number(ncell)?) },
        (Name::Clts, [on]) => C::Clts(flag(on)?),
        (Name::Cbatchk, [on]) => C::Cbatchk(flag(on)?),
        (Name::Ciurc, [on]) => C::Ciurc(flag(on)?),
        (Name::Ipr, [rate]) => C::Ipr(number(rate)?),
        (Name::Cipmux, [on]) => C::Cipmux(flag(on)?),
        // The manual writes `="apn","user","pwd"`; the user alone is accepted as well.
        (Name::Cstt, [apn, rest @ ..]) if rest.len() <= 2 => C::Cstt {
            apn: string(apn)?,
            user: rest.first().copied().map(string).transpose()?,
            pwd: rest.get(1).copied().map(string).transpose()?,
        },
        (Name::Ciicrmode, [n]) => C::Ciicrmode(number(n)?),
        (Name::Cipstatus, [n]) if multi => C::CipstatusLink(link(n)?),
        (Name::Cipstart, [transport, host, port]) if !multi => cipstart(None, transport, host, port)?,
        (Name::Cipstart, [n, transport, host, port]) if multi => cipstart(Some(link(n)?), transport, host, port)?,
        (Name::Cipsend, [len]) if !multi => C::Cipsend { link: None, len: Some(number(len)?) },
        (Name::Cipsend, [n]) if multi => C::Cipsend { link: Some(link(n)?), len: None },
        (Name::Cipsend, [n, len]) if multi => C::Cipsend { link: Some(link(n)?), len: Some(number(len)?) },
        (Name::Cipqsend, [n]) => C::Cipqsend(number(n)?),
        (Name::Cipack, [n]) if multi => C::CipackLink(link(n)?),
        (Name::Cipclose, [quick]) if !multi => C::Cipclose { link: None, quick: Some(flag(quick)?) },
        (Name::Cipclose, [n]) if multi => C::Cipclose { link: Some(link(n)?), quick: None },
        (Name::Cipclose, [n, quick]) if multi => C::Cipclose { link: Some(link(n)?), quick: Some(flag(quick)?) },
        (Name::Ciphead, [on]) => C::Ciphead(flag(on)?),
        (Name::Ciprxget, [mode, args @ ..]) => C::Ciprxget(rx_get(number(mode)?, args, multi)?),
        (Name::Cipssl, [on]) => C::Cipssl(flag(on)?),
        (Name::Cdnscfg, [primary]) => C::Cdnscfg { primary: string(primary)?, secondary: None },
        (Name::Cdnscfg, [primary, secondary]) => {
            C::Cdnscfg { primary: string(primary)?, secondary: Some(string(secondary)?) }
        }
        (Name::Cgdcont, [cid, pdp_type, apn]) => {
            C::Cgdcont { cid: number(cid)?, pdp_type: string(pdp_type)?, apn: string(apn)? }
        }
        (Name::Cgact, [active, cid]) => C::Cgact { active: flag(active)?, cid: number(cid)? },
        (Name::Sapbr, [cmd, cid]) => C::Sapbr { cmd: number(cmd)?, cid: number(cid)?, param: None },
        (Name::Sapbr, [cmd, cid, tag, value]) => {
            C::Sapbr { cmd: number(cmd)?, cid: number(cid)?, param: Some((string(tag)?, string(value)?)) }
        }
        (Name::Tcpuserparam, [a, b, c, d]) => {
            C::Tcpuserparam([number(a)?, number(b)?, number(c)?, number(d)?])
        }
        (Name::Cipccfg, [retries, wait_tm, send_size, esc, rx @ ..]) => C::Cipccfg(Cipccfg {
            retries: number(retries)?,
            wait_tm: number(wait_tm)?,
            send_size: number(send_size)?,
            esc: flag(esc)?,
            rx: match rx {
                [] => None,
                [mode, size, timer] => {
                    Some(CipccfgRx { mode: flag(mode)?, size: number(size)?, timer: number(timer)? })
                }
                _ => return Err(ParseError::BadParameters),
            },
        }),
        // Issue 13: housekeeping, configuration, TCP/IP options, transparent mode, services.
        (Name::Ifc, [a]) => C::Ifc { dce_by_dte: number(a)?, dte_by_dce: None },
        (Name::Ifc, [a, b]) => C::Ifc { dce_by_dte: number(a)?, dte_by_dce: Some(number(b)?) },
        (Name::Clip, [on]) => C::Clip(flag(on)?),
        (Name::Cscs, [chset]) => C::Cscs(string(chset)?),
        (Name::Cmgf, [on]) => C::Cmgf(flag(on)?),
        (Name::Cmghex, [on]) => C::Cmghex(flag(on)?),
        (Name::Csclk, [n]) => C::Csclk(number(n)?),
        (Name::Cnetlight, [on]) => C::Cnetlight(flag(on)?),
        (Name::Csmins, [on]) => C::Csmins(flag(on)?),
        (Name::Cops, [mode]) => C::Cops { mode: number(mode)?, format: None },
        (Name::Cops, [mode, format]) => C::Cops { mode: number(mode)?, format: Some((number(format)?, None)) },
        (Name::Cops, [mode, format, oper]) => {
            C::Cops { mode: number(mode)?, format: Some((number(format)?, Some(string(oper)?))) }
        }
        (Name::Cgreg, [n]) => C::Cgreg(number(n)?),
        (Name::Cipsrip, [on]) => C::Cipsrip(flag(on)?),
        (Name::Cipshowtp, [on]) => C::Cipshowtp(flag(on)?),
        (Name::Cipsprt, [n]) => C::Cipsprt(number(n)?),
        (Name::Cipmode, [on]) => C::Cipmode(flag(on)?),
        // Ircama's `sim800l` writes the domain bare (`AT+CDNSGIP=www.google.com`).
        (Name::Cdnsgip, [domain]) => C::Cdnsgip(string(domain).or_else(|_| bare(domain))?),
        (Name::Cipgsmloc, [kind, cid]) => C::Cipgsmloc { kind: number(kind)?, cid: number(cid)? },
        (Name::Clbs, [kind, cid]) => C::Clbs { kind: number(kind)?, cid: number(cid)? },
        (Name::Ston, [on]) => C::Ston(flag(on)?),
        _ => return Err(ParseError::BadParameters),
    })
}

fn cipstart<'a>(
    link: Option<LinkId>,
    transport: &'a [u8],
    host: &'a [u8],
    port: &'a [u8],
) -> Result<Command<'a>, ParseError> {
    let transport =
        Transport::from_text(string(transport)?.as_bytes()).ok_or(ParseError::BadParameters)?;
    let port = match port {
        [b'"', digits @ .., b'"'] => digits,
        digits => digits,
    };
    Ok(Command::Cipstart {
        link,
        transport,
        host: string(host)?,
        port: number(port)?,
    })
}

/// `AT+CIPRXGET=<mode>[,...]`: the link is there in multi mode only.
#[rustfmt::skip]
fn rx_get(mode: u8, args: &[&[u8]], multi: bool) -> Result<RxGet, ParseError> {
    Ok(match (mode, args, multi) {
        (0 | 1, [], _) => RxGet::Manual(mode == 1),
        (2 | 3, [len], false) => RxGet::Read { link: None, len: number(len)?, hex: mode == 3 },
        (2 | 3, [n, len], true) => RxGet::Read { link: Some(link(n)?), len: number(len)?, hex: mode == 3 },
        (4, [], false) => RxGet::Available { link: None },
        (4, [n], true) => RxGet::Available { link: Some(link(n)?) },
        _ => return Err(ParseError::BadParameters),
    })
}

/// `yy/MM/dd,hh:mm:ss±zz`, every field two digits.
fn date_time(text: &str) -> Result<DateTime, ParseError> {
    let &[y0, y1, b'/', mo0, mo1, b'/', d0, d1, b',', h0, h1, b':', mi0, mi1, b':', s0, s1, sign, z0, z1] =
        text.as_bytes()
    else {
        return Err(ParseError::BadParameters);
    };
    let field = |hi: u8, lo: u8, range: core::ops::RangeInclusive<u8>| {
        let n = number::<u8>(&[hi, lo])?;
        if range.contains(&n) {
            Ok(n)
        } else {
            Err(ParseError::BadParameters)
        }
    };
    let quarters = field(z0, z1, 0..=48)? as i8;
    let quarter_hours = match sign {
        b'+' => quarters,
        b'-' if quarters <= 47 => -quarters,
        _ => return Err(ParseError::BadParameters),
    };
    Ok(DateTime {
        year: field(y0, y1, 0..=99)?,
        month: field(mo0, mo1, 1..=12)?,
        day: field(d0, d1, 1..=31)?,
        hour: field(h0, h1, 0..=23)?,
        minute: field(mi0, mi1, 0..=59)?,
        second: field(s0, s1, 0..=59)?,
        quarter_hours,
    })
}

/// An unsigned decimal that fits `T`.
pub(crate) fn number<T: TryFrom<u64>>(field: &[u8]) -> Result<T, ParseError> {
    parse_decimal(field)
        .and_then(|n| T::try_from(n).ok())
        .ok_or(ParseError::BadParameters)
}

/// A decimal with an optional `+` or `-`.
fn signed(field: &[u8]) -> Result<i8, ParseError> {
    let (negative, digits) = match field {
        [b'-', digits @ ..] => (true, digits),
        [b'+', digits @ ..] => (false, digits),
        digits => (false, digits),
    };
    let n = i64::try_from(number::<u64>(digits)?).map_err(|_| ParseError::BadParameters)?;
    i8::try_from(if negative { -n } else { n }).map_err(|_| ParseError::BadParameters)
}

/// `0` or `1`.
pub(crate) fn flag(field: &[u8]) -> Result<bool, ParseError> {
    match number::<u8>(field)? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(ParseError::BadParameters),
    }
}

/// A link id, 0–7.
fn link(field: &[u8]) -> Result<LinkId, ParseError> {
    match number::<LinkId>(field)? {
        n @ 0..=7 => Ok(n),
        _ => Err(ParseError::BadParameters),
    }
}

/// A string in double quotes (UTF-8, no `"` inside).
pub(crate) fn string(field: &[u8]) -> Result<&str, ParseError> {
    match field {
        [b'"', inner @ .., b'"'] if !inner.contains(&b'"') => {
            core::str::from_utf8(inner).map_err(|_| ParseError::BadParameters)
        }
        _ => Err(ParseError::BadParameters),
    }
}

/// A string written without quotes: printable ASCII, no quote, not empty.
fn bare(field: &[u8]) -> Result<&str, ParseError> {
    let printable = field.iter().all(|b| b.is_ascii_graphic() && *b != b'"');
    match core::str::from_utf8(field) {
        Ok(text) if printable && !text.is_empty() => Ok(text),
        _ => Err(ParseError::BadParameters),
    }
}

/// Splits parameters at `,` outside quotes into `fields`, trimmed, and returns their count.
pub(crate) fn split_fields<'a>(
    params: &'a [u8],
    fields: &mut [&'a [u8]; MAX_FIELDS],
) -> Result<usize, ParseError> {
    let mut rest = Some(params);
    let mut count = 0;
    while let Some(text) = rest {
        let (field, tail) = split_unquoted(text, b',');
        *fields.get_mut(count).ok_or(ParseError::BadParameters)? = trim(field);
        count += 1;
        rest = tail;
    }
    Ok(count)
}

/// The text before the first `sep` outside double quotes, and the text after it if any.
fn split_unquoted(text: &[u8], sep: u8) -> (&[u8], Option<&[u8]>) {
    let mut quoted = false;
    for (i, &b) in text.iter().enumerate() {
        if b == b'"' {
            quoted = !quoted;
        } else if b == sep && !quoted {
            return (text.get(..i).unwrap_or_default(), text.get(i + 1..));
        }
    }
    (text, None)
}

fn trim(mut text: &[u8]) -> &[u8] {
    while let [b' ', rest @ ..] = text {
        text = rest;
    }
    while let [rest @ .., b' '] = text {
        text = rest;
    }
    text
}

const CTRL_Z: u8 = 0x1A;
const ESC: u8 = 0x1B;

/// Where the parser is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a line, looking for `AT`. `noise`: other bytes came first on this
    /// line. `a`: the last byte was this `A` or `a`.
    Seek { noise: bool, a: Option<u8> },
    /// In a line after `AT`; the line so far is in the buffer.
    Line,
    /// Dropping the rest of a line that did not fit.
    Discard,
    /// Data of a fixed length; the bytes received so far are counted by `len`.
    Fixed { total: u16 },
    /// Data up to Ctrl-Z.
    CtrlZ { max: u16 },
}

const NEW_LINE: State = State::Seek {
    noise: false,
    a: None,
};

/// What `feed` completed, before it is lent out as a [`ParserEvent`].
enum Done {
    Line,
    Data,
    Cancelled,
    Error(ParseError),
}

/// Turns host bytes into [`ParserEvent`]s. `N` bytes hold one line (terminator included) or
/// one data block.
#[derive(Debug)]
pub struct CommandParser<const N: usize = 1600> {
    buf: [u8; N],
    /// Bytes in `buf`; in fixed-length data mode, the bytes received, which may exceed `N`.
    len: usize,
    state: State,
    /// The last line ended with `\r`, and no byte has come since: a `\n` now belongs to it.
    lf_pending: bool,
    /// The host ends lines with `\r\n`: the byte after its last `\r` was `\n`.
    crlf_host: bool,
}

impl<const N: usize> Default for CommandParser<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> CommandParser<N> {
    pub const fn new() -> Self {
        CommandParser {
            buf: [0; N],
            len: 0,
            state: NEW_LINE,
            lf_pending: false,
            crlf_host: false,
        }
    }

    /// After the modem has sent `> `: the next bytes are data, not commands. Drops any part
    /// of a line received since the last event.
    ///
    /// The `\n` after the `\r` of the line that asked for data is not data if this host's
    /// last line ended with `\r\n` (TinyGSM writes `AT+CIPSEND=0,5\r\n` and then the data),
    /// and is data if it ended with `\r` alone (Luat, whose data may begin with `\n`). A
    /// real modem tells them apart by time, as the `\n` comes before its prompt; the parser
    /// has no clock, so it goes by what the host has shown, and takes `\r` alone at first.
    pub fn expect_data(&mut self, mode: DataMode) {
        self.len = 0;
        self.state = match mode {
            DataMode::Fixed(total) => State::Fixed { total },
            DataMode::CtrlZ { max } => State::CtrlZ { max },
        };
    }

    /// For input the caller reads around the parser (`AT+HTTPDATA`'s bytes, which it counts
    /// itself): whether `first`, the first byte after the line that asked for it, is the
    /// `\n` this host still owes that line, as [`CommandParser::expect_data`] decides it.
    pub fn owes_lf(&mut self, first: u8) -> bool {
        core::mem::take(&mut self.lf_pending) && self.crlf_host && first == b'\n'
    }

    /// Whether the parser is waiting for the data of a `> ` prompt.
    pub fn in_data_mode(&self) -> bool {
        matches!(self.state, State::Fixed { .. } | State::CtrlZ { .. })
    }

    /// Back to command mode at the start of a line, dropping any partial line or data.
    pub fn reset(&mut self) {
        self.len = 0;
        self.state = NEW_LINE;
        self.lf_pending = false;
    }

    /// Consumes bytes from the front of `input` and returns how many it took, and the event
    /// they completed, if any. Call again with the rest until it is empty: it stops after
    /// each event so that the caller can switch to data mode at the right byte.
    ///
    /// A zero-length fixed data block completes at once, with 0 bytes taken.
    pub fn feed(&mut self, input: &[u8]) -> (usize, Option<Result<ParserEvent<'_>, ParseError>>) {
        let (used, done) = match self.state {
            State::Fixed { total } => self.feed_fixed(input, total.into()),
            State::CtrlZ { max } => self.feed_ctrl_z(input, usize::from(max).min(N)),
            _ => self.feed_line(input),
        };
        let event = done.map(|done| match done {
            Done::Line => Ok(ParserEvent::Line(CommandLine::new(self.filled()))),
            Done::Data => Ok(ParserEvent::Data(self.filled())),
            Done::Cancelled => Ok(ParserEvent::DataCancelled),
            Done::Error(e) => Err(e),
        });
        (used, event)
    }

    fn filled(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }

    /// Leaves data mode or a finished line. `len` stays until the next `feed`, for the
    /// event that borrows the buffer.
    fn finish(&mut self, done: Done) -> Option<Done> {
        self.state = NEW_LINE;
        Some(done)
    }

    /// In data mode: 1 if `input` starts with the `\n` a `\r\n` host still owes its last
    /// line, else 0.
    fn owed_lf(&mut self, input: &[u8]) -> usize {
        let Some(&first) = input.first() else {
            return 0;
        };
        usize::from(core::mem::take(&mut self.lf_pending) && self.crlf_host && first == b'\n')
    }

    fn feed_fixed(&mut self, input: &[u8], total: usize) -> (usize, Option<Done>) {
        // A zero-length block takes no byte, not even an owed `\n`.
        let skip = if self.len < total {
            self.owed_lf(input)
        } else {
            0
        };
        let input = input.get(skip..).unwrap_or_default();
        let take = input.len().min(total - self.len);
        // Data longer than the buffer is counted, not kept, and reported when complete.
        if let (Some(dst), Some(src)) = (
            self.buf.get_mut(self.len..self.len + take),
            input.get(..take),
        ) {
            dst.copy_from_slice(src);
        }
        self.len += take;
        if self.len < total {
            return (skip + take, None);
        }
        let done = if total > N {
            Done::Error(ParseError::DataTooLong)
        } else {
            Done::Data
        };
        (skip + take, self.finish(done))
    }

    fn feed_ctrl_z(&mut self, input: &[u8], max: usize) -> (usize, Option<Done>) {
        let skip = self.owed_lf(input);
        let input = input.get(skip..).unwrap_or_default();
        let end = input
            .iter()
            .position(|&b| b == CTRL_Z || b == ESC)
            .unwrap_or(input.len());
        let room = max.saturating_sub(self.len);
        if end > room {
            // The byte past `max` ends the data; what follows is read as commands again.
            self.len = 0;
            return (
                skip + room + 1,
                self.finish(Done::Error(ParseError::DataTooLong)),
            );
        }
        if let (Some(dst), Some(src)) =
            (self.buf.get_mut(self.len..self.len + end), input.get(..end))
        {
            dst.copy_from_slice(src);
        }
        self.len += end;
        match input.get(end) {
            None => (skip + end, None),
            Some(&CTRL_Z) => (skip + end + 1, self.finish(Done::Data)),
            Some(_) => (skip + end + 1, self.finish(Done::Cancelled)),
        }
    }

    fn feed_line(&mut self, input: &[u8]) -> (usize, Option<Done>) {
        // The last event's bytes are no longer lent out.
        if matches!(self.state, State::Seek { .. }) {
            self.len = 0;
        }
        for (i, &b) in input.iter().enumerate() {
            if core::mem::take(&mut self.lf_pending) {
                // The byte after a `\r` tells how this host ends its lines.
                self.crlf_host = b == b'\n';
                if b == b'\n' {
                    continue;
                }
            }
            if b == b'\r' || b == b'\n' {
                self.lf_pending = b == b'\r';
                // Any `\n` is left for the next call, which may be in data mode.
                if let Some(done) = self.end_line(b) {
                    return (i + 1, Some(done));
                }
                continue;
            }
            self.line_byte(b);
        }
        (input.len(), None)
    }

    fn line_byte(&mut self, b: u8) {
        match self.state {
            State::Seek { a: Some(a), .. } if b == b'T' || b == b't' => {
                self.state = State::Line;
                self.len = 0;
                self.push(a);
                self.push(b);
            }
            State::Seek { .. } => {
                let a = (b == b'A' || b == b'a').then_some(b);
                self.state = State::Seek { noise: true, a };
            }
            State::Line => self.push(b),
            _ => {}
        }
    }

    /// Appends to the line, or starts discarding it when it does not fit.
    fn push(&mut self, b: u8) {
        match self.buf.get_mut(self.len) {
            Some(slot) => {
                *slot = b;
                self.len += 1;
            }
            None => {
                self.state = State::Discard;
                self.len = 0;
            }
        }
    }

    /// The line ended with `terminator`: what it was, if anything.
    fn end_line(&mut self, terminator: u8) -> Option<Done> {
        match self.state {
            State::Seek { noise: false, .. } => None,
            State::Seek { noise: true, .. } => {
                self.len = 0;
                self.finish(Done::Error(ParseError::Noise))
            }
            State::Line => {
                self.push(terminator);
                if self.state == State::Line {
                    self.finish(Done::Line)
                } else {
                    self.finish(Done::Error(ParseError::LineTooLong))
                }
            }
            _ => {
                self.len = 0;
                self.finish(Done::Error(ParseError::LineTooLong))
            }
        }
    }
}
