//! What the host sends to the modem: AT commands as values ([`Command`]), their encoder, and
//! the modem side's incremental parser ([`CommandParser`]).
//!
//! The reference is `shared/reference/sim800-tcpip-at.md` §1.

pub(crate) mod parser;

pub use parser::{CommandLine, CommandParser, DataMode, ParseError, ParserEvent, Segment};

use crate::encode::{BufferFull, Writer};
use crate::packed::{total, Packed};
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
    // Luat's misc.lua sends `AT+ATWMFT=99`, `AT+WISN?` and `AT+MUID?` at start-up.
    Atwmft,
    Wisn,
    Muid,
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
    Cipack,
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
    Cipccfg,
    // Issue 13, housekeeping and configuration (the set-up lines client libraries send).
    Ifc,
    Clip,
    Cscs,
    // SMS settings a set-up line carries (`+CMGF`, `+CMGHEX`); the SMS commands extend them.
    Cmgf,
    Cmghex,
    Csclk,
    Cnetlight,
    Csmins,
    Cbc,
    Cops,
    Copn,
    Cgreg,
    Gmr,
    Cspn,
    Cnum,
    Cmte,
    // Issue 13, the TCP/IP application's options, transparent mode and network services.
    Cipsrip,
    Cipshowtp,
    Cipsprt,
    Cipmode,
    Cdnsgip,
    Cipgsmloc,
    Clbs,
    // Issue 13, Luat: `sim.lua` sends `AT+STON=0` (SIM toolkit off) at load.
    Ston,
}

