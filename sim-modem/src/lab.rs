//! The lab server: the other end of the device's long connection, like the "TCP lab" web
//! page of the seed tutorial. It accepts device connections over TCP and UDP, gives each
//! client an id, records what each client sent and what was sent to it (with virtual time),
//! and sends data to a client, closes or resets it, on command.
//!
//! It is also the device's HTTP server (`lab/http.rs`: what `AT+HTTPACTION` reaches, the
//! requests it got and how it answers) and the phone its SMS go to and come from
//! (`lab/sms.rs`).
//!
//! This is the sans-IO core. In replay [`crate::sim::Sim`] feeds it from the simulated
//! network; in live mode [`crate::live`] feeds it from real TCP and UDP listeners. Both
//! perform the [`LabAction`]s it asks for. A person drives it through [`LabServer::console`].
//!
//! # The acknowledged framing
//!
//! With `acked` in its config the server speaks the device's acknowledged framing
//! (`protocol::app`, `Framing::Acked`, which the device's config names too): what it is
//! told to send (a scenario's `lab.send`, the console's `send`) is cut into lines, and each
//! line goes as a request numbered from 1 (`M1 <crc> back 1`). A request is sent again, with
//! its number, until the device answers it (a message with its number, or `A<n>`): to each
//! new connection of the device, with its first data, and whenever the device sends
//! something while it has waited [`ACKED_RESEND`]. Each numbered message of the device is
//! acknowledged (`A<n>`), every copy, and the first copy only is delivered
//! ([`Client::delivered`]); a line that is no frame, or whose checksum is wrong, is dropped.
//! The server serves one device so: its requests and what it delivered are the server's,
//! whatever the connection (a replay has one device; live devices would need an id in
//! their frames, which they do not send). The trace still shows the bytes as they went.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::{self, Write as _};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use protocol::app::{Deframer, Frame};
use protocol::text::Quoted;
use protocol::types::Transport;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod http;
mod sms;

pub use http::{HttpAnswer, HttpConfig, HttpRequest};
pub use sms::{Sms, SmsConfig, SmsDirection};

/// The lab server's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LabConfig {
    /// The name devices connect to; the network's DNS resolves it to `ip`.
    pub name: String,
    /// The server's address on the simulated internet (replay only; live mode listens on
    /// loopback unless told otherwise).
    pub ip: Ipv4Addr,
    /// The port it listens on, for TCP and for UDP.
    pub port: u16,
    /// Whether it accepts TCP connections, and UDP datagrams.
    pub tcp: bool,
    pub udp: bool,
    /// Whether it speaks the acknowledged framing (see the module documentation): for a
    /// device whose `framing` is `acked`.
    pub acked: bool,
    /// Its HTTP endpoint (replay): the port and the answers.
    pub http: HttpConfig,
    /// Its phone: the number its SMS come from.
    pub sms: SmsConfig,
}

impl Default for LabConfig {
    fn default() -> Self {
        LabConfig {
            name: "lab.longlink.test".to_string(),
            // TEST-NET-3, documentation range: never a real host.
            ip: Ipv4Addr::new(203, 0, 113, 10),
            port: 6500,
            tcp: true,
            udp: true,
            acked: false,
            http: HttpConfig::default(),
            sms: SmsConfig::default(),
        }
    }
}

/// Acknowledged framing: how long a request waits for its answer before it is sent again
/// (at the device's next data: its heartbeats come every 10 s).
pub const ACKED_RESEND: Duration = Duration::from_secs(10);

/// Names a client of the lab server, from 1 in order of arrival.
pub type ClientId = u32;

/// Bytes with the virtual time they were received or sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub at: Duration,
    pub data: Vec<u8>,
}

/// How a client's connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The client closed it.
    ByClient,
    /// The client reset it, or the connection was lost.
    ResetByClient,
    /// The server closed it (`close` command).
    ByServer,
    /// The server reset it (`reset` command).
    ResetByServer,
}

