//! What the modem answers to the HTTP and SMS commands ([`ServiceResponse`]): the lines and
//! multi-line answers that the core [`crate::Response`] has no type for. Read forms with one
//! plain line (`+CMGF: 1`, `+CSCS: "GSM"`, `+CNMI: 2,1,0,0,0`) are [`crate::Response::Info`].
//!
//! Formats and where they come from:
//!
//! | response | bytes | source |
//! |---|---|---|
//! | `DOWNLOAD` | `\r\nDOWNLOAD\r\n`, then the modem reads the bytes | SIM800 manual §15.2.4; usim800 `http.py` waits for `DOWNLOAD` |
//! | `+HTTPACTION` | `+HTTPACTION: <method>,<status>,<len>` | manual §15.2.5; usim800 parses `\+HTTPACTION:\s*\d+,(\d+),(\d+)` |
//! | `+HTTPREAD` | `+HTTPREAD: <len>\r\n<len bytes>`, then `\r\nOK\r\n` | manual §15.2.7; usim800 reads `<len>` bytes after the header's CRLF |
//! | `+HTTPSTATUS` | `+HTTPSTATUS: <GET/POST/HEAD>,<status>,<finish>,<remain>` | manual §15.2.9 |
//! | `+CMGS` | `+CMGS: <mr>` | TS 27.005 §3.5.1 |
//! | `+CMTI` | `+CMTI: "<mem>",<index>` | TS 27.005 §3.4.1; Luat `sms.lua` takes the first number after the prefix |
//! | `+CMGR` text | `+CMGR: "<stat>","<oa>","<alpha>","<scts>"[,<tooa>,<fo>,<pid>,<dcs>,"<sca>",<tosca>,<length>]\r\n<data>` | TS 27.005 §3.4.3 (`AT+CSDH=1` adds the details); TinyGSM `readSMSImpl` reads this with the details; usim800 `_parse_cmgr` with quoted fields |
//! | `+CMGR` PDU | `+CMGR: <stat>,"<alpha>",<length>\r\n<pdu hex>` | TS 27.005 §3.4.3; Luat `sms.lua` matches `+CMGR:%s*(%d),(.*),%s*(%d+)\r\n(%x+)` |
//! | `+CMGL` text | `+CMGL: <index>,"<stat>","<oa>","<alpha>","<scts>"[,<tooa>,<length>]\r\n<data>` | TS 27.005 §3.4.2; usim800 splits the header at `,"` into five fields, so `<alpha>` is written `""` |
//! | `+CMGL` PDU | `+CMGL: <index>,<stat>,"<alpha>",<length>\r\n<pdu hex>` | TS 27.005 §3.4.2 |
//! | `+CMT` | text `+CMT: "<oa>","<alpha>","<scts>"[,...]\r\n<data>`, PDU `+CMT: "<alpha>",<length>\r\n<pdu hex>` | TS 27.005 §3.4.1 |
//! | `+CPMS` | set: `+CPMS: <used1>,<total1>,<used2>,<total2>,<used3>,<total3>`; read: each with `"<mem>",` before | TS 27.005 §3.2.2; TinyGSM `getPreferredSMSStorageImpl` |
//!
//! UNCONFIRMED: an empty `<alpha>` written as `""` rather than left empty (both are valid;
//! SIMCom's manual examples show `""`).

use crate::encode::{BufferFull, Writer};
use crate::types::{parse_decimal, DateTime};

