//! What the modem sends to the host: final results, information lines and URCs as values
//! ([`Response`]), their encoder (the modem side), and the firmware side's incremental
//! [`Decoder`], which tells a URC from the answer to the pending command.
//!
//! The reference is `shared/reference/sim800-tcpip-at.md` §1–§2.

mod decoder;
mod parse;

pub use decoder::{DecodeError, Decoder, Event};

use crate::encode::{BufferFull, Writer};
use crate::types::{ClientState, DateTime, IpState, LinkId, RegStat, SimState, Transport};

/// One thing the modem says: a line, the `> ` prompt, or a header with its raw payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response<'a> {
    // Final result codes.
    /// `OK`
    Ok,
    /// `ERROR`
    Error,
    /// `+CME ERROR: <n>`
    CmeError(u16),
    /// `+CMS ERROR: <n>`
    CmsError(u16),
    /// `SHUT OK`: the answer to `AT+CIPSHUT`.
    ShutOk,
    /// `CLOSE OK` (single) / `<n>, CLOSE OK` (multi): the answer to `AT+CIPCLOSE`.
    CloseOk(Option<LinkId>),

    // Sending.
    /// `> `: the modem waits for the data of `AT+CIPSEND`.
    Prompt,
    /// `SEND OK` / `<n>, SEND OK`
    SendOk(Option<LinkId>),
    /// `SEND FAIL` / `<n>, SEND FAIL`
    SendFail(Option<LinkId>),
    /// `DATA ACCEPT:<len>` / `DATA ACCEPT:<n>,<len>` (with `AT+CIPQSEND=1`).
    DataAccept { link: Option<LinkId>, len: u16 },

    // Connections.
    /// `CONNECT OK` / `<n>, CONNECT OK`, and `CONNECT FAIL`, `ALREADY CONNECT`.
    Connect {
        link: Option<LinkId>,
        result: ConnectResult,
    },
    /// `CLOSED` / `<n>, CLOSED`: the peer closed or the link dropped.
    Closed(Option<LinkId>),
    /// `+PDP: DEACT`: the network released the PDP context.
    PdpDeact,
    /// `NO CARRIER`: `ATO` found no transparent link to go back to (V.250 §6.3.7).
    NoCarrier,
    /// `+RECEIVE,<n>,<len>:` CRLF and `<len>` raw bytes (multi mode, `AT+CIPHEAD=1`).
    Receive { link: LinkId, data: &'a [u8] },
    /// `+IPD,<len>:` and `<len>` raw bytes (single mode, `AT+CIPHEAD=1`).
    Ipd(&'a [u8]),
    /// `+IPD,<len>,<TCP|UDP>:` and `<len>` raw bytes: `+IPD` with `AT+CIPSHOWTP=1` (SIM800
    /// AT manual, `AT+CIPSHOWTP`).
    IpdTransport {
        transport: Transport,
        data: &'a [u8],
    },
    /// `+CIPRXGET: ...` in each of its modes.
    RxGet(RxGetResponse<'a>),
    /// `STATE: <state>`: follows the `OK` of `AT+CIPSTATUS`.
    State(IpState),
    /// `C: <n>,<bearer>,"<TCP|UDP>","<ip>","<port>","<state>"`: one per link in multi mode.
    Connection(ConnectionLine<'a>),
    /// `+CIPSTATUS: <n>,<bearer>,"<TCP|UDP>","<ip>","<port>","<state>"` (`AT+CIPSTATUS=<n>`).
    LinkStatus(ConnectionLine<'a>),
    /// `+CIPACK: <txlen>,<acklen>,<nacklen>`: bytes sent on a link, acknowledged by the peer,
    /// and not yet acknowledged (SIM800 TCP/IP manual, `AT+CIPACK`).
    Cipack {
        txlen: u32,
        acklen: u32,
        nacklen: u32,
    },
    /// The bare IP line that `AT+CIFSR` answers, with no `OK`.
    IpAddress([u8; 4]),

    // Network, SIM, clock.
    /// `+CSQ: <rssi>,<ber>`; rssi 0–31, 99 unknown.
    Csq { rssi: u8, ber: u8 },
    /// `+CREG: <n>,<stat>[,"<lac>","<ci>"]` (read, `mode: Some(n)`) or the URC
    /// `+CREG: <stat>[,"<lac>","<ci>"]` (`mode: None`).
    Creg {
        mode: Option<u8>,
        stat: RegStat,
        location: Option<Location>,
    },
    /// `+CGATT: <0|1>`
    Cgatt(bool),
    /// `+CPIN: <state>`
    Cpin(SimState),
    /// `+CFUN: <n>`
    Cfun(u8),
    /// `+CCLK: "yy/MM/dd,hh:mm:ss±zz"`
    Cclk(DateTime),
    /// `+CNTP: <code>`: 1 success, 61–65 errors.
    Cntp(u8),

    // Power and start-up.
    /// `RDY`
    Ready,
    /// `Call Ready`
    CallReady,
    /// `SMS Ready`
    SmsReady,
    /// `NORMAL POWER DOWN`
    NormalPowerDown,
    /// `UNDER-VOLTAGE WARNNING` and its kin, spelled as real modems spell them.
    Voltage(VoltageAlarm),

    // Anything else.
    /// Any other `+NAME: <params>` line, e.g. `+CIPMUX: 1`, `+CENG: ...`, test-form answers.
    Info { name: &'a str, params: &'a str },
    /// Any other line: identification text (`ATI`, `AT+CGMR`), IMEI digits, noise.
    Text(&'a [u8]),
}

/// The asynchronous result of `AT+CIPSTART`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectResult {
    /// `CONNECT OK`
    Ok,
    /// `CONNECT FAIL`
    Fail,
    /// `ALREADY CONNECT`
    AlreadyConnected,
    /// `CONNECT`: transparent mode (`AT+CIPMODE=1`): the link is up and the UART carries its
    /// data until `+++`; also `ATO`'s answer (SIM800 TCP/IP application note, transparent
    /// mode).
    DataMode,
}

/// The location area code and cell id of `+CREG` with `AT+CREG=2`, written in hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Location {
    pub lac: u16,
    pub ci: u32,
}

/// One connection in `AT+CIPSTATUS`'s answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLine<'a> {
    pub link: LinkId,
    pub bearer: u8,
    /// `None` for an unused link, whose fields are empty strings.
    pub transport: Option<Transport>,
    pub ip: &'a str,
    pub port: &'a str,
    pub state: ClientState,
}

/// The answers of `AT+CIPRXGET`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxGetResponse<'a> {
    /// `+CIPRXGET: 1[,<n>]`: data waits (a URC in manual receive mode).
    DataReady(Option<LinkId>),
    /// `+CIPRXGET: <2|3>,[<n>,]<len>,<remaining>` CRLF and the data: `len` raw bytes for
    /// mode 2, `2 * len` hex digits for mode 3.
    Data {
        link: Option<LinkId>,
        hex: bool,
        remaining: u16,
        data: &'a [u8],
    },
    /// `+CIPRXGET: 4,[<n>,]<len>`: bytes waiting.
    Available { link: Option<LinkId>, len: u16 },
}

/// The power-supply alarms of SIM800 (manual p.352). `WARNNING` is the modem's spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VoltageAlarm {
    /// `UNDER-VOLTAGE WARNNING`: VBAT ≤ 3.5 V.
    UnderWarning,
    /// `UNDER-VOLTAGE POWER DOWN`: VBAT < 3.4 V, the modem switches off.
    UnderPowerDown,
    /// `OVER-VOLTAGE WARNNING`: VBAT ≥ 4.3 V.
    OverWarning,
    /// `OVER-VOLTAGE POWER DOWN`: VBAT > 4.4 V, the modem switches off.
    OverPowerDown,
}

