//! What the host sends to the modem: AT commands as values ([`Command`]), their encoder, and
//! the modem side's incremental parser ([`CommandParser`]).
//!
//! The reference is `shared/reference/sim800-tcpip-at.md` §1.

mod parser;

pub use parser::{CommandLine, CommandParser, DataMode, ParseError, ParserEvent, Segment};

use crate::encode::{BufferFull, Writer};
use crate::types::{DateTime, LinkId, Transport};

/// The extended commands (`AT+NAME`) by name, for their generic forms: test (`AT+NAME=?`),
/// read (`AT+NAME?`) and execute (`AT+NAME`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Name {
    Cmee,
    Cgmr,
    Cgmm,
    Cgmi,
    Cgsn,
    Gsn,
    Ver,
    Ccid,
    Cimi,
    Cpin,
    Csq,
    Creg,
    Cgatt,
    Cfun,
    Cpowd,
    Cclk,
    Cntpcid,
    Cntp,
    Ceng,
    Clts,
    Cbatchk,
    Ciurc,
    Ipr,
    Cipmux,
    Cstt,
    Ciicr,
    Ciicrmode,
    Cifsr,
    Cipstatus,
    Cipstart,
    Cipsend,
    Cipqsend,
    Cipclose,
    Cipshut,
    Ciphead,
    Ciprxget,
    Cipssl,
    Cdnscfg,
    Cgdcont,
    Cgact,
    Sapbr,
    Tcpuserparam,
}

