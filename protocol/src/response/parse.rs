//! The grammar of what a modem sends, one line at a time: a line (without its line end) as
//! a [`Response`], and the payload headers (`+IPD,<len>:`, `+RECEIVE,<n>,<len>:`,
//! `+CIPRXGET: 2|3,...`) as what their payload becomes. Free functions over bytes, no
//! state: the decoder (`decoder`) frames lines and payloads and says who each belongs to.
//!
//! A line with a known prefix whose fields do not parse is [`Malformed`]. Any other line is
//! [`Response::Text`], or [`Response::Info`] for `+NAME: ...`.

use super::{ConnectResult, ConnectionLine, Location, Response, RxGetResponse, VoltageAlarm};
use crate::packed::{total, Packed};
use crate::types::{
    parse_decimal, ClientState, DateTime, IpState, LinkId, RegStat, SimState, Transport,
};

/// A line with a known prefix whose fields do not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Malformed;

// ---- Line parsing ------------------------------------------------------------------------

/// One line, without its line end, as a response. Payload headers are handled by the decoder
/// before this; one that reaches here is malformed.
pub(super) fn parse_line(line: &[u8]) -> Result<Response<'_>, Malformed> {
    if let Some(r) = exact(line) {
        return Ok(r);
    }
    let malformed = Err(Malformed);
    if let Some(rest) = line.strip_prefix(b"+") {
        if line.starts_with(b"+RECEIVE,") || line.starts_with(b"+IPD,") {
            return malformed;
        }
        let Some((name, params)) = split_name(rest) else {
            return Ok(Response::Text(line));
        };
        return match named(name, params) {
            Some(r) => Ok(r),
            // A test-form answer of a known name: `+CREG: (0-2)`.
            None if params.starts_with(b"(") => {
                Ok(info(name, params).unwrap_or(Response::Text(line)))
            }
            None => malformed,
        };
    }
    if let Some(state) = line.strip_prefix(b"STATE:") {
        return IpState::from_text(state.trim_ascii())
            .map(Response::State)
            .ok_or(Malformed);
    }
    if let Some(fields) = line.strip_prefix(b"C:") {
        return connection(fields)
            .map(Response::Connection)
            .ok_or(Malformed);
    }
    if let Some(fields) = line.strip_prefix(b"DATA ACCEPT:") {
        return data_accept(fields).ok_or(Malformed);
    }
    if line.first().is_some_and(u8::is_ascii_digit) {
        if let Some(r) = linked(line)? {
            return Ok(r);
        }
        if let Some(ip) = ip_address(line) {
            return Ok(Response::IpAddress(ip));
        }
    }
    Ok(Response::Text(line))
}

/// Lines that are the whole response, in [`exact`]'s order.
const EXACT_TEXTS: [&str; 9] = [
    "OK",
    "ERROR",
    "SHUT OK",
    "RDY",
    "Call Ready",
    "SMS Ready",
    "NORMAL POWER DOWN",
    "+PDP: DEACT",
    "NO CARRIER",
];
static EXACT: Packed<9, { total(&EXACT_TEXTS) }> = Packed::new(EXACT_TEXTS);

/// Lines that are the whole response ([`EXACT`], the voltage alarms, [`LINK_RESULTS`]).
fn exact(line: &[u8]) -> Option<Response<'static>> {
    let Some(i) = EXACT.position(line) else {
        let alarm = VoltageAlarm::ALL
            .into_iter()
            .find(|a| a.as_str().as_bytes() == line);
        return alarm
            .map(Response::Voltage)
            .or_else(|| link_result(None, line));
    };
    Some(match i {
        0 => Response::Ok,
        1 => Response::Error,
        2 => Response::ShutOk,
        3 => Response::Ready,
        4 => Response::CallReady,
        5 => Response::SmsReady,
        6 => Response::NormalPowerDown,
        7 => Response::PdpDeact,
        _ => Response::NoCarrier,
    })
}

/// The results that multi mode prefixes with `<n>, `, in [`link_result`]'s order.
const LINK_TEXTS: [&str; 8] = [
    "CLOSE OK",
    "SEND OK",
    "SEND FAIL",
    "CLOSED",
    "CONNECT OK",
    "CONNECT FAIL",
    "ALREADY CONNECT",
    "CONNECT",
];
static LINK_RESULTS: Packed<8, { total(&LINK_TEXTS) }> = Packed::new(LINK_TEXTS);

