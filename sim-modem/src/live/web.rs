//! The lab server as a web page, in the spirit of the seed tutorial's "TCP lab": the
//! connected devices with their address and connection time, each one's data live (text and
//! hex, time-stamped), a box to send text or hex to one, buttons to close or reset its
//! connection, a form to inject any fault (generated in the page from the fault schema,
//! `GET /api/fault-schema`), the modem's state, and its AT traffic as a live log.
//!
//! [`Web::serve`] starts an axum server on its own task; the loop that owns the simulation
//! (`sim-modem --web`, [`super::run`]; `cargo xtask sim --realtime --web`,
//! `scenarios::realtime`) stays the only one to touch it:
//!
//! - what the page asks for comes to the loop as a [`Command`]: a line in the lab console's
//!   language (`hex 1 6261636b`, `close 1`, `reset 1`, `fault {...}`), which the loop runs as
//!   if typed at its console and answers ([`Command::answer`]); the page shows the answer;
//! - what happens goes to the page as the loop [`Web::publish`]es it ([`Feed`]) and as
//!   [`Web::status`] sees the simulation change: one JSON object per server-sent event on
//!   `GET /api/events`. A page that opens late first gets every connection seen and the last
//!   [`RECENT`] data and log lines.
//!
//! The page itself (`web/index.html`, `web/lab.js`, `web/lab.css`) is plain HTML, JS and
//! CSS compiled into the binary: no CDN, nothing fetched from the internet. It listens on
//! loopback unless told otherwise (the CLI refuses another address without `--bind-any`).
//! Requests that change something take JSON only (`Content-Type: application/json`), which a
//! plain cross-site form cannot send.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // the web page is an edge: a real socket, wall-clock stamps (clippy.toml)

use std::collections::VecDeque;
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::stream::{self, Stream, StreamExt};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::AbortHandle;

use crate::fault::Fault;
use crate::lab::ClientId;
use crate::sim::Sim;

const INDEX: &str = include_str!("web/index.html");
const SCRIPT: &str = include_str!("web/lab.js");
const STYLE: &str = include_str!("web/lab.css");

/// How many data and log lines a page that opens late gets (connections are all kept).
pub const RECENT: usize = 4000;

/// How many messages a slow page may fall behind before it misses some.
const CHANNEL: usize = 4096;

/// How long a request waits for the loop to run its command.
const ANSWER_WAIT: Duration = Duration::from_secs(10);

/// Something to show in the page, at a virtual time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed<'a> {
    /// A device connected to the lab server.
    Accepted {
        client: ClientId,
        transport: &'a str,
        peer: &'a str,
    },
    /// The lab server received bytes from a device.
    Received { client: ClientId, data: &'a [u8] },
    /// The lab server sent bytes to a device.
    Sent { client: ClientId, data: &'a [u8] },
    /// A device's connection ended.
    Closed { client: ClientId, reason: &'a str },
    /// One line across the modem's UART.
    At { to_modem: bool, line: &'a [u8] },
    /// Anything else worth a line in the log, by its source: `fault`, `modem`, `device` (a
    /// firmware report), `scenario`.
    Note { source: &'a str, text: &'a str },
}

/// A request of the page, as a lab console line for the loop to run.
#[derive(Debug)]
pub struct Command {
    /// `hex <client> <hex>`, `close <client>`, `reset <client>` or `fault <json>`.
    pub line: String,
    reply: oneshot::Sender<String>,
}

impl Command {
    /// What running the line said (empty: done, nothing to say); the page shows it. A text
    /// that starts with `error:` is shown as an error.
    pub fn answer(self, text: String) {
        let _ = self.reply.send(text);
    }
}

/// The page's server. See the module documentation. Dropping it stops the server and ends
/// the pages' event streams.
pub struct Web {
    address: SocketAddr,
    hub: Arc<Hub>,
    commands: mpsc::UnboundedReceiver<Command>,
    server: AbortHandle,
}

impl Web {
    /// Listens on `address` (port 0 picks a free one) and serves the page. Call it inside a
    /// tokio runtime.
    pub async fn serve(address: SocketAddr) -> io::Result<Web> {
        let listener = TcpListener::bind(address).await?;
        let address = listener.local_addr()?;
        let (commands_tx, commands) = mpsc::unbounded_channel();
        let hub = Arc::new(Hub::new());
        let app = router(Shared {
            hub: hub.clone(),
            commands: commands_tx,
        });
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::warn!(target: "web", "the lab page's server stopped: {error}");
            }
        });
        Ok(Web {
            address,
            hub,
            commands,
            server: server.abort_handle(),
        })
    }

    /// Where the page is served.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The next request of a page. Cancel-safe.
    pub async fn command(&mut self) -> Command {
        match self.commands.recv().await {
            Some(command) => command,
            // The server's state holds a sender for as long as it runs.
            None => std::future::pending().await,
        }
    }

    /// Shows `feed`, which happened at virtual time `at`, in every open page.
    pub fn publish(&self, at: Duration, feed: Feed<'_>) {
        let (message, keep) = message(at, feed);
        self.hub.push(message, keep);
    }

    /// Shows the simulation's state (the modem's power, registration, IP state, the
    /// network's cell and PDP context) and the device's phase, if known, when they
    /// changed since the last call.
    pub fn status(&self, sim: &Sim, device: Option<&str>) {
        let modem = sim.modem().status();
        let network = sim.network();
        let cell = network.coverage();
        let status = json!({
            "kind": "status",
            "power": format!("{:?}", modem.power),
            "registration": format!("{:?}", modem.registration),
            "ip_state": format!("{:?}", modem.ip_state),
            "cell": format!(
                "{:?}, rssi {}{}",
                cell.registration,
                cell.rssi,
                if cell.data { "" } else { ", no data service" }
            ),
            "pdp": if network.pdp_active() { "active" } else { "inactive" },
            "device": device,
        })
        .to_string();
        self.hub.push(status, Keep::Status);
    }
}