/// One client of the lab server and everything it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub id: ClientId,
    pub transport: Transport,
    pub peer: SocketAddr,
    pub accepted_at: Duration,
    pub closed: Option<(Duration, CloseReason)>,
    /// What the client sent, as it arrived (TCP: chunks as read; UDP: datagrams).
    pub received: Vec<Chunk>,
    /// What the server sent to it.
    pub sent: Vec<Chunk>,
    /// Acknowledged framing: the payloads of the device's messages the server took, in
    /// order, a copy of one it had dropped (see the module documentation).
    pub delivered: Vec<Chunk>,
}

impl Client {
    pub fn is_open(&self) -> bool {
        self.closed.is_none()
    }

    /// Everything the client sent, joined.
    pub fn received_bytes(&self) -> Vec<u8> {
        self.received
            .iter()
            .flat_map(|c| c.data.iter().copied())
            .collect()
    }

    /// Everything sent to the client, joined.
    pub fn sent_bytes(&self) -> Vec<u8> {
        self.sent
            .iter()
            .flat_map(|c| c.data.iter().copied())
            .collect()
    }
}

/// Something that happened at the lab server, for traces and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabEvent {
    pub at: Duration,
    pub client: ClientId,
    pub kind: LabEventKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabEventKind {
    Accepted {
        transport: Transport,
        peer: SocketAddr,
    },
    Received(Vec<u8>),
    Sent(Vec<u8>),
    Closed(CloseReason),
}

impl fmt::Display for LabEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "lab client {}: ", self.client)?;
        match &self.kind {
            LabEventKind::Accepted { transport, peer } => {
                write!(f, "accepted {} from {peer}", transport.as_str())
            }
            LabEventKind::Received(data) => {
                write!(f, "received {} bytes: {}", data.len(), Quoted(data))
            }
            LabEventKind::Sent(data) => write!(f, "sent {} bytes: {}", data.len(), Quoted(data)),
            LabEventKind::Closed(reason) => write!(f, "closed ({reason:?})"),
        }
    }
}

/// IO the lab server wants done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabAction {
    Send { client: ClientId, data: Vec<u8> },
    Close { client: ClientId },
    Reset { client: ClientId },
}

/// Why the lab server could not do what it was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabError {
    NoSuchClient(ClientId),
    Closed(ClientId),
}

impl fmt::Display for LabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LabError::NoSuchClient(id) => write!(f, "no client {id}"),
            LabError::Closed(id) => write!(f, "client {id} is closed"),
        }
    }
}

impl std::error::Error for LabError {}

/// The lab server core. See the module documentation.
#[derive(Debug, Clone)]
pub struct LabServer {
    config: LabConfig,
    clients: BTreeMap<ClientId, Client>,
    next_id: ClientId,
    events: VecDeque<LabEvent>,
    actions: VecDeque<LabAction>,
    acked: Acked,
    http: http::Endpoint,
    phone: sms::Phone,
    /// Whether each client's data is kept ([`LabServer::keep_data`]).
    keep_data: bool,
}

/// What the server keeps for the acknowledged framing (see the module documentation).
#[derive(Debug, Clone, Default)]
struct Acked {
    /// The last request's number.
    last: u16,
    /// Requests not answered yet: number, payload, when last sent and to which client.
    pending: BTreeMap<u16, (Vec<u8>, Duration, ClientId)>,
    /// The numbers of the device's messages delivered.
    delivered: BTreeSet<u16>,
    /// Each client's partial line.
    lines: BTreeMap<ClientId, Deframer<4096>>,
}

impl LabServer {
    pub fn new(config: LabConfig) -> LabServer {
        LabServer {
            http: http::Endpoint::new(config.http.clone()),
            phone: sms::Phone::new(config.sms.clone()),
            config,
            clients: BTreeMap::new(),
            next_id: 1,
            events: VecDeque::new(),
            actions: VecDeque::new(),
            acked: Acked::default(),
            keep_data: true,
        }
    }

    pub fn config(&self) -> &LabConfig {
        &self.config
    }

