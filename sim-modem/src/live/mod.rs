//! Live mode: the simulated modem on a real UART, with real sockets and a real lab server.
//!
//! The same sans-IO [`Sim`] as in replay runs here, driven by the wall clock: `now` is the
//! time since start, and the loop sleeps until [`Sim::poll_timeout`] or the next input.
//! Only the edges are real:
//!
//! - the modem's UART is a pty ([`Endpoint::Pty`]), a TCP port carrying the serial bytes
//!   ([`Endpoint::Tcp`], one host at a time) or a real serial port ([`Endpoint::Serial`]).
//!   Bytes take wire time at [`LiveConfig::baud`] both ways, as in replay: on a pty or a TCP
//!   port the simulation paces them (what the modem writes is handed to the endpoint as it
//!   arrives, a few milliseconds at a time); a real serial port paces them itself. A host's
//!   line errors cannot be shown over a pty or TCP: the bytes they hit are simply missing;
//! - the network's internet side is real sockets: connections to the lab server's name (or
//!   its simulated address) go to the built-in lab server (or to `--server`), dotted
//!   addresses are used as they are, and other names resolve through the OS. The simulated
//!   network still adds its latency, bandwidth and faults on top;
//! - the built-in lab server listens on real TCP and UDP sockets (loopback unless told
//!   otherwise), and a console on stdin drives it (see [`crate::lab::CONSOLE_HELP`]);
//! - with [`LiveConfig::web`], the lab is also a web page ([`web`]): the devices and their
//!   data, sending, closing, resetting, faults, the AT log.
//!
//! Every AT line in each direction and every lab event is logged through `tracing`.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // the live endpoints are sim-modem's edge: real sockets, a real clock (clippy.toml)

mod bridge;
mod pty;
pub mod web;

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use protocol::text::Quoted;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{debug, info, warn};

pub use bridge::{LabListen, NetBridge, NetInput};
pub use pty::Pty;
pub use web::{Feed, Web};

use crate::fault::Fault;
use crate::lab::{LabEventKind, CONSOLE_HELP};
use crate::profile::Profile;
use crate::sim::{Sim, SimConfig, SimError, SimEvent, SimEventKind};

/// Where the modem's UART is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A new pty; its slave device's path is printed on stdout.
    Pty,
    /// Serial bytes over TCP on this address, one host at a time.
    Tcp(SocketAddr),
    /// A real serial port.
    Serial { path: String, baud: u32 },
}

/// Everything live mode needs.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    pub endpoint: Endpoint,
    /// The simulation: profile, seed, network, faults. Its lab settings give the lab's name,
    /// simulated address and port.
    pub sim: SimConfig,
    /// Whether to run the built-in lab server (TCP and UDP on `sim.lab.port`).
    pub builtin_lab: bool,
    /// Where connections to the lab's name go instead of the built-in lab (`host:port`).
    pub server: Option<String>,
    /// The address the lab server and a TCP endpoint may listen on: loopback by default.
    pub bind: IpAddr,
    /// Read console commands from stdin.
    pub console: bool,
    /// The UART's rate, bits per second: the simulated modem's fixed `AT+IPR` rate (its
    /// profile's is replaced), and the serial port's for [`Endpoint::Serial`].
    pub baud: u32,
    /// The simulated internet answers SNTP (UDP port 123) instead of the real one
    /// (`--sim-ntp`, the network's `ntp_server`).
    pub sim_ntp: bool,
    /// Serve the lab as a web page on this address ([`web`]).
    pub web: Option<SocketAddr>,
}

impl LiveConfig {
    pub fn new(endpoint: Endpoint, sim: SimConfig) -> LiveConfig {
        LiveConfig {
            endpoint,
            sim,
            builtin_lab: true,
            server: None,
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            console: true,
            baud: 115_200,
            sim_ntp: false,
            web: None,
        }
    }
}

/// Everything that can wake the loop, besides the sockets ([`NetBridge::recv`]).
enum Input {
    Uart(Vec<u8>),
    Console(String),
}

type Inputs = mpsc::UnboundedSender<Input>;

