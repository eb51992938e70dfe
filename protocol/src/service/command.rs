//! The HTTP application and SMS commands as values ([`ServiceCommand`]), their encoder and
//! their parser.
//!
//! Forms and ranges, by command (SIM800 Series AT Command Manual V1.09, §15.2 for HTTP,
//! §3.2 / §4 for SMS; 3GPP TS 27.005 §3 for the SMS commands SIMCom takes from it):
//!
//! | command | set form |
//! |---|---|
//! | `AT+HTTPINIT`, `AT+HTTPTERM` | exec only |
//! | `AT+HTTPPARA` | `="<tag>",<value>`: `"CID",1` (a number, as usim800 writes it) or a quoted value (`"URL","http://…"`, `"CONTENT"`, `"USERDATA"`, `"UA"`, `"TIMEOUT"`, ...) |
//! | `AT+HTTPDATA` | `=<size>,<time ms>`, then `DOWNLOAD` and the bytes |
//! | `AT+HTTPACTION` | `=<method>`: 0 GET, 1 POST, 2 HEAD |
//! | `AT+HTTPREAD` | exec (all), or `=<start>,<size>` |
//! | `AT+HTTPSTATUS` | read only |
//! | `AT+HTTPSSL` | `=<0/1>` |
//! | `AT+CMGF` | `=<0/1>`: PDU, text |
//! | `AT+CSCS` | `="<chset>"` (`"GSM"`, `"IRA"`, `"UCS2"`, `"HEX"`, ...) |
//! | `AT+CMGHEX` | `=<0/1>` |
//! | `AT+CSMP` | `=<fo>[,<vp>[,<pid>[,<dcs>]]]` |
//! | `AT+CSDH` | `=<0/1>` |
//! | `AT+CPMS` | `="<mem1>"[,"<mem2>"[,"<mem3>"]]` |
//! | `AT+CNMI` | `=<mode>[,<mt>[,<bm>[,<ds>[,<bfr>]]]]` |
//! | `AT+CMGS` | text mode `="<da>"[,<toda>]`, PDU mode `=<length>`; then `> `, the text or PDU hex, Ctrl-Z (ESC cancels) |
//! | `AT+CMGR` | `=<index>[,<mode>]` (TinyGSM sends the mode) |
//! | `AT+CMGL` | `=<stat>[,<mode>]`: `"ALL"`, `"REC UNREAD"`, ... in text mode, 0–4 in PDU mode |
//! | `AT+CMGD` | `=<index>[,<delflag>]` |
//! | `AT+CMGDA` | `="DEL ALL"` ... in text mode, 1–6 in PDU mode (TinyGSM `deleteAllSMS`) |

use crate::command::parser::{flag, number, split_fields, string, MAX_FIELDS};
use crate::command::{DataMode, ParseError};
use crate::encode::{BufferFull, Writer};

/// The commands by name, for their generic forms: test (`=?`), read (`?`) and execute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceName {
    Httpinit,
    Httpterm,
    Httppara,
    Httpdata,
    Httpaction,
    Httpread,
    Httpstatus,
    Httpssl,
    Cmgf,
    Cscs,
    Cmghex,
    Csmp,
    Csdh,
    Cpms,
    Cnmi,
    Cmgs,
    Cmgr,
    Cmgl,
    Cmgd,
    Cmgda,
}

impl ServiceName {
    pub const ALL: [ServiceName; 20] = [
        ServiceName::Httpinit,
        ServiceName::Httpterm,
        ServiceName::Httppara,
        ServiceName::Httpdata,
        ServiceName::Httpaction,
        ServiceName::Httpread,
        ServiceName::Httpstatus,
        ServiceName::Httpssl,
        ServiceName::Cmgf,
        ServiceName::Cscs,
        ServiceName::Cmghex,
        ServiceName::Csmp,
        ServiceName::Csdh,
        ServiceName::Cpms,
        ServiceName::Cnmi,
        ServiceName::Cmgs,
        ServiceName::Cmgr,
        ServiceName::Cmgl,
        ServiceName::Cmgd,
        ServiceName::Cmgda,
    ];

