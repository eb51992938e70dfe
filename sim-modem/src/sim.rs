//! [`Sim`]: the modem, the network, the lab server and the line noise as one sans-IO unit,
//! for replay.
//!
//! The host (the firmware under test, or a scenario) sees only the UART: it writes bytes with
//! [`Sim::handle_uart`] and reads the modem's with [`Sim::drain_uart`]. Time is an input:
//! [`Sim::poll_timeout`] says when the simulation next has something to do, and
//! [`Sim::handle_timeout`] does it. Nothing is stepped per tick, so a quiet simulated hour
//! costs nothing. Inside, every call shuttles the modem's requests and the network's events
//! until all is quiet, and records what happened as [`SimEvent`]s.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::net::{SocketAddr, SocketAddrV4};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::fault::{Direction, Fault, LineNoise, NoiseCounts, NoiseRates, ScheduledFault};
use crate::lab::{
    self, ClientId, CloseReason, LabAction, LabConfig, LabError, LabEvent, LabServer,
};
use crate::modem::{Modem, ModemEvent};
use crate::net::{ConnectError, NetEvent, NetRequest};
use crate::network::{ConnId, HostEvent, HostInput, NetOutput, Network, NetworkConfig};
use crate::profile::Profile;
use protocol::text::Quoted;
use protocol::types::Transport;

/// Everything a simulation is made of. Every field has a default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// The modem personality, by name: `sim800` or `air202`.
    pub profile: String,
    /// Seeds every random choice (loss, line noise): same config and seed, same run.
    pub seed: u64,
    pub network: NetworkConfig,
    pub lab: LabConfig,
    /// Faults to apply at given virtual times.
    pub faults: Vec<ScheduledFault>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            profile: "sim800".to_string(),
            seed: 0,
            network: NetworkConfig::default(),
            lab: LabConfig::default(),
            faults: Vec::new(),
        }
    }
}

/// Why a simulation could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimError {
    UnknownProfile(String),
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::UnknownProfile(name) => {
                write!(
                    f,
                    "unknown modem profile {name:?}; known: {}",
                    Profile::NAMES.join(", ")
                )
            }
        }
    }
}

impl std::error::Error for SimError {}

/// Something that happened in the simulation, at virtual time `at`.
#[derive(Debug, Clone, PartialEq)]
pub struct SimEvent {
    pub at: Duration,
    pub kind: SimEventKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SimEventKind {
    /// The modem reports something about itself.
    Modem(ModemEvent),
    /// The modem asks the network.
    Request(NetRequest),
    /// The network tells the modem.
    Net(NetEvent),
    /// The lab server accepted, received, sent or closed.
    Lab(LabEvent),
    FaultApplied(Fault),
    /// A fault with a duration ended.
    FaultEnded(Fault),
    /// Line noise corrupted bytes crossing the UART.
    Noise {
        direction: Direction,
        counts: NoiseCounts,
    },
}

impl fmt::Display for SimEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:>12.3}s  ", self.at.as_secs_f64())?;
        match &self.kind {
            SimEventKind::Modem(event) => write!(f, "modem      {event:?}"),
            SimEventKind::Request(request) => write!(f, "modem->net {}", net_request(request)),
            SimEventKind::Net(event) => write!(f, "net->modem {}", net_event(event)),
            SimEventKind::Lab(event) => write!(f, "lab        {event}"),
            SimEventKind::FaultApplied(fault) => write!(f, "fault      {}", fault.to_json()),
            SimEventKind::FaultEnded(fault) => write!(f, "fault end  {}", fault.to_json()),
            SimEventKind::Noise { direction, counts } => write!(
                f,
                "noise      {direction:?}: {} flipped, {} dropped, {} duplicated",
                counts.flipped, counts.dropped, counts.duplicated
            ),
        }
    }
}

fn net_request(request: &NetRequest) -> String {
    match request {
        NetRequest::Send { link, data } => format!("Send link {link}: {}", Quoted(data)),
        other => format!("{other:?}"),
    }
}

fn net_event(event: &NetEvent) -> String {
    match event {
        NetEvent::Received { link, data } => format!("Received link {link}: {}", Quoted(data)),
        other => format!("{other:?}"),
    }
}

#[derive(Debug)]
enum Timer {
    Apply(Fault),
    End(Fault),
}