/// One HTTP or SMS answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceResponse<'a> {
    /// `DOWNLOAD`: `AT+HTTPDATA` waits for its bytes.
    Download,
    /// `+HTTPACTION: <method>,<status>,<len>`: the end of an `AT+HTTPACTION`.
    HttpAction { method: u8, status: u16, len: u32 },
    /// `+HTTPREAD: <len>` and the bytes.
    HttpRead(&'a [u8]),
    /// `+HTTPSTATUS: <method>,<state>,<finish>,<remain>`; state 0 idle, 1 receiving,
    /// 2 sending.
    HttpStatus {
        method: u8,
        state: u8,
        finish: u32,
        remain: u32,
    },
    /// `+CMGS: <mr>`
    Cmgs(u8),
    /// `+CMTI: "<mem>",<index>`: a message was stored.
    Cmti { storage: &'a str, index: u16 },
    /// `+CMGR: ...` and the message.
    Cmgr(SmsEntry<'a>),
    /// `+CMGL: <index>,...` and the message.
    Cmgl { index: u16, entry: SmsEntry<'a> },
    /// `+CMT: ...` and the message (`AT+CNMI=<mode>,2`: shown, not stored).
    Cmt(SmsEntry<'a>),
    /// `+CPMS: ...`: with the storage names (read form) or without (set form).
    Cpms {
        storages: Option<[&'a str; 3]>,
        counts: [(u16, u16); 3],
    },
}

/// A message as `+CMGR`, `+CMGL` and `+CMT` show it: a header and one line of data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmsEntry<'a> {
    pub head: SmsHead<'a>,
    /// Text mode: the text in the character set of `AT+CSCS`; PDU mode: the PDU in hex.
    pub body: &'a [u8],
}

/// The header fields of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsHead<'a> {
    /// Text mode. `stat` (`"REC UNREAD"` ...) is absent in `+CMT`.
    Text {
        stat: Option<&'a str>,
        address: &'a str,
        alpha: &'a str,
        timestamp: DateTime,
        details: Option<TextDetails<'a>>,
    },
    /// PDU mode. `stat` (0 unread ... 4 all) is absent in `+CMT`; `length` counts the TPDU's
    /// octets.
    Pdu {
        stat: Option<u8>,
        alpha: &'a str,
        length: u16,
    },
}

/// The fields `AT+CSDH=1` adds in text mode. `+CMGL` shows only `<tooa>,<length>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextDetails<'a> {
    pub tooa: u8,
    pub length: u16,
    /// `<fo>,<pid>,<dcs>,"<sca>",<tosca>` (`+CMGR`, `+CMT`).
    pub more: Option<MoreDetails<'a>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MoreDetails<'a> {
    pub fo: u8,
    pub pid: u8,
    pub dcs: u8,
    pub sca: &'a str,
    pub tosca: u8,
}

/// `AT+HTTPACTION`'s methods as `+HTTPSTATUS` names them.
const METHODS: [&str; 3] = ["GET", "POST", "HEAD"];

impl ServiceResponse<'_> {
    /// Writes the answer as the modem sends it: `\r\n<line>\r\n`, and for the multi-line ones
    /// the header line, its `\r\n`, the data, and (for messages) `\r\n`. `+HTTPREAD`'s data
    /// ends without a line end: the `\r\nOK\r\n` after it is the final result.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, BufferFull> {
        let mut w = Writer::new(out);
        w.str("\r\n")?;
        match *self {
            ServiceResponse::Download => w.str("DOWNLOAD\r\n")?,
            ServiceResponse::HttpAction {
                method,
                status,
                len,
            } => w
                .str("+HTTPACTION: ")?
                .num(method.into())?
                .str(",")?
                .num(status.into())?
                .str(",")?
                .num(len.into())?
                .str("\r\n")?,
            ServiceResponse::HttpRead(data) => w
                .str("+HTTPREAD: ")?
                .num(data.len() as u64)?
                .str("\r\n")?
                .bytes(data)?,
            ServiceResponse::HttpStatus {
                method,
                state,
                finish,
                remain,
            } => w
                .str("+HTTPSTATUS: ")?
                .str(METHODS.get(usize::from(method)).copied().unwrap_or("GET"))?
                .str(",")?
                .num(state.into())?
                .str(",")?
                .num(finish.into())?
                .str(",")?
                .num(remain.into())?
                .str("\r\n")?,
            ServiceResponse::Cmgs(mr) => w.str("+CMGS: ")?.num(mr.into())?.str("\r\n")?,
            ServiceResponse::Cmti { storage, index } => w
                .str("+CMTI: ")?
                .quoted(storage)?
                .str(",")?
                .num(index.into())?
                .str("\r\n")?,
            ServiceResponse::Cmgr(entry) => entry.write(w.str("+CMGR: ")?)?,
            ServiceResponse::Cmgl { index, entry } => {
                entry.write(w.str("+CMGL: ")?.num(index.into())?.str(",")?)?
            }
            ServiceResponse::Cmt(entry) => entry.write(w.str("+CMT: ")?)?,
            ServiceResponse::Cpms { storages, counts } => {
                w.str("+CPMS: ")?;
                for (i, (used, total)) in counts.iter().enumerate() {
                    if i > 0 {
                        w.str(",")?;
                    }
                    if let Some(mem) = storages.and_then(|s| s.get(i).copied()) {
                        w.quoted(mem)?.str(",")?;
                    }
                    w.num((*used).into())?.str(",")?.num((*total).into())?;
                }
                w.str("\r\n")?
            }
        };
        Ok(w.len())
    }
}

impl SmsEntry<'_> {
    fn write<'w, 'b>(&self, w: &'w mut Writer<'b>) -> Result<&'w mut Writer<'b>, BufferFull> {
        match self.head {
            SmsHead::Text {
                stat,
                address,
                alpha,
                timestamp,
                details,
            } => {
                if let Some(stat) = stat {
                    w.quoted(stat)?.str(",")?;
                }
                w.quoted(address)?.str(",")?.quoted(alpha)?.str(",\"")?;
                clock(w, &timestamp)?.str("\"")?;
                if let Some(d) = details {
                    w.str(",")?.num(d.tooa.into())?.str(",")?;
                    if let Some(m) = d.more {
                        w.num(m.fo.into())?.str(",")?.num(m.pid.into())?.str(",")?;
                        w.num(m.dcs.into())?.str(",")?.quoted(m.sca)?.str(",")?;
                        w.num(m.tosca.into())?.str(",")?;
                    }
                    w.num(d.length.into())?;
                }
            }
            SmsHead::Pdu {
                stat,
                alpha,
                length,
            } => {
                if let Some(stat) = stat {
                    w.num(stat.into())?.str(",")?;
                }
                w.quoted(alpha)?.str(",")?.num(length.into())?;
            }
        }
        w.str("\r\n")?.bytes(self.body)?.str("\r\n")
    }
}