    /// The name as written after `AT+`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ServiceName::Httpinit => "HTTPINIT",
            ServiceName::Httpterm => "HTTPTERM",
            ServiceName::Httppara => "HTTPPARA",
            ServiceName::Httpdata => "HTTPDATA",
            ServiceName::Httpaction => "HTTPACTION",
            ServiceName::Httpread => "HTTPREAD",
            ServiceName::Httpstatus => "HTTPSTATUS",
            ServiceName::Httpssl => "HTTPSSL",
            ServiceName::Cmgf => "CMGF",
            ServiceName::Cscs => "CSCS",
            ServiceName::Cmghex => "CMGHEX",
            ServiceName::Csmp => "CSMP",
            ServiceName::Csdh => "CSDH",
            ServiceName::Cpms => "CPMS",
            ServiceName::Cnmi => "CNMI",
            ServiceName::Cmgs => "CMGS",
            ServiceName::Cmgr => "CMGR",
            ServiceName::Cmgl => "CMGL",
            ServiceName::Cmgd => "CMGD",
            ServiceName::Cmgda => "CMGDA",
        }
    }

    /// Case-insensitive lookup.
    pub fn from_text(text: &[u8]) -> Option<ServiceName> {
        ServiceName::ALL
            .into_iter()
            .find(|n| n.as_str().as_bytes().eq_ignore_ascii_case(text))
    }

    /// Whether this is an SMS command (the rest are the HTTP application's).
    pub fn is_sms(self) -> bool {
        !matches!(
            self,
            ServiceName::Httpinit
                | ServiceName::Httpterm
                | ServiceName::Httppara
                | ServiceName::Httpdata
                | ServiceName::Httpaction
                | ServiceName::Httpread
                | ServiceName::Httpstatus
                | ServiceName::Httpssl
        )
    }
}

/// A parameter that is a number or a quoted string (`AT+HTTPPARA`'s value, `AT+CMGL`'s
/// status, `AT+CMGDA`'s type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param<'a> {
    Number(u32),
    Text(&'a str),
}

/// `AT+CMGS`'s two spellings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmgsTarget<'a> {
    /// Text mode: the destination and its type of address.
    Text { da: &'a str, toda: Option<u8> },
    /// PDU mode: the TPDU's length in octets (the service centre address not counted).
    Pdu { length: u8 },
}

