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
//!   modem learns each change as [`NetEvent::Coverage`]. Losing registration or data service
//!   releases the PDP context ([`NetEvent::PdpDeactivated`]) and every connection with it.
//! - PDP: activation takes `pdp_activation`, and is rejected without registration, data
//!   service or an accepted APN.
//! - DNS: names in the table (case-insensitive) after `dns_delay`, dotted addresses at once;
//!   other names fail with [`ConnectError::Dns`].
//! - Transmission: a shared radio link per direction with `*_bytes_per_s` serialization, then
//!   one-way `latency` (plus any latency spike). TCP stays in order; a TCP send is
//!   acknowledged ([`NetEvent::Delivered`]) one latency after it reached the host; a UDP send
//!   when it left the radio.
//! - Loss: UDP datagrams are lost. TCP loss shows as delay (retransmission after `tcp_rto`,
//!   doubling), and as a closed connection once retransmitting exceeds `tcp_give_up`.
//! - Blackhole: nothing departs; TCP data is held and leaves when the blackhole ends (as a
//!   retransmission would), or the sender gives up after `tcp_give_up` (the device: the modem
//!   gets [`NetEvent::Closed`]; the host: [`HostEvent::Reset`]). UDP is lost.
//! - Dead connections: when the PDP context goes, the network forgets its connections without
//!   telling the hosts (as a real network would). A host that later sends on one gives up
//!   after `tcp_give_up` and is told [`HostEvent::Reset`]; data for a connection the device
//!   has closed is answered with a reset one round trip later.
//!
//! Simplifications: only the departure time is checked against blackholes and spikes; DNS
//! and acknowledgements are not blackholed.
//!
//! Transmission, loss, blackholes and latency spikes are `link`'s (`link::Transmission`);
//! this file keeps the state machine: radio, PDP, DNS, connections and the schedule.

mod config;
mod link;

use std::collections::{BTreeMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use protocol::types::{LinkId, Transport};

pub use config::{NetworkConfig, Registration};

use crate::fault::Fault;
use crate::net::{ConnectError, Coverage, NetEvent, NetRequest};
use link::{Fate, Transmission, Window};

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
    /// Bytes from the device arrived (UDP: one datagram).
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
}

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
    /// The device closed its end.
    Closed,
    /// Forgotten by the network (PDP released, or the device gave up): nothing reaches the
    /// device any more.
    Dead,
}

#[derive(Debug, Clone)]
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
    /// Arrival of the latest uplink data at the host: TCP keeps order, FIN comes after data.
    up_last: Duration,
    /// Arrival of the latest downlink data at the modem.
    down_last: Duration,
    /// A give-up is already scheduled, for the device's side / for the host's side.
    device_giving_up: bool,
    host_giving_up: bool,
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
    DeviceGivesUp {
        conn: ConnId,
    },
    HostGivesUp {
        conn: ConnId,
    },
    PdpDone {
        generation: u64,
        apn_ok: bool,
    },
    /// A coverage fault ended.
    CoverageCheck,
    Time,
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
}

const FIRST_LOCAL_PORT: u16 = 40_000;