/// One AT command. Basic commands (`AT`, `ATE0`, `ATI`, `AT&W`, `AT&K0`, `ATZ`, `AT&F`,
/// `ATV1`, `ATQ0`, `ATO`) have their own variants; extended commands have a typed variant for their set form (`AT+NAME=...`) and
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
    /// `ATZ` / `ATZ0`: back to the settings `AT&W` saved (V.250 §6.1.1).
    Reset,
    /// `AT&F` / `AT&F0`: the manufacturer's settings (V.250 §6.1.2).
    FactoryDefaults,
    /// `ATV0` / `ATV1`: numeric or verbose result codes (V.250 §6.2.6).
    Verbose(bool),
    /// `ATQ0` / `ATQ1`: result codes sent or suppressed (V.250 §6.2.5).
    Quiet(bool),
    /// `ATO` / `ATO0`: back from command mode to the data of a transparent link (V.250
    /// §6.3.7; SIM800 `AT+CIPMODE=1`).
    Online,
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
    /// `AT+ATWMFT=<n>` (Luat misc.lua sends `=99` at start-up; the meaning is undocumented).
    Atwmft(u8),
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
    Cstt {
        apn: &'a str,
        user: Option<&'a str>,
        pwd: Option<&'a str>,
    },
    /// `AT+CIICRMODE=<n>` (Luat): 2 makes `AT+CIICR` answer at once.
    Ciicrmode(u8),
    /// `AT+CIPSTATUS=<n>` (multi mode): one `+CIPSTATUS:` line.
    CipstatusLink(LinkId),
    /// `AT+CIPSTART=[<n>,]"<TCP|UDP>","<host>",<port>`
    Cipstart {
        link: Option<LinkId>,
        transport: Transport,
        host: &'a str,
        port: u16,
    },
    /// `AT+CIPSEND=<len>` (single), `AT+CIPSEND=<n>[,<len>]` (multi). With a length the
    /// data after `> ` is exactly `len` bytes; without, it ends with Ctrl-Z (ESC cancels).
    Cipsend {
        link: Option<LinkId>,
        len: Option<u16>,
    },
    /// `AT+CIPQSEND=<0|1>`: 0 `SEND OK` once the peer has the data, 1 `DATA ACCEPT` at once.
    Cipqsend(u8),
    /// `AT+CIPACK=<n>` (multi mode; single mode: `AT+CIPACK`): how much of what was sent the
    /// peer acknowledged, `+CIPACK: <txlen>,<acklen>,<nacklen>`.
    CipackLink(LinkId),
    /// `AT+CIPCLOSE=<quick>` (single), `AT+CIPCLOSE=<n>[,<quick>]` (multi).
    Cipclose {
        link: Option<LinkId>,
        quick: Option<bool>,
    },
    /// `AT+CIPHEAD=<0|1>`: prefix received data with `+IPD,<len>:`.
    Ciphead(bool),
    /// `AT+CIPRXGET=...`: manual receive.
    Ciprxget(RxGet),
    /// `AT+CIPSSL=<0|1>`
    Cipssl(bool),
    /// `AT+CDNSCFG="<primary>"[,"<secondary>"]`
    Cdnscfg {
        primary: &'a str,
        secondary: Option<&'a str>,
    },
    /// `AT+CGDCONT=<cid>,"<type>","<apn>"`
    Cgdcont {
        cid: u8,
        pdp_type: &'a str,
        apn: &'a str,
    },
    /// `AT+CGACT=<state>,<cid>`
    Cgact { active: bool, cid: u8 },
    /// `AT+SAPBR=<cmd>,<cid>[,"<tag>","<value>"]`: bearer settings (TinyGSM's gprsConnect).
    Sapbr {
        cmd: u8,
        cid: u8,
        param: Option<(&'a str, &'a str)>,
    },
    /// `AT+TCPUSERPARAM=<a>,<b>,<c>,<d>` (Luat): TCP retransmission parameters.
    Tcpuserparam([u32; 4]),
    /// `AT+CIPCCFG=<NmRetry>,<WaitTm>,<SendSz>,<esc>[,<Rxmode>,<RxSize>,<Rxtimer>]`
    /// (SIMCom): the TCP retry count and the transparent mode's settings.
    Cipccfg(Cipccfg),
    // Issue 13: housekeeping, configuration, TCP/IP options, transparent mode, services.
    /// `AT+IFC=<dce_by_dte>[,<dte_by_dce>]`: flow control, 0 none, 1 XON/XOFF, 2 RTS/CTS.
    Ifc {
        dce_by_dte: u8,
        dte_by_dce: Option<u8>,
    },
    /// `AT+CLIP=<0|1>`: the calling line's number in `+CLIP` after `RING`.
    Clip(bool),
    /// `AT+CSCS="<chset>"`: the character set of strings (`"GSM"`, `"IRA"`, `"HEX"`, ...).
    Cscs(&'a str),
    /// `AT+CMGF=<0|1>`: SMS in PDU (0) or text (1) mode.
    Cmgf(bool),
    /// `AT+CMGHEX=<0|1>`: SMS text mode may carry non-ASCII characters as hex.
    Cmghex(bool),
    /// `AT+CSCLK=<0|1|2>`: sleep: never, when DTR is high, when the UART is idle.
    Csclk(u8),
    /// `AT+CNETLIGHT=<0|1>`: the network status LED.
    Cnetlight(bool),
    /// `AT+CSMINS=<0|1>`: the `+CSMINS` URC when the SIM is inserted or removed.
    Csmins(bool),
    /// `AT+COPS=<mode>[,<format>[,"<oper>"]]`: operator selection, 0 automatic, 1 manual,
    /// 2 deregister, 3 format only, 4 manual then automatic; `<format>` 0 long name, 1 short,
    /// 2 numeric (3GPP TS 27.007 §7.3).
    Cops {
        mode: u8,
        format: Option<(u8, Option<&'a str>)>,
    },
    /// `AT+CGREG=<n>`: GPRS registration URCs, 0 none, 1 `+CGREG: <stat>`, 2 with location.
    Cgreg(u8),
    /// `AT+CIPSRIP=<0|1>`: `RECV FROM:<ip>:<port>` before received data.
    Cipsrip(bool),
    /// `AT+CIPSHOWTP=<0|1>`: `+IPD,<len>,<TCP|UDP>:` (single mode, `AT+CIPHEAD=1`).
    Cipshowtp(bool),
    /// `AT+CIPSPRT=<0|1|2>`: 0 no `> ` prompt, 1 prompt and `SEND OK`, 2 neither.
    Cipsprt(u8),
    /// `AT+CIPMODE=<0|1>`: normal or transparent mode (single connection only).
    Cipmode(bool),
    /// `AT+CDNSGIP="<domain>"`: `OK`, then `+CDNSGIP: 1,"<domain>","<ip>"` or
    /// `+CDNSGIP: 0,<error>`.
    Cdnsgip(&'a str),
    /// `AT+CIPGSMLOC=<type>,<cid>`: 1 location and time, 2 time, from the bearer `cid`.
    Cipgsmloc { kind: u8, cid: u8 },
    /// `AT+CLBS=<type>,<cid>`: 1 location, 3 access times, 4 location and time.
    Clbs { kind: u8, cid: u8 },
    /// `AT+STON=<0|1>` (Luat): the SIM toolkit off or on.
    Ston(bool),
}

/// `AT+CIPCCFG`'s parameters, in the manual's order (SIM800 Series AT Command Manual,
/// "AT+CIPCCFG Configure transparent transfer mode"). Ranges are the modem's to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cipccfg {
    /// `<NmRetry>`: how often an IP packet is retransmitted.
    pub retries: u8,
    /// `<WaitTm>`: in 200 ms units, how long serial input waits before it is sent.
    pub wait_tm: u8,
    /// `<SendSz>`: bytes of serial input that are sent as one block.
    pub send_size: u16,
    /// `<esc>`: whether `+++` escapes transparent mode.
    pub esc: bool,
    /// `<Rxmode>,<RxSize>,<Rxtimer>`, when given.
    pub rx: Option<CipccfgRx>,
}

/// The optional receive half of [`Cipccfg`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CipccfgRx {
    /// `<Rxmode>`: whether received data is output in pieces of `size` every `timer` ms.
    pub mode: bool,
    /// `<RxSize>`: bytes per output piece.
    pub size: u16,
    /// `<Rxtimer>`: ms between output pieces.
    pub timer: u16,
}