/// One of [`LINK_RESULTS`] as a response for `link`. (A table and one constructor: a match on
/// the texts that builds each response costs a Cortex-M0+ twice the code.)
fn link_result(link: Option<LinkId>, text: &[u8]) -> Option<Response<'static>> {
    let i = LINK_RESULTS.position(text)?;
    let connect = |result| Response::Connect { link, result };
    Some(match i {
        0 => Response::CloseOk(link),
        1 => Response::SendOk(link),
        2 => Response::SendFail(link),
        3 => Response::Closed(link),
        4 => connect(ConnectResult::Ok),
        5 => connect(ConnectResult::Fail),
        6 => connect(ConnectResult::AlreadyConnected),
        _ => connect(ConnectResult::DataMode),
    })
}

/// `<n>, CLOSED` and kin; the manual prints no space after the comma, modems print one.
fn linked(line: &[u8]) -> Result<Option<Response<'static>>, Malformed> {
    let Some((n, text)) = split_once(line, b',') else {
        return Ok(None);
    };
    let text = text.trim_ascii_start();
    if LINK_RESULTS.position(text).is_none() {
        return Ok(None);
    }
    let link = number(n).ok_or(Malformed)?;
    Ok(link_result(Some(link), text))
}

/// `+NAME: params` → (`NAME`, `params`), the name made of letters, digits and spaces
/// (`+CME ERROR`).
fn split_name(rest: &[u8]) -> Option<(&[u8], &[u8])> {
    let (name, params) = split_once(rest, b':')?;
    let valid = !name.is_empty()
        && name
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b' ' || b == b'_');
    valid.then_some((name, params.trim_ascii_start()))
}

/// The `+NAME:`s with a typed response, in [`named`]'s order.
const NAMES: [&[u8]; 13] = [
    b"CME ERROR",
    b"CMS ERROR",
    b"CSQ",
    b"CREG",
    b"CGATT",
    b"CPIN",
    b"CFUN",
    b"CCLK",
    b"CNTP",
    b"CIPSTATUS",
    b"CIPRXGET",
    b"CIPACK",
    b"PDP",
];

/// The `+NAME:` lines with a typed response; `None` if the fields do not parse. (A table of
/// names and a match on the index: a match on the names costs a Cortex-M0+ far more code.)
fn named<'a>(name: &'a [u8], p: &'a [u8]) -> Option<Response<'a>> {
    let Some(i) = NAMES.iter().position(|n| *n == name) else {
        return info(name, p);
    };
    Some(match i {
        0 | 1 => match number(p) {
            None => Response::Error,
            Some(code) if i == 0 => Response::CmeError(code),
            Some(code) => Response::CmsError(code),
        },
        2 => {
            let [rssi, ber] = exactly(p)?;
            Response::Csq {
                rssi: number(rssi)?,
                ber: number(ber)?,
            }
        }
        3 => creg(p)?,
        4 => match p {
            b"0" => Response::Cgatt(false),
            b"1" => Response::Cgatt(true),
            _ => return None,
        },
        5 => Response::Cpin(SimState::from_text(p.trim_ascii())?),
        6 => Response::Cfun(number(p)?),
        7 => Response::Cclk(cclk(unquote(p.trim_ascii()))?),
        8 => match split_once(p, b',').map_or(p, |(code, _)| code) {
            // The read form, `+CNTP: "<server>",<tz>`, is not a result.
            code if code.starts_with(b"\"") => info(name, p)?,
            // The time after a success code is dropped: the host reads the clock after.
            code => Response::Cntp(number(code)?),
        },
        9 => Response::LinkStatus(connection(p)?),
        10 => Response::RxGet(rxget(p)?),
        11 => match fields(p)? {
            ([tx, ack, nack, ..], 3) => Response::Cipack {
                txlen: number(tx)?,
                acklen: number(ack)?,
                nacklen: number(nack)?,
            },
            _ => return None,
        },
        // `+PDP: DEACT` is matched whole
        _ => return None,
    })
}

/// Any other `+NAME: params` line, if it is text.
fn info<'a>(name: &'a [u8], params: &'a [u8]) -> Option<Response<'a>> {
    let name = core::str::from_utf8(name).ok()?;
    let params = core::str::from_utf8(params).ok()?;
    Some(Response::Info { name, params })
}

/// `+CREG: <n>,<stat>[,"<lac>","<ci>"]` (read) or `+CREG: <stat>[,"<lac>","<ci>"]` (URC):
/// the count of fields tells them apart.
fn creg(p: &[u8]) -> Option<Response<'_>> {
    let (f, count) = fields(p)?;
    let (mode, rest) = match count {
        1 | 3 => (None, &f[..count]),
        2 | 4 => (Some(number(f[0])?), &f[1..count]),
        _ => return None,
    };
    let stat = RegStat::from_code(number(rest.first()?)?)?;
    let location = match rest {
        [_, lac, ci] => Some(Location {
            lac: u16::try_from(hex(unquote(lac))?).ok()?,
            ci: hex(unquote(ci))?,
        }),
        _ => None,
    };
    Some(Response::Creg {
        mode,
        stat,
        location,
    })
}