/// The next request of the page, if there is one: never, without a page (a loop's
/// `select!` branch that waits forever when the page is off).
pub async fn next_command(web: &mut Option<Web>) -> Command {
    match web {
        Some(web) => web.command().await,
        None => std::future::pending().await,
    }
}

impl Drop for Web {
    fn drop(&mut self) {
        self.server.abort();
        self.hub.close();
    }
}

/// The feed as the page reads it: `kind`, `t` (virtual seconds), `wall` (Unix milliseconds
/// when it was published), and the feed's fields; bytes as lowercase hex.
fn message(at: Duration, feed: Feed<'_>) -> (String, Keep) {
    let hex = |data: &[u8]| data.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let (mut value, keep) = match feed {
        Feed::Accepted {
            client,
            transport,
            peer,
        } => (
            json!({"kind": "accepted", "client": client, "transport": transport, "peer": peer}),
            Keep::Always,
        ),
        Feed::Received { client, data } => (
            json!({"kind": "received", "client": client, "hex": hex(data)}),
            Keep::Recent,
        ),
        Feed::Sent { client, data } => (
            json!({"kind": "sent", "client": client, "hex": hex(data)}),
            Keep::Recent,
        ),
        Feed::Closed { client, reason } => (
            json!({"kind": "closed", "client": client, "reason": reason}),
            Keep::Always,
        ),
        Feed::At { to_modem, line } => (
            json!({"kind": "at", "dir": if to_modem { "to_modem" } else { "from_modem" }, "hex": hex(line)}),
            Keep::Recent,
        ),
        Feed::Note { source, text } => (
            json!({"kind": "note", "source": source, "text": text}),
            Keep::Recent,
        ),
    };
    value["t"] = json!(at.as_secs_f64());
    value["wall"] = json!(wall_millis());
    (value.to_string(), keep)
}

fn wall_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// What a late page gets of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keep {
    /// Connections: every one.
    Always,
    /// Data and log lines: the last [`RECENT`].
    Recent,
    /// The state: the last one, and only sent when it changed.
    Status,
}

/// The messages so far, and the channel to the open pages.
struct Hub {
    state: Mutex<Backlog>,
}

struct Backlog {
    connections: Vec<Arc<str>>,
    recent: VecDeque<Arc<str>>,
    status: Option<Arc<str>>,
    /// `None` once the [`Web`] is gone: the pages' streams end.
    sender: Option<broadcast::Sender<Arc<str>>>,
}