impl Network {
    /// A network as `config` says, its random choices (loss) drawn from `seed`. The modem is
    /// told the coverage at once (first [`Network::poll_output`]).
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
        let mut coverage = self.base;
        for (_, fault) in &self.overrides {
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
            } => self.connect(now, link, transport, host, port),
            NetRequest::Send { link, data } => self.send(now, link, data),
            NetRequest::Close { link } => self.close(now, link),
            NetRequest::Time { .. } => {
                if self.pdp == Pdp::Active && self.transmission.blackhole_end(now).is_none() {
                    let at = now + self.config.dns_delay + 2 * self.transmission.latency_at(now);
                    self.at(at, Due::Time);
                } else {
                    self.emit_modem(NetEvent::Time { unix: None });
                }
            }
        }
    }

    /// The internet side says something about `conn`.
    pub fn handle_host(&mut self, now: Duration, conn: ConnId, input: HostInput) {
        let Some(c) = self.conns.get(&conn) else {
            // Unknown or long gone: data goes nowhere, and TCP would retransmit it in vain.
            // (The host gets no connection id we did not give it, so this is only data.)
            return;
        };
        let (state, transport) = (c.state, c.transport);
        match (input, state) {
            (HostInput::Accepted, ConnState::Connecting) => match transport {
                Transport::Udp => {
                    self.conn_mut(conn).state = ConnState::Open;
                    let link = self.conns[&conn].link;
                    self.emit_to_link(conn, NetEvent::Connected { link });
                }
                Transport::Tcp => {
                    // The SYN-ACK travels back.
                    let start = self.transmission.blackhole_end(now).unwrap_or(now);
                    let at = start + self.transmission.latency_at(start);
                    self.at(at, Due::Established { conn });
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
            (HostInput::Data(data), ConnState::Open) => self.downlink(now, conn, data),
            (HostInput::Data(_), ConnState::Closed) if transport == Transport::Tcp => {
                // The device's stack answers data for a closed connection with a reset.
                let at = now + 2 * self.transmission.latency_at(now);
                self.at(at, Due::Host(HostEvent::Reset { conn }));
                self.conns.remove(&conn);
            }
            (HostInput::Data(_), ConnState::Dead) if transport == Transport::Tcp => {
                self.host_gives_up(now, conn);
            }
            (HostInput::Close | HostInput::Reset, ConnState::Open) => {
                // FIN or RST: after the data already on its way.
                let start = self.transmission.blackhole_end(now).unwrap_or(now);
                let at =
                    (start + self.transmission.latency_at(start)).max(self.conns[&conn].down_last);
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
            (HostInput::Close | HostInput::Reset, ConnState::Closed | ConnState::Dead) => {
                self.conns.remove(&conn);
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
        let dns = self.config.dns.get(&host.to_ascii_lowercase()).copied();
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
                up_last: now,
                down_last: now,
                device_giving_up: false,
                host_giving_up: false,
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
            Transport::Udp => {
                c.host_knows = true;
                let event = self.connect_event(conn);
                self.out.push_back(NetOutput::Host(event));
            }
            Transport::Tcp => {
                let start = self.transmission.blackhole_end(now).unwrap_or(now);
                self.at(
                    start + self.transmission.latency_at(start),
                    Due::Syn { conn },
                );
                self.at(
                    now + self.config.connect_timeout,
                    Due::ConnectTimeout { conn },
                );
            }
        }
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
        let (transport, up_last) = (c.transport, c.up_last);
        let len = data.len();
        match (
            self.transmission.transmit(now, true, transport, len),
            transport,
        ) {
            (Fate::Arrives { sent, at }, Transport::Udp) => {
                self.at(at, Due::Host(HostEvent::Data { conn, data }));
                self.at_link(sent, conn, NetEvent::Delivered { link, len });
            }
            (Fate::Lost { sent }, _) => self.at_link(sent, conn, NetEvent::Delivered { link, len }),
            (Fate::Arrives { at, .. }, Transport::Tcp) => {
                let at = at.max(up_last);
                self.conn_mut(conn).up_last = at;
                self.at(at, Due::Host(HostEvent::Data { conn, data }));
                let acked = at + self.transmission.latency_at(at);
                self.at_link(acked, conn, NetEvent::Delivered { link, len });
            }
            (Fate::GivesUp { at }, _) => {
                if !std::mem::replace(&mut self.conn_mut(conn).device_giving_up, true) {
                    self.at(at, Due::DeviceGivesUp { conn });
                }
            }
        }
    }

    fn close(&mut self, now: Duration, link: LinkId) {
        let Some(conn) = self.links.remove(&link) else {
            return;
        };
        let c = self.conn_mut(conn);
        let (state, transport, host_knows, up_last) =
            (c.state, c.transport, c.host_knows, c.up_last);
        c.state = ConnState::Closed;
        match (state, transport) {
            (ConnState::Open, Transport::Tcp) => {
                let start = self.transmission.blackhole_end(now).unwrap_or(now);
                let at = (start + self.transmission.latency_at(start)).max(up_last);
                self.at(at, Due::Host(HostEvent::Close { conn }));
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

    // ---- the host's data ----

    fn downlink(&mut self, now: Duration, conn: ConnId, data: Vec<u8>) {
        let c = &self.conns[&conn];
        let (link, transport, down_last) = (c.link, c.transport, c.down_last);
        match self
            .transmission
            .transmit(now, false, transport, data.len())
        {
            Fate::Arrives { at, .. } => {
                let at = at.max(down_last);
                self.conn_mut(conn).down_last = at;
                self.at_link(at, conn, NetEvent::Received { link, data });
            }
            Fate::Lost { .. } => {}
            Fate::GivesUp { .. } => self.host_gives_up(now, conn),
        }
    }

    fn host_gives_up(&mut self, now: Duration, conn: ConnId) {
        if !std::mem::replace(&mut self.conn_mut(conn).host_giving_up, true) {
            self.at(now + self.config.tcp_give_up, Due::HostGivesUp { conn });
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
                    let c = self.conn_mut(conn);
                    c.state = ConnState::Open;
                    (c.up_last, c.down_last) = (now, now);
                    let link = c.link;
                    self.emit_modem(NetEvent::Connected { link });
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
            Due::DeviceGivesUp { conn } => {
                // The device's TCP stops retransmitting; its RST is lost in the void, so the
                // host is not told and the connection stays half-open there.
                if self.link_is(conn) {
                    let link = self.conns[&conn].link;
                    self.links.remove(&link);
                    self.conn_mut(conn).state = ConnState::Dead;
                    self.emit_modem(NetEvent::Closed { link });
                }
            }
            Due::HostGivesUp { conn } => {
                // The host's TCP stops retransmitting and drops the connection. If the device
                // still has it, it stays half-open there until the device sends: then the
                // host answers with a reset.
                if self.conns.contains_key(&conn) {
                    self.out
                        .push_back(NetOutput::Host(HostEvent::Reset { conn }));
                    if !self.link_is(conn) {
                        self.conns.remove(&conn);
                    }
                }
            }
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
        }
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

    /// Tells the modem about a coverage change, and releases PDP when data service is gone.
    fn coverage_changed(&mut self) {
        let coverage = self.coverage();
        if self.reported != Some(coverage) {
            self.reported = Some(coverage);
            self.emit_modem(NetEvent::Coverage(coverage));
        }
        if !self.data_service() && self.pdp == Pdp::Active {
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
        for c in self.conns.values_mut() {
            c.state = ConnState::Dead;
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
