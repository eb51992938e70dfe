//! [`Sim`]: the modem, the network, the lab server and the UART (wire time, line noise, line
//! errors) as one sans-IO unit, for replay and live mode.
//!
//! The host (the firmware under test, or a scenario) sees only the UART: it writes bytes with
//! [`Sim::handle_uart`] and reads the modem's with [`Sim::drain_uart`] (or
//! [`Sim::receive_uart`], which also says where its UART saw line errors). Time is an input:
//! [`Sim::poll_timeout`] says when the simulation next has something to do, and
//! [`Sim::handle_timeout`] does it. Nothing is stepped per tick, so a quiet simulated hour
//! costs nothing. Inside, every call shuttles the modem's requests and the network's events
//! until all is quiet, and records what happened as [`SimEvent`]s.
//!
//! The UART takes time (`wire`): each byte 10 bit times at the modem's baud rate
//! ([`Modem::uart_baud`]), both ways, in runs: the host's bytes reach the modem a line at a
//! time, the modem's go out in one run whenever the line is free, and a run arrives whole
//! with its last byte ([`Sim::poll_timeout`] says when). What the modem's UART buffers
//! cannot hold is lost and recorded as [`SimEventKind::UartOverflow`]. Live mode over a real
//! serial port leaves the time to the port ([`Sim::set_wire_time`]).
//!
//! Some faults are the simulation's, not the modem's or the network's: a peer that vanishes
//! (its packets stop both ways, no FIN, no RST, no acknowledgement), a PDP context the
//! network drops without telling the modem, and bursts of UART line errors.

mod wire;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
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
use crate::modem::{Buffer, Modem, ModemEvent};
use crate::net::{ConnectError, NetEvent, NetRequest};
use crate::network::{ConnId, HostEvent, HostInput, NetOutput, Network, NetworkConfig};
use crate::profile::Profile;
use protocol::text::Quoted;
use protocol::types::{LinkId, Transport};
use wire::Line;

pub use wire::{resample, wire_time, BITS_PER_BYTE};

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
    /// The lab's phone got an SMS from the device, or handed one for it to the service
    /// centre (as its [`LabServer::sms_log`] records them).
    Sms(lab::Sms),
    FaultApplied(Fault),
    /// A fault with a duration ended.
    FaultEnded(Fault),
    /// Line noise corrupted bytes crossing the UART.
    Noise {
        direction: Direction,
        counts: NoiseCounts,
    },
    /// A UART buffer of the modem was full: `lost` bytes that arrived from the host
    /// (`ToModem`: the receive buffer) or that the modem wrote (`FromModem`: the transmit
    /// buffer) are gone.
    UartOverflow {
        direction: Direction,
        lost: usize,
    },
    /// The host's UART saw a line error ([`Fault::UartErrors`]); `lost_byte`: a byte that
    /// was crossing is gone with it.
    UartError {
        lost_byte: bool,
    },
}

