//! The simulated cellular network and internet, sans-IO.
//!
//! [`Network`] stands between the modem and the internet hosts. The modem side speaks the
//! fixed interface of [`crate::net`]: it hands in [`NetRequest`]s and gets [`NetEvent`]s when
//! they are due. The internet side is abstract: the network emits [`HostEvent`]s (a device
//! connects, sends, closes) and takes [`HostInput`]s (the host accepts, sends, closes). In
//! replay [`crate::sim::Sim`] wires that side to the lab server; in live mode
//! [`crate::live`] wires it to real sockets.
//!
//! What it models, and how:
//!
//! - Radio: registration (home, roaming, denied, no service), signal, the serving cell. The
//!   modem learns each change as [`NetEvent::Coverage`]. Losing the cell (no service) keeps
//!   the PDP context: the device is unreachable, nothing gets through either way, and the
//!   modem decides when to give the context up (its profile's `pdp_hold`). A registration
//!   refused, or the packet domain without service, releases the context at once
//!   ([`NetEvent::PdpDeactivated`]) and every connection with it.
//! - PDP: activation takes `pdp_activation`, and is rejected without registration, data
//!   service or an accepted APN.
//! - DNS: names in the table (case-insensitive) after `dns_delay`, dotted addresses at once;
//!   other names fail with [`ConnectError::Dns`].
//! - Transmission (`link`): a shared radio link per direction with `*_bytes_per_s`
//!   serialization, then one-way `latency` (plus any latency spike); what departs in a
//!   blackhole or while the device has no service is lost, and so is what the loss rates
//!   pick.
//! - TCP (`tcp`): each connection runs a byte stream each way, segmented by `tcp_mss_bytes`,
//!   acknowledged, retransmitted on RFC 6298 timeouts, flow-controlled by the receiver's
//!   window. The device's end uses the modem's settings ([`crate::net::TcpSettings`], from
//!   its profile), the host's end the `host_tcp_*` knobs. A send is acknowledged
//!   ([`NetEvent::Delivered`]) when the host's cumulative ACK reaches the device; data held
//!   by a blackhole gets through at the first retransmission after it ends, or the sender
//!   gives up (the device: the modem gets [`NetEvent::Closed`]; the host:
//!   [`HostEvent::Reset`]). What arrives for the modem is handed over in seeded batches
//!   (`receive_coalescing_max`), so one `+RECEIVE` can carry part of a write or the ends of
//!   two; it fills the device's window until the modem says [`NetRequest::Consumed`], so a
//!   host that does not read stalls the sender instead of losing data. The handshake is
//!   not a byte stream: the SYN and SYN-ACK leave at the first of their retransmission times
//!   (1 s, doubling, RFC 6298 §2.1) when the path is open.
//! - UDP: one datagram per send, unsegmented (the modem caps its size), lost or not.
//! - Time: with `ntp_server` (on by default; live mode turns it off unless asked) the
//!   internet has a time server on UDP port 123 at every address, and any name resolves for
//!   it (after `dns_delay`): a client's request (`AT+CNTP`, or Luat's `ntp.lua` over
//!   `AT+CIPSTART`) is answered with the network's time when it arrives (`crate::sntp`),
//!   both datagrams going the way any other does (loss, blackholes, a lost cell).
//! - SMS (`sms`): the service centre takes the device's messages and stores and forwards
//!   those for it, over registration, not the packet domain.
//! - Dead connections: when the PDP context goes, the network forgets its connections without
//!   telling the hosts (as a real network would). A host that sends on one retransmits into
//!   the void until it gives up and is told [`HostEvent::Reset`]; data for a connection the
//!   device has closed is answered with a reset one round trip later.
//!
//! Simplifications (`sim-modem/README.md` lists them all): DNS is not blackholed, network
//! time fails at once in a blackhole; a fault that begins while a SYN waits for its
//! retransmission is not seen by it; acknowledgements take no radio time.
//!
//! Transmission, loss, blackholes and latency spikes are `link`'s (`link::Transmission`), the
//! byte streams `tcp`'s; this file keeps the state machine: radio, PDP, DNS, connections and
//! the schedule.

mod config;
mod link;
mod sms;
mod tcp;

use std::collections::{BTreeMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use protocol::types::{LinkId, Transport};

pub use config::{NetworkConfig, Registration};

use crate::fault::Fault;
use crate::net::{ConnectError, Coverage, NetEvent, NetRequest, SmsError, TcpSettings};
use crate::sntp;
use link::{Fate, Transmission, Window};
use tcp::{Expiry, Receiver, Segment, Sender};

/// Names one connection across its life, on both sides of the network.
pub type ConnId = u64;

/// What the network tells the internet side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostEvent {
    /// The device opens a connection to `ip:port`, from `from`. `ip` is `None` when the name
    /// was left for the internet side to resolve (`dns_passthrough`). TCP: the SYN has
    /// arrived; answer [`HostInput::Accepted`] or [`HostInput::Refused`], or nothing (nobody
    /// there: the connect times out). UDP: the device's socket is ready; answer the same way.
    Connect {
        conn: ConnId,
        transport: Transport,
        host: String,
        ip: Option<Ipv4Addr>,
        port: u16,
        from: SocketAddrV4,
    },
    /// Bytes from the device arrived (UDP: one datagram; TCP: in order, as segments came).
    Data { conn: ConnId, data: Vec<u8> },
    /// The device closed the connection (TCP: its FIN arrived).
    Close { conn: ConnId },
    /// The connection is gone: the device reset it, or this end gave up retransmitting.
    Reset { conn: ConnId },
}

/// What the internet side tells the network about a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostInput {
    Accepted,
    Refused(ConnectError),
    /// The host sends bytes (UDP: one datagram).
    Data(Vec<u8>),
    Close,
    Reset,
}

/// Something the network emits, for the modem or for the internet side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetOutput {
    Modem(NetEvent),
    Host(HostEvent),
    /// The service centre took an SMS from the device: its SMS-SUBMIT TPDU.
    Sms(Vec<u8>),
}