/// One AT command. Basic commands (`AT`, `ATE0`, `ATI`, `AT&W`, `AT&K0`) have their own
/// variants; extended commands have a typed variant for their set form (`AT+NAME=...`) and
/// share [`Command::Test`], [`Command::Read`] and [`Command::Exec`] for the other forms.
///
/// Where single and multi-connection mode (`AT+CIPMUX`) spell a command differently, the
/// variant carries `link: Option<LinkId>`: `None` in single mode, `Some(n)` in multi mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command<'a> {
    /// `AT`
    At,
    /// `ATE0` / `ATE1`
    Echo(bool),
    /// `ATI`: identification text.
    Info,
    /// `AT&W`: save the profile.
    SaveProfile,
    /// `AT&K<n>`: flow control. A real SIM800 gives no response at all to `AT&K0`.
    FlowControl(u8),
    /// `AT+NAME=?`
    Test(Name),
    /// `AT+NAME?`
    Read(Name),
    /// `AT+NAME` with no parameters, e.g. `AT+CSQ`, `AT+CIICR`, `AT+CIFSR`, `AT+CIPSTATUS`,
    /// `AT+CIPSHUT`, `AT+CNTP`, a bare `AT+CSTT`, and `AT+CIPSEND` (data ended by Ctrl-Z).
    Exec(Name),
    /// `AT+CMEE=<n>`: 0 plain `ERROR`, 1 numeric `+CME ERROR: <n>`, 2 verbose.
    Cmee(u8),
    /// `AT+CPIN="<pin>"`
    Cpin(&'a str),
    /// `AT+CREG=<n>`: 0 no URC, 1 `+CREG: <stat>`, 2 with location.
    Creg(u8),
    /// `AT+CGATT=<0|1>`
    Cgatt(bool),
    /// `AT+CFUN=<fun>[,<rst>]`: 0 minimum, 1 full, 4 RF off; rst 1 resets.
    Cfun { fun: u8, rst: Option<u8> },
    /// `AT+CPOWD=<n>`: 1 normal power down (`NORMAL POWER DOWN`), 0 urgent.
    Cpowd(u8),
    /// `AT+CCLK="yy/MM/dd,hh:mm:ss±zz"`
    Cclk(DateTime),
    /// `AT+CNTPCID=<cid>`
    Cntpcid(u8),
    /// `AT+CNTP="<server>",<tz>`; tz in quarter-hours.
    Cntp { server: &'a str, tz: i8 },
    /// `AT+CENG=<mode>[,<ncell>]`: engineering (cell) information.
    Ceng { mode: u8, ncell: Option<u8> },
    /// `AT+CLTS=<0|1>`: network time URCs.
    Clts(bool),
    /// `AT+CBATCHK=<0|1>`
    Cbatchk(bool),
    /// `AT+CIURC=<0|1>`: the `Call Ready` URC.
    Ciurc(bool),
    /// `AT+IPR=<rate>`: baud rate, 0 is auto-bauding.
    Ipr(u32),
    /// `AT+CIPMUX=<0|1>`: single or multi-connection mode.
    Cipmux(bool),
    /// `AT+CSTT="<apn>"[,"<user>","<pwd>"]`
    Cstt { apn: &'a str, user: Option<&'a str>, pwd: Option<&'a str> },
    /// `AT+CIICRMODE=<n>` (Luat): 2 makes `AT+CIICR` answer at once.
    Ciicrmode(u8),
    /// `AT+CIPSTATUS=<n>` (multi mode): one `+CIPSTATUS:` line.
    CipstatusLink(LinkId),
    /// `AT+CIPSTART=[<n>,]"<TCP|UDP>","<host>",<port>`
    Cipstart { link: Option<LinkId>, transport: Transport, host: &'a str, port: u16 },
    /// `AT+CIPSEND=<len>` (single), `AT+CIPSEND=<n>[,<len>]` (multi). With a length the
    /// data after `> ` is exactly `len` bytes; without, it ends with Ctrl-Z (ESC cancels).
    Cipsend { link: Option<LinkId>, len: Option<u16> },
    /// `AT+CIPQSEND=<0|1>`: 0 `SEND OK` once the peer has the data, 1 `DATA ACCEPT` at once.
    Cipqsend(u8),
    /// `AT+CIPCLOSE=<quick>` (single), `AT+CIPCLOSE=<n>[,<quick>]` (multi).
    Cipclose { link: Option<LinkId>, quick: Option<bool> },
    /// `AT+CIPHEAD=<0|1>`: prefix received data with `+IPD,<len>:`.
    Ciphead(bool),
    /// `AT+CIPRXGET=...`: manual receive.
    Ciprxget(RxGet),
    /// `AT+CIPSSL=<0|1>`
    Cipssl(bool),
    /// `AT+CDNSCFG="<primary>"[,"<secondary>"]`
    Cdnscfg { primary: &'a str, secondary: Option<&'a str> },
    /// `AT+CGDCONT=<cid>,"<type>","<apn>"`
    Cgdcont { cid: u8, pdp_type: &'a str, apn: &'a str },
    /// `AT+CGACT=<state>,<cid>`
    Cgact { active: bool, cid: u8 },
    /// `AT+SAPBR=<cmd>,<cid>[,"<tag>","<value>"]`: bearer settings (TinyGSM's gprsConnect).
    Sapbr { cmd: u8, cid: u8, param: Option<(&'a str, &'a str)> },
    /// `AT+TCPUSERPARAM=<a>,<b>,<c>,<d>` (Luat): TCP retransmission parameters.
    Tcpuserparam([u32; 4]),
}

/// The set forms of `AT+CIPRXGET`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxGet {
    /// `=0` / `=1`: manual receive off / on.
    Manual(bool),
    /// `=2,[<n>,]<len>` (raw) or `=3,[<n>,]<len>` (hex): read up to `len` bytes.
    Read { link: Option<LinkId>, len: u16, hex: bool },
    /// `=4[,<n>]`: how many bytes wait.
    Available { link: Option<LinkId> },
}

impl Name {
    pub const ALL: [Name; 42] = [
        Name::Cmee,
        Name::Cgmr,
        Name::Cgmm,
        Name::Cgmi,
        Name::Cgsn,
        Name::Gsn,
        Name::Ver,
        Name::Ccid,
        Name::Cimi,
        Name::Cpin,
        Name::Csq,
        Name::Creg,
        Name::Cgatt,
        Name::Cfun,
        Name::Cpowd,
        Name::Cclk,
        Name::Cntpcid,
        Name::Cntp,
        Name::Ceng,
        Name::Clts,
        Name::Cbatchk,
        Name::Ciurc,
        Name::Ipr,
        Name::Cipmux,
        Name::Cstt,
        Name::Ciicr,
        Name::Ciicrmode,
        Name::Cifsr,
        Name::Cipstatus,
        Name::Cipstart,
        Name::Cipsend,
        Name::Cipqsend,
        Name::Cipclose,
        Name::Cipshut,
        Name::Ciphead,
        Name::Ciprxget,
        Name::Cipssl,
        Name::Cdnscfg,
        Name::Cgdcont,
        Name::Cgact,
        Name::Sapbr,
        Name::Tcpuserparam,
    ];

    /// The name as written after `AT+`, upper case.
    pub const fn as_str(self) -> &'static str {
        match self {
            Name::Cmee => "CMEE",
            Name::Cgmr => "CGMR",
            Name::Cgmm => "CGMM",
            Name::Cgmi => "CGMI",
            Name::Cgsn => "CGSN",
            Name::Gsn => "GSN",
            Name::Ver => "VER",
            Name::Ccid => "CCID",
            Name::Cimi => "CIMI",
            Name::Cpin => "CPIN",
            Name::Csq => "CSQ",
            Name::Creg => "CREG",
            Name::Cgatt => "CGATT",
            Name::Cfun => "CFUN",
            Name::Cpowd => "CPOWD",
            Name::Cclk => "CCLK",
            Name::Cntpcid => "CNTPCID",
            Name::Cntp => "CNTP",
            Name::Ceng => "CENG",
            Name::Clts => "CLTS",
            Name::Cbatchk => "CBATCHK",
            Name::Ciurc => "CIURC",
            Name::Ipr => "IPR",
            Name::Cipmux => "CIPMUX",
            Name::Cstt => "CSTT",
            Name::Ciicr => "CIICR",
            Name::Ciicrmode => "CIICRMODE",
            Name::Cifsr => "CIFSR",
            Name::Cipstatus => "CIPSTATUS",
            Name::Cipstart => "CIPSTART",
            Name::Cipsend => "CIPSEND",
            Name::Cipqsend => "CIPQSEND",
            Name::Cipclose => "CIPCLOSE",
            Name::Cipshut => "CIPSHUT",
            Name::Ciphead => "CIPHEAD",
            Name::Ciprxget => "CIPRXGET",
            Name::Cipssl => "CIPSSL",
            Name::Cdnscfg => "CDNSCFG",
            Name::Cgdcont => "CGDCONT",
            Name::Cgact => "CGACT",
            Name::Sapbr => "SAPBR",
            Name::Tcpuserparam => "TCPUSERPARAM",
        }
    }

    /// Case-insensitive lookup.
    pub fn from_text(text: &[u8]) -> Option<Name> {
        Name::ALL
            .into_iter()
            .find(|n| n.as_str().as_bytes().eq_ignore_ascii_case(text))
    }
}

impl Command<'_> {
    /// The extended command's name (`None` for basic commands).
    pub fn name(&self) -> Option<Name> {
        Some(match self {
            Command::At
            | Command::Echo(_)
            | Command::Info
            | Command::SaveProfile
            | Command::FlowControl(_) => return None,
            Command::Test(name) | Command::Read(name) | Command::Exec(name) => *name,
            Command::Cmee(_) => Name::Cmee,
            Command::Cpin(_) => Name::Cpin,
            Command::Creg(_) => Name::Creg,
            Command::Cgatt(_) => Name::Cgatt,
            Command::Cfun { .. } => Name::Cfun,
            Command::Cpowd(_) => Name::Cpowd,
            Command::Cclk(_) => Name::Cclk,
            Command::Cntpcid(_) => Name::Cntpcid,
            Command::Cntp { .. } => Name::Cntp,
            Command::Ceng { .. } => Name::Ceng,
            Command::Clts(_) => Name::Clts,
            Command::Cbatchk(_) => Name::Cbatchk,
            Command::Ciurc(_) => Name::Ciurc,
            Command::Ipr(_) => Name::Ipr,
            Command::Cipmux(_) => Name::Cipmux,
            Command::Cstt { .. } => Name::Cstt,
            Command::Ciicrmode(_) => Name::Ciicrmode,
            Command::CipstatusLink(_) => Name::Cipstatus,
            Command::Cipstart { .. } => Name::Cipstart,
            Command::Cipsend { .. } => Name::Cipsend,
            Command::Cipqsend(_) => Name::Cipqsend,
            Command::Cipclose { .. } => Name::Cipclose,
            Command::Ciphead(_) => Name::Ciphead,
            Command::Ciprxget(_) => Name::Ciprxget,
            Command::Cipssl(_) => Name::Cipssl,
            Command::Cdnscfg { .. } => Name::Cdnscfg,
            Command::Cgdcont { .. } => Name::Cgdcont,
            Command::Cgact { .. } => Name::Cgact,
            Command::Sapbr { .. } => Name::Sapbr,
            Command::Tcpuserparam(_) => Name::Tcpuserparam,
        })
    }

    /// Writes the command as the host sends it, `AT...\r`, and returns its length.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, BufferFull> {
        let _ = Writer::new(out);
        todo!()
    }
}