impl Response<'_> {
    /// Writes the response as a SIM800 sends it in verbose mode and returns its length:
    ///
    /// - a line as `\r\n<line>\r\n`, e.g. `\r\nOK\r\n`, `\r\n0, CONNECT OK\r\n` (a space after
    ///   the comma, as real modems print it, though the manual does not);
    /// - the prompt as `\r\n> `, with no line end: the modem waits for the data;
    /// - `\r\n+RECEIVE,<n>,<len>:\r\n` then the raw payload, with no line end after it;
    /// - `\r\n+IPD,<len>:` and the raw payload right after the colon;
    /// - `\r\n+CIPRXGET: <2|3>,[<n>,]<len>,<remaining>\r\n` then the data; the `OK` that
    ///   follows on the wire is a separate [`Response::Ok`]. In hex mode `len` is half the
    ///   data's length (two hex digits a byte); an odd last digit is not written.
    ///
    /// An unused link's `C:` or `+CIPSTATUS:` line (`transport: None`) is written with an
    /// empty bearer, `C: 1,,"","","","INITIAL"`: keep its `bearer` 0.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, BufferFull> {
        let mut w = Writer::new(out);
        match *self {
            Response::Prompt => {
                w.str("\r\n> ")?;
            }
            Response::Receive { link, data } => {
                w.str("\r\n+RECEIVE,")?.num(link.into())?.str(",")?;
                w.num(data.len() as u64)?.str(":\r\n")?.bytes(data)?;
            }
            Response::Ipd(data) => {
                w.str("\r\n+IPD,")?
                    .num(data.len() as u64)?
                    .str(":")?
                    .bytes(data)?;
            }
            Response::IpdTransport { transport, data } => {
                w.str("\r\n+IPD,")?.num(data.len() as u64)?.str(",")?;
                w.str(transport.as_str())?.str(":")?.bytes(data)?;
            }
            Response::RxGet(RxGetResponse::Data {
                link,
                hex,
                remaining,
                data,
            }) => {
                let (mode, len) = if hex {
                    (3, data.len() / 2)
                } else {
                    (2, data.len())
                };
                let data = data.get(..if hex { 2 * len } else { len }).unwrap_or(data);
                w.str("\r\n+CIPRXGET: ")?.num(mode)?.str(",")?;
                if let Some(link) = link {
                    w.num(link.into())?.str(",")?;
                }
                w.num(len as u64)?
                    .str(",")?
                    .num(remaining.into())?
                    .str("\r\n")?
                    .bytes(data)?;
            }
            _ => {
                w.str("\r\n")?;
                self.line(&mut w)?;
                w.str("\r\n")?;
            }
        }
        Ok(w.len())
    }

    /// The text of a one-line response, without its line ends.
    fn line(&self, w: &mut Writer<'_>) -> Result<(), BufferFull> {
        match *self {
            Response::Ok => w.str("OK")?,
            Response::Error => w.str("ERROR")?,
            Response::CmeError(n) => w.str("+CME ERROR: ")?.num(n.into())?,
            Response::CmsError(n) => w.str("+CMS ERROR: ")?.num(n.into())?,
            Response::ShutOk => w.str("SHUT OK")?,
            Response::CloseOk(link) => linked(w, link)?.str("CLOSE OK")?,
            Response::SendOk(link) => linked(w, link)?.str("SEND OK")?,
            Response::SendFail(link) => linked(w, link)?.str("SEND FAIL")?,
            Response::DataAccept { link, len } => {
                w.str("DATA ACCEPT:")?;
                if let Some(link) = link {
                    w.num(link.into())?.str(",")?;
                }
                w.num(len.into())?
            }
            Response::Connect { link, result } => linked(w, link)?.str(result.as_str())?,
            Response::Closed(link) => linked(w, link)?.str("CLOSED")?,
            Response::PdpDeact => w.str("+PDP: DEACT")?,
            Response::NoCarrier => w.str("NO CARRIER")?,
            Response::RxGet(RxGetResponse::DataReady(link)) => {
                w.str("+CIPRXGET: 1")?;
                if let Some(link) = link {
                    w.str(",")?.num(link.into())?;
                }
                w
            }
            Response::RxGet(RxGetResponse::Available { link, len }) => {
                w.str("+CIPRXGET: 4,")?;
                if let Some(link) = link {
                    w.num(link.into())?.str(",")?;
                }
                w.num(len.into())?
            }
            Response::State(state) => w.str("STATE: ")?.str(state.as_str())?,
            Response::Connection(ref c) => c.write(w.str("C: ")?)?,
            Response::LinkStatus(ref c) => c.write(w.str("+CIPSTATUS: ")?)?,
            Response::Cipack {
                txlen,
                acklen,
                nacklen,
            } => w
                .str("+CIPACK: ")?
                .num(txlen.into())?
                .str(",")?
                .num(acklen.into())?
                .str(",")?
                .num(nacklen.into())?,
            Response::IpAddress([a, b, c, d]) => {
                w.num(a.into())?.str(".")?.num(b.into())?.str(".")?;
                w.num(c.into())?.str(".")?.num(d.into())?
            }
            Response::Csq { rssi, ber } => w
                .str("+CSQ: ")?
                .num(rssi.into())?
                .str(",")?
                .num(ber.into())?,
            Response::Creg {
                mode,
                stat,
                location,
            } => {
                w.str("+CREG: ")?;
                if let Some(mode) = mode {
                    w.num(mode.into())?.str(",")?;
                }
                w.num(stat.code().into())?;
                if let Some(Location { lac, ci }) = location {
                    w.str(",\"")?;
                    hex4(w, lac.into())?.str("\",\"")?;
                    hex4(w, ci)?.str("\"")?;
                }
                w
            }
            Response::Cgatt(attached) => w.str(if attached { "+CGATT: 1" } else { "+CGATT: 0" })?,
            Response::Cpin(state) => w.str("+CPIN: ")?.str(state.as_str())?,
            Response::Cfun(n) => w.str("+CFUN: ")?.num(n.into())?,
            Response::Cclk(ref t) => {
                w.str("+CCLK: \"")?;
                two(w, t.year.into())?.str("/")?;
                two(w, t.month.into())?.str("/")?;
                two(w, t.day.into())?.str(",")?;
                two(w, t.hour.into())?.str(":")?;
                two(w, t.minute.into())?.str(":")?;
                two(w, t.second.into())?;
                w.str(if t.quarter_hours < 0 { "-" } else { "+" })?;
                two(w, t.quarter_hours.unsigned_abs().into())?.str("\"")?
            }
            Response::Cntp(code) => w.str("+CNTP: ")?.num(code.into())?,
            Response::Ready => w.str("RDY")?,
            Response::CallReady => w.str("Call Ready")?,
            Response::SmsReady => w.str("SMS Ready")?,
            Response::NormalPowerDown => w.str("NORMAL POWER DOWN")?,
            Response::Voltage(alarm) => w.str(alarm.as_str())?,
            Response::Info { name, params } => w.str("+")?.str(name)?.str(": ")?.str(params)?,
            Response::Text(text) => w.bytes(text)?,
            // Written by `encode` itself, not as a line.
            Response::Prompt
            | Response::Receive { .. }
            | Response::Ipd(_)
            | Response::IpdTransport { .. } => w,
            Response::RxGet(RxGetResponse::Data { .. }) => w,
        };
        Ok(())
    }

    /// Whether this ends a command's answer on its own, whatever the command: `OK`, `ERROR`,
    /// `+CME ERROR`, `+CMS ERROR`, `SHUT OK`, `CLOSE OK`, `SEND OK`, `SEND FAIL` and
    /// `DATA ACCEPT`.
    ///
    /// Some lines end an answer only in context, and the [`Decoder`] knows them: the bare IP
    /// line ends `AT+CIFSR`'s, `STATE:` (single mode) or the last `C:` line (multi mode) ends
    /// `AT+CIPSTATUS`'s, `NORMAL POWER DOWN` ends `AT+CPOWD=1`'s. Conversely the `OK` of
    /// `AT+CIPSTATUS` comes first and ends nothing.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            Response::Ok
                | Response::Error
                | Response::CmeError(_)
                | Response::CmsError(_)
                | Response::ShutOk
                | Response::CloseOk(_)
                | Response::SendOk(_)
                | Response::SendFail(_)
                | Response::DataAccept { .. }
        )
    }

    /// Whether this reports a failure: `ERROR`, `+CME ERROR`, `+CMS ERROR`.
    pub fn is_error(&self) -> bool {
        matches!(
            self,
            Response::Error | Response::CmeError(_) | Response::CmsError(_)
        )
    }

    /// The `+NAME` of an information line (`CSQ` for `+CSQ: 20,0`), the name of the command
    /// that it answers. `None` for every other response.
    pub fn info_name(&self) -> Option<&str> {
        Some(match self {
            Response::Csq { .. } => "CSQ",
            Response::Creg { .. } => "CREG",
            Response::Cgatt(_) => "CGATT",
            Response::Cpin(_) => "CPIN",
            Response::Cfun(_) => "CFUN",
            Response::Cclk(_) => "CCLK",
            Response::Cntp(_) => "CNTP",
            Response::LinkStatus(_) => "CIPSTATUS",
            Response::Cipack { .. } => "CIPACK",
            Response::RxGet(_) => "CIPRXGET",
            Response::Info { name, .. } => name,
            _ => return None,
        })
    }
}

