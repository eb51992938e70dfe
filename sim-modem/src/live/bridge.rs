//! [`NetBridge`]: the simulated network's internet side on real sockets, and the simulation's
//! lab server on real TCP and UDP listeners. Live mode ([`super::run`]) and the scenarios'
//! real-time runner both drive a [`Sim`] through it.
//!
//! The simulation stays sans-IO: after [`Sim::set_external_internet`], what the network
//! sends to internet hosts comes out of [`Sim::poll_host_event`] and what the lab server
//! wants done comes out of [`Sim::poll_lab_action`]; [`NetBridge::flush`] hands both to
//! socket tasks. What the sockets and listeners see comes back as [`NetInput`]s
//! ([`NetBridge::recv`]), which [`NetBridge::handle`] feeds to the simulation at the caller's
//! time. Connections to the lab's name (or its simulated address) go to the lab's listener
//! (or to another server, see [`NetBridge::new`]).

use std::collections::BTreeMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use protocol::types::Transport;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;
use tracing::{info, warn};

use crate::lab::{ClientId, CloseReason, LabAction, LabConfig};
use crate::net::ConnectError;
use crate::network::{ConnId, HostEvent, HostInput};
use crate::sim::Sim;

/// Where and how the lab server listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabListen {
    /// TCP and UDP on this address; port 0 picks a free port (the same for both).
    pub address: SocketAddr,
    pub tcp: bool,
    pub udp: bool,
}

/// Something a real socket or listener saw, for [`NetBridge::handle`].
#[derive(Debug)]
pub struct NetInput(Input);

#[derive(Debug)]
enum Input {
    /// A real internet host (through the network's internet side) did something.
    Host(ConnId, HostInput),
    /// The lab server's listeners.
    LabAccept {
        peer: SocketAddr,
        socket: mpsc::UnboundedSender<SocketCmd>,
        id: oneshot::Sender<ClientId>,
    },
    LabData(ClientId, Vec<u8>),
    LabClosed(ClientId, CloseReason),
    LabDatagram(SocketAddr, Vec<u8>),
}

/// An instruction for a real socket's task.
#[derive(Debug)]
enum SocketCmd {
    Data(Vec<u8>),
    /// Close gracefully (FIN).
    Close,
    /// Abort (RST).
    Reset,
}

type Inputs = mpsc::UnboundedSender<NetInput>;

/// See the module documentation. Dropping it stops its listeners and closes its sockets.
pub struct NetBridge {
    inputs: Inputs,
    rx: mpsc::UnboundedReceiver<NetInput>,
    lab_name: String,
    lab_ip: Ipv4Addr,
    /// Where connections to the lab go (`host:port`).
    lab_target: Option<String>,
    lab_address: Option<SocketAddr>,
    lab_udp: Option<Arc<UdpSocket>>,
    /// Whether connections to other hosts go to the real internet; if not, nobody answers
    /// them, as on the simulated internet.
    internet: bool,
    connect_timeout: Duration,
    /// The network's connections to real hosts.
    sockets: BTreeMap<ConnId, mpsc::UnboundedSender<SocketCmd>>,
    /// The lab's TCP clients.
    lab_clients: BTreeMap<ClientId, mpsc::UnboundedSender<SocketCmd>>,
    tasks: Vec<AbortHandle>,
}