/// `"yy/MM/dd,hh:mm:ss±zz"` without its quotes.
fn cclk(s: &[u8]) -> Option<DateTime> {
    let (date, time) = split_once(s, b',')?;
    let [year, month, day] = split3(date, b'/')?;
    let sign = time.iter().position(|&b| b == b'+' || b == b'-')?;
    let (clock, zone) = time.split_at(sign);
    let [hour, minute, second] = split3(clock, b':')?;
    let quarters: i16 = number(zone.get(1..)?)?;
    let quarters = if zone.first() == Some(&b'-') {
        -quarters
    } else {
        quarters
    };
    let t = DateTime {
        year: number(year)?,
        month: number(month)?,
        day: number(day)?,
        hour: number(hour)?,
        minute: number(minute)?,
        second: number(second)?,
        quarter_hours: i8::try_from(quarters).ok()?,
    };
    let valid = t.year <= 99
        && (1..=12).contains(&t.month)
        && (1..=31).contains(&t.day)
        && t.hour < 24
        && t.minute < 60
        && t.second < 60;
    valid.then_some(t)
}

/// `<n>,<bearer>,"<TCP|UDP>","<ip>","<port>","<state>"`; an unused link has an empty bearer
/// and transport.
fn connection(p: &[u8]) -> Option<ConnectionLine<'_>> {
    let [link, bearer, transport, ip, port, state] = exactly(p)?;
    let transport = match unquote(transport) {
        b"" => None,
        t => Some(Transport::from_text(t)?),
    };
    Some(ConnectionLine {
        link: number(link)?,
        bearer: if bearer.is_empty() {
            0
        } else {
            number(bearer)?
        },
        transport,
        ip: core::str::from_utf8(unquote(ip)).ok()?,
        port: core::str::from_utf8(unquote(port)).ok()?,
        state: ClientState::from_text(unquote(state))?,
    })
}

/// `+CIPRXGET:` modes 1 and 4 (2 and 3 are payload headers, see [`rxget_header`]).
fn rxget(p: &[u8]) -> Option<RxGetResponse<'static>> {
    let (f, count) = fields(p)?;
    Some(match (f[0], count) {
        (b"1", 1) => RxGetResponse::DataReady(None),
        (b"1", 2) => RxGetResponse::DataReady(Some(number(f[1])?)),
        (b"4", 2) => RxGetResponse::Available {
            link: None,
            len: number(f[1])?,
        },
        (b"4", 3) => RxGetResponse::Available {
            link: Some(number(f[1])?),
            len: number(f[2])?,
        },
        _ => return None,
    })
}

/// `DATA ACCEPT:<len>` / `DATA ACCEPT:<n>,<len>`.
fn data_accept(p: &[u8]) -> Option<Response<'static>> {
    Some(match split_once(p, b',') {
        Some((link, len)) => Response::DataAccept {
            link: Some(number(link)?),
            len: number(len)?,
        },
        None => Response::DataAccept {
            link: None,
            len: number(p)?,
        },
    })
}

fn ip_address(line: &[u8]) -> Option<[u8; 4]> {
    let mut ip = [0; 4];
    let mut parts = line.split(|&b| b == b'.');
    for octet in &mut ip {
        let part = parts.next()?;
        if part.len() > 3 {
            return None;
        }
        *octet = number(part)?;
    }
    parts.next().is_none().then_some(ip)
}

// ---- Payload headers -----------------------------------------------------------------------

/// A payload header: what the payload becomes once read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Payload {
    Receive(LinkId),
    Ipd,
    /// `+IPD,<len>,<TCP|UDP>:` (`AT+CIPSHOWTP=1`).
    IpdTransport(Transport),
    RxGet {
        link: Option<LinkId>,
        hex: bool,
        remaining: u16,
    },
}

impl Payload {
    /// `+RECEIVE`'s payload may follow after a line end; `+IPD`'s follows the colon.
    pub(super) fn lead(self) -> Lead {
        match self {
            Payload::Receive(_) => Lead::CrLf,
            _ => Lead::None,
        }
    }

    pub(super) fn response(self, data: &[u8]) -> Response<'_> {
        match self {
            Payload::Receive(link) => Response::Receive { link, data },
            Payload::Ipd => Response::Ipd(data),
            Payload::IpdTransport(transport) => Response::IpdTransport { transport, data },
            Payload::RxGet {
                link,
                hex,
                remaining,
            } => Response::RxGet(RxGetResponse::Data {
                link,
                hex,
                remaining,
                data,
            }),
        }
    }
}

/// The line end still to skip before a payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lead {
    None,
    Lf,
    CrLf,
}