/// `yy/MM/dd,hh:mm:ss±zz`, as `+CCLK` and text-mode time stamps write it.
fn clock<'w, 'b>(w: &'w mut Writer<'b>, t: &DateTime) -> Result<&'w mut Writer<'b>, BufferFull> {
    let two = |w: &'w mut Writer<'b>, n: u8| -> Result<&'w mut Writer<'b>, BufferFull> {
        if n < 10 {
            w.str("0")?;
        }
        w.num(n.into())
    };
    let w = two(w, t.year)?.str("/")?;
    let w = two(w, t.month)?.str("/")?;
    let w = two(w, t.day)?.str(",")?;
    let w = two(w, t.hour)?.str(":")?;
    let w = two(w, t.minute)?.str(":")?;
    let w = two(w, t.second)?.str(if t.quarter_hours < 0 { "-" } else { "+" })?;
    two(w, t.quarter_hours.unsigned_abs())
}

/// Why bytes are not (yet) a service answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceDecodeError {
    /// More bytes are needed: the line, its data, or the line end after it.
    Incomplete,
    /// A line that is none of these answers (`OK`, a URC of the TCP/IP set, ...).
    NotService,
    /// One of these answers whose fields do not parse.
    Malformed,
}

impl<'a> ServiceResponse<'a> {
    /// Reads one answer from the start of `input`, which begins where a line begins (after
    /// the `\r\n` that precedes every answer), and returns it and the bytes it took: its line
    /// end, its data and the line end after a message's data included.
    pub fn decode(input: &'a [u8]) -> Result<(ServiceResponse<'a>, usize), ServiceDecodeError> {
        use ServiceDecodeError::{Incomplete, Malformed, NotService};
        let end = input
            .iter()
            .position(|&b| b == b'\r' || b == b'\n')
            .ok_or(Incomplete)?;
        let (line, rest) = input.split_at(end);
        let after = match rest {
            [b'\r', b'\n', ..] => end + 2,
            [b'\r'] => return Err(Incomplete),
            _ => end + 1,
        };
        if line == b"DOWNLOAD" {
            return Ok((ServiceResponse::Download, after));
        }
        let (name, params) = line
            .strip_prefix(b"+")
            .and_then(|l| {
                let colon = l.iter().position(|&b| b == b':')?;
                Some((&l[..colon], l[colon + 1..].trim_ascii_start()))
            })
            .ok_or(NotService)?;
        let data = input.get(after..).unwrap_or_default();
        let one = |r: Option<ServiceResponse<'a>>| r.map(|r| (r, after)).ok_or(Malformed);
        match name {
            b"HTTPACTION" => one(http_action(params)),
            b"HTTPSTATUS" => one(http_status(params)),
            b"CMGS" => one(num(params).map(ServiceResponse::Cmgs)),
            b"CMTI" => one(cmti(params)),
            b"CPMS" => one(cpms(params)),
            b"HTTPREAD" => {
                let len: usize = num(params).ok_or(Malformed)?;
                let bytes = data.get(..len).ok_or(Incomplete)?;
                Ok((ServiceResponse::HttpRead(bytes), after + len))
            }
            b"CMGR" | b"CMGL" | b"CMT" => {
                // The data is the next line; its `\r\n` must have come.
                let body_end = data
                    .windows(2)
                    .position(|p| p == b"\r\n")
                    .ok_or(Incomplete)?;
                let body = &data[..body_end];
                let taken = after + body_end + 2;
                let response = match name {
                    b"CMGR" => entry(params, true, body).map(ServiceResponse::Cmgr),
                    b"CMT" => entry(params, false, body).map(ServiceResponse::Cmt),
                    _ => {
                        let comma = params.iter().position(|&b| b == b',').ok_or(Malformed)?;
                        let index = num(&params[..comma]).ok_or(Malformed)?;
                        entry(&params[comma + 1..], true, body)
                            .map(|entry| ServiceResponse::Cmgl { index, entry })
                    }
                };
                response.map(|r| (r, taken)).ok_or(Malformed)
            }
            _ => Err(NotService),
        }
    }
}