/// The set forms of `AT+CIPRXGET`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxGet {
    /// `=0` / `=1`: manual receive off / on.
    Manual(bool),
    /// `=2,[<n>,]<len>` (raw) or `=3,[<n>,]<len>` (hex): read up to `len` bytes.
    Read {
        link: Option<LinkId>,
        len: u16,
        hex: bool,
    },
    /// `=4[,<n>]`: how many bytes wait.
    Available { link: Option<LinkId> },
}

impl Name {
    pub const ALL: [Name; 71] = [
        Name::Cmee,
        Name::Cgmr,
        Name::Cgmm,
        Name::Cgmi,
        Name::Cgsn,
        Name::Gsn,
        Name::Ver,
        Name::Atwmft,
        Name::Wisn,
        Name::Muid,
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
        Name::Cipack,
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
        Name::Cipccfg,
        Name::Ifc,
        Name::Clip,
        Name::Cscs,
        Name::Cmgf,
        Name::Cmghex,
        Name::Csclk,
        Name::Cnetlight,
        Name::Csmins,
        Name::Cbc,
        Name::Cops,
        Name::Copn,
        Name::Cgreg,
        Name::Gmr,
        Name::Cspn,
        Name::Cnum,
        Name::Cmte,
        Name::Cipsrip,
        Name::Cipshowtp,
        Name::Cipsprt,
        Name::Cipmode,
        Name::Cdnsgip,
        Name::Cipgsmloc,
        Name::Clbs,
        Name::Ston,
    ];