impl fmt::Display for SimEvent {
    /// `{:#}` writes the time to the microsecond.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.at.as_secs_f64();
        if f.alternate() {
            write!(f, "{at:>14.6}s  ")?;
        } else {
            write!(f, "{at:>12.3}s  ")?;
        }
        match &self.kind {
            SimEventKind::Modem(event) => write!(f, "modem      {event:?}"),
            SimEventKind::Request(request) => write!(f, "modem->net {}", net_request(request)),
            SimEventKind::Net(event) => write!(f, "net->modem {}", net_event(event)),
            SimEventKind::Lab(event) => write!(f, "lab        {event}"),
            SimEventKind::Sms(sms) => {
                let way = match sms.direction {
                    lab::SmsDirection::FromDevice => "from the device to",
                    lab::SmsDirection::ToDevice => "to the device from",
                };
                write!(f, "lab sms    {way} {}: {:?}", sms.number, sms.text)
            }
            SimEventKind::FaultApplied(fault) => write!(f, "fault      {}", fault.to_json()),
            SimEventKind::FaultEnded(fault) => write!(f, "fault end  {}", fault.to_json()),
            SimEventKind::Noise { direction, counts } => write!(
                f,
                "noise      {direction:?}: {} flipped, {} dropped, {} duplicated",
                counts.flipped, counts.dropped, counts.duplicated
            ),
            SimEventKind::UartOverflow { direction, lost } => {
                write!(f, "overflow   {direction:?}: {lost} bytes lost")
            }
            SimEventKind::UartError { lost_byte } => write!(
                f,
                "uart error FromModem{}",
                if *lost_byte { ": a byte lost" } else { "" }
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
    /// The next line error of a [`Fault::UartErrors`] burst: `left` more after it, every
    /// `interval`.
    UartError {
        left: u32,
        interval: Duration,
    },
    /// The answer to a gated connect ([`Sim::admit`]).
    Admit {
        request: ConnectRequest,
        accept: bool,
    },
}

/// A TCP connect that reached the lab server while connects are gated
/// ([`Sim::gate_connects`]): the SYN arrived at `at`, from the device's address `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectRequest {
    pub conn: ConnId,
    pub at: Duration,
    pub from: SocketAddrV4,
}

/// The whole simulated world behind the UART. See the module documentation.
pub struct Sim {
    modem: Modem,
    network: Network,
    lab: LabServer,
    /// Corrupts what the host writes, and what the modem writes.
    noise_to_modem: LineNoise,
    noise_from_modem: LineNoise,
    /// The UART each way, and what the host wrote that is not on the line yet (its transmit
    /// buffer: a host waits rather than loses).
    to_modem: Line,
    from_modem: Line,
    host_tx: Vec<u8>,
    /// Bytes take wire time (off: a real serial port paces them itself).
    wire_time: bool,
    /// The host's UART rate, when it is its own ([`Sim::set_host_baud`]); `None`: it
    /// follows the modem's.
    host_baud: Option<u32>,
    /// What reached the host, and where its UART saw line errors (positions in `uart_out`).
    uart_out: Vec<u8>,
    uart_errors: Vec<usize>,
    /// Buffers used anew at each call, kept to spare the allocations.
    scratch: Vec<u8>,
    written: Vec<u8>,
    /// Connections whose peer vanished ([`Fault::PeerVanish`]), by transport: nothing
    /// crosses any more.
    vanished: BTreeMap<ConnId, Transport>,
    /// [`Fault::SilentPdpLoss`]: the modem is not told the context went (`pdp_deact_unsaid`),
    /// nor anything about the links it had then, until it asks about them again.
    pdp_deact_unsaid: bool,
    stale_links: BTreeSet<LinkId>,
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
    /// Connects to the lab wait for the caller's [`Sim::admit`] (a fleet's shared server
    /// decides), and those not answered yet.
    gated: bool,
    connects: VecDeque<ConnectRequest>,
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
        let clock = config.network.unix_time_at_start;
        let mut network = Network::new(config.network, seeds.next_u64());
        network.add_dns(&config.lab.name, config.lab.ip);
        let mut modem = Modem::new(profile, Duration::ZERO);
        // The network's clock is the one network time (`AT+CLTS=1`) carries.
        modem.set_network_clock(clock);
        let mut sim = Sim {
            modem,
            network,
            lab: LabServer::new(config.lab),
            noise_to_modem: LineNoise::new(seeds.next_u64()),
            noise_from_modem: LineNoise::new(seeds.next_u64()),
            to_modem: Line::default(),
            from_modem: Line::default(),
            host_tx: Vec::new(),
            wire_time: true,
            host_baud: None,
            uart_out: Vec::new(),
            uart_errors: Vec::new(),
            scratch: Vec::new(),
            written: Vec::new(),
            vanished: BTreeMap::new(),
            pdp_deact_unsaid: false,
            stale_links: BTreeSet::new(),
            events: VecDeque::new(),
            conn_client: BTreeMap::new(),
            client_conn: BTreeMap::new(),
            udp_to_lab: BTreeMap::new(),
            timers: BTreeMap::new(),
            seq: 0,
            external: false,
            host_out: VecDeque::new(),
            lab_out: VecDeque::new(),
            gated: false,
            connects: VecDeque::new(),
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

    pub fn lab_mut(&mut self) -> &mut LabServer {
        &mut self.lab
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

    /// Whether bytes take wire time on the UART (on by default). Live mode over a real serial
    /// port turns it off: the port's own baud rate paces the bytes.
    pub fn set_wire_time(&mut self, on: bool) {
        self.wire_time = on;
    }

    /// The host's UART rate (`None`, the default: whatever the modem's is). With a rate of
    /// its own the host reads garbage after `AT+IPR` moves the modem to another one, and the
    /// modem reads garbage from it ([`resample`]), as on a real line; an auto-bauding modem
    /// follows the host.
    pub fn set_host_baud(&mut self, baud: Option<u32>) {
        self.host_baud = baud.filter(|&b| b != 0);
    }

    /// The host's DTR line (high by default: the modem's pull-up). With `AT+CSCLK=1` a high
    /// DTR lets the modem sleep and a low one wakes it.
    pub fn set_dtr(&mut self, now: Duration, high: bool) {
        self.handle_timeout(now);
        self.modem.set_dtr(now, high);
        self.pump(now);
    }

    /// Gates TCP connects to the lab server: each waits, unanswered, until the caller
    /// answers it with [`Sim::admit`] (a fleet's shared server decides for every device's
    /// simulation). [`Sim::poll_connect`] gives them as their SYN arrives.
    pub fn gate_connects(&mut self) {
        self.gated = true;
    }

    /// Whether gated connects wait for [`Sim::poll_connect`].
    pub fn connects_waiting(&self) -> bool {
        !self.connects.is_empty()
    }

    /// The next gated connect that reached the lab server.
    pub fn poll_connect(&mut self) -> Option<ConnectRequest> {
        self.connects.pop_front()
    }

    /// Answers a gated connect at `at` (now, if `at` has passed): the lab server accepts it
    /// (its SYN-ACK leaves then), or its host refuses it (a reset). A connect the device has
    /// given up on by then is not accepted.
    pub fn admit(&mut self, now: Duration, at: Duration, request: ConnectRequest, accept: bool) {
        self.handle_timeout(now);
        self.timer(at.max(now), Timer::Admit { request, accept });
        self.handle_timeout(now);
    }

    /// Live mode: the next thing to do on the real internet.
    pub fn poll_host_event(&mut self) -> Option<HostEvent> {
        self.host_out.pop_front()
    }

    /// Live mode: a real host answered.
    pub fn handle_host(&mut self, now: Duration, conn: ConnId, input: HostInput) {
        self.handle_timeout(now);
        if !self.vanished.contains_key(&conn) {
            self.network.handle_host(now, conn, input);
        }
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

    /// The host writes bytes to the modem's UART: they reach the modem at wire pace.
    pub fn handle_uart(&mut self, now: Duration, bytes: &[u8]) {
        self.handle_timeout(now);
        self.host_tx.extend_from_slice(bytes);
        self.pump(now);
    }

    /// Moves what reached the host over the UART into `out` (line errors, if any, are lost
    /// with the bytes they hit; [`Sim::receive_uart`] tells where they were).
    pub fn drain_uart(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.uart_out);
        self.uart_errors.clear();
    }

    /// Moves what reached the host into `out`, and into `errors` where its UART saw a line
    /// error: the index in `out` of the byte that followed it.
    pub fn receive_uart(&mut self, out: &mut Vec<u8>, errors: &mut Vec<usize>) {
        let base = out.len();
        errors.extend(self.uart_errors.drain(..).map(|at| base + at));
        out.append(&mut self.uart_out);
    }

    /// Live mode: [`Sim::drain_uart`], plus the bytes of the run still on the line that
    /// have arrived by `now`, so that a real endpoint gets them at wire pace.
    pub fn drain_uart_arrived(&mut self, now: Duration, out: &mut Vec<u8>) {
        self.drain_uart(out);
        let mut errors = Vec::new();
        self.from_modem.take_arrived(now, out, &mut errors);
    }

    /// Whether bytes are on their way to the host.
    pub fn uart_busy(&self) -> bool {
        self.from_modem.is_busy()
    }

    /// When the simulation next has something to do by itself.
    pub fn poll_timeout(&self) -> Option<Duration> {
        [
            self.timers.keys().next().map(|&(at, _)| at),
            self.modem.poll_timeout(),
            self.network.poll_timeout(),
            self.to_modem.next_arrival(),
            self.from_modem.next_arrival(),
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
                    Timer::UartError { left, interval } => self.line_error(at, left, interval),
                    Timer::Admit { request, accept } => self.answer_connect(at, request, accept),
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

    /// The lab sends the device an SMS: the service centre stamps it and delivers it after
    /// the network's `sms_delay`, or when the device is registered again. Text that does not
    /// fit one SMS is refused. The device's SMS, and these, are in [`LabServer::sms_log`].
    pub fn lab_send_sms(&mut self, now: Duration, text: &str) -> Result<(), String> {
        self.handle_timeout(now);
        self.lab.send_sms(now, text)?;
        self.pump(now);
        Ok(())
    }

    /// From now on the lab's HTTP endpoint answers the requests `answer` matches with it
    /// (before the configured answers). What it got is in [`LabServer::http_requests`].
    pub fn lab_answer_http(&mut self, answer: lab::HttpAnswer) {
        self.lab.answer_http(answer);
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
            Fault::SendFailLoop { link } => self.modem.fail_sends_until_restarted(link),
            Fault::PeerVanish { link } => self.vanish(now, link),
            Fault::SilentPdpLoss => self.lose_pdp_silently(now),
            Fault::HangAfter {
                uptime,
                reset_line_recovers,
            } => self.modem.hang_after(now, uptime, reset_line_recovers),
            Fault::RebootBadRdy { rdy } => self.modem.reboot_bad_rdy(now, rdy),
            Fault::UartErrors { duration, count } => {
                let count = count.max(1);
                self.line_error(now, count - 1, duration / count);
            }
            Fault::CfunSimReset => self.modem.reset_sim_on_cfun(),
            Fault::Battery {
                percent,
                millivolts,
                charging,
            } => self.modem.set_battery(percent, millivolts, charging),
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
                self.modem_asks(&request);
                self.event(now, SimEventKind::Request(request.clone()));
                self.network.handle_request(now, request);
            }
            if self.network.poll_timeout().is_some_and(|t| t <= now) {
                self.network.handle_timeout(now);
            }
            while let Some(output) = self.network.poll_output() {
                busy = true;
                match output {
                    NetOutput::Modem(event) if self.unsaid(&event) => {}
                    NetOutput::Modem(event) => {
                        self.event(now, SimEventKind::Net(event.clone()));
                        self.modem.handle_net(now, event);
                    }
                    NetOutput::Host(event) => self.host_event(now, event),
                    NetOutput::Sms(tpdu) => {
                        let sms = self.lab.sms_from_device(now, &tpdu).clone();
                        self.event(now, SimEventKind::Sms(sms));
                    }
                }
            }
            while let Some((from, text)) = self.lab.poll_sms() {
                busy = true;
                let sms = lab::Sms {
                    at: now,
                    direction: lab::SmsDirection::ToDevice,
                    number: from.clone(),
                    text: text.clone(),
                    alphabet: None,
                };
                self.event(now, SimEventKind::Sms(sms));
                // The lab checked that it fits one SMS.
                let _ = self.network.deliver_text(now, &from, &text);
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
                let kind = match event {
                    ModemEvent::Dropped {
                        buffer: buffer @ (Buffer::Input | Buffer::Output),
                        amount,
                    } => SimEventKind::UartOverflow {
                        direction: if buffer == Buffer::Input {
                            Direction::ToModem
                        } else {
                            Direction::FromModem
                        },
                        lost: amount,
                    },
                    event => SimEventKind::Modem(event),
                };
                self.event(now, kind);
            }
            if !busy && !self.move_bytes(now) {
                return;
            }
        }
        panic!("sim: the modem and the network kept waking each other at {now:?}");
    }

    /// The UART at `now`: runs that arrived are handed over, and a free line takes what
    /// waits for it. Returns whether the modem got bytes (it may have more to do).
    fn move_bytes(&mut self, now: Duration) -> bool {
        let mut fed = false;
        // Host to modem, a line at a time: the modem takes up a command when its end arrives.
        let mut bytes = std::mem::take(&mut self.scratch);
        bytes.clear();
        let mut errors = Vec::new();
        if self.to_modem.take_done(now, &mut bytes, &mut errors) {
            self.modem.handle_uart(now, &bytes);
            fed = true;
        }
        let baud = self.baud();
        let host_baud = self.host_baud_now();
        if !self.to_modem.is_busy() && !self.host_tx.is_empty() {
            let end = self
                .host_tx
                .iter()
                .position(|&b| b == b'\r' || b == b'\n')
                .map_or(self.host_tx.len(), |at| at + 1);
            bytes.clear();
            let counts = self
                .noise_to_modem
                .apply(now, &self.host_tx[..end], &mut bytes);
            self.host_tx.drain(..end);
            self.noise_event(now, Direction::ToModem, counts);
            // Sent at the host's rate, read at the modem's.
            let read = resample(&bytes, host_baud, baud);
            self.to_modem
                .start_read_as(now, bytes.len(), &read, self.wire_baud(host_baud));
            // Without wire time it is there at once.
            fed |= self.to_modem.next_arrival().is_some_and(|at| at <= now);
        }
        // Modem to host: whatever the modem wrote while the line was busy goes out together.
        self.from_modem
            .take_done(now, &mut self.uart_out, &mut self.uart_errors);
        if !self.from_modem.is_busy() {
            let mut written = std::mem::take(&mut self.written);
            written.clear();
            self.modem.drain_uart(&mut written);
            if !written.is_empty() {
                bytes.clear();
                let counts = self.noise_from_modem.apply(now, &written, &mut bytes);
                self.noise_event(now, Direction::FromModem, counts);
                // Sent at the modem's rate, read at the host's.
                let read = resample(&bytes, baud, host_baud);
                self.from_modem
                    .start_read_as(now, bytes.len(), &read, self.wire_baud(baud));
                fed |= self.from_modem.next_arrival().is_some_and(|at| at <= now);
            }
            self.written = written;
        }
        self.scratch = bytes;
        fed
    }

    /// The modem's UART rate now; an auto-bauding modem's is the host's.
    fn baud(&self) -> u32 {
        match self.host_baud {
            Some(host) if self.modem.auto_bauding() => host,
            _ => self.modem.uart_baud(),
        }
    }

    /// The host's UART rate now: its own, or the modem's.
    fn host_baud_now(&self) -> u32 {
        self.host_baud.unwrap_or_else(|| self.baud())
    }

    /// The rate a run takes wire time at, 0 for none.
    fn wire_baud(&self, baud: u32) -> u32 {
        if self.wire_time {
            baud
        } else {
            0
        }
    }

    /// A line error of a burst at `at`; `left` more follow, every `interval`.
    fn line_error(&mut self, at: Duration, left: u32, interval: Duration) {
        let lost_byte = self.from_modem.error_at(at);
        self.event(at, SimEventKind::UartError { lost_byte });
        if left > 0 {
            let left = left - 1;
            self.timer(at + interval, Timer::UartError { left, interval });
        }
    }

    /// [`Fault::PeerVanish`]: the far end of `link`'s connections (every link's when `None`)
    /// is gone without a word. The lab records it as lost; from now on nothing crosses.
    fn vanish(&mut self, now: Duration, link: Option<LinkId>) {
        let links = self.modem.status().links;
        for (link, conn) in self.network.open_conns(link) {
            let transport = links
                .get(usize::from(link))
                .and_then(|l| l.transport)
                .unwrap_or(Transport::Tcp);
            self.vanished.insert(conn, transport);
            self.udp_to_lab.remove(&conn);
            if let Some(client) = self.conn_client.remove(&conn) {
                self.client_conn.remove(&client);
                self.lab
                    .handle_closed(now, client, CloseReason::ResetByClient);
            }
        }
    }

    /// [`Fault::SilentPdpLoss`]: the network drops the context and says nothing to the modem
    /// about it, nor about the links it had, until it asks about them again.
    fn lose_pdp_silently(&mut self, now: Duration) {
        if !self.network.pdp_active() {
            return;
        }
        let links = self
            .network
            .open_conns(None)
            .into_iter()
            .map(|(link, _)| link);
        self.stale_links.extend(links);
        self.pdp_deact_unsaid = true;
        self.network.inject(now, &Fault::PdpDeact);
    }

    /// The modem asks the network something: a link it asks about is no longer stale.
    fn modem_asks(&mut self, request: &NetRequest) {
        match request {
            NetRequest::Connect { link, .. } | NetRequest::Close { link } => {
                self.stale_links.remove(link);
            }
            NetRequest::ActivatePdp { .. } | NetRequest::DeactivatePdp => {
                self.stale_links.clear();
                self.pdp_deact_unsaid = false;
            }
            NetRequest::Send { .. }
            | NetRequest::Consumed { .. }
            | NetRequest::Time { .. }
            | NetRequest::Resolve { .. }
            | NetRequest::SendSms { .. } => {}
        }
    }

    /// Whether the network's `event` must not reach the modem: what a vanished peer or a
    /// silently lost context would have told it.
    fn unsaid(&mut self, event: &NetEvent) -> bool {
        let vanished = |sim: &Sim, link: LinkId, tcp_only: bool| {
            sim.network
                .conn_of_link(link)
                .and_then(|conn| sim.vanished.get(&conn))
                .is_some_and(|&t| !tcp_only || t == Transport::Tcp)
        };
        match *event {
            NetEvent::PdpDeactivated if self.pdp_deact_unsaid => {
                self.pdp_deact_unsaid = false;
                true
            }
            // A UDP datagram "delivered" has only left the radio.
            NetEvent::Delivered { link, .. } => {
                self.stale_links.contains(&link) || vanished(self, link, true)
            }
            NetEvent::Closed { link } | NetEvent::Received { link, .. } => {
                self.stale_links.contains(&link) || vanished(self, link, false)
            }
            _ => false,
        }
    }

    /// The network's internet side: the lab server is the only host on it.
    fn host_event(&mut self, now: Duration, event: HostEvent) {
        if let HostEvent::Data { conn, .. }
        | HostEvent::Close { conn }
        | HostEvent::Reset { conn } = &event
        {
            if self.vanished.contains_key(conn) {
                // Nobody is there any more, and nothing comes back.
                return;
            }
        }
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
                    Some(ip) if transport == Transport::Tcp && self.lab.listens_http(ip, port) => {
                        let client = self
                            .lab
                            .accept_http(now, lab::peer(*from.ip(), from.port()));
                        self.conn_client.insert(conn, client);
                        self.client_conn.insert(client, conn);
                        Some(HostInput::Accepted)
                    }
                    Some(ip) if self.lab.listens_at(transport, ip, port) => {
                        match transport {
                            Transport::Tcp if self.gated => {
                                let request = ConnectRequest {
                                    conn,
                                    at: now,
                                    from,
                                };
                                self.connects.push_back(request);
                                return;
                            }
                            Transport::Tcp => self.lab_accept_conn(now, conn, from),
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

    /// The lab server takes a TCP connection from `from`.
    fn lab_accept_conn(&mut self, now: Duration, conn: ConnId, from: SocketAddrV4) {
        let peer = lab::peer(*from.ip(), from.port());
        let client = self.lab.accept(now, Transport::Tcp, peer);
        self.conn_client.insert(conn, client);
        self.client_conn.insert(client, conn);
    }

    /// A gated connect's answer arrives at the server's host.
    fn answer_connect(&mut self, now: Duration, request: ConnectRequest, accept: bool) {
        let conn = request.conn;
        if !self.network.connecting(conn) || self.vanished.contains_key(&conn) {
            return;
        }
        let input = if accept {
            self.lab_accept_conn(now, conn, request.from);
            HostInput::Accepted
        } else {
            HostInput::Refused(ConnectError::Refused)
        };
        self.network.handle_host(now, conn, input);
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