    /// Whether each client's `received` and `sent` keep the data (on by default). Off, the
    /// events still carry it: a fleet of thousands reads those and keeps what it needs.
    pub fn keep_data(&mut self, keep: bool) {
        self.keep_data = keep;
    }

    /// Every client so far, by id.
    pub fn clients(&self) -> impl Iterator<Item = &Client> {
        self.clients.values()
    }

    pub fn client(&self, id: ClientId) -> Option<&Client> {
        self.clients.get(&id)
    }

    /// Whether a connection from a device to `ip:port` over `transport` reaches this server.
    pub fn listens_at(&self, transport: Transport, ip: Ipv4Addr, port: u16) -> bool {
        let on = match transport {
            Transport::Tcp => self.config.tcp,
            Transport::Udp => self.config.udp,
        };
        on && ip == self.config.ip && port == self.config.port
    }

    /// Whether a TCP connection to `ip:port` reaches the HTTP endpoint.
    pub fn listens_http(&self, ip: Ipv4Addr, port: u16) -> bool {
        self.http.config.port != 0 && ip == self.config.ip && port == self.http.config.port
    }

    /// A TCP connection to the HTTP endpoint came in: a client like any other, whose
    /// requests are answered.
    pub fn accept_http(&mut self, now: Duration, peer: SocketAddr) -> ClientId {
        let id = self.accept(now, Transport::Tcp, peer);
        self.http.accept(id);
        id
    }

    /// The requests the HTTP endpoint got, in order.
    pub fn http_requests(&self) -> &[HttpRequest] {
        &self.http.requests
    }

    /// From now on requests that `answer` matches get it (before any configured one).
    pub fn answer_http(&mut self, answer: HttpAnswer) {
        self.http.answer_first(answer);
    }

    /// Every SMS the lab got from the device and sent to it, in order.
    pub fn sms_log(&self) -> &[Sms] {
        &self.phone.log
    }

    /// Sends an SMS to the device: the service centre delivers it (`poll_sms`). Text that
    /// does not fit one SMS is refused.
    pub fn send_sms(&mut self, now: Duration, text: &str) -> Result<(), String> {
        self.phone.send(now, text)
    }

    /// The next SMS for the service centre: the sender's number and the text.
    pub fn poll_sms(&mut self) -> Option<(String, String)> {
        self.phone.poll_outgoing()
    }

    /// The service centre hands over an SMS of the device (its SMS-SUBMIT TPDU).
    pub fn sms_from_device(&mut self, now: Duration, tpdu: &[u8]) -> &Sms {
        self.phone.received(now, tpdu)
    }

    /// A TCP connection came in.
    pub fn accept(&mut self, now: Duration, transport: Transport, peer: SocketAddr) -> ClientId {
        let id = self.next_id;
        self.next_id += 1;
        self.clients.insert(
            id,
            Client {
                id,
                transport,
                peer,
                accepted_at: now,
                closed: None,
                received: Vec::new(),
                sent: Vec::new(),
                delivered: Vec::new(),
            },
        );
        self.event(now, id, LabEventKind::Accepted { transport, peer });
        id
    }

    /// A UDP datagram came in; a new peer becomes a new client. Returns the client's id.
    pub fn handle_datagram(&mut self, now: Duration, peer: SocketAddr, data: &[u8]) -> ClientId {
        let known = self
            .clients
            .values()
            .find(|c| c.transport == Transport::Udp && c.peer == peer && c.is_open())
            .map(|c| c.id);
        let id = known.unwrap_or_else(|| self.accept(now, Transport::Udp, peer));
        self.handle_receive(now, id, data);
        id
    }

    /// A client sent bytes. Bytes from a closed or unknown client are ignored.
    pub fn handle_receive(&mut self, now: Duration, client: ClientId, data: &[u8]) {
        let Some(c) = self.clients.get_mut(&client).filter(|c| c.is_open()) else {
            return;
        };
        if self.keep_data {
            c.received.push(Chunk {
                at: now,
                data: data.to_vec(),
            });
        }
        self.event(now, client, LabEventKind::Received(data.to_vec()));
        if self.http.serves(client) {
            for answer in self.http.receive(now, client, data) {
                // The client is open: it just sent. (HTTP, never framed.)
                let _ = self.send_bytes(now, client, &answer);
            }
        } else if self.config.acked {
            self.acked_receive(now, client, data);
        }
    }