/// `<n>, ` before a multi-mode result (`0, CLOSED`); nothing in single mode.
fn linked<'w, 'b>(
    w: &'w mut Writer<'b>,
    link: Option<LinkId>,
) -> Result<&'w mut Writer<'b>, BufferFull> {
    match link {
        Some(link) => w.num(link.into())?.str(", "),
        None => Ok(w),
    }
}

/// A number with at least two digits, as in `+CCLK`.
fn two<'w, 'b>(w: &'w mut Writer<'b>, n: u64) -> Result<&'w mut Writer<'b>, BufferFull> {
    if n < 10 {
        w.str("0")?;
    }
    w.num(n)
}

/// Lower-case hex with at least four digits, as in `+CREG: 1,"18be","93e1"`.
fn hex4<'w, 'b>(w: &'w mut Writer<'b>, n: u32) -> Result<&'w mut Writer<'b>, BufferFull> {
    let digits = (32 - n.leading_zeros()).div_ceil(4).max(4);
    for i in (0..digits).rev() {
        let d = (n >> (4 * i)) & 0xf;
        w.bytes(&[b"0123456789abcdef"[d as usize]])?;
    }
    Ok(w)
}

impl ConnectResult {
    pub const fn as_str(self) -> &'static str {
        match self {
            ConnectResult::Ok => "CONNECT OK",
            ConnectResult::Fail => "CONNECT FAIL",
            ConnectResult::AlreadyConnected => "ALREADY CONNECT",
            ConnectResult::DataMode => "CONNECT",
        }
    }
}