impl Hub {
    fn new() -> Hub {
        Hub {
            state: Mutex::new(Backlog {
                connections: Vec::new(),
                recent: VecDeque::new(),
                status: None,
                sender: Some(broadcast::channel(CHANNEL).0),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Backlog> {
        // A page's task that panicked leaves consistent data: every change is one push.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps `message` for late pages and sends it to the open ones, under one lock so that
    /// a page that subscribes meanwhile gets it exactly once.
    fn push(&self, message: String, keep: Keep) {
        let mut state = self.lock();
        let message: Arc<str> = message.into();
        match keep {
            Keep::Always => state.connections.push(message.clone()),
            Keep::Recent => {
                if state.recent.len() == RECENT {
                    state.recent.pop_front();
                }
                state.recent.push_back(message.clone());
            }
            Keep::Status => {
                if state.status.as_ref() == Some(&message) {
                    return;
                }
                state.status = Some(message.clone());
            }
        }
        if let Some(sender) = &state.sender {
            // No page open: nobody to tell.
            let _ = sender.send(message);
        }
    }

    /// What a new page gets first, and the channel for what follows.
    fn subscribe(&self) -> (Vec<Arc<str>>, Option<broadcast::Receiver<Arc<str>>>) {
        let state = self.lock();
        let backlog = state
            .connections
            .iter()
            .chain(&state.recent)
            .chain(&state.status)
            .cloned()
            .collect();
        (
            backlog,
            state.sender.as_ref().map(broadcast::Sender::subscribe),
        )
    }

    fn close(&self) {
        self.lock().sender = None;
    }
}

/// What the server's handlers share.
#[derive(Clone)]
struct Shared {
    hub: Arc<Hub>,
    commands: mpsc::UnboundedSender<Command>,
}

fn router(shared: Shared) -> Router {
    Router::new()
        .route("/", get(|| async { Html(INDEX) }))
        .route(
            "/lab.js",
            get(|| async { asset("text/javascript", SCRIPT) }),
        )
        .route("/lab.css", get(|| async { asset("text/css", STYLE) }))
        .route("/api/fault-schema", get(fault_schema))
        .route("/api/events", get(events))
        .route("/api/send", post(send))
        .route(
            "/api/close",
            post(|State(shared), body| client_command("close", shared, body)),
        )
        .route(
            "/api/reset",
            post(|State(shared), body| client_command("reset", shared, body)),
        )
        .route("/api/fault", post(fault))
        .with_state(shared)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// The JSON schema of [`Fault`], from which the page builds its fault form.
async fn fault_schema() -> Json<Value> {
    Json(serde_json::to_value(schemars::schema_for!(Fault)).expect("a schema serializes"))
}

async fn events(
    State(shared): State<Shared>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let (backlog, receiver) = shared.hub.subscribe();
    let live = stream::unfold(receiver, |receiver| async move {
        let mut receiver = receiver?;
        let message = match receiver.recv().await {
            Ok(message) => message,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                let text = format!("this page fell behind: {missed} messages missed");
                json!({"kind": "note", "source": "page", "text": text})
                    .to_string()
                    .into()
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        Some((message, Some(receiver)))
    });
    let messages = stream::iter(backlog).chain(live);
    Sse::new(messages.map(|message| Ok(Event::default().data(&*message))))
        .keep_alive(KeepAlive::default())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SendRequest {
    client: ClientId,
    /// Sent as UTF-8, as it is.
    #[serde(default)]
    text: Option<String>,
    /// Bytes in hex (spaces allowed), e.g. `11 22 33`.
    #[serde(default)]
    hex: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientRequest {
    client: ClientId,
}

async fn send(
    State(shared): State<Shared>,
    body: Result<Json<SendRequest>, JsonRejection>,
) -> Response {
    let request = match body {
        Ok(Json(request)) => request,
        Err(rejection) => return refuse(rejection.body_text()),
    };
    let hex = match (request.text, request.hex) {
        (Some(text), None) => text.bytes().map(|b| format!("{b:02x}")).collect(),
        (None, Some(hex)) => hex,
        _ => return refuse("give either `text` or `hex`".into()),
    };
    run(&shared, format!("hex {} {hex}", request.client)).await
}

/// `close <client>` or `reset <client>`.
async fn client_command(
    verb: &str,
    shared: Shared,
    body: Result<Json<ClientRequest>, JsonRejection>,
) -> Response {
    match body {
        Ok(Json(request)) => run(&shared, format!("{verb} {}", request.client)).await,
        Err(rejection) => refuse(rejection.body_text()),
    }
}

/// The body is a fault as JSON (`{"kind":"blackhole","duration":"30s"}`), checked here so
/// that the page gets serde's message for a bad one.
async fn fault(State(shared): State<Shared>, body: Result<Json<Fault>, JsonRejection>) -> Response {
    match body {
        Ok(Json(fault)) => run(&shared, format!("fault {}", fault.to_json())).await,
        Err(rejection) => refuse(rejection.body_text()),
    }
}

/// Has the loop run `line` and answers with what it said: `{"answer": ...}`, or
/// `{"error": ...}` with 400 when it refused.
async fn run(shared: &Shared, line: String) -> Response {
    let (reply, answer) = oneshot::channel();
    if shared.commands.send(Command { line, reply }).is_err() {
        return unavailable();
    }
    match tokio::time::timeout(ANSWER_WAIT, answer).await {
        Ok(Ok(text)) => match text.strip_prefix("error: ") {
            Some(error) => refuse(error.to_string()),
            None => Json(json!({ "answer": text })).into_response(),
        },
        _ => unavailable(),
    }
}

fn refuse(error: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": error }))).into_response()
}

fn unavailable() -> Response {
    let error = "the simulation did not answer (has it stopped?)";
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "error": error })),
    )
        .into_response()
}
