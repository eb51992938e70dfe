//! [`World`]: the firmware core and the simulated modem, network and lab server in one
//! process, in virtual time.
//!
//! The firmware is an async future ([`firmware::run`]); the simulation is sans-IO
//! ([`Sim`]). The world polls the firmware with a no-op waker: the virtual [`Clock`] records
//! the earliest deadline the firmware waits for, the in-memory UART is readable when the
//! modem has written something. Each instant, bytes shuttle between the two until neither
//! moves; then time jumps to the earliest of the firmware's deadline, the simulation's next
//! timeout and the next timeline step. Nothing is stepped per tick and nothing waits on the
//! wall clock, so a quiet simulated hour costs nothing, and the same inputs always give the
//! same trace.
//!
//! A world can also leave the firmware out ([`World::external`]): the device is then outside
//! the process (a board in QEMU, `longlink-host` on a pty), its bytes come in through
//! [`World::device_wrote`] and the modem's go out through [`World::take_device_bound`]. The
//! caller owns time then ([`crate::realtime`] drives it from the wall clock).

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use firmware::{Board, Clock, Config, Instant, LedState, Report};
use protocol::text::Quoted;
use sim_modem::fault::Fault;
use sim_modem::lab::{ClientId, LabEventKind};
use sim_modem::net::{NetEvent, NetRequest};
use sim_modem::profile::Profile;
use sim_modem::sim::{Sim, SimConfig, SimError, SimEvent, SimEventKind};

use crate::trace::{Bytes, Dir, Event, NetDir, Pin as PinName, Record};

/// What a world is made of.
#[derive(Debug, Clone)]
pub struct WorldConfig {
    pub device: Config,
    pub sim: SimConfig,
    /// The modem's profile; `None` takes the built-in one `sim.profile` names.
    pub profile: Option<Profile>,
    /// Keep a [`Record`] of every event. Off, the world only simulates (for benchmarks).
    pub trace: bool,
}

/// Something the scenario does to the world.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Fault(Fault),
    /// The lab server sends to a client (`None`: the newest open one).
    LabSend {
        client: Option<ClientId>,
        data: Vec<u8>,
    },
    LabClose {
        client: Option<ClientId>,
    },
    LabReset {
        client: Option<ClientId>,
    },
}

/// An action with the timeline id that named it, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub id: Option<String>,
    pub action: Action,
}

/// What the firmware drove, in order, for the world to hand to the simulation.
enum Output {
    Uart(Vec<u8>),
    PowerKey(bool),
    Reset(bool),
}

/// The state the firmware's clock, UART and board share with the world.
#[derive(Default)]
struct Shared {
    now: Cell<Duration>,
    /// The earliest deadline the firmware waited for during the last poll.
    wake: Cell<Option<Instant>>,
    /// Modem to firmware.
    rx: RefCell<VecDeque<u8>>,
    out: RefCell<Vec<Output>>,
    /// The firmware's reports and pin changes since the last poll (when tracing).
    events: RefCell<Vec<Event>>,
    trace: bool,
}

struct VirtualClock(Rc<Shared>);

impl Clock for VirtualClock {
    fn now(&self) -> Instant {
        instant(self.0.now.get())
    }

    fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()> {
        poll_fn(move |_| {
            if self.now() >= deadline {
                return Poll::Ready(());
            }
            let earliest = self.0.wake.get().map_or(deadline, |w| w.min(deadline));
            self.0.wake.set(Some(earliest));
            Poll::Pending
        })
    }
}

struct Uart(Rc<Shared>);

impl embedded_io_async::ErrorType for Uart {
    type Error = Infallible;
}

impl embedded_io_async::Read for Uart {
    /// Ready with what the modem wrote, pending while it wrote nothing. Dropping a pending
    /// read loses nothing: the bytes stay queued.
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        poll_fn(|_| {
            let mut rx = self.0.rx.borrow_mut();
            if rx.is_empty() || buf.is_empty() {
                return Poll::Pending;
            }
            let n = buf.len().min(rx.len());
            for (dst, src) in buf.iter_mut().zip(rx.drain(..n)) {
                *dst = src;
            }
            Poll::Ready(Ok(n))
        })
        .await
    }
}