/// The whole simulated world behind the UART. See the module documentation.
pub struct Sim {
    modem: Modem,
    network: Network,
    lab: LabServer,
    /// Corrupts what the host writes, and what the modem writes.
    noise_to_modem: LineNoise,
    noise_from_modem: LineNoise,
    uart_out: Vec<u8>,
    scratch: Vec<u8>,
    events: VecDeque<SimEvent>,
    /// Which lab client each connection is, both ways.
    conn_client: BTreeMap<ConnId, ClientId>,
    client_conn: BTreeMap<ClientId, ConnId>,
    /// UDP sockets aimed at the lab, by the device's address.
    udp_to_lab: BTreeMap<ConnId, SocketAddrV4>,
    timers: BTreeMap<(Duration, u64), Timer>,
    seq: u64,
    /// Live mode: the internet side is real, and the caller carries [`HostEvent`]s.
    external: bool,
    host_out: VecDeque<HostEvent>,
    /// Live mode: what the lab server asks to be done on its real sockets.
    lab_out: VecDeque<LabAction>,
}

/// More rounds than this in one call means two components keep waking each other.
const MAX_ROUNDS: usize = 100_000;

impl Sim {
    /// A simulation as `config` says, at virtual time 0.
    pub fn new(config: SimConfig) -> Result<Sim, SimError> {
        let profile = Profile::by_name(&config.profile)
            .ok_or_else(|| SimError::UnknownProfile(config.profile.clone()))?;
        Ok(Sim::with_profile(config, profile))
    }

    /// The same with a profile of your own (`config.profile` is ignored).
    pub fn with_profile(config: SimConfig, profile: Profile) -> Sim {
        // One seed per component, drawn from the simulation's seed.
        let mut seeds = ChaCha8Rng::seed_from_u64(config.seed);
        let mut network = Network::new(config.network, seeds.next_u64());
        network.add_dns(&config.lab.name, config.lab.ip);
        let mut sim = Sim {
            modem: Modem::new(profile, Duration::ZERO),
            network,
            lab: LabServer::new(config.lab),
            noise_to_modem: LineNoise::new(seeds.next_u64()),
            noise_from_modem: LineNoise::new(seeds.next_u64()),
            uart_out: Vec::new(),
            scratch: Vec::new(),
            events: VecDeque::new(),
            conn_client: BTreeMap::new(),
            client_conn: BTreeMap::new(),
            udp_to_lab: BTreeMap::new(),
            timers: BTreeMap::new(),
            seq: 0,
            external: false,
            host_out: VecDeque::new(),
            lab_out: VecDeque::new(),
        };
        for scheduled in config.faults {
            sim.timer(scheduled.at, Timer::Apply(scheduled.fault));
        }
        sim.pump(Duration::ZERO);
        sim
    }

    pub fn modem(&self) -> &Modem {
        &self.modem
    }

    pub fn network(&self) -> &Network {
        &self.network
    }

    pub fn lab(&self) -> &LabServer {
        &self.lab
    }

    /// Hands the network's internet side to the caller (live mode): from now on the built-in
    /// lab server is bypassed, [`Sim::poll_host_event`] gives what the network sends to
    /// internet hosts, and [`Sim::handle_host`] takes their answers. Peer close and reset
    /// faults come out as [`HostEvent::Close`] / [`HostEvent::Reset`] for the real socket.
    /// The lab server itself stays here, fed from real listeners ([`Sim::lab_accept`] and
    /// the like; `live::NetBridge` does all of it, with the feature `live`).
    pub fn set_external_internet(&mut self) {
        self.external = true;
    }

    /// Live mode: the next thing to do on the real internet.
    pub fn poll_host_event(&mut self) -> Option<HostEvent> {
        self.host_out.pop_front()
    }

    /// Live mode: a real host answered.
    pub fn handle_host(&mut self, now: Duration, conn: ConnId, input: HostInput) {
        self.handle_timeout(now);
        self.network.handle_host(now, conn, input);
        self.pump(now);
    }

    /// Live mode with a real lab server: a client connected to its real listener. The lab
    /// server is the simulation's own ([`Sim::lab`], [`Sim::lab_send`], [`Sim::lab_console`]
    /// and its events work as in replay); its real sockets are the caller's, which carries
    /// out [`Sim::poll_lab_action`].
    pub fn lab_accept(
        &mut self,
        now: Duration,
        transport: Transport,
        peer: SocketAddr,
    ) -> ClientId {
        self.handle_timeout(now);
        let client = self.lab.accept(now, transport, peer);
        self.pump(now);
        client
    }