    /// Acknowledged framing: takes the client's frames, acknowledges and delivers the
    /// device's messages, and sends again the requests that wait (see the module
    /// documentation).
    fn acked_receive(&mut self, now: Duration, client: ClientId, data: &[u8]) {
        let Acked {
            pending,
            delivered,
            lines,
            ..
        } = &mut self.acked;
        let deframer = lines
            .entry(client)
            .or_insert_with(|| Deframer::new(protocol::app::Framing::Acked));
        let mut taken = Vec::new();
        let mut out = Vec::new();
        deframer.push(data, |line| match line.ok().and_then(Frame::parse) {
            Some(Frame::Message { seq: 0, payload }) => taken.push(payload.to_vec()),
            Some(Frame::Message { seq, payload }) => {
                pending.remove(&seq);
                if delivered.insert(seq) {
                    taken.push(payload.to_vec());
                }
                out.extend(frame(Frame::Ack { seq }));
            }
            Some(Frame::Ack { seq }) => {
                pending.remove(&seq);
            }
            None => {}
        });
        for (&seq, (payload, sent_at, to)) in pending.iter_mut() {
            if *to != client || now >= *sent_at + ACKED_RESEND {
                (*sent_at, *to) = (now, client);
                out.extend(frame(Frame::Message { seq, payload }));
            }
        }
        if let Some(c) = self.clients.get_mut(&client) {
            c.delivered
                .extend(taken.into_iter().map(|data| Chunk { at: now, data }));
        }
        if !out.is_empty() {
            let _ = self.send_bytes(now, client, &out);
        }
    }

    /// The client's connection ended from its side.
    pub fn handle_closed(&mut self, now: Duration, client: ClientId, reason: CloseReason) {
        self.mark_closed(now, client, reason);
    }