/// Runs live mode until Ctrl-C or the `quit` console command.
pub async fn run(mut config: LiveConfig) -> io::Result<()> {
    // Names the network's DNS does not know resolve through the OS here.
    config.sim.network.dns_passthrough = true;
    // Time servers are the real internet's, unless asked otherwise.
    config.sim.network.ntp_server = config.sim_ntp;
    let lab_config = config.sim.lab.clone();
    let invalid = |e: SimError| io::Error::new(io::ErrorKind::InvalidInput, e);
    let mut profile = Profile::by_name(&config.sim.profile)
        .ok_or_else(|| invalid(SimError::UnknownProfile(config.sim.profile.clone())))?;
    profile.ipr = config.baud;
    let mut sim = Sim::with_profile(config.sim.clone(), profile);
    sim.set_external_internet();
    // A real serial port takes the wire time itself.
    sim.set_wire_time(!matches!(config.endpoint, Endpoint::Serial { .. }));

    let (inputs, mut input_rx) = mpsc::unbounded_channel();
    let (uart_tx, uart_rx) = mpsc::unbounded_channel::<Vec<u8>>();

    // The lab server first, so that its address is known.
    let listen = config.builtin_lab.then_some(LabListen {
        address: SocketAddr::new(config.bind, lab_config.port),
        tcp: true,
        udp: true,
    });
    let bridge = NetBridge::new(
        &lab_config,
        listen,
        config.server.clone(),
        true,
        config.sim.network.connect_timeout,
    )
    .await?;
    if let Some(local) = bridge.lab_address() {
        println!(
            "sim-modem: lab server on {local} (TCP and UDP); the modem reaches it as {}:{}",
            lab_config.name, lab_config.port
        );
    }
    if let Some(server) = &config.server {
        println!("sim-modem: {} leads to {server}", lab_config.name);
    }
    let web = match config.web {
        Some(address) => {
            let web = Web::serve(address).await?;
            println!("sim-modem: lab page on http://{}/", web.address());
            Some(web)
        }
        None => None,
    };

    let endpoint = match &config.endpoint {
        Endpoint::Pty => {
            let pty = Pty::open()?;
            println!("sim-modem: modem on {}", pty.path.display());
            Uart::Pty(pty)
        }
        Endpoint::Tcp(address) => {
            let listener = TcpListener::bind(address).await?;
            println!("sim-modem: modem on tcp://{}", listener.local_addr()?);
            Uart::Tcp(listener)
        }
        Endpoint::Serial { path, baud } => {
            use tokio_serial::SerialPortBuilderExt;
            let port = tokio_serial::new(path, *baud).open_native_async()?;
            println!("sim-modem: modem on {path} at {baud} baud");
            Uart::Serial(port)
        }
    };
    println!(
        "sim-modem: profile {}, seed {}; type `help` for the console",
        config.sim.profile, config.sim.seed
    );
    tokio::spawn(serve_uart(endpoint, inputs.clone(), uart_rx));
    if config.console {
        tokio::spawn(console(inputs.clone()));
    }

    let mut live = Live {
        sim,
        bridge,
        builtin_lab: config.builtin_lab,
        start: Instant::now(),
        uart: uart_tx,
        from_host: LineLog::new("host -> modem", true),
        from_modem: LineLog::new("modem -> host", false),
        payload_expected: false,
        web,
    };
    live.flush();
    loop {
        let deadline = live.next_wake();
        tokio::select! {
            biased;
            input = input_rx.recv() => {
                let Some(input) = input else { return Ok(()) };
                if !live.input(input) {
                    return Ok(());
                }
            }
            input = live.bridge.recv() => {
                let now = live.now();
                live.bridge.handle(&mut live.sim, now, input);
            }
            command = web::next_command(&mut live.web) => {
                let now = live.now();
                // The page sends no `quit`.
                let answer = live.console(now, &command.line).unwrap_or_default();
                command.answer(answer);
            }
            _ = sleep_until(deadline) => {
                let now = live.now();
                live.sim.handle_timeout(now);
            }
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
        live.flush();
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// The loop's state: the simulation and the real sockets around it.
struct Live {
    sim: Sim,
    /// The real internet and the lab server's real sockets.
    bridge: NetBridge,
    builtin_lab: bool,
    start: Instant,
    uart: mpsc::UnboundedSender<Vec<u8>>,
    from_host: LineLog,
    from_modem: LineLog,
    /// The modem's last words were the data prompt.
    payload_expected: bool,
    /// The lab's web page, if served.
    web: Option<Web>,
}

impl Live {
    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// When the loop wakes by itself: the simulation's next timeout, and, while bytes are on
    /// their way to the host, the next pacing tick.
    fn next_wake(&self) -> Option<Instant> {
        let mut at = self.sim.poll_timeout();
        if self.sim.uart_busy() {
            let tick = self.now() + PACING_TICK;
            at = Some(at.map_or(tick, |at| at.min(tick)));
        }
        at.map(|at| self.start + at)
    }

    /// Handles one input; false means quit.
    fn input(&mut self, input: Input) -> bool {
        let now = self.now();
        match input {
            Input::Uart(bytes) => {
                // After the data prompt the host writes a payload with no line end.
                self.from_host
                    .log(&bytes, self.payload_expected, &self.web, now);
                self.sim.handle_uart(now, &bytes);
            }
            Input::Console(line) => match self.console(now, &line) {
                Some(answer) if !answer.is_empty() => println!("{answer}"),
                Some(_) => {}
                None => return false,
            },
        }
        true
    }

    /// Runs a console line; `None` means quit.
    fn console(&mut self, now: Duration, line: &str) -> Option<String> {
        let line = line.trim();
        let (command, rest) = line.split_once(' ').unwrap_or((line, ""));
        let answer = match command {
            "quit" | "exit" => return None,
            "help" | "?" => format!("{CONSOLE_HELP}\n{LIVE_HELP}"),
            "fault" => match serde_json::from_str::<Fault>(rest) {
                Ok(fault) => {
                    let answer = format!("applied {}", fault.to_json());
                    self.sim.inject(now, fault);
                    answer
                }
                Err(error) => format!("error: {error}"),
            },
            "status" => format!(
                "modem: {:?}\nnetwork: {:?}, PDP {}",
                self.sim.modem().status(),
                self.sim.network().coverage(),
                if self.sim.network().pdp_active() {
                    "active"
                } else {
                    "inactive"
                },
            ),
            _ if self.builtin_lab => self.sim.lab_console(now, line),
            _ => "no built-in lab server (see --server)".to_string(),
        };
        Some(answer)
    }

    /// Carries out everything the simulation and the lab server want done.
    fn flush(&mut self) {
        let mut out = Vec::new();
        let now = self.now();
        self.sim.drain_uart_arrived(now, &mut out);
        if !out.is_empty() {
            // A run still arriving may end mid-line.
            let whole = !self.sim.uart_busy();
            self.payload_expected = self.from_modem.log(&out, whole, &self.web, now);
            let _ = self.uart.send(out);
        }
        self.bridge.flush(&mut self.sim, now);
        while let Some(event) = self.sim.poll_event() {
            log_sim_event(&event);
            if let Some(web) = &self.web {
                show_sim_event(web, &event);
            }
        }
        if let Some(web) = &self.web {
            web.status(&self.sim, None);
        }
    }
}

const LIVE_HELP: &str = concat!(
    "  fault <json>         inject a fault now, e.g. fault {\"kind\":\"blackhole\",\"duration\":\"30s\"}\n",
    "  status               the modem's and the network's state\n",
    "  quit                 stop sim-modem",
);

fn log_sim_event(event: &SimEvent) {
    match &event.kind {
        SimEventKind::Request(_) | SimEventKind::Net(_) => debug!(target: "net", "{event}"),
        SimEventKind::Lab(event) => info!(target: "lab", "{event}"),
        SimEventKind::Sms(_) => info!(target: "lab", "{event}"),
        _ => info!(target: "sim", "{event}"),
    }
}

/// What the web page shows of a simulation event: the lab's events, faults, modem states.
fn show_sim_event(web: &Web, event: &SimEvent) {
    let at = event.at;
    match &event.kind {
        SimEventKind::Lab(lab) => {
            let client = lab.client;
            let feed = match &lab.kind {
                LabEventKind::Accepted { transport, peer } => {
                    let peer = peer.to_string();
                    return web.publish(
                        at,
                        Feed::Accepted {
                            client,
                            transport: transport.as_str(),
                            peer: &peer,
                        },
                    );
                }
                LabEventKind::Received(data) => Feed::Received { client, data },
                LabEventKind::Sent(data) => Feed::Sent { client, data },
                LabEventKind::Closed(reason) => {
                    let reason = format!("{reason:?}");
                    return web.publish(
                        at,
                        Feed::Closed {
                            client,
                            reason: &reason,
                        },
                    );
                }
            };
            web.publish(at, feed);
        }
        SimEventKind::Request(_) | SimEventKind::Net(_) => {}
        kind => {
            let (source, text) = match kind {
                SimEventKind::FaultApplied(fault) => {
                    ("fault", format!("applied {}", fault.to_json()))
                }
                SimEventKind::FaultEnded(fault) => ("fault", format!("ended {}", fault.to_json())),
                SimEventKind::Modem(modem) => ("modem", format!("{modem:?}")),
                SimEventKind::Sms(sms) => (
                    "sms",
                    format!("{:?} {}: {:?}", sms.direction, sms.number, sms.text),
                ),
                other => ("uart", format!("{other:?}")),
            };
            web.publish(
                at,
                Feed::Note {
                    source,
                    text: &text,
                },
            );
        }
    }
}

/// Logs the bytes crossing the UART one line at a time, and shows them in the web page.
struct LineLog {
    direction: &'static str,
    to_modem: bool,
    line: Vec<u8>,
}

impl LineLog {
    fn new(direction: &'static str, to_modem: bool) -> LineLog {
        LineLog {
            direction,
            to_modem,
            line: Vec::new(),
        }
    }

    /// Logs each complete line in `bytes`; with `whole`, what is left too (the modem writes
    /// whole responses, and a payload after `+RECEIVE,<n>,<len>:` has no line end). Returns
    /// whether the data prompt `> ` went by.
    fn log(&mut self, bytes: &[u8], whole: bool, web: &Option<Web>, now: Duration) -> bool {
        let mut prompt = false;
        for &b in bytes {
            self.line.push(b);
            if matches!(b, b'\r' | b'\n') || self.line == b"> " || self.line.len() >= 256 {
                prompt |= self.emit(web, now);
            }
        }
        if whole {
            prompt |= self.emit(web, now);
        }
        prompt
    }

    fn emit(&mut self, web: &Option<Web>, now: Duration) -> bool {
        let line = std::mem::take(&mut self.line);
        let text = line.trim_ascii();
        if !text.is_empty() {
            info!(target: "uart", "{} {}", self.direction, Quoted(text));
            if let Some(web) = web {
                let feed = Feed::At {
                    to_modem: self.to_modem,
                    line: text,
                };
                web.publish(now, feed);
            }
        }
        text == b">"
    }
}

enum Uart {
    Pty(Pty),
    Tcp(TcpListener),
    Serial(tokio_serial::SerialStream),
}

/// Carries the UART's bytes both ways for as long as the endpoint lives.
async fn serve_uart(endpoint: Uart, inputs: Inputs, mut out: mpsc::UnboundedReceiver<Vec<u8>>) {
    let result = match endpoint {
        Uart::Pty(pty) => serve_stream(pty, &inputs, &mut out).await,
        Uart::Serial(port) => serve_stream(port, &inputs, &mut out).await,
        Uart::Tcp(listener) => loop {
            // Until a host connects, the modem's output goes nowhere, like a UART unplugged.
            let accepted = loop {
                tokio::select! {
                    biased;
                    accepted = listener.accept() => break accepted,
                    Some(_) = out.recv() => {}
                }
            };
            match accepted {
                Ok((stream, peer)) => {
                    info!(target: "uart", "host connected from {peer}");
                    if let Err(error) = serve_stream(stream, &inputs, &mut out).await {
                        info!(target: "uart", "host connection ended: {error}");
                    }
                    info!(target: "uart", "host disconnected");
                }
                Err(error) => warn!(target: "uart", "accept failed: {error}"),
            }
        },
    };
    if let Err(error) = result {
        warn!(target: "uart", "UART ended: {error}");
    }
}

/// How often bytes on their way to the host are handed to the endpoint: at 115,200 baud,
/// 23 bytes at a time.
const PACING_TICK: Duration = Duration::from_millis(2);

/// How long writing to a UART nobody reads may take before the bytes are dropped.
const UART_WRITE_TIMEOUT: Duration = Duration::from_secs(1);

async fn serve_stream<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    inputs: &Inputs,
    out: &mut mpsc::UnboundedReceiver<Vec<u8>>,
) -> io::Result<()> {
    let (mut reader, mut writer) = tokio::io::split(stream);
    let mut buf = vec![0u8; 4096];
    loop {
        tokio::select! {
            biased;
            read = reader.read(&mut buf) => {
                let n = read?;
                if n == 0 {
                    return Ok(());
                }
                let _ = inputs.send(Input::Uart(buf[..n].to_vec()));
            }
            Some(bytes) = out.recv() => {
                match tokio::time::timeout(UART_WRITE_TIMEOUT, writer.write_all(&bytes)).await {
                    Ok(result) => result?,
                    Err(_) => warn!(target: "uart", "dropped {} bytes: nobody reads the UART", bytes.len()),
                }
            }
        }
    }
}

/// Console lines from stdin. At end of input the console stops; sim-modem goes on.
async fn console(inputs: Inputs) {
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if inputs.send(Input::Console(line)).is_err() {
            return;
        }
    }
}
