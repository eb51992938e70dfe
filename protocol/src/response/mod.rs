//! What the modem sends to the host: final results, information lines and URCs as values
//! ([`Response`]), their encoder (the modem side), and the firmware side's incremental
//! [`Decoder`], which tells a URC from the answer to the pending command.
//!
//! The reference is `shared/reference/sim800-tcpip-at.md` §1–§2.

mod decoder;

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
    Connect { link: Option<LinkId>, result: ConnectResult },
    /// `CLOSED` / `<n>, CLOSED`: the peer closed or the link dropped.
    Closed(Option<LinkId>),
    /// `+PDP: DEACT`: the network released the PDP context.
    PdpDeact,
    /// `+RECEIVE,<n>,<len>:` CRLF and `<len>` raw bytes (multi mode, `AT+CIPHEAD=1`).
    Receive { link: LinkId, data: &'a [u8] },
    /// `+IPD,<len>:` and `<len>` raw bytes (single mode, `AT+CIPHEAD=1`).
    Ipd(&'a [u8]),
    /// `+CIPRXGET: ...` in each of its modes.
    RxGet(RxGetResponse<'a>),
    /// `STATE: <state>`: follows the `OK` of `AT+CIPSTATUS`.
    State(IpState),
    /// `C: <n>,<bearer>,"<TCP|UDP>","<ip>","<port>","<state>"`: one per link in multi mode.
    Connection(ConnectionLine<'a>),
    /// `+CIPSTATUS: <n>,<bearer>,"<TCP|UDP>","<ip>","<port>","<state>"` (`AT+CIPSTATUS=<n>`).
    LinkStatus(ConnectionLine<'a>),
    /// The bare IP line that `AT+CIFSR` answers, with no `OK`.
    IpAddress([u8; 4]),

    // Network, SIM, clock.
    /// `+CSQ: <rssi>,<ber>`; rssi 0–31, 99 unknown.
    Csq { rssi: u8, ber: u8 },
    /// `+CREG: <n>,<stat>[,"<lac>","<ci>"]` (read, `mode: Some(n)`) or the URC
    /// `+CREG: <stat>[,"<lac>","<ci>"]` (`mode: None`).
    Creg { mode: Option<u8>, stat: RegStat, location: Option<Location> },
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
    Data { link: Option<LinkId>, hex: bool, remaining: u16, data: &'a [u8] },
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
    /// Writes the response as a SIM800 sends it (`\r\n<line>\r\n`, the prompt as `\r\n> `,
    /// payload headers followed by their raw bytes) and returns its length.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, BufferFull> {
        let _ = Writer::new(out);
        todo!()
    }

    /// Whether this ends a command's answer on its own (`OK`, `ERROR`, `+CME ERROR`, ...).
    pub fn is_final(&self) -> bool {
        todo!()
    }
}