    /// Sends `data` to a client; with the acknowledged framing, each of its lines as a
    /// numbered request (see the module documentation).
    pub fn send(&mut self, now: Duration, client: ClientId, data: &[u8]) -> Result<(), LabError> {
        if !self.config.acked {
            return self.send_bytes(now, client, data);
        }
        self.open_client(client)?;
        let mut out = Vec::new();
        for line in data.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                continue;
            }
            let acked = &mut self.acked;
            acked.last = acked.last.checked_add(1).unwrap_or(1);
            acked
                .pending
                .insert(acked.last, (line.to_vec(), now, client));
            out.extend(frame(Frame::Message {
                seq: acked.last,
                payload: line,
            }));
        }
        self.send_bytes(now, client, &out)
    }

    /// Sends bytes to a client as they are.
    fn send_bytes(&mut self, now: Duration, client: ClientId, data: &[u8]) -> Result<(), LabError> {
        let keep = self.keep_data;
        let c = self.open_client(client)?;
        if keep {
            c.sent.push(Chunk {
                at: now,
                data: data.to_vec(),
            });
        }
        self.actions.push_back(LabAction::Send {
            client,
            data: data.to_vec(),
        });
        self.event(now, client, LabEventKind::Sent(data.to_vec()));
        Ok(())
    }

    /// Closes a client's connection (TCP FIN; UDP: forget the peer).
    pub fn close(&mut self, now: Duration, client: ClientId) -> Result<(), LabError> {
        self.open_client(client)?;
        self.actions.push_back(LabAction::Close { client });
        self.mark_closed(now, client, CloseReason::ByServer);
        Ok(())
    }

    /// Resets a client's connection (TCP RST).
    pub fn reset(&mut self, now: Duration, client: ClientId) -> Result<(), LabError> {
        self.open_client(client)?;
        self.actions.push_back(LabAction::Reset { client });
        self.mark_closed(now, client, CloseReason::ResetByServer);
        Ok(())
    }

    /// The next IO to perform.
    pub fn poll_action(&mut self) -> Option<LabAction> {
        self.actions.pop_front()
    }

    /// The next event, for traces and logs.
    pub fn poll_event(&mut self) -> Option<LabEvent> {
        self.events.pop_front()
    }

    /// Runs one console command and returns the text to show. See [`CONSOLE_HELP`].
    pub fn console(&mut self, now: Duration, line: &str) -> String {
        let line = line.trim();
        let (command, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let rest = rest.trim_start();
        let (client, payload) = rest.split_once(' ').unwrap_or((rest, ""));
        let client = || -> Result<ClientId, String> {
            client
                .parse()
                .map_err(|_| format!("`{command}` needs a client id; try `list`"))
        };
        let result = match command {
            "" => return String::new(),
            "help" | "?" => return CONSOLE_HELP.to_string(),
            "list" | "ls" => return self.list(now),
            "show" => client().and_then(|id| self.show(id)),
            "send" => client().and_then(|id| {
                let data = unescape(payload)?;
                self.send(now, id, &data).map_err(|e| e.to_string())?;
                Ok(format!("sent {} bytes to client {id}", data.len()))
            }),
            "hex" => client().and_then(|id| {
                let data = parse_hex(payload)?;
                self.send(now, id, &data).map_err(|e| e.to_string())?;
                Ok(format!("sent {} bytes to client {id}", data.len()))
            }),
            "close" => client().and_then(|id| {
                self.close(now, id).map_err(|e| e.to_string())?;
                Ok(format!("closed client {id}"))
            }),
            "reset" => client().and_then(|id| {
                self.reset(now, id).map_err(|e| e.to_string())?;
                Ok(format!("reset client {id}"))
            }),
            "sms" if rest.is_empty() => Ok(self.sms_list()),
            "sms" => unescape(rest).and_then(|text| {
                let text = String::from_utf8(text).map_err(|e| e.to_string())?;
                self.send_sms(now, &text)?;
                Ok(format!("SMS to the device: {text:?}"))
            }),
            "http" => Ok(self.http_list()),
            _ => Err(format!("unknown command `{command}`; try `help`")),
        };
        result.unwrap_or_else(|error| format!("error: {error}"))
    }

    fn list(&self, now: Duration) -> String {
        if self.clients.is_empty() {
            return "no clients yet".to_string();
        }
        let mut text = String::new();
        for c in self.clients.values() {
            let state = match c.closed {
                None => "open".to_string(),
                Some((at, reason)) => format!("closed at {} ({reason:?})", secs(at)),
            };
            let last = c.received.last().map_or("-".to_string(), |chunk| {
                format!("{} ago", secs(now.saturating_sub(chunk.at)))
            });
            let _ = writeln!(
                text,
                "{:>3}  {} {:<21}  since {}  {state}  rx {} B in {}  tx {} B  last rx {last}",
                c.id,
                c.transport.as_str(),
                c.peer.to_string(),
                secs(c.accepted_at),
                c.received_bytes().len(),
                c.received.len(),
                c.sent_bytes().len(),
            );
        }
        text.pop();
        text
    }

    fn sms_list(&self) -> String {
        if self.phone.log.is_empty() {
            return "no SMS yet".to_string();
        }
        let lines: Vec<String> = self
            .phone
            .log
            .iter()
            .map(|s| {
                let arrow = match s.direction {
                    SmsDirection::FromDevice => "<- device to",
                    SmsDirection::ToDevice => "-> device from",
                };
                format!("{}  {arrow} {}: {:?}", secs(s.at), s.number, s.text)
            })
            .collect();
        lines.join(
            "
",
        )
    }

    fn http_list(&self) -> String {
        if self.http.requests.is_empty() {
            return "no HTTP requests yet".to_string();
        }
        let lines: Vec<String> = self
            .http
            .requests
            .iter()
            .map(|r| {
                format!(
                    "{}  client {}: {} {} ({} bytes) -> {}",
                    secs(r.at),
                    r.client,
                    r.method,
                    r.path,
                    r.body.len(),
                    r.status
                )
            })
            .collect();
        lines.join(
            "
",
        )
    }

    fn show(&self, id: ClientId) -> Result<String, String> {
        let c = self
            .clients
            .get(&id)
            .ok_or(LabError::NoSuchClient(id).to_string())?;
        let mut chunks: Vec<(Duration, &str, &[u8])> = Vec::new();
        chunks.extend(c.received.iter().map(|k| (k.at, "<-", k.data.as_slice())));
        chunks.extend(c.sent.iter().map(|k| (k.at, "->", k.data.as_slice())));
        chunks.sort_by_key(|&(at, ..)| at);
        let mut text = format!("client {id} ({} {})", c.transport.as_str(), c.peer);
        // The last 20 exchanges are what a person wants to see.
        for (at, arrow, data) in chunks.iter().skip(chunks.len().saturating_sub(20)) {
            let _ = write!(text, "\n  {} {arrow} {}", secs(*at), Quoted(data));
        }
        Ok(text)
    }

    fn open_client(&mut self, client: ClientId) -> Result<&mut Client, LabError> {
        match self.clients.get_mut(&client) {
            None => Err(LabError::NoSuchClient(client)),
            Some(c) if !c.is_open() => Err(LabError::Closed(client)),
            Some(c) => Ok(c),
        }
    }

    fn mark_closed(&mut self, now: Duration, client: ClientId, reason: CloseReason) {
        if let Some(c) = self.clients.get_mut(&client).filter(|c| c.is_open()) {
            c.closed = Some((now, reason));
            self.event(now, client, LabEventKind::Closed(reason));
        }
    }

    fn event(&mut self, at: Duration, client: ClientId, kind: LabEventKind) {
        self.events.push_back(LabEvent { at, client, kind });
    }
}