impl VoltageAlarm {
    pub const ALL: [VoltageAlarm; 4] = [
        VoltageAlarm::UnderWarning,
        VoltageAlarm::UnderPowerDown,
        VoltageAlarm::OverWarning,
        VoltageAlarm::OverPowerDown,
    ];

    /// The line, spelled as the modem spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            VoltageAlarm::UnderWarning => "UNDER-VOLTAGE WARNNING",
            VoltageAlarm::UnderPowerDown => "UNDER-VOLTAGE POWER DOWN",
            VoltageAlarm::OverWarning => "OVER-VOLTAGE WARNNING",
            VoltageAlarm::OverPowerDown => "OVER-VOLTAGE POWER DOWN",
        }
    }
}

impl ConnectionLine<'_> {
    /// `<n>,<bearer>,"<TCP|UDP>","<ip>","<port>","<state>"`; an unused link has an empty
    /// bearer and transport.
    fn write<'w, 'b>(&self, w: &'w mut Writer<'b>) -> Result<&'w mut Writer<'b>, BufferFull> {
        w.num(self.link.into())?.str(",")?;
        match self.transport {
            Some(t) => w.num(self.bearer.into())?.str(",")?.quoted(t.as_str())?,
            None => w.str(",\"\"")?,
        };
        w.str(",")?.quoted(self.ip)?.str(",")?.quoted(self.port)?;
        w.str(",")?.quoted(self.state.as_str())
    }
}