/// Where the simulated internet's time server is, whatever name a device asks for
/// (TEST-NET-2, a documentation range: never a real host).
pub const NTP_SERVER_IP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 123);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pdp {
    Inactive,
    Activating,
    Active,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConnState {
    /// Waiting for DNS.
    Resolving,
    /// Waiting for the host's answer.
    Connecting,
    Open,
    /// The device closed its end (its TCP still sends what is left, then the FIN).
    Closed,
    /// Forgotten by the device (PDP released, or its TCP gave up): nothing reaches it.
    Dead,
}

/// One direction of a TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    /// Device to host.
    Up,
    /// Host to device.
    Down,
}

/// One direction of a TCP connection: its sending end, its receiving end, and the path.
#[derive(Debug)]
struct Flow {
    sender: Sender,
    receiver: Receiver,
    /// The sender's timer as scheduled, and its generation (older entries are stale).
    timer: Option<Duration>,
    generation: u64,
    /// Arrival of the latest segment, and of the latest acknowledgement: a path keeps order.
    segments_last: Duration,
    acks_last: Duration,
}

/// A TCP connection's two byte streams.
#[derive(Debug)]
struct Stream {
    up: Flow,
    down: Flow,
    /// In-order bytes waiting to be handed to the modem (delivery batching), and whether the
    /// host's FIN follows them.
    batch: Vec<u8>,
    batch_fin: bool,
    batch_due: bool,
    /// The host's end is gone (it reset, or gave up): the device's segments get a reset.
    host_gone: bool,
}

impl Stream {
    fn flow(&mut self, dir: Dir) -> &mut Flow {
        match dir {
            Dir::Up => &mut self.up,
            Dir::Down => &mut self.down,
        }
    }
}

#[derive(Debug)]
struct Conn {
    link: LinkId,
    transport: Transport,
    host: String,
    ip: Option<Ipv4Addr>,
    port: u16,
    local: SocketAddrV4,
    state: ConnState,
    /// Whether the host has been told [`HostEvent::Connect`].
    host_knows: bool,
    /// The device's TCP settings.
    settings: TcpSettings,
    /// When the SYN left, and whether the handshake needed a retransmission (then it gives
    /// no round-trip sample, RFC 6298 §3).
    syn_sent: Duration,
    handshake_retransmitted: bool,
    /// TCP: the host closed or reset the connection after accepting it, before its
    /// SYN-ACK reached the device: the FIN or RST follows the handshake.
    early_end: Option<EarlyEnd>,
    /// TCP, once established.
    stream: Option<Box<Stream>>,
    /// UDP to the simulated time server (`ntp_server`), answered here.
    ntp: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EarlyEnd {
    Close,
    Reset,
}

#[derive(Debug, Clone, Copy)]
enum Override {
    Registration(Registration),
    NoData,
}

/// Work the network has scheduled for later.
#[derive(Debug)]
enum Due {
    /// An event for the modem about `conn`, dropped if the modem's link no longer maps to it.
    /// `ends`: the connection is over once delivered.
    Modem {
        conn: ConnId,
        event: NetEvent,
        ends: bool,
    },
    Host(HostEvent),
    /// The SYN reaches the host, unless the connection was abandoned meanwhile.
    Syn {
        conn: ConnId,
    },
    Resolved {
        conn: ConnId,
    },
    Established {
        conn: ConnId,
    },
    ConnectTimeout {
        conn: ConnId,
    },
    /// A segment reaches the receiving end of `dir`.
    Segment {
        conn: ConnId,
        dir: Dir,
        segment: Segment,
    },
    /// An acknowledgement reaches the sending end of `dir`.
    Ack {
        conn: ConnId,
        dir: Dir,
        ack: u64,
        window: u64,
    },
    /// The sending end of `dir`'s timer, if `generation` is still current.
    Timer {
        conn: ConnId,
        dir: Dir,
        generation: u64,
    },
    /// The batch of received bytes goes to the modem.
    Deliver {
        conn: ConnId,
    },
    /// A reset reaches the receiving end of `dir`.
    Reset {
        conn: ConnId,
        dir: Dir,
    },
    PdpDone {
        generation: u64,
        apn_ok: bool,
    },
    /// A coverage fault ended.
    CoverageCheck,
    Time,
    /// A DNS lookup's answer (`NetRequest::Resolve`).
    Dns {
        name: String,
        ip: Option<Ipv4Addr>,
    },
    /// An SMS reached the service centre (or not, if registration is gone).
    SmsSubmitted {
        tpdu: Vec<u8>,
    },
    /// An SMS for the device reaches it, if it is registered.
    SmsDelivered {
        pdu: Vec<u8>,
    },
    /// A request reaches the time server.
    Sntp {
        conn: ConnId,
        request: Vec<u8>,
    },
}

/// The simulated cellular network and internet. See the module documentation.
#[derive(Debug)]
pub struct Network {
    config: NetworkConfig,
    base: Coverage,
    /// Active coverage faults in the order they started, each with its end.
    overrides: Vec<(Duration, Override)>,
    /// The coverage the modem was last told.
    reported: Option<Coverage>,
    pdp: Pdp,
    /// Bumped whenever the PDP context changes, so stale activations are ignored.
    pdp_generation: u64,
    conns: BTreeMap<ConnId, Conn>,
    links: BTreeMap<LinkId, ConnId>,
    next_conn: ConnId,
    next_port: u16,
    /// What becomes of bytes put on the air, and the faults on the way.
    transmission: Transmission,
    schedule: BTreeMap<(Duration, u64), Due>,
    seq: u64,
    out: VecDeque<NetOutput>,
    /// Scratch for the segments a sender lets go.
    segments: Vec<Segment>,
    /// SMS for the device that wait for it.
    sms: sms::Centre,
}

const FIRST_LOCAL_PORT: u16 = 40_000;
/// The SYN and the SYN-ACK are retransmitted 1, 3, 7, ... s after the first try (RFC 6298
/// §2.1's 1 s, doubling), at most this often (Linux `tcp_syn_retries`).
const HANDSHAKE_RETRIES: u32 = 6;

impl Network {
    /// A network as `config` says, its random choices (loss, delivery batching) drawn from
    /// `seed`. The modem is told the coverage at once (first [`Network::poll_output`]).
    pub fn new(config: NetworkConfig, seed: u64) -> Network {
        let mut network = Network {
            base: config.coverage(),
            overrides: Vec::new(),
            reported: None,
            pdp: Pdp::Inactive,
            pdp_generation: 0,
            conns: BTreeMap::new(),
            links: BTreeMap::new(),
            next_conn: 1,
            next_port: FIRST_LOCAL_PORT,
            transmission: Transmission::new(&config, seed),
            schedule: BTreeMap::new(),
            seq: 0,
            out: VecDeque::new(),
            segments: Vec::new(),
            sms: sms::Centre::default(),
            config,
        };
        network.coverage_changed();
        network
    }

