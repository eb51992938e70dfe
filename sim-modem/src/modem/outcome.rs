//! What running a command gives back to the line discipline: how it ended ([`Outcome`]),
//! its error ([`Failure`], with the `+CME ERROR` codes in [`cme`]), what it waits for
//! ([`Wait`]).
//!
//! Values only, and the bottom layer of the modem's files: the line discipline (`line`)
//! reads them, the commands (`commands`, `radio`, `ip`) make them, and none of those
//! imports another to get them.

use std::time::Duration;

use protocol::command::DataMode;
use protocol::response::Response;
use protocol::types::LinkId;

/// How one command ended (or did not yet).
pub(super) enum Outcome {
    /// Done after `takes`; `result` is its final result code, `None` for the commands that
    /// have none (`AT+CIFSR`, `AT&K0`) or write it themselves (`AT+CIPSTATUS`).
    Done {
        result: Option<Response<'static>>,
        takes: Duration,
    },
    Fail(Failure),
    /// Waits for the network; resumed by [`super::Modem::resume`].
    Wait(Wait),
    /// Prompt `> ` and read the data of a send.
    Prompt {
        mode: DataMode,
        send: PendingSend,
    },
    /// Read what an HTTP or SMS command takes after its prompt.
    Input(Input),
}

/// What a service command reads after its prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Input {
    /// `AT+CMGS`: `> `, then the text or the PDU in hex up to Ctrl-Z (ESC cancels).
    Sms(SmsDraft),
    /// `AT+HTTPDATA`: `DOWNLOAD`, then `size` bytes, or what came within `time`.
    HttpBody { size: usize, time: Duration },
}

/// An `AT+CMGS` waiting for its text or PDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SmsDraft {
    /// Text mode: the destination and its type of address.
    Text { destination: String, toda: u8 },
    /// PDU mode: the TPDU's announced length.
    Pdu { length: u8 },
}

/// An error result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Failure {
    /// `ERROR` whatever `AT+CMEE` says.
    Error,
    /// `+CME ERROR: <n>` (or its text, or `ERROR`, per `AT+CMEE`).
    Cme(u16),
    /// `+CMS ERROR: <n>` (or its text, or `ERROR`, per `AT+CMEE`): the SMS commands'.
    Cms(u16),
}

/// SIM800 `+CME ERROR` codes (3GPP TS 27.007 §9.2 and the SIM800 manual's table) and the
/// texts `AT+CMEE=2` shows.
pub(super) mod cme {
    pub const NOT_ALLOWED: u16 = 3;
    pub const SIM_NOT_INSERTED: u16 = 10;
    pub const SIM_BUSY: u16 = 14;
    pub const NO_NETWORK: u16 = 30;
    pub const BAD_PARAMETERS: u16 = 50;
    pub const GPRS_UNSPECIFIED: u16 = 148;

    pub fn text(code: u16) -> &'static str {
        match code {
            NOT_ALLOWED => "operation not allowed",
            SIM_NOT_INSERTED => "SIM not inserted",
            SIM_BUSY => "SIM busy",
            NO_NETWORK => "no network service",
            BAD_PARAMETERS => "Incorrect parameters",
            GPRS_UNSPECIFIED => "unspecified GPRS error",
            _ => "unknown",
        }
    }
}

/// `+CMS ERROR` codes (3GPP TS 27.005 §3.2.5) and the texts `AT+CMEE=2` shows
/// (UNCONFIRMED: SIMCom's verbose texts for them).
pub(super) mod cms {
    pub const NOT_ALLOWED: u16 = 302;
    pub const INVALID_PDU_PARAMETER: u16 = 304;
    pub const INVALID_TEXT_PARAMETER: u16 = 305;
    pub const SIM_NOT_INSERTED: u16 = 310;
    pub const SIM_BUSY: u16 = 314;
    pub const INVALID_INDEX: u16 = 321;
    pub const MEMORY_FULL: u16 = 322;
    pub const NO_SERVICE: u16 = 331;
    pub const NETWORK_TIMEOUT: u16 = 332;

    pub fn text(code: u16) -> &'static str {
        match code {
            NOT_ALLOWED => "operation not allowed",
            INVALID_PDU_PARAMETER => "invalid PDU mode parameter",
            INVALID_TEXT_PARAMETER => "invalid text mode parameter",
            SIM_NOT_INSERTED => "SIM not inserted",
            SIM_BUSY => "SIM busy",
            INVALID_INDEX => "invalid memory index",
            MEMORY_FULL => "memory full",
            NO_SERVICE => "no network service",
            NETWORK_TIMEOUT => "network timeout",
            _ => "unknown error",
        }
    }
}

/// What a suspended command waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wait {
    /// The PDP context (`AT+CIICR`, `AT+CGACT=1`, `AT+SAPBR=1`): `OK` no earlier than
    /// `until`, or `failure`.
    Pdp {
        user: PdpUser,
        until: Duration,
        failure: Failure,
    },
    /// Packet-domain attach (`AT+CGATT=1`).
    Attach,
    /// The peer's acknowledgement of everything sent on `link` up to byte `target`
    /// (`AT+CIPSEND` with `AT+CIPQSEND=0`).
    Delivered { link: LinkId, target: u64 },
    /// The service centre's answer to an `AT+CMGS` (message reference `mr`).
    Sms { mr: u8 },
}

/// The send a `> ` prompt collects data for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PendingSend {
    pub link: LinkId,
}

/// Who holds the PDP context (`radio` keeps one flag per user).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PdpUser {
    /// The TCP/IP application (`AT+CIICR`, or `AT+CIPSTART` from IP INITIAL).
    Cip = 0,
    /// `AT+CGACT=1,<cid>`.
    Cgact = 1,
    /// `AT+SAPBR=1,<cid>`.
    Bearer = 2,
}