    /// The name as written after `AT+`, upper case.
    pub fn as_str(self) -> &'static str {
        core::str::from_utf8(NAMES.get(self as usize)).unwrap_or("")
    }

    /// [`Name::as_str`]'s table, at compile time.
    const fn text(self) -> &'static str {
        match self {
            Name::Cmee => "CMEE",
            Name::Cgmr => "CGMR",
            Name::Cgmm => "CGMM",
            Name::Cgmi => "CGMI",
            Name::Cgsn => "CGSN",
            Name::Gsn => "GSN",
            Name::Ver => "VER",
            Name::Atwmft => "ATWMFT",
            Name::Wisn => "WISN",
            Name::Muid => "MUID",
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
            Name::Cipack => "CIPACK",
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
            Name::Cipccfg => "CIPCCFG",
            Name::Ifc => "IFC",
            Name::Clip => "CLIP",
            Name::Cscs => "CSCS",
            Name::Cmgf => "CMGF",
            Name::Cmghex => "CMGHEX",
            Name::Csclk => "CSCLK",
            Name::Cnetlight => "CNETLIGHT",
            Name::Csmins => "CSMINS",
            Name::Cbc => "CBC",
            Name::Cops => "COPS",
            Name::Copn => "COPN",
            Name::Cgreg => "CGREG",
            Name::Gmr => "GMR",
            Name::Cspn => "CSPN",
            Name::Cnum => "CNUM",
            Name::Cmte => "CMTE",
            Name::Cipsrip => "CIPSRIP",
            Name::Cipshowtp => "CIPSHOWTP",
            Name::Cipsprt => "CIPSPRT",
            Name::Cipmode => "CIPMODE",
            Name::Cdnsgip => "CDNSGIP",
            Name::Cipgsmloc => "CIPGSMLOC",
            Name::Clbs => "CLBS",
            Name::Ston => "STON",
        }
    }

    /// Case-insensitive lookup.
    pub fn from_text(text: &[u8]) -> Option<Name> {
        let i = (0..Name::ALL.len()).find(|&i| NAMES.get(i).eq_ignore_ascii_case(text))?;
        Name::ALL.get(i).copied()
    }
}

/// Every name's text, in declaration order (which [`Name::ALL`] follows: `as usize` indexes
/// it), packed: a `&str` per name costs a Cortex-M0+ image some 500 bytes more.
static NAMES: Packed<{ Name::ALL.len() }, { total(&NAME_TEXTS) }> = Packed::new(NAME_TEXTS);

const NAME_TEXTS: [&str; Name::ALL.len()] = {
    let mut texts = [""; Name::ALL.len()];
    let mut i = 0;
    while i < texts.len() {
        assert!(Name::ALL[i] as usize == i, "ALL is in declaration order");
        texts[i] = Name::ALL[i].text();
        i += 1;
    }
    texts
};