    /// Live mode: a lab client's real socket received bytes.
    pub fn lab_received(&mut self, now: Duration, client: ClientId, data: &[u8]) {
        self.handle_timeout(now);
        self.lab.handle_receive(now, client, data);
        self.pump(now);
    }

    /// Live mode: the lab's real UDP socket received a datagram.
    pub fn lab_datagram(&mut self, now: Duration, peer: SocketAddr, data: &[u8]) -> ClientId {
        self.handle_timeout(now);
        let client = self.lab.handle_datagram(now, peer, data);
        self.pump(now);
        client
    }

    /// Live mode: a lab client's real connection ended.
    pub fn lab_closed(&mut self, now: Duration, client: ClientId, reason: CloseReason) {
        self.handle_timeout(now);
        self.lab.handle_closed(now, client, reason);
        self.pump(now);
    }

    /// Live mode: the next thing the lab server wants done on its real sockets.
    pub fn poll_lab_action(&mut self) -> Option<LabAction> {
        self.lab_out.pop_front()
    }

    /// The host writes bytes to the modem's UART.
    pub fn handle_uart(&mut self, now: Duration, bytes: &[u8]) {
        self.handle_timeout(now);
        self.scratch.clear();
        let counts = self.noise_to_modem.apply(now, bytes, &mut self.scratch);
        self.noise_event(now, Direction::ToModem, counts);
        let bytes = std::mem::take(&mut self.scratch);
        self.modem.handle_uart(now, &bytes);
        self.scratch = bytes;
        self.pump(now);
    }