impl NetBridge {
    /// Starts the lab's listeners (with `listen`) and returns the bridge. Connections to the
    /// lab's name go to `server` (`host:port`) if given, else to the listener; with neither,
    /// they resolve like any other. `internet`: other hosts are real (else nobody answers).
    /// Call it inside a tokio runtime.
    pub async fn new(
        lab: &LabConfig,
        listen: Option<LabListen>,
        server: Option<String>,
        internet: bool,
        connect_timeout: Duration,
    ) -> io::Result<NetBridge> {
        let (inputs, rx) = mpsc::unbounded_channel();
        let mut bridge = NetBridge {
            inputs,
            rx,
            lab_name: lab.name.clone(),
            lab_ip: lab.ip,
            lab_target: server,
            lab_address: None,
            lab_udp: None,
            internet,
            connect_timeout,
            sockets: BTreeMap::new(),
            lab_clients: BTreeMap::new(),
            tasks: Vec::new(),
        };
        let Some(listen) = listen else {
            return Ok(bridge);
        };
        let mut address = listen.address;
        if listen.tcp {
            let listener = TcpListener::bind(address).await?;
            address = listener.local_addr()?;
            let task = tokio::spawn(lab_listener(listener, bridge.inputs.clone()));
            bridge.tasks.push(task.abort_handle());
        }
        if listen.udp {
            let udp = Arc::new(UdpSocket::bind(address).await?);
            address = udp.local_addr()?;
            let task = tokio::spawn(lab_udp_receiver(udp.clone(), bridge.inputs.clone()));
            bridge.tasks.push(task.abort_handle());
            bridge.lab_udp = Some(udp);
        }
        let reach = if address.ip().is_unspecified() {
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), address.port())
        } else {
            address
        };
        bridge.lab_target.get_or_insert_with(|| reach.to_string());
        bridge.lab_address = Some(address);
        Ok(bridge)
    }

    /// Where the lab server listens, if it does.
    pub fn lab_address(&self) -> Option<SocketAddr> {
        self.lab_address
    }

    /// The next thing a socket or listener saw. Cancel-safe.
    pub async fn recv(&mut self) -> NetInput {
        // The bridge holds a sender: the channel never ends.
        self.rx.recv().await.expect("the bridge holds a sender")
    }

    /// Feeds what a socket saw to `sim` at `now`. Call [`NetBridge::flush`] after.
    pub fn handle(&mut self, sim: &mut Sim, now: Duration, input: NetInput) {
        match input.0 {
            Input::Host(conn, input) => {
                if matches!(
                    input,
                    HostInput::Close | HostInput::Reset | HostInput::Refused(_)
                ) {
                    self.sockets.remove(&conn);
                }
                sim.handle_host(now, conn, input);
            }
            Input::LabAccept { peer, socket, id } => {
                let client = sim.lab_accept(now, Transport::Tcp, peer);
                self.lab_clients.insert(client, socket);
                let _ = id.send(client);
            }
            Input::LabData(client, data) => sim.lab_received(now, client, &data),
            Input::LabClosed(client, reason) => {
                self.lab_clients.remove(&client);
                sim.lab_closed(now, client, reason);
            }
            Input::LabDatagram(peer, data) => drop(sim.lab_datagram(now, peer, &data)),
        }
    }

    /// Carries out what `sim` wants done on the real internet and the lab's sockets; `now`
    /// is the simulation's time.
    pub fn flush(&mut self, sim: &mut Sim, now: Duration) {
        while let Some(event) = sim.poll_host_event() {
            self.host_event(sim, now, event);
        }
        while let Some(action) = sim.poll_lab_action() {
            let (client, cmd) = match action {
                LabAction::Send { client, data } => (client, SocketCmd::Data(data)),
                LabAction::Close { client } => (client, SocketCmd::Close),
                LabAction::Reset { client } => (client, SocketCmd::Reset),
            };
            if let Some(socket) = self.lab_clients.get(&client) {
                let _ = socket.send(cmd);
            } else if let (SocketCmd::Data(data), Some(udp), Some(c)) =
                (&cmd, &self.lab_udp, sim.lab().client(client))
            {
                if let Err(error) = udp.try_send_to(data, c.peer) {
                    warn!(target: "lab", "UDP send to client {client} failed: {error}");
                }
            }
        }
    }

    /// The network sends something to a real internet host.
    fn host_event(&mut self, sim: &mut Sim, now: Duration, event: HostEvent) {
        match event {
            HostEvent::Connect {
                conn,
                transport,
                host,
                ip,
                port,
                ..
            } => {
                let to_lab = host.eq_ignore_ascii_case(&self.lab_name) || ip == Some(self.lab_ip);
                let target = match (&self.lab_target, ip) {
                    (Some(lab), _) if to_lab => lab.clone(),
                    _ if !self.internet => {
                        // The simulated internet: UDP needs no answer, a SYN to nobody
                        // goes unanswered and the network's connect timeout reports it.
                        if transport == Transport::Udp {
                            sim.handle_host(now, conn, HostInput::Accepted);
                        }
                        return;
                    }
                    (_, Some(ip)) => format!("{ip}:{port}"),
                    (_, None) => format!("{host}:{port}"),
                };
                info!(target: "net", "link to {host}:{port} ({}) goes to {target}", transport.as_str());
                let (socket, commands) = mpsc::unbounded_channel();
                self.sockets.insert(conn, socket);
                tokio::spawn(host_socket(
                    conn,
                    transport,
                    target,
                    self.connect_timeout,
                    self.inputs.clone(),
                    commands,
                ));
            }
            HostEvent::Data { conn, data } => self.send_socket(conn, SocketCmd::Data(data)),
            HostEvent::Close { conn } => self.send_socket(conn, SocketCmd::Close),
            HostEvent::Reset { conn } => self.send_socket(conn, SocketCmd::Reset),
        }
    }

    fn send_socket(&mut self, conn: ConnId, cmd: SocketCmd) {
        let last = !matches!(cmd, SocketCmd::Data(_));
        if let Some(socket) = self.sockets.get(&conn) {
            let _ = socket.send(cmd);
        }
        if last {
            self.sockets.remove(&conn);
        }
    }
}