    pub fn config(&self) -> &NetworkConfig {
        &self.config
    }

    /// Adds a name to the DNS table.
    pub fn add_dns(&mut self, name: &str, ip: Ipv4Addr) {
        self.config.dns.insert(name.to_ascii_lowercase(), ip);
    }

    /// The radio conditions now, faults included.
    pub fn coverage(&self) -> Coverage {
        self.coverage_at(None)
    }

    /// The radio conditions at `t` as far as the faults active now tell (`None`: now).
    fn coverage_at(&self, t: Option<Duration>) -> Coverage {
        let mut coverage = self.base;
        for (until, fault) in &self.overrides {
            if t.is_some_and(|t| t >= *until) {
                continue;
            }
            match fault {
                Override::Registration(registration) => {
                    coverage.registration = registration.reg_stat()
                }
                Override::NoData => coverage.data = false,
            }
        }
        coverage
    }

    pub fn pdp_active(&self) -> bool {
        self.pdp == Pdp::Active
    }

    /// The connection the modem's `link` is using, if any.
    pub fn conn_of_link(&self, link: LinkId) -> Option<ConnId> {
        self.links.get(&link).copied()
    }

    /// Whether `conn` waits for the host's answer to its SYN (or connect).
    pub fn connecting(&self, conn: ConnId) -> bool {
        self.conns
            .get(&conn)
            .is_some_and(|c| c.state == ConnState::Connecting)
    }

    /// The modem's links with an open connection (all of them, or just `link`).
    pub fn open_conns(&self, link: Option<LinkId>) -> Vec<(LinkId, ConnId)> {
        self.links
            .iter()
            .filter(|(l, id)| {
                link.is_none_or(|link| link == **l) && self.conns[id].state == ConnState::Open
            })
            .map(|(&l, &id)| (l, id))
            .collect()
    }

    /// The next thing to emit, for the modem or the internet side.
    pub fn poll_output(&mut self) -> Option<NetOutput> {
        self.out.pop_front()
    }

    /// When [`Network::handle_timeout`] next has work.
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.schedule.keys().next().map(|&(at, _)| at)
    }

    /// Does everything due at or before `now`, each at its own due time.
    pub fn handle_timeout(&mut self, now: Duration) {
        while let Some(entry) = self.schedule.first_entry() {
            let (at, _) = *entry.key();
            if at > now {
                break;
            }
            let due = entry.remove();
            self.fire(at, due);
        }
    }

    /// The modem asks for something.
    pub fn handle_request(&mut self, now: Duration, request: NetRequest) {
        match request {
            NetRequest::ActivatePdp { apn } => self.activate_pdp(now, &apn),
            NetRequest::DeactivatePdp => self.drop_pdp(),
            NetRequest::Connect {
                link,
                transport,
                host,
                port,
                tcp,
            } => self.connect(now, link, transport, host, port, tcp),
            NetRequest::Send { link, data } => self.send(now, link, data),
            NetRequest::Close { link } => self.close(now, link),
            NetRequest::Consumed { link, len } => self.consumed(now, link, len),
            NetRequest::SendSms { tpdu } => self.submit_sms(now, tpdu),
            NetRequest::Time { .. } => {
                if self.pdp == Pdp::Active && self.path_open(now) {
                    let at = now + self.config.dns_delay + 2 * self.transmission.latency_at(now);
                    self.at(at, Due::Time);
                } else {
                    self.emit_modem(NetEvent::Time { unix: None });
                }
            }
            NetRequest::Resolve { name } => self.resolve(now, name),
        }
    }

    /// A DNS lookup: a dotted address at once, a name in the table after `dns_delay`, any
    /// other name fails after it (`dns_passthrough` does not apply: the OS is not asked);
    /// without a PDP context it fails at once.
    fn resolve(&mut self, now: Duration, name: String) {
        let dotted = name.parse::<Ipv4Addr>().ok();
        if self.pdp != Pdp::Active || dotted.is_some() {
            let ip = dotted
                .filter(|_| self.pdp == Pdp::Active)
                .map(|ip| ip.octets());
            self.emit_modem(NetEvent::Resolved { name, ip });
            return;
        }
        let ip = self.config.dns.get(&name.to_ascii_lowercase()).copied();
        self.at(now + self.config.dns_delay, Due::Dns { name, ip });
    }