impl Command<'_> {
    /// The extended command's name (`None` for basic commands).
    pub fn name(&self) -> Option<Name> {
        Some(match self {
            Command::At
            | Command::Echo(_)
            | Command::Info
            | Command::SaveProfile
            | Command::FlowControl(_)
            | Command::Reset
            | Command::FactoryDefaults
            | Command::Verbose(_)
            | Command::Quiet(_)
            | Command::Online => return None,
            Command::Test(name) | Command::Read(name) | Command::Exec(name) => *name,
            Command::Cmee(_) => Name::Cmee,
            Command::Cpin(_) => Name::Cpin,
            Command::Atwmft(_) => Name::Atwmft,
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
            Command::CipackLink(_) => Name::Cipack,
            Command::Cipclose { .. } => Name::Cipclose,
            Command::Ciphead(_) => Name::Ciphead,
            Command::Ciprxget(_) => Name::Ciprxget,
            Command::Cipssl(_) => Name::Cipssl,
            Command::Cdnscfg { .. } => Name::Cdnscfg,
            Command::Cgdcont { .. } => Name::Cgdcont,
            Command::Cgact { .. } => Name::Cgact,
            Command::Sapbr { .. } => Name::Sapbr,
            Command::Tcpuserparam(_) => Name::Tcpuserparam,
            Command::Cipccfg(_) => Name::Cipccfg,
            Command::Ifc { .. } => Name::Ifc,
            Command::Clip(_) => Name::Clip,
            Command::Cscs(_) => Name::Cscs,
            Command::Cmgf(_) => Name::Cmgf,
            Command::Cmghex(_) => Name::Cmghex,
            Command::Csclk(_) => Name::Csclk,
            Command::Cnetlight(_) => Name::Cnetlight,
            Command::Csmins(_) => Name::Csmins,
            Command::Cops { .. } => Name::Cops,
            Command::Cgreg(_) => Name::Cgreg,
            Command::Cipsrip(_) => Name::Cipsrip,
            Command::Cipshowtp(_) => Name::Cipshowtp,
            Command::Cipsprt(_) => Name::Cipsprt,
            Command::Cipmode(_) => Name::Cipmode,
            Command::Cdnsgip(_) => Name::Cdnsgip,
            Command::Cipgsmloc { .. } => Name::Cipgsmloc,
            Command::Clbs { .. } => Name::Clbs,
            Command::Ston(_) => Name::Ston,
        })
    }

    /// The link a multi-mode spelling addresses (`AT+CIPSTART=<n>,...`, `AT+CIPSEND=<n>...`,
    /// `AT+CIPCLOSE=<n>...`, `AT+CIPSTATUS=<n>`, `AT+CIPRXGET=<2|3|4>,<n>...`); `None` for
    /// everything else. A command with a link is spelled, and parses, only in multi mode.
    pub fn link(&self) -> Option<LinkId> {
        match *self {
            Command::Cipstart { link, .. }
            | Command::Cipsend { link, .. }
            | Command::Cipclose { link, .. }
            | Command::Ciprxget(RxGet::Read { link, .. } | RxGet::Available { link }) => link,
            Command::CipstatusLink(link) | Command::CipackLink(link) => Some(link),
            _ => None,
        }
    }

    /// How the data after the `> ` prompt ends, if the modem accepts this command: a fixed
    /// length, or Ctrl-Z for `AT+CIPSEND` (single) and `AT+CIPSEND=<n>` (multi), at most
    /// `ctrl_z_max` bytes. `None` for commands that take no data.
    pub fn data_mode(&self, ctrl_z_max: u16) -> Option<DataMode> {
        match *self {
            Command::Cipsend { len: Some(len), .. } => Some(DataMode::Fixed(len)),
            Command::Cipsend { len: None, .. } | Command::Exec(Name::Cipsend) => {
                Some(DataMode::CtrlZ { max: ctrl_z_max })
            }
            _ => None,
        }
    }

    /// Writes the command as the host sends it, `AT<body>\r`, and returns its length.
    ///
    /// Every value parses back to itself (with `multi` = `self.link().is_some()`), except
    /// values that share their bytes with another: `Cipsend` and `Cipclose` with neither link
    /// nor parameter are written as the bare `AT+CIPSEND` / `AT+CIPCLOSE`, which parse as
    /// [`Command::Exec`]; a `Cstt` password without a user is written with an empty user.
    /// Strings are written as given, so one holding `"` or a control character is not valid
    /// AT syntax.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, BufferFull> {
        crate::encode::command_line(out, |w| self.write_body(w))
    }

    /// Writes only the body, what follows `AT` (`+CSQ`, `E0`, ...), and returns its length:
    /// the part a host chains after `;` (`AT+CIFSR;E0`).
    pub fn encode_body(&self, out: &mut [u8]) -> Result<usize, BufferFull> {
        crate::encode::written(out, |w| self.write_body(w))
    }

    fn write_body(&self, w: &mut Writer<'_>) -> Result<(), BufferFull> {
        use Command as C;
        match *self {
            C::At => return Ok(()),
            C::Echo(on) => w.bytes(b"E")?.num(on.into())?,
            C::Info => w.bytes(b"I")?,
            C::SaveProfile => w.bytes(b"&W")?,
            C::FlowControl(n) => w.bytes(b"&K")?.num(n.into())?,
            C::Reset => w.bytes(b"Z")?,
            C::FactoryDefaults => w.bytes(b"&F")?,
            C::Verbose(on) => w.bytes(b"V")?.num(on.into())?,
            C::Quiet(on) => w.bytes(b"Q")?.num(on.into())?,
            C::Online => w.bytes(b"O")?,
            C::Test(name) => w.bytes(b"+")?.str(name.as_str())?.bytes(b"=?")?,
            C::Read(name) => w.bytes(b"+")?.str(name.as_str())?.bytes(b"?")?,
            C::Exec(name) => w.bytes(b"+")?.str(name.as_str())?,
            // The same bytes as `Exec`, see `encode`.
            C::Cipsend {
                link: None,
                len: None,
            }
            | C::Cipclose {
                link: None,
                quick: None,
            } => w.bytes(b"+")?.str(self.name().map_or("", Name::as_str))?,
            _ => {
                w.bytes(b"+")?
                    .str(self.name().map_or("", Name::as_str))?
                    .bytes(b"=")?;
                self.write_params(w)?
            }
        };
        Ok(())
    }

    /// The parameters of a set form, after `=`.
    fn write_params<'w, 'b>(
        &self,
        w: &'w mut Writer<'b>,
    ) -> Result<&'w mut Writer<'b>, BufferFull> {
        use Command as C;
        match *self {
            C::Cmee(n)
            | C::Creg(n)
            | C::Cpowd(n)
            | C::Cntpcid(n)
            | C::Ciicrmode(n)
            | C::Cipqsend(n)
            | C::Atwmft(n)
            | C::CipstatusLink(n)
            | C::CipackLink(n)
            | C::Csclk(n)
            | C::Cgreg(n)
            | C::Cipsprt(n) => w.num(n.into()),
            C::Cgatt(on)
            | C::Clts(on)
            | C::Cbatchk(on)
            | C::Ciurc(on)
            | C::Cipmux(on)
            | C::Ciphead(on)
            | C::Cipssl(on)
            | C::Clip(on)
            | C::Cmgf(on)
            | C::Cmghex(on)
            | C::Cnetlight(on)
            | C::Csmins(on)
            | C::Cipsrip(on)
            | C::Cipshowtp(on)
            | C::Cipmode(on)
            | C::Ston(on) => w.num(on.into()),
            C::Ipr(rate) => w.num(rate.into()),
            C::Cpin(pin) | C::Cscs(pin) | C::Cdnsgip(pin) => w.quoted(pin),
            C::Cfun { fun, rst } => {
                w.num(fun.into())?;
                match rst {
                    Some(rst) => w.bytes(b",")?.num(rst.into()),
                    None => Ok(w),
                }
            }
            C::Ifc {
                dce_by_dte,
                dte_by_dce,
            } => {
                w.num(dce_by_dte.into())?;
                match dte_by_dce {
                    Some(n) => w.bytes(b",")?.num(n.into()),
                    None => Ok(w),
                }
            }
            C::Cops { mode, format } => {
                w.num(mode.into())?;
                match format {
                    Some((format, oper)) => {
                        w.bytes(b",")?.num(format.into())?;
                        match oper {
                            Some(oper) => w.bytes(b",")?.quoted(oper),
                            None => Ok(w),
                        }
                    }
                    None => Ok(w),
                }
            }
            C::Cipgsmloc { kind, cid } | C::Clbs { kind, cid } => {
                numbers(w, &[kind.into(), cid.into()])
            }
            C::Ceng { mode, ncell } => {
                w.num(mode.into())?;
                match ncell {
                    Some(ncell) => w.bytes(b",")?.num(ncell.into()),
                    None => Ok(w),
                }
            }
            C::Cclk(t) => {
                w.bytes(b"\"")?;
                two_digits(w, t.year)?.bytes(b"/")?;
                two_digits(w, t.month)?.bytes(b"/")?;
                two_digits(w, t.day)?.bytes(b",")?;
                two_digits(w, t.hour)?.bytes(b":")?;
                two_digits(w, t.minute)?.bytes(b":")?;
                two_digits(w, t.second)?;
                // The sign is always written: `+32`, `+00`, `-20`.
                w.bytes(if t.quarter_hours < 0 { b"-" } else { b"+" })?;
                two_digits(w, t.quarter_hours.unsigned_abs())?.bytes(b"\"")
            }
            C::Cntp { server, tz } => w.quoted(server)?.bytes(b",")?.signed(tz.into()),
            C::Cstt { apn, user, pwd } => {
                w.quoted(apn)?;
                if user.is_some() || pwd.is_some() {
                    w.bytes(b",")?.quoted(user.unwrap_or(""))?;
                }
                match pwd {
                    Some(pwd) => w.bytes(b",")?.quoted(pwd),
                    None => Ok(w),
                }
            }
            C::Cipstart {
                link,
                transport,
                host,
                port,
            } => {
                link_prefix(w, link)?
                    .quoted(transport.as_str())?
                    .bytes(b",")?
                    .quoted(host)?
                    // Unquoted, as Luat and TinyGSM write it.
                    .bytes(b",")?
                    .num(port.into())
            }
            C::Cipsend { link, len } => optional_pair(w, link, len.map(u64::from)),
            C::Cipclose { link, quick } => optional_pair(w, link, quick.map(u64::from)),
            C::Ciprxget(RxGet::Manual(on)) => w.num(on.into()),
            C::Ciprxget(RxGet::Read { link, len, hex }) => {
                w.num(if hex { 3 } else { 2 })?.bytes(b",")?;
                link_prefix(w, link)?.num(len.into())
            }
            C::Ciprxget(RxGet::Available { link }) => {
                w.num(4)?;
                match link {
                    Some(link) => w.bytes(b",")?.num(link.into()),
                    None => Ok(w),
                }
            }
            C::Cdnscfg { primary, secondary } => {
                w.quoted(primary)?;
                match secondary {
                    Some(secondary) => w.bytes(b",")?.quoted(secondary),
                    None => Ok(w),
                }
            }
            C::Cgdcont { cid, pdp_type, apn } => w
                .num(cid.into())?
                .bytes(b",")?
                .quoted(pdp_type)?
                .bytes(b",")?
                .quoted(apn),
            C::Cgact { active, cid } => w.num(active.into())?.bytes(b",")?.num(cid.into()),
            C::Sapbr { cmd, cid, param } => {
                w.num(cmd.into())?.bytes(b",")?.num(cid.into())?;
                match param {
                    Some((tag, value)) => w.bytes(b",")?.quoted(tag)?.bytes(b",")?.quoted(value),
                    None => Ok(w),
                }
            }
            C::Tcpuserparam(params) => numbers(w, &params.map(u64::from)),
            C::Cipccfg(c) => {
                let first = [
                    c.retries.into(),
                    c.wait_tm.into(),
                    c.send_size.into(),
                    c.esc.into(),
                ];
                numbers(w, &first)?;
                match c.rx {
                    Some(rx) => {
                        w.bytes(b",")?;
                        numbers(w, &[rx.mode.into(), rx.size.into(), rx.timer.into()])
                    }
                    None => Ok(w),
                }
            }
            // Forms without parameters are written by `write_body`.
            C::At
            | C::Echo(_)
            | C::Info
            | C::SaveProfile
            | C::FlowControl(_)
            | C::Reset
            | C::FactoryDefaults
            | C::Verbose(_)
            | C::Quiet(_)
            | C::Online
            | C::Test(_)
            | C::Read(_)
            | C::Exec(_) => Ok(w),
        }
    }
}