fn num<T: TryFrom<u64>>(field: &[u8]) -> Option<T> {
    T::try_from(parse_decimal(field.trim_ascii())?).ok()
}

/// The text inside double quotes (UTF-8, no `"` inside).
fn quoted(field: &[u8]) -> Option<&str> {
    match field.trim_ascii() {
        [b'"', inner @ .., b'"'] if !inner.contains(&b'"') => core::str::from_utf8(inner).ok(),
        _ => None,
    }
}

/// Up to `K` fields split at commas outside quotes, and their count.
fn fields<const K: usize>(s: &[u8]) -> Option<([&[u8]; K], usize)> {
    let mut out: [&[u8]; K] = [&[]; K];
    let (mut count, mut start, mut in_quotes) = (0, 0, false);
    for (i, &b) in s.iter().enumerate().chain([(s.len(), &b',')]) {
        if b == b'"' {
            in_quotes = !in_quotes;
        } else if b == b',' && !in_quotes {
            *out.get_mut(count)? = s.get(start..i)?;
            count += 1;
            start = i + 1;
        }
    }
    Some((out, count))
}

fn http_action(p: &[u8]) -> Option<ServiceResponse<'_>> {
    let ([method, status, len], 3) = fields::<3>(p)? else {
        return None;
    };
    Some(ServiceResponse::HttpAction {
        method: num(method)?,
        status: num(status)?,
        len: num(len)?,
    })
}

fn http_status(p: &[u8]) -> Option<ServiceResponse<'_>> {
    let ([method, state, finish, remain], 4) = fields::<4>(p)? else {
        return None;
    };
    let method = METHODS
        .iter()
        .position(|m| m.as_bytes() == method.trim_ascii())?;
    Some(ServiceResponse::HttpStatus {
        method: method as u8,
        state: num(state)?,
        finish: num(finish)?,
        remain: num(remain)?,
    })
}