impl embedded_io_async::Write for Uart {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        let mut out = self.0.out.borrow_mut();
        match out.last_mut() {
            Some(Output::Uart(bytes)) => bytes.extend_from_slice(buf),
            _ => out.push(Output::Uart(buf.to_vec())),
        }
        Ok(buf.len())
    }

    async fn flush(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

struct Recorder(Rc<Shared>);

impl Recorder {
    fn event(&self, event: impl FnOnce() -> Event) {
        if self.0.trace {
            self.0.events.borrow_mut().push(event());
        }
    }
}

impl Board for Recorder {
    // The LED and the watchdog are in the reports (`Led`, `WatchdogFed`).
    fn set_led(&mut self, _: LedState) {}

    fn feed_watchdog(&mut self) {}

    fn set_power_key(&mut self, pressed: bool) {
        self.0.out.borrow_mut().push(Output::PowerKey(pressed));
        self.event(|| Event::Pin {
            pin: PinName::PowerKey,
            level: pressed,
        });
    }

    fn set_modem_reset(&mut self, asserted: bool) {
        self.0.out.borrow_mut().push(Output::Reset(asserted));
        self.event(|| Event::Pin {
            pin: PinName::Reset,
            level: asserted,
        });
    }

    /// The report in its trace form (its `Display`).
    fn report(&mut self, report: Report<'_>) {
        self.event(|| Event::Fw {
            report: report.to_string(),
        });
    }
}

/// More exchanges than this at one instant means the firmware and the modem keep waking
/// each other up without time passing.
const MAX_ROUNDS: usize = 1_000_000;

/// The firmware core and the simulation in virtual time. See the module documentation.
pub struct World {
    sim: Sim,
    shared: Rc<Shared>,
    /// The firmware core, or `None` when the device is outside the process.
    device: Option<Pin<Box<dyn Future<Output = ()>>>>,
    now: Duration,
    timeline: BTreeMap<(Duration, u64), Step>,
    seq: u64,
    records: Vec<Record>,
    scratch: Vec<u8>,
    /// An external device's line to the modem so far: its bytes come in arbitrary pieces.
    partial: Vec<u8>,
}

/// The simulation, with `profile` or else the built-in profile the configuration names.
fn build_sim(config: SimConfig, profile: Option<Profile>) -> Result<Sim, SimError> {
    match profile {
        Some(profile) => Ok(Sim::with_profile(config, profile)),
        None => Sim::new(config),
    }
}

impl World {
    pub fn new(config: WorldConfig) -> Result<World, SimError> {
        let sim = build_sim(config.sim, config.profile)?;
        let shared = Rc::new(Shared {
            trace: config.trace,
            ..Shared::default()
        });
        let (clock, uart, board) = (
            VirtualClock(shared.clone()),
            Uart(shared.clone()),
            Recorder(shared.clone()),
        );
        let device_config = config.device;
        // The future owns everything it borrows, so the world can own the future.
        let device = Box::pin(async move {
            let mut board = board;
            firmware::run(&device_config, uart, &clock, &mut board).await;
        });
        Ok(World::with_device(sim, shared, Some(device)))
    }

    /// The simulation alone, for a device outside the process: what it writes goes in with
    /// [`World::device_wrote`], what the modem writes comes out of
    /// [`World::take_device_bound`]. It drives no modem pins: the modem is on from the start.
    pub fn external(
        sim: SimConfig,
        profile: Option<Profile>,
        trace: bool,
    ) -> Result<World, SimError> {
        let sim = build_sim(sim, profile)?;
        let shared = Rc::new(Shared {
            trace,
            ..Shared::default()
        });
        Ok(World::with_device(sim, shared, None))
    }

    fn with_device(
        sim: Sim,
        shared: Rc<Shared>,
        device: Option<Pin<Box<dyn Future<Output = ()>>>>,
    ) -> World {
        let mut world = World {
            sim,
            shared,
            device,
            now: Duration::ZERO,
            timeline: BTreeMap::new(),
            seq: 0,
            records: Vec::new(),
            scratch: Vec::new(),
            partial: Vec::new(),
        };
        world.collect_sim_events();
        world
    }

    /// An external device wrote `bytes` to the modem, now.
    pub fn device_wrote(&mut self, bytes: &[u8]) {
        self.shared
            .out
            .borrow_mut()
            .push(Output::Uart(bytes.to_vec()));
        self.settle();
    }

    /// What the modem wrote for an external device since last time. (With the firmware in
    /// the process, it reads these itself.)
    pub fn take_device_bound(&mut self) -> Vec<u8> {
        if self.device.is_some() {
            return Vec::new();
        }
        self.shared.rx.borrow_mut().drain(..).collect()
    }

    /// Records what an external device said about itself (its log), now.
    pub fn note(&mut self, event: Event) {
        self.record(event);
    }

    /// Virtual time since the start.
    pub fn now(&self) -> Duration {
        self.now
    }

    pub fn sim(&self) -> &Sim {
        &self.sim
    }

    /// Lets `f` work on the simulation at the current time (a real-time run feeds it from
    /// real sockets this way), then records what happened and lets the firmware answer.
    pub fn with_sim<R>(&mut self, f: impl FnOnce(&mut Sim, Duration) -> R) -> R {
        let result = f(&mut self.sim, self.now);
        self.collect_sim_events();
        self.settle();
        result
    }

    /// Whether records are kept.
    pub fn tracing(&self) -> bool {
        self.shared.trace
    }

    /// The records so far.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// Takes the records so far (a live view prints them as they come).
    pub fn take_records(&mut self) -> Vec<Record> {
        std::mem::take(&mut self.records)
    }

    /// Does `step` at virtual time `at` (now, if `at` has passed).
    pub fn schedule(&mut self, at: Duration, step: Step) {
        self.seq += 1;
        self.timeline.insert((at.max(self.now), self.seq), step);
    }

    /// Does `step` now.
    pub fn apply(&mut self, step: Step) {
        let now = self.now;
        let action = describe(&step.action);
        let error = match step.action {
            Action::Fault(fault) => {
                self.sim.inject(now, fault);
                None
            }
            Action::LabSend { client, data } => self
                .client(client)
                .and_then(|c| self.sim.lab_send(now, c, &data).map_err(|e| e.to_string()))
                .err(),
            Action::LabClose { client } => self
                .client(client)
                .and_then(|c| self.sim.lab_close(now, c).map_err(|e| e.to_string()))
                .err(),
            Action::LabReset { client } => self
                .client(client)
                .and_then(|c| self.sim.lab_reset(now, c).map_err(|e| e.to_string()))
                .err(),
        };
        self.record(Event::Step {
            id: step.id,
            action,
            error,
        });
        self.collect_sim_events();
    }

    /// Runs a lab server console command now (`list`, `send 1 back hi`, ...; see
    /// `sim_modem::lab::CONSOLE_HELP`) and returns its answer.
    pub fn lab_console(&mut self, line: &str) -> String {
        let answer = self.sim.lab_console(self.now, line);
        self.collect_sim_events();
        answer
    }

    fn client(&self, client: Option<ClientId>) -> Result<ClientId, String> {
        client
            .or_else(|| {
                let lab = self.sim.lab();
                lab.clients().filter(|c| c.is_open()).map(|c| c.id).max()
            })
            .ok_or_else(|| "no open lab client".to_string())
    }

    /// When something next happens by itself, once the current instant has settled.
    pub fn next_wakeup(&self) -> Option<Duration> {
        let device = self.shared.wake.get().map(duration);
        let timeline = self.timeline.keys().next().map(|&(at, _)| at);
        [device, self.sim.poll_timeout(), timeline]
            .into_iter()
            .flatten()
            .min()
    }

    /// Runs until virtual time `until`: every wake-up up to it, each at its own time. On
    /// return the world is settled at `until`, and [`World::apply`] acts at that time.
    pub fn run_until(&mut self, until: Duration) {
        self.settle();
        while let Some(next) = self.next_wakeup().filter(|&next| next <= until) {
            self.advance(next);
            self.settle();
        }
        self.now = self.now.max(until);
        self.shared.now.set(self.now);
    }

    /// Settles the current instant, then moves to the next wake-up and settles that.
    /// Returns the new time, or `None` when nothing is left to happen.
    pub fn step(&mut self) -> Option<Duration> {
        self.settle();
        let next = self.next_wakeup()?;
        self.advance(next);
        self.settle();
        Some(self.now)
    }

    /// Jumps to `at` and does what is due there.
    fn advance(&mut self, at: Duration) {
        self.now = self.now.max(at);
        self.shared.now.set(self.now);
        if self.sim.poll_timeout().is_some_and(|t| t <= self.now) {
            self.sim.handle_timeout(self.now);
            self.collect_sim_events();
        }
        while let Some(entry) = self.timeline.first_entry() {
            if entry.key().0 > self.now {
                break;
            }
            let step = entry.remove();
            self.apply(step);
        }
    }

    /// Shuttles bytes between the firmware and the modem until neither has more to say at
    /// this instant.
    fn settle(&mut self) {
        for _ in 0..MAX_ROUNDS {
            self.poll_device();
            let mut moved = false;
            let outputs = std::mem::take(&mut *self.shared.out.borrow_mut());
            for output in outputs {
                moved = true;
                match output {
                    Output::Uart(bytes) => {
                        self.uart(Dir::ToModem, &bytes);
                        self.sim.handle_uart(self.now, &bytes);
                    }
                    Output::PowerKey(pressed) => self.sim.set_power_key(self.now, pressed),
                    Output::Reset(asserted) => self.sim.set_reset(self.now, asserted),
                }
                self.collect_sim_events();
            }
            let mut bytes = std::mem::take(&mut self.scratch);
            self.sim.drain_uart(&mut bytes);
            if !bytes.is_empty() {
                moved = true;
                self.uart(Dir::FromModem, &bytes);
                self.shared.rx.borrow_mut().extend(bytes.iter());
                bytes.clear();
            }
            self.scratch = bytes;
            if !moved {
                return;
            }
        }
        panic!(
            "world: the firmware and the modem kept exchanging at {:?} without time passing",
            self.now
        );
    }

    fn poll_device(&mut self) {
        self.shared.wake.set(None);
        let Some(device) = &mut self.device else {
            return;
        };
        let mut cx = Context::from_waker(Waker::noop());
        // `run` never returns; a pending poll means it waits for bytes or a deadline.
        let _ = device.as_mut().poll(&mut cx);
        if self.shared.trace {
            let events = std::mem::take(&mut *self.shared.events.borrow_mut());
            for event in events {
                self.record(event);
            }
        }
    }

    /// Records a run of UART bytes and its lines.
    fn uart(&mut self, dir: Dir, bytes: &[u8]) {
        if !self.shared.trace {
            return;
        }
        self.record(Event::Uart {
            dir,
            data: Bytes(bytes.to_vec()),
        });
        if self.device.is_some() {
            // The firmware writes a command (or a payload) in one go: one run, whole lines.
            self.lines(dir, bytes);
        } else if dir == Dir::ToModem {
            // An external device's bytes come in pieces: keep the unfinished line.
            self.partial.extend_from_slice(bytes);
            if let Some(end) = self.partial.iter().rposition(|&b| b == b'\r' || b == b'\n') {
                let rest = self.partial.split_off(end + 1);
                let done = std::mem::replace(&mut self.partial, rest);
                self.lines(dir, &done);
            }
        } else {
            // The modem answers with a line: what the device wrote before is whole (a
            // payload in data mode has no line end). An echo of a piece is not an answer.
            if bytes.iter().any(|&b| b == b'\r' || b == b'\n') {
                self.flush_device_line();
            }
            self.lines(dir, bytes);
        }
    }

    /// Records an external device's unfinished line as a line, now: at the end of a run, or
    /// when the modem answers it (so a payload's line is stamped with the answer's time).
    pub fn flush_device_line(&mut self) {
        let line = std::mem::take(&mut self.partial);
        self.lines(Dir::ToModem, &line);
    }

    fn lines(&mut self, dir: Dir, bytes: &[u8]) {
        for line in bytes.split(|&b| b == b'\r' || b == b'\n') {
            if !line.is_empty() {
                self.record(Event::At {
                    dir,
                    line: Bytes(line.to_vec()),
                });
            }
        }
    }

    fn collect_sim_events(&mut self) {
        while let Some(event) = self.sim.poll_event() {
            if self.shared.trace {
                let at = event.at;
                self.records.push(Record {
                    at,
                    event: sim_event(event),
                });
            }
        }
    }

    fn record(&mut self, event: Event) {
        if self.shared.trace {
            self.records.push(Record {
                at: self.now,
                event,
            });
        }
    }
}

fn instant(at: Duration) -> Instant {
    Instant::from_micros(u64::try_from(at.as_micros()).unwrap_or(u64::MAX))
}

fn duration(at: Instant) -> Duration {
    Duration::from_micros(at.as_micros())
}

/// An action as the trace names it.
pub fn describe(action: &Action) -> String {
    let client = |c: &Option<ClientId>| c.map_or("newest".to_string(), |c| c.to_string());
    match action {
        Action::Fault(fault) => format!("fault {}", fault.to_json()),
        Action::LabSend { client: c, data } => {
            format!("lab_send {} {}", client(c), Quoted(data))
        }
        Action::LabClose { client: c } => format!("lab_close {}", client(c)),
        Action::LabReset { client: c } => format!("lab_reset {}", client(c)),
    }
}

fn sim_event(event: SimEvent) -> Event {
    match event.kind {
        SimEventKind::Modem(event) => Event::Modem {
            event: format!("{event:?}"),
        },
        SimEventKind::Request(request) => Event::Net {
            dir: NetDir::ToNet,
            event: match request {
                NetRequest::Send { link, data } => {
                    format!("Send {{ link: {link}, data: {} }}", Quoted(&data))
                }
                other => format!("{other:?}"),
            },
        },
        SimEventKind::Net(net) => Event::Net {
            dir: NetDir::ToModem,
            event: match net {
                NetEvent::Received { link, data } => {
                    format!("Received {{ link: {link}, data: {} }}", Quoted(&data))
                }
                other => format!("{other:?}"),
            },
        },
        SimEventKind::Lab(lab) => match lab.kind {
            LabEventKind::Accepted { transport, peer } => Event::LabAccepted {
                client: lab.client,
                transport: transport.as_str(),
                peer: peer.to_string(),
            },
            LabEventKind::Received(data) => Event::LabReceived {
                client: lab.client,
                data: Bytes(data),
            },
            LabEventKind::Sent(data) => Event::LabSent {
                client: lab.client,
                data: Bytes(data),
            },
            LabEventKind::Closed(reason) => Event::LabClosed {
                client: lab.client,
                reason: format!("{reason:?}"),
            },
        },
        SimEventKind::FaultApplied(fault) => Event::Fault { fault },
        SimEventKind::FaultEnded(fault) => Event::FaultEnd { fault },
        SimEventKind::Noise { direction, counts } => Event::Noise {
            dir: match direction {
                sim_modem::fault::Direction::ToModem => Dir::ToModem,
                _ => Dir::FromModem,
            },
            flipped: counts.flipped,
            dropped: counts.dropped,
            duplicated: counts.duplicated,
        },
    }
}