/// One HTTP or SMS command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceCommand<'a> {
    /// `AT+NAME=?`
    Test(ServiceName),
    /// `AT+NAME?`
    Read(ServiceName),
    /// `AT+NAME`
    Exec(ServiceName),
    /// `AT+HTTPPARA="<tag>",<value>`
    Httppara { tag: &'a str, value: Param<'a> },
    /// `AT+HTTPDATA=<size>,<time>`: `size` bytes follow `DOWNLOAD`, within `time_ms`.
    Httpdata { size: u32, time_ms: u32 },
    /// `AT+HTTPACTION=<method>`
    Httpaction(u8),
    /// `AT+HTTPREAD=<start>,<size>`
    Httpread { start: u32, size: u32 },
    /// `AT+HTTPSSL=<0/1>`
    Httpssl(bool),
    /// `AT+CMGF=<0/1>`: `true` is text mode.
    Cmgf(bool),
    /// `AT+CSCS="<chset>"`
    Cscs(&'a str),
    /// `AT+CMGHEX=<0/1>`
    Cmghex(bool),
    /// `AT+CSMP=<fo>[,<vp>[,<pid>[,<dcs>]]]`: the parameters given, in order.
    Csmp([Option<u8>; 4]),
    /// `AT+CSDH=<0/1>`
    Csdh(bool),
    /// `AT+CPMS="<mem1>"[,"<mem2>"[,"<mem3>"]]`
    Cpms([Option<&'a str>; 3]),
    /// `AT+CNMI=<mode>[,<mt>[,<bm>[,<ds>[,<bfr>]]]]`: the parameters given, in order.
    Cnmi([Option<u8>; 5]),
    /// `AT+CMGS=...`
    Cmgs(CmgsTarget<'a>),
    /// `AT+CMGR=<index>[,<mode>]`: mode 1 leaves the status unchanged.
    Cmgr { index: u16, mode: Option<u8> },
    /// `AT+CMGL=<stat>[,<mode>]`
    Cmgl { stat: Param<'a>, mode: Option<u8> },
    /// `AT+CMGD=<index>[,<delflag>]`
    Cmgd { index: u16, flag: Option<u8> },
    /// `AT+CMGDA=<type>`
    Cmgda(Param<'a>),
}

impl<'a> ServiceCommand<'a> {
    /// Parses one command's text as a line segment holds it (`+HTTPINIT`, `+CMGF=1`); the
    /// `AT` or `;` before it is not part of it. `Err(UnknownCommand)` for any other name.
    pub fn parse(text: &'a [u8]) -> Result<ServiceCommand<'a>, ParseError> {
        let rest = text.strip_prefix(b"+").ok_or(ParseError::UnknownCommand)?;
        let name_end = rest
            .iter()
            .position(|&b| b == b'=' || b == b'?')
            .unwrap_or(rest.len());
        let (name, form) = rest.split_at(name_end);
        let name = ServiceName::from_text(name).ok_or(ParseError::UnknownCommand)?;
        match form {
            b"" => Ok(ServiceCommand::Exec(name)),
            b"?" => Ok(ServiceCommand::Read(name)),
            b"=?" => Ok(ServiceCommand::Test(name)),
            [b'=', params @ ..] => {
                let mut fields = [&b""[..]; MAX_FIELDS];
                let count = split_fields(params, &mut fields)?;
                set_form(name, fields.get(..count).unwrap_or_default())
            }
            _ => Err(ParseError::BadParameters),
        }
    }

    pub fn name(&self) -> ServiceName {
        use ServiceCommand as C;
        match self {
            C::Test(name) | C::Read(name) | C::Exec(name) => *name,
            C::Httppara { .. } => ServiceName::Httppara,
            C::Httpdata { .. } => ServiceName::Httpdata,
            C::Httpaction(_) => ServiceName::Httpaction,
            C::Httpread { .. } => ServiceName::Httpread,
            C::Httpssl(_) => ServiceName::Httpssl,
            C::Cmgf(_) => ServiceName::Cmgf,
            C::Cscs(_) => ServiceName::Cscs,
            C::Cmghex(_) => ServiceName::Cmghex,
            C::Csmp(_) => ServiceName::Csmp,
            C::Csdh(_) => ServiceName::Csdh,
            C::Cpms(_) => ServiceName::Cpms,
            C::Cnmi(_) => ServiceName::Cnmi,
            C::Cmgs(_) => ServiceName::Cmgs,
            C::Cmgr { .. } => ServiceName::Cmgr,
            C::Cmgl { .. } => ServiceName::Cmgl,
            C::Cmgd { .. } => ServiceName::Cmgd,
            C::Cmgda(_) => ServiceName::Cmgda,
        }
    }

    /// How the input after the prompt ends: Ctrl-Z for `AT+CMGS` (ESC cancels), at most
    /// `ctrl_z_max` bytes. `AT+HTTPDATA`'s bytes are counted by the modem, not the parser:
    /// they may be far more than a line buffer holds.
    pub fn data_mode(&self, ctrl_z_max: u16) -> Option<DataMode> {
        matches!(self, ServiceCommand::Cmgs(_)).then_some(DataMode::CtrlZ { max: ctrl_z_max })
    }

    /// Writes the command as the host sends it, `AT<body>\r`, and returns its length. Every
    /// value parses back to itself, except a `Csmp` / `Cnmi` / `Cpms` with a gap (a `None`
    /// before a `Some`): parameters are written up to the first missing one.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, BufferFull> {
        crate::encode::command_line(out, |w| self.write_body(w))
    }

    /// Writes only what follows `AT` (or `;` in a chain).
    pub fn encode_body(&self, out: &mut [u8]) -> Result<usize, BufferFull> {
        crate::encode::written(out, |w| self.write_body(w))
    }

    fn write_body(&self, w: &mut Writer<'_>) -> Result<(), BufferFull> {
        use ServiceCommand as C;
        w.bytes(b"+")?.str(self.name().as_str())?;
        match *self {
            C::Test(_) => return w.bytes(b"=?").map(drop),
            C::Read(_) => return w.bytes(b"?").map(drop),
            C::Exec(_) => return Ok(()),
            _ => w.bytes(b"=")?,
        };
        match *self {
            C::Httppara { tag, value } => param(w.quoted(tag)?.bytes(b",")?, value)?,
            C::Httpdata { size, time_ms } => {
                w.num(size.into())?.bytes(b",")?.num(time_ms.into())?
            }
            C::Httpaction(n) => w.num(n.into())?,
            C::Httpread { start, size } => w.num(start.into())?.bytes(b",")?.num(size.into())?,
            C::Httpssl(on) | C::Cmgf(on) | C::Cmghex(on) | C::Csdh(on) => w.num(on.into())?,
            C::Cscs(chset) => w.quoted(chset)?,
            C::Csmp(values) => numbers(w, &values)?,
            C::Cnmi(values) => numbers(w, &values)?,
            C::Cpms(mems) => {
                for (i, mem) in mems.iter().map_while(|m| *m).enumerate() {
                    if i > 0 {
                        w.bytes(b",")?;
                    }
                    w.quoted(mem)?;
                }
                w
            }
            C::Cmgs(CmgsTarget::Text { da, toda }) => {
                w.quoted(da)?;
                match toda {
                    Some(t) => w.bytes(b",")?.num(t.into())?,
                    None => w,
                }
            }
            C::Cmgs(CmgsTarget::Pdu { length }) => w.num(length.into())?,
            C::Cmgr { index, mode: n } | C::Cmgd { index, flag: n } => {
                w.num(index.into())?;
                match n {
                    Some(n) => w.bytes(b",")?.num(n.into())?,
                    None => w,
                }
            }
            C::Cmgl { stat, mode } => {
                param(w, stat)?;
                match mode {
                    Some(n) => w.bytes(b",")?.num(n.into())?,
                    None => w,
                }
            }
            C::Cmgda(kind) => param(w, kind)?,
            C::Test(_) | C::Read(_) | C::Exec(_) => w,
        };
        Ok(())
    }
}

fn param<'w, 'b>(
    w: &'w mut Writer<'b>,
    value: Param<'_>,
) -> Result<&'w mut Writer<'b>, BufferFull> {
    match value {
        Param::Number(n) => w.num(n.into()),
        Param::Text(text) => w.quoted(text),
    }
}

/// The numbers up to the first missing one, separated by commas.
fn numbers<'w, 'b>(
    w: &'w mut Writer<'b>,
    values: &[Option<u8>],
) -> Result<&'w mut Writer<'b>, BufferFull> {
    for (i, n) in values.iter().map_while(|v| *v).enumerate() {
        if i > 0 {
            w.bytes(b",")?;
        }
        w.num(n.into())?;
    }
    Ok(w)
}

/// A number or a quoted string.
fn param_of(field: &[u8]) -> Result<Param<'_>, ParseError> {
    match field.first() {
        Some(b'"') => Ok(Param::Text(string(field)?)),
        _ => Ok(Param::Number(number(field)?)),
    }
}

/// 1 to `N` numbers into an array of options.
fn optional_numbers<const N: usize>(fields: &[&[u8]]) -> Result<[Option<u8>; N], ParseError> {
    if fields.is_empty() || fields.len() > N {
        return Err(ParseError::BadParameters);
    }
    let mut values = [None; N];
    for (slot, field) in values.iter_mut().zip(fields) {
        *slot = Some(number(field)?);
    }
    Ok(values)
}

#[rustfmt::skip]
fn set_form<'a>(name: ServiceName, fields: &[&'a [u8]]) -> Result<ServiceCommand<'a>, ParseError> {
    use ServiceCommand as C;
    use ServiceName as N;
    Ok(match (name, fields) {
        (N::Httppara, [tag, value]) => C::Httppara { tag: string(tag)?, value: param_of(value)? },
        (N::Httpdata, [size, time]) => C::Httpdata { size: number(size)?, time_ms: number(time)? },
        (N::Httpaction, [method]) => C::Httpaction(number(method)?),
        (N::Httpread, [start, size]) => C::Httpread { start: number(start)?, size: number(size)? },
        (N::Httpssl, [on]) => C::Httpssl(flag(on)?),
        (N::Cmgf, [on]) => C::Cmgf(flag(on)?),
        (N::Cscs, [chset]) => C::Cscs(string(chset)?),
        (N::Cmghex, [on]) => C::Cmghex(flag(on)?),
        (N::Csmp, fields) => C::Csmp(optional_numbers(fields)?),
        (N::Csdh, [on]) => C::Csdh(flag(on)?),
        (N::Cpms, fields) if (1..=3).contains(&fields.len()) => {
            let mut mems = [None; 3];
            for (slot, field) in mems.iter_mut().zip(fields) {
                *slot = Some(string(field)?);
            }
            C::Cpms(mems)
        }
        (N::Cnmi, fields) => C::Cnmi(optional_numbers(fields)?),
        (N::Cmgs, [target, rest @ ..]) if rest.len() <= 1 => match (param_of(target)?, rest) {
            (Param::Text(da), []) => C::Cmgs(CmgsTarget::Text { da, toda: None }),
            (Param::Text(da), [toda]) => C::Cmgs(CmgsTarget::Text { da, toda: Some(number(toda)?) }),
            (Param::Number(length), []) => {
                let length = u8::try_from(length).map_err(|_| ParseError::BadParameters)?;
                C::Cmgs(CmgsTarget::Pdu { length })
            }
            _ => return Err(ParseError::BadParameters),
        },
        (N::Cmgr, [index]) => C::Cmgr { index: number(index)?, mode: None },
        (N::Cmgr, [index, mode]) => C::Cmgr { index: number(index)?, mode: Some(number(mode)?) },
        (N::Cmgl, [stat]) => C::Cmgl { stat: param_of(stat)?, mode: None },
        (N::Cmgl, [stat, mode]) => C::Cmgl { stat: param_of(stat)?, mode: Some(number(mode)?) },
        (N::Cmgd, [index]) => C::Cmgd { index: number(index)?, flag: None },
        (N::Cmgd, [index, flag]) => C::Cmgd { index: number(index)?, flag: Some(number(flag)?) },
        (N::Cmgda, [kind]) => C::Cmgda(param_of(kind)?),
        _ => return Err(ParseError::BadParameters),
    })
}