/// What the console understands.
pub const CONSOLE_HELP: &str = "\
lab server commands:
  list                 the clients: id, transport, peer, state, bytes each way
  show <client>        the last 20 exchanges with a client
  send <client> <text> send text; escapes: \\r \\n \\t \\\\ \\xHH
  hex <client> <hex>   send bytes given in hex, e.g. hex 1 112233
  close <client>       close the connection (TCP FIN)
  reset <client>       reset the connection (TCP RST)
  sms <text>           send the device an SMS (escapes as for send)
  sms                  the SMS the device sent and the lab sent
  http                 the HTTP requests the lab's endpoint got
  help                 this text";

/// A frame's bytes, its `\n` included.
fn frame(frame: Frame<'_>) -> Vec<u8> {
    let payload = match frame {
        Frame::Message { payload, .. } => payload.len(),
        Frame::Ack { .. } => 0,
    };
    let mut buf = vec![0; payload + protocol::app::FRAME_OVERHEAD];
    let n = frame.encode(&mut buf).unwrap_or(0);
    buf.truncate(n);
    buf
}

/// A peer address for a device in replay: `ip:port`.
pub fn peer(ip: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(ip), port)
}

fn secs(d: Duration) -> String {
    format!("{:.3}s", d.as_secs_f64())
}

/// Bytes as a quoted string, with non-printable bytes escaped: [`Quoted`] as a `String`, a
/// thin wrapper for callers that want one. New code formats [`Quoted`] directly.
pub fn escape(data: &[u8]) -> String {
    Quoted(data).to_string()
}

fn unescape(text: &str) -> Result<Vec<u8>, String> {
    protocol::text::unescape(text)
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())
}

fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if digits.len() % 2 != 0 || digits.is_empty() {
        return Err("hex needs an even number of digits, e.g. 112233".to_string());
    }
    digits
        .chunks(2)
        .map(|pair| {
            let pair = std::str::from_utf8(pair).unwrap_or("");
            u8::from_str_radix(pair, 16).map_err(|_| format!("`{pair}` is not hex"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use protocol::app::HEARTBEAT_FRAME;

    fn sent(lab: &mut LabServer) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(action) = lab.poll_action() {
            if let LabAction::Send { data, .. } = action {
                out.push(data);
            }
        }
        out
    }

    fn delivered(lab: &LabServer) -> Vec<Vec<u8>> {
        let chunks = lab.clients().flat_map(|c| c.delivered.iter());
        chunks.map(|c| c.data.clone()).collect()
    }

    #[test]
    fn acknowledged_framing_numbers_acknowledges_and_delivers_once() {
        let config = LabConfig {
            acked: true,
            ..LabConfig::default()
        };
        let mut lab = LabServer::new(config);
        let at = |s| Duration::from_secs(s);
        let peer = peer(Ipv4Addr::new(10, 0, 0, 1), 40000);
        let one = lab.accept(at(0), Transport::Tcp, peer);
        // Lines are requests, numbered from 1.
        lab.send(at(1), one, b"back 1\nbin\n").unwrap();
        let request = |seq, payload| frame(Frame::Message { seq, payload });
        let ack = |seq| frame(Frame::Ack { seq });
        assert_eq!(
            sent(&mut lab),
            [[request(1, b"back 1"), request(2, b"bin")].concat()]
        );
        // A heartbeat (number 0) is taken and not acknowledged; the answer to 1 is, twice,
        // and taken once; a garbled line is dropped.
        let mut garbled = request(2, &[0x11, 0x22, 0x33]);
        garbled[9] ^= 0x10;
        let data = [
            HEARTBEAT_FRAME.to_vec(),
            request(1, b"back 1"),
            garbled,
            request(1, b"back 1"),
        ]
        .concat();
        lab.handle_receive(at(2), one, &data);
        assert_eq!(sent(&mut lab), [[ack(1), ack(1)].concat()]);
        assert_eq!(
            delivered(&lab),
            [b"heart beat".to_vec(), b"back 1".to_vec()]
        );
        // Request 2 waits: sent again on the device's next connection, with its first data.
        lab.handle_closed(at(3), one, CloseReason::ResetByClient);
        let two = lab.accept(at(4), Transport::Tcp, peer);
        lab.handle_receive(at(5), two, &HEARTBEAT_FRAME);
        assert_eq!(sent(&mut lab), [request(2, b"bin")]);
        // ... and when it waited `ACKED_RESEND`, at the device's next data.
        lab.handle_receive(at(6), two, &HEARTBEAT_FRAME);
        assert!(sent(&mut lab).is_empty());
        lab.handle_receive(at(15), two, &HEARTBEAT_FRAME);
        assert_eq!(sent(&mut lab), [request(2, b"bin")]);
        // Answered, on the new connection: delivered, acknowledged, no longer sent.
        lab.handle_receive(at(16), two, &request(2, &[0x11, 0x22, 0x33]));
        assert_eq!(sent(&mut lab), [ack(2)]);
        lab.handle_receive(at(30), two, &HEARTBEAT_FRAME);
        assert!(sent(&mut lab).is_empty());
        let bin = delivered(&lab)
            .into_iter()
            .filter(|d| d == &[0x11, 0x22, 0x33]);
        assert_eq!(bin.count(), 1);
    }

    #[test]
    fn without_the_acknowledged_framing_bytes_go_as_they_are() {
        let mut lab = LabServer::new(LabConfig::default());
        let one = lab.accept(Duration::ZERO, Transport::Tcp, peer(Ipv4Addr::LOCALHOST, 1));
        lab.send(Duration::ZERO, one, b"back 1\n").unwrap();
        assert_eq!(sent(&mut lab), [b"back 1\n".to_vec()]);
        lab.handle_receive(Duration::ZERO, one, b"M1 9eb3 back 1\n");
        assert!(sent(&mut lab).is_empty() && delivered(&lab).is_empty());
    }

    #[test]
    fn unescape_and_hex() {
        assert_eq!(unescape(r"back 1\r\n\x11").unwrap(), b"back 1\r\n\x11");
        assert!(unescape(r"\q").is_err());
        assert_eq!(parse_hex("11 2233").unwrap(), vec![0x11, 0x22, 0x33]);
        assert!(parse_hex("123").is_err());
        assert_eq!(escape(b"a\r\n\x00\""), r#""a\r\n\x00\"""#);
    }
}