    /// The internet side says something about `conn`.
    pub fn handle_host(&mut self, now: Duration, conn: ConnId, input: HostInput) {
        let Some(c) = self.conns.get(&conn) else {
            // Unknown or long gone: data goes nowhere, and TCP would retransmit it in vain.
            // (The host gets no connection id we did not give it, so this is only data.)
            return;
        };
        let (state, transport, has_stream) = (c.state, c.transport, c.stream.is_some());
        match (input, state) {
            (HostInput::Accepted, ConnState::Connecting) => match transport {
                Transport::Udp => {
                    self.conn_mut(conn).state = ConnState::Open;
                    let link = self.conns[&conn].link;
                    self.emit_to_link(conn, NetEvent::Connected { link });
                }
                Transport::Tcp => {
                    // The SYN-ACK travels back.
                    if let Some((at, retransmitted)) = self.handshake_leg(now) {
                        self.conn_mut(conn).handshake_retransmitted |= retransmitted;
                        self.at(at, Due::Established { conn });
                    }
                }
            },
            (HostInput::Refused(error), ConnState::Connecting) => {
                let link = self.conns[&conn].link;
                let event = NetEvent::ConnectFailed { link, error };
                let at = match transport {
                    Transport::Udp => now,
                    Transport::Tcp => now + self.transmission.latency_at(now),
                };
                self.at(
                    at,
                    Due::Modem {
                        conn,
                        event,
                        ends: true,
                    },
                );
            }
            (HostInput::Data(data), ConnState::Open) if transport == Transport::Udp => {
                self.udp_downlink(now, conn, data)
            }
            (HostInput::Data(_), ConnState::Closed) if transport == Transport::Tcp => {
                // The device's stack answers data for a closed connection with a reset.
                let at = now + 2 * self.transmission.latency_at(now);
                self.at(at, Due::Host(HostEvent::Reset { conn }));
                self.conns.remove(&conn);
            }
            (HostInput::Data(data), ConnState::Open | ConnState::Dead) if has_stream => {
                self.stream_mut(conn).down.sender.write(&data);
                self.transmit(now, conn, Dir::Down);
            }
            (HostInput::Close, ConnState::Open) if has_stream => {
                self.stream_mut(conn).down.sender.close();
                self.transmit(now, conn, Dir::Down);
            }
            (HostInput::Close | HostInput::Reset, ConnState::Open) if !has_stream => {
                // UDP: the device hears it one latency later.
                let at = now + self.transmission.latency_at(now);
                let link = self.conns[&conn].link;
                let event = NetEvent::Closed { link };
                self.at(
                    at,
                    Due::Modem {
                        conn,
                        event,
                        ends: true,
                    },
                );
            }
            (HostInput::Reset, ConnState::Open) => {
                // The RST follows what is already on its way; the host forgets at once.
                self.stream_mut(conn).host_gone = true;
                self.stop_sending(conn, Dir::Down);
                self.reset(now, conn, Dir::Down);
            }
            (HostInput::Close | HostInput::Reset, ConnState::Closed | ConnState::Dead) => {
                self.conns.remove(&conn);
            }
            (HostInput::Close, ConnState::Connecting) if transport == Transport::Tcp => {
                self.conn_mut(conn).early_end = Some(EarlyEnd::Close);
            }
            (HostInput::Reset, ConnState::Connecting) if transport == Transport::Tcp => {
                self.conn_mut(conn).early_end = Some(EarlyEnd::Reset);
            }
            // Anything else comes too late or makes no sense in this state: ignore it.
            _ => {}
        }
    }

    /// Applies the network's share of a fault. Returns false for faults that are not the
    /// network's (modem, line and server faults).
    pub fn inject(&mut self, now: Duration, fault: &Fault) -> bool {
        self.transmission.expire(now);
        let window = |duration: Duration| Window {
            start: now,
            end: now + duration,
        };
        match *fault {
            Fault::RegistrationLost { duration } => self.push_override(
                now + duration,
                Override::Registration(Registration::NoService),
            ),
            Fault::RegistrationDenied { duration } => {
                self.push_override(now + duration, Override::Registration(Registration::Denied))
            }
            Fault::Roaming { duration } => self.push_override(
                now + duration,
                Override::Registration(Registration::Roaming),
            ),
            Fault::DataServiceLost { duration } => {
                self.push_override(now + duration, Override::NoData)
            }
            Fault::Signal { rssi } => {
                self.base.rssi = rssi;
                self.coverage_changed();
            }
            Fault::PdpDeact => {
                if self.pdp == Pdp::Active {
                    self.drop_pdp();
                    self.emit_modem(NetEvent::PdpDeactivated);
                }
            }
            Fault::Blackhole { duration } => self.transmission.blackhole(window(duration)),
            Fault::LatencySpike { extra, duration } => {
                self.transmission.latency_spike(window(duration), extra)
            }
            Fault::UdpLoss { permille, duration } => {
                self.transmission.udp_loss(window(duration), permille)
            }
            _ => return false,
        }
        true
    }

    // ---- the modem's requests ----

    fn activate_pdp(&mut self, now: Duration, apn: &str) {
        if self.pdp == Pdp::Active {
            self.emit_modem(NetEvent::PdpActivated {
                ip: self.config.device_ip.octets(),
            });
            return;
        }
        let apn_ok = self.config.apns.is_empty()
            || self.config.apns.iter().any(|a| a.eq_ignore_ascii_case(apn));
        self.pdp = Pdp::Activating;
        self.pdp_generation += 1;
        let generation = self.pdp_generation;
        self.at(
            now + self.config.pdp_activation,
            Due::PdpDone { generation, apn_ok },
        );
    }

    fn connect(
        &mut self,
        now: Duration,
        link: LinkId,
        transport: Transport,
        host: String,
        port: u16,
        settings: TcpSettings,
    ) {
        if self.links.contains_key(&link) {
            // The modem reuses a link without closing it: close the old connection first.
            self.close(now, link);
        }
        if self.pdp != Pdp::Active {
            let error = ConnectError::NoNetwork;
            self.emit_modem(NetEvent::ConnectFailed { link, error });
            return;
        }
        let ip = host.parse::<Ipv4Addr>().ok();
        let ntp = self.config.ntp_server && transport == Transport::Udp && port == sntp::PORT;
        let dns = self
            .config
            .dns
            .get(&host.to_ascii_lowercase())
            .copied()
            .or(ntp.then_some(NTP_SERVER_IP));
        let conn = self.next_conn;
        self.next_conn += 1;
        let local = SocketAddrV4::new(self.config.device_ip, self.next_port);
        self.next_port = self.next_port.checked_add(1).unwrap_or(FIRST_LOCAL_PORT);
        let passthrough = self.config.dns_passthrough;
        self.conns.insert(
            conn,
            Conn {
                link,
                transport,
                host,
                ip: ip.or(dns),
                port,
                local,
                state: ConnState::Resolving,
                host_knows: false,
                settings,
                syn_sent: now,
                handshake_retransmitted: false,
                early_end: None,
                stream: None,
                ntp,
            },
        );
        self.links.insert(link, conn);
        let resolved_at = now + self.config.dns_delay;
        if ip.is_some() {
            self.start_connect(now, conn);
        } else if dns.is_some() || passthrough {
            self.at(resolved_at, Due::Resolved { conn });
        } else {
            let event = NetEvent::ConnectFailed {
                link,
                error: ConnectError::Dns,
            };
            self.at(
                resolved_at,
                Due::Modem {
                    conn,
                    event,
                    ends: true,
                },
            );
        }
    }

    fn start_connect(&mut self, now: Duration, conn: ConnId) {
        let c = self.conn_mut(conn);
        c.state = ConnState::Connecting;
        match c.transport {
            Transport::Udp if c.ntp => {
                // The time server is the network's own: the socket is ready at once.
                c.state = ConnState::Open;
                let link = c.link;
                self.emit_to_link(conn, NetEvent::Connected { link });
            }
            Transport::Udp => {
                c.host_knows = true;
                let event = self.connect_event(conn);
                self.out.push_back(NetOutput::Host(event));
            }
            Transport::Tcp => {
                if let Some((at, retransmitted)) = self.handshake_leg(now) {
                    let c = self.conn_mut(conn);
                    c.handshake_retransmitted = retransmitted;
                    c.syn_sent = now;
                    self.at(at, Due::Syn { conn });
                }
                self.at(
                    now + self.config.connect_timeout,
                    Due::ConnectTimeout { conn },
                );
            }
        }
    }

