//! The interface between the simulated modem and whatever carries its data: the simulated
//! network in replay ([`crate::network`]) or real sockets in live mode ([`crate::live`]).
//!
//! The modem asks with [`NetRequest`]s and learns what happened through [`NetEvent`]s. Both
//! name a connection by its modem link id (single-connection mode uses link 0).

use std::time::Duration;

use protocol::types::{LinkId, RegStat, Transport};

/// What the radio network offers where the modem is: it decides what the modem can register
/// to and whether a data (PDP) context can be activated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coverage {
    /// What registration the network grants: `Home`, `Roaming`, `Denied`, or
    /// `NotRegistered` for no cell at all (the modem then reports `Searching`).
    pub registration: RegStat,
    /// Signal quality as `+CSQ` reports it: 0–31, 99 unknown.
    pub rssi: u8,
    /// Whether the packet domain accepts attach and PDP activation.
    pub data: bool,
    /// Location area code and cell id, for `+CREG` with `AT+CREG=2`.
    pub lac: u16,
    pub ci: u32,
}

impl Coverage {
    /// A good home network, as the default scenario has it.
    pub const GOOD: Coverage = Coverage {
        registration: RegStat::Home,
        rssi: 24,
        data: true,
        lac: 0x18be,
        ci: 0x93e1,
    };
}

/// The link `AT+HTTPACTION`'s TCP connection uses on the network: the modem's own, beyond
/// every `AT+CIPSTART` link id (0–7).
pub const HTTP_LINK: LinkId = 0xF0;
/// The link `AT+CNTP`'s UDP exchange with its time server uses on the network.
pub const NTP_LINK: LinkId = 0xF1;

/// The device's TCP settings for one connection: the modem's profile, as `AT+CIPCCFG` or
/// `AT+TCPUSERPARAM` changed it. The network's TCP model runs the device's end with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpSettings {
    /// The retransmission timeout's floor and cap (RFC 6298 §2.4, §2.5).
    pub rto_min: Duration,
    pub rto_max: Duration,
    /// Timeouts in a row the connection survives; one more and it is given up.
    pub retransmissions: u8,
    /// The longest unacknowledged data waits before the connection is given up.
    pub give_up: Duration,
    /// The receive buffer the device's window advertises, bytes.
    pub receive_window: u32,
}

/// The modem asks its carrier for something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetRequest {
    /// Activate the PDP context with this APN (`AT+CIICR`); answered by
    /// [`NetEvent::PdpActivated`] or [`NetEvent::PdpRejected`].
    ActivatePdp { apn: String },
    /// Release the PDP context (`AT+CIPSHUT`, `AT+CGATT=0`, flight mode). No answer.
    DeactivatePdp,
    /// Open a connection (`AT+CIPSTART`); `host` is a name or a dotted IPv4 address; `tcp`:
    /// the device's TCP settings for it. Answered by [`NetEvent::Connected`] or
    /// [`NetEvent::ConnectFailed`].
    Connect {
        link: LinkId,
        transport: Transport,
        host: String,
        port: u16,
        tcp: TcpSettings,
    },
    /// Send bytes on a connection. Answered by [`NetEvent::Delivered`] once the peer has them
    /// (TCP: acknowledged; UDP: sent), or by [`NetEvent::Closed`].
    Send { link: LinkId, data: Vec<u8> },
    /// Close a connection (`AT+CIPCLOSE`). No answer.
    Close { link: LinkId },
    /// The modem handed `len` received bytes of `link` to the host (it wrote them out as
    /// `+RECEIVE` / `+IPD` / raw bytes, or the host read them with `AT+CIPRXGET`): the receive
    /// window opens by as much. Until then they fill it. No answer.
    Consumed { link: LinkId, len: usize },
    /// Ask the network's time; answered by [`NetEvent::Time`]. (The built-in modem's
    /// `AT+CNTP` asks a time server over UDP on [`NTP_LINK`] instead.)
    Time { server: String },
    /// Look a name up in the network's DNS (`AT+CDNSGIP`); answered by
    /// [`NetEvent::Resolved`].
    Resolve { name: String },
    /// Submit an SMS to the service centre: an SMS-SUBMIT TPDU (3GPP TS 23.040 §9.2.2.2,
    /// without the service centre address). Answered by [`NetEvent::SmsSent`].
    SendSms { tpdu: Vec<u8> },
}

/// Why the service centre did not take an SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsError {
    /// Not registered: no network service (`+CMS ERROR: 331`).
    NoService,
    /// Registration was lost before the service centre answered (`+CMS ERROR: 332`).
    Timeout,
}

/// Why a connection attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectError {
    /// The name did not resolve.
    Dns,
    /// The peer refused or did not answer.
    Refused,
    /// No PDP context.
    NoNetwork,
}

/// Something happened in the network that the modem must know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetEvent {
    /// The radio conditions changed (registration lost or regained, signal).
    Coverage(Coverage),
    PdpActivated {
        ip: [u8; 4],
    },
    PdpRejected,
    /// The network released the PDP context on its own (the modem says `+PDP: DEACT`).
    PdpDeactivated,
    Connected {
        link: LinkId,
    },
    ConnectFailed {
        link: LinkId,
        error: ConnectError,
    },
    /// Bytes arrived on a connection (TCP: in order, never beyond the receive window). They
    /// fill the window until the modem says [`NetRequest::Consumed`].
    Received {
        link: LinkId,
        data: Vec<u8>,
    },
    /// The peer has `len` more bytes of what was sent on `link` (TCP: its cumulative ACK
    /// moved on by `len`; UDP: the datagram left the radio).
    Delivered {
        link: LinkId,
        len: usize,
    },
    /// The connection closed: the peer closed or reset it, or it timed out.
    Closed {
        link: LinkId,
    },
    /// The network's answer to [`NetRequest::Time`]: Unix seconds, or `None` on failure.
    Time {
        unix: Option<u64>,
    },
    /// The network's answer to [`NetRequest::Resolve`]: the address, or `None`.
    Resolved {
        name: String,
        ip: Option<[u8; 4]>,
    },
    /// The service centre's answer to [`NetRequest::SendSms`].
    SmsSent {
        result: Result<(), SmsError>,
    },
    /// An SMS for the device: an SMS-DELIVER PDU, its service centre address first (as
    /// `AT+CMGR` shows it in PDU mode).
    SmsReceived {
        pdu: Vec<u8>,
    },
}