impl Drop for NetBridge {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// One of the network's connections to a real host.
async fn host_socket(
    conn: ConnId,
    transport: Transport,
    target: String,
    connect_timeout: Duration,
    inputs: Inputs,
    mut commands: mpsc::UnboundedReceiver<SocketCmd>,
) {
    let send = |input| drop(inputs.send(NetInput(Input::Host(conn, input))));
    let addresses: Vec<SocketAddr> = match tokio::net::lookup_host(&target).await {
        Ok(addresses) => addresses.filter(SocketAddr::is_ipv4).collect(),
        Err(error) => {
            info!(target: "net", "{target}: {error}");
            return send(HostInput::Refused(ConnectError::Dns));
        }
    };
    let Some(&address) = addresses.first() else {
        return send(HostInput::Refused(ConnectError::Dns));
    };
    let mut buf = vec![0u8; 4096];
    match transport {
        Transport::Tcp => {
            let stream =
                match tokio::time::timeout(connect_timeout, TcpStream::connect(address)).await {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(error)) => {
                        info!(target: "net", "connect to {address}: {error}");
                        return send(HostInput::Refused(ConnectError::Refused));
                    }
                    Err(_) => return, // the network's own connect timeout reports it
                };
            send(HostInput::Accepted);
            let (mut reader, mut writer) = stream.into_split();
            loop {
                tokio::select! {
                    biased;
                    command = commands.recv() => match command {
                        Some(SocketCmd::Data(data)) => {
                            if writer.write_all(&data).await.is_err() {
                                return send(HostInput::Reset);
                            }
                        }
                        Some(SocketCmd::Close) | None => {
                            let _ = writer.shutdown().await;
                            return;
                        }
                        Some(SocketCmd::Reset) => {
                            if let Ok(stream) = reader.reunite(writer) {
                                let _ = stream.set_zero_linger();
                            }
                            return;
                        }
                    },
                    read = reader.read(&mut buf) => match read {
                        Ok(0) => return send(HostInput::Close),
                        Ok(n) => send(HostInput::Data(buf[..n].to_vec())),
                        Err(_) => return send(HostInput::Reset),
                    },
                }
            }
        }
        Transport::Udp => {
            let local: SocketAddr = if address.ip().is_loopback() {
                (Ipv4Addr::LOCALHOST, 0).into()
            } else {
                (Ipv4Addr::UNSPECIFIED, 0).into()
            };
            let socket = match UdpSocket::bind(local).await {
                Ok(socket) if socket.connect(address).await.is_ok() => socket,
                _ => return send(HostInput::Refused(ConnectError::Refused)),
            };
            send(HostInput::Accepted);
            loop {
                tokio::select! {
                    biased;
                    command = commands.recv() => match command {
                        Some(SocketCmd::Data(data)) => drop(socket.send(&data).await),
                        _ => return,
                    },
                    read = socket.recv(&mut buf) => {
                        if let Ok(n) = read {
                            send(HostInput::Data(buf[..n].to_vec()));
                        }
                    }
                }
            }
        }
    }
}

/// The lab server's TCP side: one task per client.
async fn lab_listener(listener: TcpListener, inputs: Inputs) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let (socket, commands) = mpsc::unbounded_channel();
        let (id_tx, id_rx) = oneshot::channel();
        let _ = inputs.send(NetInput(Input::LabAccept {
            peer,
            socket,
            id: id_tx,
        }));
        let Ok(client) = id_rx.await else { continue };
        tokio::spawn(lab_client(client, stream, inputs.clone(), commands));
    }
}

async fn lab_client(
    client: ClientId,
    stream: TcpStream,
    inputs: Inputs,
    mut commands: mpsc::UnboundedReceiver<SocketCmd>,
) {
    let (mut reader, mut writer) = stream.into_split();
    let mut buf = vec![0u8; 4096];
    let send = |input| drop(inputs.send(NetInput(input)));
    loop {
        tokio::select! {
            biased;
            command = commands.recv() => match command {
                Some(SocketCmd::Data(data)) => {
                    if writer.write_all(&data).await.is_err() {
                        return send(Input::LabClosed(client, CloseReason::ResetByClient));
                    }
                }
                Some(SocketCmd::Close) | None => {
                    let _ = writer.shutdown().await;
                    return;
                }
                Some(SocketCmd::Reset) => {
                    if let Ok(stream) = reader.reunite(writer) {
                        let _ = stream.set_zero_linger();
                    }
                    return;
                }
            },
            read = reader.read(&mut buf) => {
                let input = match read {
                    Ok(0) => Input::LabClosed(client, CloseReason::ByClient),
                    Ok(n) => Input::LabData(client, buf[..n].to_vec()),
                    Err(_) => Input::LabClosed(client, CloseReason::ResetByClient),
                };
                let done = matches!(input, Input::LabClosed(..));
                send(input);
                if done {
                    return;
                }
            }
        }
    }
}

async fn lab_udp_receiver(socket: Arc<UdpSocket>, inputs: Inputs) {
    let mut buf = vec![0u8; 65_536];
    loop {
        if let Ok((n, peer)) = socket.recv_from(&mut buf).await {
            let _ = inputs.send(NetInput(Input::LabDatagram(peer, buf[..n].to_vec())));
        }
    }
}