    /// A SYN or SYN-ACK sent now: when it arrives (at its first retransmission whose path is
    /// open), and whether that took a retransmission; `None` if none gets through before the
    /// connect times out.
    fn handshake_leg(&mut self, now: Duration) -> Option<(Duration, bool)> {
        (0..=HANDSHAKE_RETRIES).find_map(|k| {
            let departs = now + Duration::from_secs((1 << k) - 1);
            if departs > now + self.config.connect_timeout || !self.path_open(departs) {
                return None;
            }
            let at = self.transmission.control(departs)?;
            Some((at, k > 0))
        })
    }

    fn connect_event(&self, conn: ConnId) -> HostEvent {
        let c = &self.conns[&conn];
        HostEvent::Connect {
            conn,
            transport: c.transport,
            host: c.host.clone(),
            ip: c.ip,
            port: c.port,
            from: c.local,
        }
    }

    fn send(&mut self, now: Duration, link: LinkId, data: Vec<u8>) {
        let Some(conn) = self.links.get(&link).copied() else {
            self.emit_modem(NetEvent::Closed { link });
            return;
        };
        let c = &self.conns[&conn];
        if c.state != ConnState::Open {
            self.emit_modem(NetEvent::Closed { link });
            return;
        }
        if c.transport == Transport::Tcp {
            self.stream_mut(conn).up.sender.write(&data);
            self.transmit(now, conn, Dir::Up);
            return;
        }
        let len = data.len();
        let fate = if self.conn_reachable(now, conn) {
            self.transmission.transmit(now, true, Transport::Udp, len)
        } else {
            Fate::Lost { sent: now }
        };
        let ntp = c.ntp;
        match fate {
            Fate::Arrives { sent, at } if ntp => {
                self.at(
                    at,
                    Due::Sntp {
                        conn,
                        request: data,
                    },
                );
                self.at_link(sent, conn, NetEvent::Delivered { link, len });
            }
            Fate::Arrives { sent, at } => {
                self.at(at, Due::Host(HostEvent::Data { conn, data }));
                self.at_link(sent, conn, NetEvent::Delivered { link, len });
            }
            Fate::Lost { sent } => self.at_link(sent, conn, NetEvent::Delivered { link, len }),
        }
    }

    fn close(&mut self, now: Duration, link: LinkId) {
        let Some(conn) = self.links.remove(&link) else {
            return;
        };
        let c = self.conn_mut(conn);
        let (state, transport, host_knows) = (c.state, c.transport, c.host_knows);
        c.state = ConnState::Closed;
        if c.ntp {
            self.conns.remove(&conn);
            return;
        }
        match (state, transport) {
            (ConnState::Open, Transport::Tcp) => {
                // The FIN follows what is still to be sent.
                self.stream_mut(conn).up.sender.close();
                self.transmit(now, conn, Dir::Up);
            }
            (ConnState::Open, Transport::Udp) => self
                .out
                .push_back(NetOutput::Host(HostEvent::Close { conn })),
            (ConnState::Connecting, _) if host_knows => {
                self.out
                    .push_back(NetOutput::Host(HostEvent::Reset { conn }));
                self.conns.remove(&conn);
            }
            _ => {
                self.conns.remove(&conn);
            }
        }
    }

    /// The modem handed `len` received bytes to the host: the device's window opens.
    fn consumed(&mut self, now: Duration, link: LinkId, len: usize) {
        let Some(&conn) = self.links.get(&link) else {
            return;
        };
        let Some(stream) = self.conns.get_mut(&conn).and_then(|c| c.stream.as_mut()) else {
            return;
        };
        if let Some((ack, window)) = stream.down.receiver.consumed(len as u64) {
            self.acknowledge(now, conn, Dir::Down, ack, window);
        }
    }

    // ---- the byte streams ----

    /// Puts on the path what the sending end of `dir` lets go now.
    fn transmit(&mut self, now: Duration, conn: ConnId, dir: Dir) {
        let mut segments = std::mem::take(&mut self.segments);
        self.stream_mut(conn)
            .flow(dir)
            .sender
            .poll(now, &mut segments);
        for segment in segments.drain(..) {
            self.put_segment(now, conn, dir, segment);
        }
        self.segments = segments;
        self.sync_timer(conn, dir);
    }

    /// One segment on the path of `dir`: it arrives (in order) or is lost.
    fn put_segment(&mut self, now: Duration, conn: ConnId, dir: Dir, segment: Segment) {
        if !self.conn_reachable(now, conn) {
            return;
        }
        let fate =
            self.transmission
                .transmit(now, dir == Dir::Up, Transport::Tcp, segment.data.len());
        if let Fate::Arrives { at, .. } = fate {
            let flow = self.stream_mut(conn).flow(dir);
            let at = at.max(flow.segments_last);
            flow.segments_last = at;
            self.at(at, Due::Segment { conn, dir, segment });
        }
    }

    /// The receiving end of `dir` acknowledges: the ACK travels back to the sender.
    fn acknowledge(&mut self, now: Duration, conn: ConnId, dir: Dir, ack: u64, window: u64) {
        if !self.conn_reachable(now, conn) {
            return;
        }
        if let Some(at) = self.transmission.control(now) {
            let flow = self.stream_mut(conn).flow(dir);
            let at = at.max(flow.acks_last);
            flow.acks_last = at;
            self.at(
                at,
                Due::Ack {
                    conn,
                    dir,
                    ack,
                    window,
                },
            );
        }
    }

    /// A reset from the sending end of `dir` travels to its receiving end (after what is
    /// already on its way).
    fn reset(&mut self, now: Duration, conn: ConnId, dir: Dir) {
        if !self.conn_reachable(now, conn) {
            return;
        }
        if let Some(at) = self.transmission.control(now) {
            let last = self.stream_mut(conn).flow(dir).segments_last;
            self.at(at.max(last), Due::Reset { conn, dir });
        }
    }