    /// Moves what the modem wrote to its UART into `out`.
    pub fn drain_uart(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.uart_out);
    }

    /// When the simulation next has something to do by itself.
    pub fn poll_timeout(&self) -> Option<Duration> {
        [
            self.timers.keys().next().map(|&(at, _)| at),
            self.modem.poll_timeout(),
            self.network.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Does everything due at or before `now`, in time order, each at its own time. Every
    /// other entry point does this first, so a caller that skips ahead loses nothing.
    pub fn handle_timeout(&mut self, now: Duration) {
        for _ in 0..MAX_ROUNDS {
            let Some(at) = self.poll_timeout().filter(|&at| at <= now) else {
                return;
            };
            if let Some(entry) = self.timers.first_entry().filter(|e| e.key().0 == at) {
                match entry.remove() {
                    Timer::Apply(fault) => self.apply(at, fault),
                    Timer::End(fault) => self.event(at, SimEventKind::FaultEnded(fault)),
                }
            }
            if self.modem.poll_timeout().is_some_and(|t| t <= at) {
                self.modem.handle_timeout(at);
            }
            self.network.handle_timeout(at);
            self.pump(at);
        }
        panic!("sim: handle_timeout({now:?}) made no progress after {MAX_ROUNDS} rounds");
    }

    /// The next recorded event; drain them, or they pile up.
    pub fn poll_event(&mut self) -> Option<SimEvent> {
        self.events.pop_front()
    }

    /// Applies a fault now.
    pub fn inject(&mut self, now: Duration, fault: Fault) {
        self.handle_timeout(now);
        self.apply(now, fault);
        self.pump(now);
    }

    /// Sends bytes from the lab server to a client.
    pub fn lab_send(
        &mut self,
        now: Duration,
        client: ClientId,
        bytes: &[u8],
    ) -> Result<(), LabError> {
        self.handle_timeout(now);
        self.lab.send(now, client, bytes)?;
        self.pump(now);
        Ok(())
    }

    /// The lab server closes a client's connection.
    pub fn lab_close(&mut self, now: Duration, client: ClientId) -> Result<(), LabError> {
        self.handle_timeout(now);
        self.lab.close(now, client)?;
        self.pump(now);
        Ok(())
    }

    /// The lab server resets a client's connection.
    pub fn lab_reset(&mut self, now: Duration, client: ClientId) -> Result<(), LabError> {
        self.handle_timeout(now);
        self.lab.reset(now, client)?;
        self.pump(now);
        Ok(())
    }

    /// Runs a lab console command (see [`crate::lab::CONSOLE_HELP`]) and returns its answer.
    pub fn lab_console(&mut self, now: Duration, line: &str) -> String {
        self.handle_timeout(now);
        let answer = self.lab.console(now, line);
        self.pump(now);
        answer
    }

    pub fn set_power_key(&mut self, now: Duration, pressed: bool) {
        self.handle_timeout(now);
        self.modem.set_power_key(now, pressed);
        self.pump(now);
    }

    pub fn set_reset(&mut self, now: Duration, asserted: bool) {
        self.handle_timeout(now);
        self.modem.set_reset(now, asserted);
        self.pump(now);
    }

    fn apply(&mut self, now: Duration, fault: Fault) {
        self.event(now, SimEventKind::FaultApplied(fault.clone()));
        if let Some(duration) = fault.duration() {
            self.timer(now + duration, Timer::End(fault.clone()));
        }
        if self.network.inject(now, &fault) {
            return;
        }
        match fault {
            Fault::PeerClose { link } | Fault::PeerReset { link } => {
                let reset = matches!(fault, Fault::PeerReset { .. });
                for (_, conn) in self.network.open_conns(link) {
                    if self.external {
                        let input = if reset {
                            HostInput::Reset
                        } else {
                            HostInput::Close
                        };
                        self.network.handle_host(now, conn, input);
                        let event = if reset {
                            HostEvent::Reset { conn }
                        } else {
                            HostEvent::Close { conn }
                        };
                        self.host_out.push_back(event);
                        continue;
                    }
                    match self.conn_client.get(&conn) {
                        Some(&client) if reset => drop(self.lab.reset(now, client)),
                        Some(&client) => drop(self.lab.close(now, client)),
                        // Not the lab's (no datagram yet): the far end acts all the same.
                        None => {
                            let input = if reset {
                                HostInput::Reset
                            } else {
                                HostInput::Close
                            };
                            self.network.handle_host(now, conn, input);
                        }
                    }
                }
            }
            Fault::SendFail { count } => self.modem.fail_next_sends(count),
            // The modem tells the network its PDP context is gone as it powers off.
            Fault::Reboot => self.modem.reboot(now),
            Fault::BrownOut => self.modem.brown_out(now),
            Fault::Hang => self.modem.hang(now),
            Fault::LineNoise {
                direction,
                duration,
                bit_flip_ppm,
                drop_ppm,
                duplicate_ppm,
            } => {
                let rates = NoiseRates {
                    bit_flip_ppm,
                    drop_ppm,
                    duplicate_ppm,
                };
                if direction.includes(Direction::ToModem) {
                    self.noise_to_modem.set(rates, now + duration);
                }
                if direction.includes(Direction::FromModem) {
                    self.noise_from_modem.set(rates, now + duration);
                }
            }
            // The network's faults were handled above.
            _ => {}
        }
    }

    /// Shuttles requests, events and actions between the parts until all is quiet.
    fn pump(&mut self, now: Duration) {
        for _ in 0..MAX_ROUNDS {
            let mut busy = false;
            while let Some(request) = self.modem.poll_request() {
                busy = true;
                self.event(now, SimEventKind::Request(request.clone()));
                self.network.handle_request(now, request);
            }
            if self.network.poll_timeout().is_some_and(|t| t <= now) {
                self.network.handle_timeout(now);
            }
            while let Some(output) = self.network.poll_output() {
                busy = true;
                match output {
                    NetOutput::Modem(event) => {
                        self.event(now, SimEventKind::Net(event.clone()));
                        self.modem.handle_net(now, event);
                    }
                    NetOutput::Host(event) => self.host_event(now, event),
                }
            }
            while let Some(action) = self.lab.poll_action() {
                busy = true;
                self.lab_action(now, action);
            }
            while let Some(event) = self.lab.poll_event() {
                self.event(now, SimEventKind::Lab(event));
            }
            if self.modem.poll_timeout().is_some_and(|t| t <= now) {
                busy = true;
                self.modem.handle_timeout(now);
            }
            while let Some(event) = self.modem.poll_event() {
                self.event(now, SimEventKind::Modem(event));
            }
            if !busy {
                self.scratch.clear();
                self.modem.drain_uart(&mut self.scratch);
                let counts = self
                    .noise_from_modem
                    .apply(now, &self.scratch, &mut self.uart_out);
                self.noise_event(now, Direction::FromModem, counts);
                return;
            }
        }
        panic!("sim: the modem and the network kept waking each other at {now:?}");
    }

    /// The network's internet side: the lab server is the only host on it.
    fn host_event(&mut self, now: Duration, event: HostEvent) {
        if self.external {
            self.host_out.push_back(event);
            return;
        }
        match event {
            HostEvent::Connect {
                conn,
                transport,
                ip,
                port,
                from,
                ..
            } => {
                let lab_ip = self.lab.config().ip;
                let answer = match ip {
                    Some(ip) if self.lab.listens_at(transport, ip, port) => {
                        match transport {
                            Transport::Tcp => {
                                let client = self.lab.accept(
                                    now,
                                    transport,
                                    lab::peer(*from.ip(), from.port()),
                                );
                                self.conn_client.insert(conn, client);
                                self.client_conn.insert(client, conn);
                            }
                            // The lab learns of a UDP client with its first datagram.
                            Transport::Udp => drop(self.udp_to_lab.insert(conn, from)),
                        }
                        Some(HostInput::Accepted)
                    }
                    // The lab's host answers a closed TCP port with a reset.
                    Some(ip) if ip == lab_ip && transport == Transport::Tcp => {
                        Some(HostInput::Refused(ConnectError::Refused))
                    }
                    // UDP needs no answer from anyone; datagrams to nowhere vanish.
                    _ if transport == Transport::Udp => Some(HostInput::Accepted),
                    // Nobody at that address: the SYN goes unanswered and the connect times out.
                    _ => None,
                };
                if let Some(answer) = answer {
                    self.network.handle_host(now, conn, answer);
                }
            }
            HostEvent::Data { conn, data } => {
                if let Some(&from) = self.udp_to_lab.get(&conn) {
                    let client =
                        self.lab
                            .handle_datagram(now, lab::peer(*from.ip(), from.port()), &data);
                    self.conn_client.insert(conn, client);
                    self.client_conn.insert(client, conn);
                } else if let Some(&client) = self.conn_client.get(&conn) {
                    if self.lab.client(client).is_some_and(|c| c.is_open()) {
                        self.lab.handle_receive(now, client, &data);
                    } else {
                        // The server's socket is gone: its host answers with a reset.
                        self.network.handle_host(now, conn, HostInput::Reset);
                    }
                }
            }
            HostEvent::Close { conn } => self.closed(now, conn, CloseReason::ByClient),
            HostEvent::Reset { conn } => self.closed(now, conn, CloseReason::ResetByClient),
        }
    }

    fn closed(&mut self, now: Duration, conn: ConnId, reason: CloseReason) {
        self.udp_to_lab.remove(&conn);
        if let Some(client) = self.conn_client.remove(&conn) {
            self.client_conn.remove(&client);
            self.lab.handle_closed(now, client, reason);
        }
    }

    fn lab_action(&mut self, now: Duration, action: LabAction) {
        if self.external {
            // The lab's clients are real sockets: the caller carries the action out.
            self.lab_out.push_back(action);
            return;
        }
        let (client, input) = match action {
            LabAction::Send { client, data } => (client, HostInput::Data(data)),
            LabAction::Close { client } => (client, HostInput::Close),
            LabAction::Reset { client } => (client, HostInput::Reset),
        };
        let Some(&conn) = self.client_conn.get(&client) else {
            return;
        };
        let udp = self.udp_to_lab.contains_key(&conn);
        if !matches!(input, HostInput::Data(_)) {
            self.client_conn.remove(&client);
            self.conn_client.remove(&conn);
            if udp {
                // UDP has no connection to close: the server just forgets the peer.
                return;
            }
        }
        self.network.handle_host(now, conn, input);
    }

    fn noise_event(&mut self, now: Duration, direction: Direction, counts: NoiseCounts) {
        if !counts.is_empty() {
            self.event(now, SimEventKind::Noise { direction, counts });
        }
    }

    fn event(&mut self, at: Duration, kind: SimEventKind) {
        self.events.push_back(SimEvent { at, kind });
    }

    fn timer(&mut self, at: Duration, timer: Timer) {
        self.seq += 1;
        self.timers.insert((at, self.seq), timer);
    }
}
