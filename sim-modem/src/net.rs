//! The interface between the simulated modem and whatever carries its data: the simulated
//! network in replay ([`crate::network`]) or real sockets in live mode ([`crate::live`]).
//!
//! The modem asks with [`NetRequest`]s and learns what happened through [`NetEvent`]s. Both
//! name a connection by its modem link id (single-connection mode uses link 0).

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

/// The modem asks its carrier for something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetRequest {
    /// Activate the PDP context with this APN (`AT+CIICR`); answered by
    /// [`NetEvent::PdpActivated`] or [`NetEvent::PdpRejected`].
    ActivatePdp { apn: String },
    /// Release the PDP context (`AT+CIPSHUT`, `AT+CGATT=0`, flight mode). No answer.
    DeactivatePdp,
    /// Open a connection (`AT+CIPSTART`); `host` is a name or a dotted IPv4 address.
    /// Answered by [`NetEvent::Connected`] or [`NetEvent::ConnectFailed`].
    Connect {
        link: LinkId,
        transport: Transport,
        host: String,
        port: u16,
    },
    /// Send bytes on a connection. Answered by [`NetEvent::Delivered`] once the peer has them
    /// (TCP: acknowledged; UDP: sent), or by [`NetEvent::Closed`].
    Send { link: LinkId, data: Vec<u8> },
    /// Close a connection (`AT+CIPCLOSE`). No answer.
    Close { link: LinkId },
    /// Ask the network's time (`AT+CNTP`); answered by [`NetEvent::Time`].
    Time { server: String },
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
    /// Bytes arrived on a connection.
    Received {
        link: LinkId,
        data: Vec<u8>,
    },
    /// The peer has `len` more bytes of what was sent on `link`.
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
}