    /// Schedules the sending end of `dir`'s timer when it moved.
    fn sync_timer(&mut self, conn: ConnId, dir: Dir) {
        let flow = self.stream_mut(conn).flow(dir);
        let due = flow.sender.timer();
        if due == flow.timer {
            return;
        }
        flow.timer = due;
        flow.generation += 1;
        let generation = flow.generation;
        if let Some(at) = due {
            self.at(
                at,
                Due::Timer {
                    conn,
                    dir,
                    generation,
                },
            );
        }
    }

    fn on_segment(&mut self, now: Duration, conn: ConnId, dir: Dir, segment: Segment) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let state = c.state;
        let Some(stream) = c.stream.as_mut() else {
            return;
        };
        let carries = !segment.data.is_empty() || segment.fin;
        match (dir, state) {
            (Dir::Up, _) if stream.host_gone => {
                // The host no longer knows the connection: it answers with a reset.
                if carries {
                    self.reset(now, conn, Dir::Down);
                }
            }
            (Dir::Up, _) => {
                let got = stream.up.receiver.on_segment(&segment);
                // The host's application reads at once.
                stream.up.receiver.consumed(got.data.len() as u64);
                let (ack, window) = stream.up.receiver.ack();
                if !got.data.is_empty() {
                    let data = got.data;
                    self.out
                        .push_back(NetOutput::Host(HostEvent::Data { conn, data }));
                }
                if got.fin {
                    self.out
                        .push_back(NetOutput::Host(HostEvent::Close { conn }));
                }
                self.acknowledge(now, conn, Dir::Up, ack, window);
            }
            (Dir::Down, ConnState::Dead) => {}
            (Dir::Down, ConnState::Closed) => {
                // The modem closed the link: its stack answers data with a reset.
                if !segment.data.is_empty() && !stream.host_gone {
                    stream.host_gone = true;
                    self.stop_sending(conn, Dir::Down);
                    let at = now + self.transmission.latency_at(now);
                    self.at(at, Due::Host(HostEvent::Reset { conn }));
                }
            }
            (Dir::Down, _) => {
                let got = stream.down.receiver.on_segment(&segment);
                let (ack, window) = stream.down.receiver.ack();
                let mut first = false;
                if !got.data.is_empty() || got.fin {
                    stream.batch.extend_from_slice(&got.data);
                    stream.batch_fin |= got.fin;
                    first = !std::mem::replace(&mut stream.batch_due, true);
                }
                // Data waits for its batch; a FIN with nothing before it goes at once.
                let wait = if got.data.is_empty() {
                    Duration::ZERO
                } else {
                    self.transmission
                        .delay_up_to(self.config.receive_coalescing_max)
                };
                if first {
                    self.at(now + wait, Due::Deliver { conn });
                }
                self.acknowledge(now, conn, Dir::Down, ack, window);
            }
        }
    }

    fn on_ack(&mut self, now: Duration, conn: ConnId, dir: Dir, ack: u64, window: u64) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let link = c.link;
        let Some(stream) = c.stream.as_mut() else {
            return;
        };
        let acked = stream.flow(dir).sender.on_ack(now, ack, window);
        if dir == Dir::Up && acked.bytes > 0 {
            let len = acked.bytes as usize;
            self.emit_to_link(conn, NetEvent::Delivered { link, len });
        }
        self.transmit(now, conn, dir);
    }

    fn on_timer(&mut self, now: Duration, conn: ConnId, dir: Dir, generation: u64) {
        let Some(stream) = self.conns.get_mut(&conn).and_then(|c| c.stream.as_mut()) else {
            return;
        };
        let flow = stream.flow(dir);
        if flow.generation != generation {
            return;
        }
        flow.timer = None;
        match flow.sender.on_timer(now) {
            Expiry::Send(segment) => self.put_segment(now, conn, dir, segment),
            Expiry::GiveUp => return self.give_up(now, conn, dir),
            Expiry::Nothing => {}
        }
        self.sync_timer(conn, dir);
    }

    /// The sending end of `dir` ran out of retransmissions.
    fn give_up(&mut self, now: Duration, conn: ConnId, dir: Dir) {
        match dir {
            Dir::Up => {
                // The device's TCP drops the connection; its RST is lost if the path is.
                if self.link_is(conn) {
                    let link = self.conns[&conn].link;
                    self.links.remove(&link);
                    self.emit_modem(NetEvent::Closed { link });
                }
                self.reset(now, conn, Dir::Up);
                self.conn_mut(conn).state = ConnState::Dead;
                self.stop_sending(conn, Dir::Up);
            }
            Dir::Down => {
                // The host's TCP drops the connection; the device stays half-open unless the
                // RST reaches it.
                self.out
                    .push_back(NetOutput::Host(HostEvent::Reset { conn }));
                self.reset(now, conn, Dir::Down);
                self.stream_mut(conn).host_gone = true;
                self.stop_sending(conn, Dir::Down);
                if !self.link_is(conn) {
                    self.conns.remove(&conn);
                }
            }
        }
    }

    /// The sending end of `dir` is gone: its timer no longer runs.
    fn stop_sending(&mut self, conn: ConnId, dir: Dir) {
        if let Some(stream) = self.conns.get_mut(&conn).and_then(|c| c.stream.as_mut()) {
            let flow = stream.flow(dir);
            flow.generation += 1;
            flow.timer = None;
            flow.sender.abandon();
        }
    }

    fn on_deliver(&mut self, conn: ConnId) {
        let Some(stream) = self.conns.get_mut(&conn).and_then(|c| c.stream.as_mut()) else {
            return;
        };
        stream.batch_due = false;
        let data = std::mem::take(&mut stream.batch);
        let fin = std::mem::take(&mut stream.batch_fin);
        if !self.link_is(conn) {
            return;
        }
        let link = self.conns[&conn].link;
        if !data.is_empty() {
            self.emit_modem(NetEvent::Received { link, data });
        }
        if fin {
            self.emit_modem(NetEvent::Closed { link });
            self.links.remove(&link);
            self.conns.remove(&conn);
        }
    }

    fn on_reset(&mut self, conn: ConnId, dir: Dir) {
        match dir {
            Dir::Up => {
                if self.conns.contains_key(&conn) && !self.stream_mut(conn).host_gone {
                    self.out
                        .push_back(NetOutput::Host(HostEvent::Reset { conn }));
                }
                if !self.link_is(conn) {
                    self.conns.remove(&conn);
                }
            }
            Dir::Down => {
                // What arrived before the reset is handed over first.
                self.on_deliver(conn);
                if self.link_is(conn) {
                    let link = self.conns[&conn].link;
                    self.links.remove(&link);
                    self.emit_modem(NetEvent::Closed { link });
                }
                self.conns.remove(&conn);
            }
        }
    }

    fn udp_downlink(&mut self, now: Duration, conn: ConnId, data: Vec<u8>) {
        let link = self.conns[&conn].link;
        if !self.conn_reachable(now, conn) {
            return;
        }
        if let Fate::Arrives { at, .. } =
            self.transmission
                .transmit(now, false, Transport::Udp, data.len())
        {
            self.at_link(at, conn, NetEvent::Received { link, data });
        }
    }

    // ---- time passes ----

    fn fire(&mut self, now: Duration, due: Due) {
        match due {
            Due::Modem { conn, event, ends } => {
                if self.link_is(conn) {
                    self.emit_modem(event);
                    if ends {
                        self.links.retain(|_, c| *c != conn);
                        self.conns.remove(&conn);
                    }
                }
            }
            Due::Host(event) => self.out.push_back(NetOutput::Host(event)),
            Due::Syn { conn } => {
                if self
                    .conns
                    .get(&conn)
                    .is_some_and(|c| c.state == ConnState::Connecting)
                {
                    self.conn_mut(conn).host_knows = true;
                    let event = self.connect_event(conn);
                    self.out.push_back(NetOutput::Host(event));
                }
            }
            Due::Resolved { conn } => {
                if self.link_is(conn) && self.conns[&conn].state == ConnState::Resolving {
                    self.start_connect(now, conn);
                }
            }
            Due::Established { conn } => {
                if self.link_is(conn) && self.conns[&conn].state == ConnState::Connecting {
                    self.establish(now, conn);
                    // What the host did meanwhile follows the SYN-ACK (it was sent after).
                    match self.conn_mut(conn).early_end.take() {
                        Some(EarlyEnd::Reset) => {
                            self.stream_mut(conn).host_gone = true;
                            self.stop_sending(conn, Dir::Down);
                            self.reset(now, conn, Dir::Down);
                        }
                        Some(EarlyEnd::Close) => {
                            self.stream_mut(conn).down.sender.close();
                            self.transmit(now, conn, Dir::Down);
                        }
                        None => {}
                    }
                }
            }
            Due::ConnectTimeout { conn } => {
                if self.link_is(conn) && self.conns[&conn].state == ConnState::Connecting {
                    let c = &self.conns[&conn];
                    let (link, host_knows) = (c.link, c.host_knows);
                    if host_knows {
                        self.out
                            .push_back(NetOutput::Host(HostEvent::Reset { conn }));
                    }
                    self.links.remove(&link);
                    self.conns.remove(&conn);
                    let error = ConnectError::Refused;
                    self.emit_modem(NetEvent::ConnectFailed { link, error });
                }
            }
            Due::Segment { conn, dir, segment } => self.on_segment(now, conn, dir, segment),
            Due::Ack {
                conn,
                dir,
                ack,
                window,
            } => self.on_ack(now, conn, dir, ack, window),
            Due::Timer {
                conn,
                dir,
                generation,
            } => self.on_timer(now, conn, dir, generation),
            Due::Deliver { conn } => self.on_deliver(conn),
            Due::Reset { conn, dir } => self.on_reset(conn, dir),
            Due::PdpDone { generation, apn_ok } => {
                if generation == self.pdp_generation && self.pdp == Pdp::Activating {
                    if apn_ok && self.data_service() {
                        self.pdp = Pdp::Active;
                        let ip = self.config.device_ip.octets();
                        self.emit_modem(NetEvent::PdpActivated { ip });
                    } else {
                        self.pdp = Pdp::Inactive;
                        self.emit_modem(NetEvent::PdpRejected);
                    }
                }
            }
            Due::CoverageCheck => {
                self.overrides.retain(|(until, _)| *until > now);
                self.coverage_changed();
            }
            Due::Time => {
                let unix = self.config.unix_time_at_start + now.as_secs();
                self.emit_modem(NetEvent::Time { unix: Some(unix) });
            }
            Due::Dns { name, ip } => {
                let ip = ip.map(|ip| ip.octets());
                self.emit_modem(NetEvent::Resolved { name, ip });
            }
            Due::SmsSubmitted { tpdu } => {
                let result = if self.registered() {
                    self.out.push_back(NetOutput::Sms(tpdu));
                    Ok(())
                } else {
                    Err(SmsError::Timeout)
                };
                self.emit_modem(NetEvent::SmsSent { result });
            }
            Due::SmsDelivered { pdu } => {
                if self.registered() {
                    self.emit_modem(NetEvent::SmsReceived { pdu });
                } else {
                    self.sms.hold(pdu);
                }
            }
            Due::Sntp { conn, request } => {
                let unix = Duration::from_secs(self.config.unix_time_at_start) + now;
                if let Some(answer) = sntp::answer(&request, unix) {
                    if self.conns.contains_key(&conn) {
                        self.udp_downlink(now, conn, answer.to_vec());
                    }
                }
            }
        }
    }

    // ---- SMS ----

    /// An SMS from `from` with `text` for the device, as the service centre makes it: an
    /// SMS-DELIVER stamped with the network's time (UTC), in the GSM 7-bit alphabet if the
    /// text is all in it, else UCS2 (TS 23.038), delivered as [`Network::deliver_sms`] does.
    pub fn deliver_text(
        &mut self,
        now: Duration,
        from: &str,
        text: &str,
    ) -> Result<(), protocol::pdu::PduError> {
        use protocol::pdu::{gsm7, Alphabet, Body, DeliverFields};
        let gsm = text.chars().all(|c| gsm7::from_char(c).is_some());
        let alphabet = if gsm { Alphabet::Gsm7 } else { Alphabet::Ucs2 };
        let unix = self.config.unix_time_at_start + now.as_secs();
        let fields = DeliverFields {
            service_centre: Some(&self.config.sms_centre),
            originator: from,
            pid: 0,
            dcs: alphabet.dcs(),
            timestamp: protocol::types::DateTime::from_unix(unix, 0),
            header: None,
            body: Body::Text(text),
        };
        let mut pdu = [0u8; 200];
        let n = fields.encode(&mut pdu)?;
        self.deliver_sms(now, pdu[..n].to_vec());
        Ok(())
    }

    /// An SMS for the device (an SMS-DELIVER PDU, service centre address first): delivered
    /// `sms_delay` from now if the device is registered, else held until it is.
    pub fn deliver_sms(&mut self, now: Duration, pdu: Vec<u8>) {
        if self.registered() {
            self.at(now + self.config.sms_delay, Due::SmsDelivered { pdu });
        } else {
            self.sms.hold(pdu);
        }
    }

    fn submit_sms(&mut self, now: Duration, tpdu: Vec<u8>) {
        if self.registered() {
            self.at(now + self.config.sms_delay, Due::SmsSubmitted { tpdu });
        } else {
            let result = Err(SmsError::NoService);
            self.emit_modem(NetEvent::SmsSent { result });
        }
    }

    /// Whether the device is registered (SMS needs no packet domain).
    fn registered(&self) -> bool {
        self.coverage().registration.is_registered()
    }

    /// The SYN-ACK reached the device: both ends start their byte streams.
    fn establish(&mut self, now: Duration, conn: ConnId) {
        let config = &self.config;
        let mss = usize::from(config.tcp_mss_bytes);
        let host = tcp::Params {
            rto_min: config.host_tcp_rto_min,
            rto_max: config.host_tcp_rto_max,
            retransmissions: config.host_tcp_retransmissions,
            give_up: config.host_tcp_give_up,
            mss,
        };
        let host_window = u64::from(config.host_receive_window_bytes);
        let c = self.conns.get_mut(&conn).expect("a live connection");
        let device = tcp::Params {
            rto_min: c.settings.rto_min,
            rto_max: c.settings.rto_max,
            retransmissions: c.settings.retransmissions,
            give_up: c.settings.give_up,
            mss,
        };
        let device_window = u64::from(c.settings.receive_window);
        let rtt = (!c.handshake_retransmitted).then(|| now.saturating_sub(c.syn_sent));
        let flow = |params, window: u64, capacity: u64| Flow {
            sender: Sender::new(params, window, rtt),
            receiver: Receiver::new(capacity, mss),
            timer: None,
            generation: 0,
            segments_last: now,
            acks_last: now,
        };
        c.stream = Some(Box::new(Stream {
            up: flow(device, host_window, host_window),
            down: flow(host, device_window, device_window),
            batch: Vec::new(),
            batch_fin: false,
            batch_due: false,
            host_gone: false,
        }));
        c.state = ConnState::Open;
        let link = c.link;
        self.emit_modem(NetEvent::Connected { link });
    }

    // ---- helpers ----

    fn push_override(&mut self, until: Duration, fault: Override) {
        self.overrides.push((until, fault));
        self.at(until, Due::CoverageCheck);
        self.coverage_changed();
    }

    fn data_service(&self) -> bool {
        let coverage = self.coverage();
        coverage.registration.is_registered() && coverage.data
    }

    /// Whether the device can be reached at `t` (now or later, as far as the faults active
    /// now tell): it has service and nothing blackholes the path.
    fn path_open(&self, t: Duration) -> bool {
        let coverage = self.coverage_at(Some(t));
        coverage.registration.is_registered()
            && coverage.data
            && self.transmission.blackhole_end(t).is_none()
    }

    /// Whether `conn`'s device end can be reached now: it has service and still knows the
    /// connection (blackholes are the transmission's).
    fn conn_reachable(&self, now: Duration, conn: ConnId) -> bool {
        let coverage = self.coverage_at(Some(now));
        coverage.registration.is_registered()
            && coverage.data
            && self
                .conns
                .get(&conn)
                .is_some_and(|c| c.state != ConnState::Dead)
    }

    /// Tells the modem about a coverage change. A refused registration or a packet domain
    /// without service releases the PDP context; a lost cell does not (the modem decides).
    fn coverage_changed(&mut self) {
        let coverage = self.coverage();
        if self.reported != Some(coverage) {
            self.reported = Some(coverage);
            self.emit_modem(NetEvent::Coverage(coverage));
        }
        if coverage.registration.is_registered() && !self.sms.is_empty() {
            // The service centre retries what waited: delivered at once now.
            for pdu in self.sms.release() {
                self.emit_modem(NetEvent::SmsReceived { pdu });
            }
        }
        let released = !coverage.data || coverage.registration == Registration::Denied.reg_stat();
        if released && self.pdp == Pdp::Active {
            self.drop_pdp();
            self.emit_modem(NetEvent::PdpDeactivated);
        }
    }

    /// Releases the PDP context: every connection is forgotten, without telling the hosts.
    fn drop_pdp(&mut self) {
        self.pdp = Pdp::Inactive;
        self.pdp_generation += 1;
        self.links.clear();
        self.conns.retain(|_, c| c.host_knows);
        let ids: Vec<ConnId> = self.conns.keys().copied().collect();
        for conn in ids {
            self.conn_mut(conn).state = ConnState::Dead;
            self.stop_sending(conn, Dir::Up);
        }
    }

    fn link_is(&self, conn: ConnId) -> bool {
        self.conns
            .get(&conn)
            .is_some_and(|c| self.links.get(&c.link) == Some(&conn))
    }

    fn conn_mut(&mut self, conn: ConnId) -> &mut Conn {
        self.conns.get_mut(&conn).expect("a live connection")
    }

    fn stream_mut(&mut self, conn: ConnId) -> &mut Stream {
        self.conn_mut(conn)
            .stream
            .as_mut()
            .expect("an established connection")
    }

    fn emit_modem(&mut self, event: NetEvent) {
        self.out.push_back(NetOutput::Modem(event));
    }

    fn emit_to_link(&mut self, conn: ConnId, event: NetEvent) {
        if self.link_is(conn) {
            self.emit_modem(event);
        }
    }

    fn at_link(&mut self, at: Duration, conn: ConnId, event: NetEvent) {
        self.at(
            at,
            Due::Modem {
                conn,
                event,
                ends: false,
            },
        );
    }

    fn at(&mut self, at: Duration, due: Due) {
        self.seq += 1;
        self.schedule.insert((at, self.seq), due);
    }
}