fn cmti(p: &[u8]) -> Option<ServiceResponse<'_>> {
    let ([storage, index], 2) = fields::<2>(p)? else {
        return None;
    };
    Some(ServiceResponse::Cmti {
        storage: quoted(storage)?,
        index: num(index)?,
    })
}

fn cpms(p: &[u8]) -> Option<ServiceResponse<'_>> {
    let (f, count) = fields::<9>(p)?;
    let mut counts = [(0, 0); 3];
    let (storages, numbers): (Option<[&str; 3]>, [&[u8]; 6]) = match count {
        6 => (None, [f[0], f[1], f[2], f[3], f[4], f[5]]),
        9 => (
            Some([quoted(f[0])?, quoted(f[3])?, quoted(f[6])?]),
            [f[1], f[2], f[4], f[5], f[7], f[8]],
        ),
        _ => return None,
    };
    for (slot, pair) in counts.iter_mut().zip(numbers.chunks_exact(2)) {
        *slot = (num(pair[0])?, num(pair[1])?);
    }
    Some(ServiceResponse::Cpms { storages, counts })
}

/// A message header: text mode when its first field is quoted (`+CMGR`, `+CMGL`: the
/// status; `+CMT`: the address). `stat`: whether the header has a status field.
fn entry<'a>(p: &'a [u8], stat: bool, body: &'a [u8]) -> Option<SmsEntry<'a>> {
    let (f, count) = fields::<12>(p)?;
    let text = f[0].trim_ascii().starts_with(b"\"") && (stat || count != 2);
    let head = if text {
        let (stat, f) = if stat {
            (Some(quoted(f[0])?), f.get(1..count)?)
        } else {
            (None, f.get(..count)?)
        };
        let [address, alpha, time, details @ ..] = f else {
            return None;
        };
        let details = match details {
            [] => None,
            [tooa, length] => Some(TextDetails {
                tooa: num(tooa)?,
                length: num(length)?,
                more: None,
            }),
            [tooa, fo, pid, dcs, sca, tosca, length] => Some(TextDetails {
                tooa: num(tooa)?,
                length: num(length)?,
                more: Some(MoreDetails {
                    fo: num(fo)?,
                    pid: num(pid)?,
                    dcs: num(dcs)?,
                    sca: quoted(sca)?,
                    tosca: num(tosca)?,
                }),
            }),
            _ => return None,
        };
        SmsHead::Text {
            stat,
            address: quoted(address)?,
            alpha: quoted(alpha).unwrap_or(""),
            timestamp: timestamp(quoted(time)?.as_bytes())?,
            details,
        }
    } else {
        let (stat, rest) = if stat {
            (Some(num(f[0])?), f.get(1..count)?)
        } else {
            (None, f.get(..count)?)
        };
        let [alpha, length] = rest else {
            return None;
        };
        SmsHead::Pdu {
            stat,
            alpha: quoted(alpha).unwrap_or(""),
            length: num(length)?,
        }
    };
    Some(SmsEntry { head, body })
}

/// `yy/MM/dd,hh:mm:ss±zz`.
fn timestamp(s: &[u8]) -> Option<DateTime> {
    let &[y0, y1, b'/', mo0, mo1, b'/', d0, d1, b',', h0, h1, b':', mi0, mi1, b':', s0, s1, sign, z0, z1] =
        s
    else {
        return None;
    };
    let two = |a: u8, b: u8| num::<u8>(&[a, b]);
    let quarters = two(z0, z1)? as i8;
    let t = DateTime {
        year: two(y0, y1)?,
        month: two(mo0, mo1)?,
        day: two(d0, d1)?,
        hour: two(h0, h1)?,
        minute: two(mi0, mi1)?,
        second: two(s0, s1)?,
        quarter_hours: match sign {
            b'+' => quarters,
            b'-' => -quarters,
            _ => return None,
        },
    };
    Some(t)
}