/// Numbers separated by commas.
fn numbers<'w, 'b>(
    w: &'w mut Writer<'b>,
    values: &[u64],
) -> Result<&'w mut Writer<'b>, BufferFull> {
    for (i, &value) in values.iter().enumerate() {
        if i > 0 {
            w.bytes(b",")?;
        }
        w.num(value)?;
    }
    Ok(w)
}

/// `<n>,` in multi mode, nothing in single mode.
fn link_prefix<'w, 'b>(
    w: &'w mut Writer<'b>,
    link: Option<LinkId>,
) -> Result<&'w mut Writer<'b>, BufferFull> {
    match link {
        Some(link) => w.num(link.into())?.bytes(b","),
        None => Ok(w),
    }
}

/// `[<n>,]<value>` or `<n>` alone (CIPSEND and CIPCLOSE).
fn optional_pair<'w, 'b>(
    w: &'w mut Writer<'b>,
    link: Option<LinkId>,
    value: Option<u64>,
) -> Result<&'w mut Writer<'b>, BufferFull> {
    match (link, value) {
        (Some(link), None) => w.num(link.into()),
        (link, Some(value)) => link_prefix(w, link)?.num(value),
        (None, None) => Ok(w),
    }
}

/// At least two digits, as the fields of `AT+CCLK` are written.
fn two_digits<'w, 'b>(w: &'w mut Writer<'b>, n: u8) -> Result<&'w mut Writer<'b>, BufferFull> {
    if n < 10 {
        w.bytes(b"0")?;
    }
    w.num(n.into())
}