/// `+IPD,<len>:`, `+IPD,<len>,<TCP|UDP>:` or `+RECEIVE,<n>,<len>:`, complete up to its
/// colon.
pub(super) fn colon_header(line: &[u8]) -> Option<(Payload, u64)> {
    if let Some(rest) = line.strip_prefix(b"+IPD,") {
        let rest = rest.strip_suffix(b":")?;
        return Some(match split_once(rest, b',') {
            Some((len, transport)) => (
                Payload::IpdTransport(Transport::from_text(transport)?),
                parse_decimal(len)?,
            ),
            None => (Payload::Ipd, parse_decimal(rest)?),
        });
    }
    let rest = line.strip_prefix(b"+RECEIVE,")?.strip_suffix(b":")?;
    let [link, len] = exactly(rest)?;
    Some((
        Payload::Receive(number(link)?),
        parse_decimal(len.trim_ascii())?,
    ))
}

/// `+<name>,<n>,<len>:` or `+<name>,<len>:` whose name is not `RECEIVE` or `IPD` (noise
/// garbled it, [`colon_header`] refused it): the announced length.
pub(super) fn garbled_header(line: &[u8]) -> Option<u64> {
    let (f, count) = fields(line.strip_prefix(b"+")?.strip_suffix(b":")?)?;
    let (name, link, len) = match count {
        2 => (f[0], None, f[1]),
        3 => (f[0], Some(f[1]), f[2]),
        _ => return None,
    };
    let link_ok = link.is_none_or(|l| number::<u8>(l).is_some());
    let fits = name.len() >= 2 && !name.contains(&b':') && link_ok;
    fits.then(|| parse_decimal(len))?
}

/// `+CIPRXGET: <2|3>,[<n>,]<len>,<remaining>`; the payload is `2 * len` hex digits in mode 3.
pub(super) fn rxget_header(line: &[u8]) -> Option<(Payload, u64)> {
    let p = line.strip_prefix(b"+CIPRXGET:")?.trim_ascii_start();
    let (f, count) = fields(p)?;
    let hex = match f[0] {
        b"2" => false,
        b"3" => true,
        _ => return None,
    };
    let (link, len, remaining) = match count {
        3 => (None, f[1], f[2]),
        4 => (Some(number(f[1])?), f[2], f[3]),
        _ => return None,
    };
    let len = parse_decimal(len.trim_ascii())?;
    let bytes = if hex { len.saturating_mul(2) } else { len };
    Some((
        Payload::RxGet {
            link,
            hex,
            remaining: number(remaining)?,
        },
        bytes,
    ))
}

// ---- Fields ------------------------------------------------------------------------------

/// A decimal field, spaces around it allowed, that fits `T`.
fn number<T: TryFrom<u64>>(field: &[u8]) -> Option<T> {
    T::try_from(parse_decimal(field.trim_ascii())?).ok()
}

/// 1 to 8 hex digits.
fn hex(field: &[u8]) -> Option<u32> {
    if field.is_empty() || field.len() > 8 {
        return None;
    }
    field
        .iter()
        .try_fold(0u32, |acc, &b| Some(acc << 4 | (b as char).to_digit(16)?))
}

/// The field without its double quotes, if it has them.
fn unquote(field: &[u8]) -> &[u8] {
    let field = field.trim_ascii();
    match field {
        [b'"', inner @ .., b'"'] => inner,
        _ => field,
    }
}

fn split_once(s: &[u8], sep: u8) -> Option<(&[u8], &[u8])> {
    let at = s.iter().position(|&b| b == sep)?;
    Some((s.get(..at)?, s.get(at + 1..)?))
}

/// The most fields a line has ([`fields`]).
const FIELDS: usize = 6;

/// Up to [`FIELDS`] comma-separated fields and their count; `None` if there are more. (One
/// size for every caller: one copy of the code.)
fn fields(s: &[u8]) -> Option<([&[u8]; FIELDS], usize)> {
    let mut out: [&[u8]; FIELDS] = [&[]; FIELDS];
    let mut count = 0;
    for field in s.split(|&b| b == b',') {
        *out.get_mut(count)? = field;
        count += 1;
    }
    Some((out, count))
}

/// Exactly `K` comma-separated fields.
fn exactly<const K: usize>(s: &[u8]) -> Option<[&[u8]; K]> {
    let (f, count) = fields(s)?;
    let first = f.first_chunk::<K>()?;
    (count == K).then_some(*first)
}

fn split3(s: &[u8], sep: u8) -> Option<[&[u8]; 3]> {
    let (a, rest) = split_once(s, sep)?;
    let (b, c) = split_once(rest, sep)?;
    Some([a, b, c])
}
