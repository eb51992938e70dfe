//! [`World`]: the firmware core and the simulated modem, network and lab server in one
//! process, in virtual time.
//!
//! The firmware is an async future ([`firmware::run`]); the simulation is sans-IO
//! ([`Sim`]). The world drives them with [`firmware::harness`]: it polls the firmware with a
//! no-op waker, its virtual clock records the earliest deadline the firmware waits for, its
//! in-memory UART is readable when the modem has written something. Each instant, bytes
//! shuttle between the two until neither moves; then time jumps to the earliest of the
//! firmware's deadline, the simulation's next timeout and the next timeline step (the
//! world's part, its `Environment`, is the harness's `Peer`). Nothing is stepped per tick and nothing waits on the
//! wall clock, so a quiet simulated hour costs nothing, and the same inputs always give the
//! same trace.
//!
//! The UART between them takes wire time (the simulation's: a byte is 10 bit times at the
//! modem's baud rate), so the modem's answers reach the firmware when their last byte does,
//! and the line errors of a `uart_errors` fault reach the firmware's UART as failed reads
//! (`firmware::harness::Wire::deliver_error`), in order with the bytes around them.
//!
//! A world can also leave the firmware out ([`World::external`]): the device is then outside
//! the process (a board in QEMU, `longlink-host` on a pty), its bytes come in through
//! [`World::device_wrote`] and the modem's go out through [`World::take_device_bound`]. The
//! caller owns time then ([`crate::realtime`] drives it from the wall clock).

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use firmware::harness::{Harness, Output, Peer, Wire};
use firmware::{Board, LedState, Report};
use protocol::text::Quoted;
use sim_modem::fault::Fault;
use sim_modem::lab::{ClientId, LabEvent, LabEventKind, SmsDirection};
use sim_modem::net::{NetEvent, NetRequest};
use sim_modem::profile::Profile;
use sim_modem::sim::{Sim, SimConfig, SimError, SimEvent, SimEventKind};

use crate::trace::{Bytes, Dir, Event, NetDir, Pin as PinName, Record, Reported, SmsDir};

/// What a world is made of.
#[derive(Debug, Clone)]
pub struct WorldConfig {
    pub device: firmware::Config,
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
    /// The lab's phone sends the device an SMS.
    LabSms {
        text: String,
    },
}

/// An action with the timeline id that named it, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub id: Option<String>,
    pub action: Action,
}

/// What a device's own reports say about it, counted with the trace on or off (a fleet
/// reads these rather than a trace).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeviceStats {
    /// Connected to the server now (`Connected`, until `LinkLost` or a modem restart).
    pub connected: bool,
    /// Connects that succeeded, and that failed.
    pub connects: u32,
    pub connect_failures: u32,
    /// Messages the outbox did not take or dropped (`Dropped`).
    pub dropped: u32,
}

impl DeviceStats {
    fn note(&mut self, report: &Report<'_>) {
        match report {
            Report::Connected => {
                self.connected = true;
                self.connects += 1;
            }
            Report::ConnectFailed { .. } => self.connect_failures += 1,
            Report::LinkLost(_) | Report::ModemRestart { .. } => self.connected = false,
            Report::Dropped { .. } => self.dropped += 1,
            _ => {}
        }
    }
}

/// The firmware's board in the world: its power lines go to the modem through the harness's
/// wire (in order with the UART bytes), and its reports and pin changes into the trace.
struct Recorder {
    wire: Wire,
    /// The firmware's reports and pin changes since the last exchange (when tracing).
    events: Rc<RefCell<Vec<Event>>>,
    trace: bool,
    stats: Rc<Cell<DeviceStats>>,
}

impl Recorder {
    fn event(&self, event: impl FnOnce() -> Event) {
        if self.trace {
            self.events.borrow_mut().push(event());
        }
    }
}

impl Board for Recorder {
    // The LED and the watchdog are in the reports (`Led`, `WatchdogFed`).
    fn set_led(&mut self, _: LedState) {}

    fn feed_watchdog(&mut self) {}

    fn set_power_key(&mut self, pressed: bool) {
        self.wire.drove(Output::PowerKey(pressed));
        self.event(|| Event::Pin {
            pin: PinName::PowerKey,
            level: pressed,
        });
    }

    fn set_modem_reset(&mut self, asserted: bool) {
        self.wire.drove(Output::Reset(asserted));
        self.event(|| Event::Pin {
            pin: PinName::Reset,
            level: asserted,
        });
    }

    /// The report in its trace form (its `Display`) and its typed form.
    fn report(&mut self, report: Report<'_>) {
        let mut stats = self.stats.get();
        stats.note(&report);
        self.stats.set(stats);
        self.event(|| Event::Fw {
            report: Reported::new(&report),
        });
    }
}

/// The firmware core and the simulation in virtual time. See the module documentation.
pub struct World {
    /// The firmware (or none), its clock and UART, and the loop that drives them.
    harness: Harness<'static>,
    env: Environment,
    /// What the firmware's reports said (its board counts them).
    stats: Rc<Cell<DeviceStats>>,
}

/// Everything in the world but the firmware: the simulation (modem, network, lab server),
/// the timeline, and the trace. The harness's [`Peer`].
struct Environment {
    sim: Sim,
    /// The harness's wire, for the time.
    wire: Wire,
    /// The firmware runs in the process (else its bytes come from outside, in pieces).
    in_process: bool,
    timeline: BTreeMap<(Duration, u64), Step>,
    seq: u64,
    records: Vec<Record>,
    /// The firmware's reports and pin changes, from its board (when tracing).
    events: Rc<RefCell<Vec<Event>>>,
    trace: bool,
    scratch: Vec<u8>,
    /// An external device's line to the modem so far: its bytes come in arbitrary pieces.
    partial: Vec<u8>,
    /// The lab server's events, kept with the trace on or off ([`World::keep_lab_events`]).
    lab_events: Option<Vec<LabEvent>>,
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
        let wire = Wire::default();
        let env = Environment::new(sim, wire.clone(), true, config.trace);
        let stats = Rc::new(Cell::new(DeviceStats::default()));
        let mut board = Recorder {
            wire: wire.clone(),
            events: env.events.clone(),
            trace: config.trace,
            stats: stats.clone(),
        };
        let (uart, clock) = (wire.uart(), wire.clock());
        let device_config = config.device;
        // The future owns everything it borrows, so the world can own the future.
        let device = async move {
            firmware::run(&device_config, uart, &clock, &mut board).await;
        };
        Ok(World::with(Harness::new(wire, device), env, stats))
    }

    /// A scripted AT client ([`crate::client`]) in the firmware's place, on the same UART
    /// and clock; its steps are `client` records. The modem is on from the start.
    pub fn client(
        sim: SimConfig,
        profile: Option<Profile>,
        trace: bool,
        steps: Vec<crate::format::ClientStep>,
    ) -> Result<World, SimError> {
        let sim = build_sim(sim, profile)?;
        let wire = Wire::default();
        let env = Environment::new(sim, wire.clone(), true, trace);
        let events = env.events.clone();
        let (uart, clock) = (wire.uart(), wire.clock());
        let device = async move {
            let record = |event| {
                if trace {
                    events.borrow_mut().push(event);
                }
            };
            crate::client::run(&steps, uart, &clock, record).await;
        };
        Ok(World::with(Harness::new(wire, device), env, Rc::default()))
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
        let wire = Wire::default();
        let env = Environment::new(sim, wire.clone(), false, trace);
        Ok(World::with(
            Harness::without_device(wire),
            env,
            Rc::default(),
        ))
    }

    fn with(
        harness: Harness<'static>,
        mut env: Environment,
        stats: Rc<Cell<DeviceStats>>,
    ) -> World {
        env.collect_sim_events();
        World {
            harness,
            env,
            stats,
        }
    }

    /// What the firmware's reports said so far (nothing for an external device).
    pub fn stats(&self) -> DeviceStats {
        self.stats.get()
    }

    /// From now on the lab server's events are kept, trace or no trace, for
    /// [`World::take_lab_events`]; and the lab server keeps no copy of the data its clients
    /// sent and received (a fleet reads the events and keeps what it needs).
    pub fn keep_lab_events(&mut self) {
        self.env.lab_events = Some(Vec::new());
        self.env.sim.lab_mut().keep_data(false);
    }

    /// The lab server's events since last time (with [`World::keep_lab_events`]).
    pub fn take_lab_events(&mut self, into: &mut Vec<LabEvent>) {
        if let Some(events) = &mut self.env.lab_events {
            into.append(events);
        }
    }

    /// An external device wrote `bytes` to the modem, now.
    pub fn device_wrote(&mut self, bytes: &[u8]) {
        self.harness.device_wrote(bytes);
        self.harness.settle(&mut self.env);
    }

    /// What the modem wrote for an external device since last time. (With the firmware in
    /// the process, it reads these itself.)
    pub fn take_device_bound(&mut self) -> Vec<u8> {
        self.harness.take_device_bound()
    }

    /// Records what an external device said about itself (its log), now.
    pub fn note(&mut self, event: Event) {
        self.env.record(event);
    }

    /// Virtual time since the start.
    pub fn now(&self) -> Duration {
        self.harness.now()
    }

    pub fn sim(&self) -> &Sim {
        &self.env.sim
    }

    /// Lets `f` work on the simulation at the current time (a real-time run feeds it from
    /// real sockets this way), then records what happened and lets the firmware answer.
    pub fn with_sim<R>(&mut self, f: impl FnOnce(&mut Sim, Duration) -> R) -> R {
        let now = self.now();
        let result = f(&mut self.env.sim, now);
        self.env.collect_sim_events();
        self.harness.settle(&mut self.env);
        result
    }

    /// Whether records are kept.
    pub fn tracing(&self) -> bool {
        self.env.trace
    }

    /// The records so far.
    pub fn records(&self) -> &[Record] {
        &self.env.records
    }

    /// Takes the records so far (a live view prints them as they come).
    pub fn take_records(&mut self) -> Vec<Record> {
        std::mem::take(&mut self.env.records)
    }

    /// Does `step` at virtual time `at` (now, if `at` has passed).
    pub fn schedule(&mut self, at: Duration, step: Step) {
        let env = &mut self.env;
        env.seq += 1;
        env.timeline.insert((at.max(env.now()), env.seq), step);
    }

    /// Does `step` now.
    pub fn apply(&mut self, step: Step) {
        self.env.apply(step);
    }

    /// Runs a lab server console command now (`list`, `send 1 back hi`, ...; see
    /// `sim_modem::lab::CONSOLE_HELP`) and returns its answer.
    pub fn lab_console(&mut self, line: &str) -> String {
        let answer = self.env.sim.lab_console(self.now(), line);
        self.env.collect_sim_events();
        answer
    }

    /// When something next happens by itself, once the current instant has settled.
    pub fn next_wakeup(&self) -> Option<Duration> {
        self.harness.next_wakeup(&self.env)
    }

    /// Runs until virtual time `until`: every wake-up up to it, each at its own time. On
    /// return the time is `until`, and [`World::apply`] acts at that time.
    pub fn run_until(&mut self, until: Duration) {
        self.harness.run_until(&mut self.env, until);
    }

    /// Settles the current instant, then moves to the next wake-up and settles that.
    /// Returns the new time, or `None` when nothing is left to happen.
    pub fn step(&mut self) -> Option<Duration> {
        self.harness.step(&mut self.env)
    }

    /// Records an external device's unfinished line as a line, now: at the end of a run, or
    /// when the modem answers it (so a payload's line is stamped with the answer's time).
    pub fn flush_device_line(&mut self) {
        self.env.flush_device_line();
    }
}

/// The firmware's side of the exchange, as the harness drives it: what it drove goes to the
/// simulation (and the trace), what the modem wrote comes back.
impl Peer for Environment {
    fn exchange(&mut self, now: Duration, drove: Vec<Output>, to_firmware: &mut Vec<u8>) {
        // What the firmware reported while it ran, before what it drove.
        if self.trace {
            let events = std::mem::take(&mut *self.events.borrow_mut());
            for event in events {
                self.record(event);
            }
        }
        for output in drove {
            match output {
                Output::Uart(bytes) => {
                    self.uart(Dir::ToModem, &bytes);
                    self.sim.handle_uart(now, &bytes);
                }
                Output::PowerKey(pressed) => self.sim.set_power_key(now, pressed),
                Output::Reset(asserted) => self.sim.set_reset(now, asserted),
            }
            self.collect_sim_events();
        }
        let mut bytes = std::mem::take(&mut self.scratch);
        let mut errors = Vec::new();
        self.sim.receive_uart(&mut bytes, &mut errors);
        if !bytes.is_empty() {
            self.uart(Dir::FromModem, &bytes);
        }
        if errors.is_empty() || !self.in_process {
            // (A device outside reads its own UART: the bytes an error hit are just missing.)
            to_firmware.extend_from_slice(&bytes);
        } else {
            // The firmware's UART gets the bytes and the errors between them, in order.
            let mut from = 0;
            for at in errors {
                self.wire.deliver(&bytes[from..at]);
                self.wire.deliver_error();
                from = at;
            }
            self.wire.deliver(&bytes[from..]);
        }
        bytes.clear();
        self.scratch = bytes;
    }

    /// The simulation's next timeout or the next timeline step.
    fn next_event(&self) -> Option<Duration> {
        let timeline = self.timeline.keys().next().map(|&(at, _)| at);
        [self.sim.poll_timeout(), timeline]
            .into_iter()
            .flatten()
            .min()
    }

    /// The simulation's timeouts, then the timeline's steps, that are due.
    fn advance(&mut self, now: Duration) {
        if self.sim.poll_timeout().is_some_and(|t| t <= now) {
            self.sim.handle_timeout(now);
            self.collect_sim_events();
        }
        while let Some(entry) = self.timeline.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let step = entry.remove();
            self.apply(step);
        }
    }
}

impl Environment {
    fn new(sim: Sim, wire: Wire, in_process: bool, trace: bool) -> Environment {
        Environment {
            sim,
            wire,
            in_process,
            timeline: BTreeMap::new(),
            seq: 0,
            records: Vec::new(),
            events: Rc::default(),
            trace,
            scratch: Vec::new(),
            partial: Vec::new(),
            lab_events: None,
        }
    }

    fn now(&self) -> Duration {
        self.wire.now()
    }

    /// Does `step` now.
    fn apply(&mut self, step: Step) {
        let now = self.now();
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
            Action::LabSms { text } => self.sim.lab_send_sms(now, &text).err(),
        };
        self.record(Event::Step {
            id: step.id,
            action,
            error,
        });
        self.collect_sim_events();
    }

    fn client(&self, client: Option<ClientId>) -> Result<ClientId, String> {
        client
            .or_else(|| {
                let lab = self.sim.lab();
                lab.clients().filter(|c| c.is_open()).map(|c| c.id).max()
            })
            .ok_or_else(|| "no open lab client".to_string())
    }

    /// Records a run of UART bytes and its lines.
    fn uart(&mut self, dir: Dir, bytes: &[u8]) {
        if !self.trace {
            return;
        }
        self.record(Event::Uart {
            dir,
            data: Bytes(bytes.to_vec()),
        });
        if self.in_process {
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
    fn flush_device_line(&mut self) {
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
            if let (Some(kept), SimEventKind::Lab(lab)) = (&mut self.lab_events, &event.kind) {
                kept.push(lab.clone());
            }
            if self.trace {
                let at = event.at;
                if let Some(event) = sim_event(event) {
                    self.records.push(Record { at, event });
                }
            }
        }
    }

    fn record(&mut self, event: Event) {
        if self.trace {
            self.records.push(Record {
                at: self.now(),
                event,
            });
        }
    }
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
        Action::LabSms { text } => format!("lab_sms {}", Quoted(text.as_bytes())),
    }
}

/// A simulation event as the trace records it, if it does.
fn sim_event(event: SimEvent) -> Option<Event> {
    let dir = |direction| match direction {
        sim_modem::fault::Direction::ToModem => Dir::ToModem,
        _ => Dir::FromModem,
    };
    Some(match event.kind {
        SimEventKind::Modem(event) => Event::Modem { event },
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
        SimEventKind::Sms(sms) => Event::LabSms {
            dir: match sms.direction {
                SmsDirection::FromDevice => SmsDir::FromDevice,
                SmsDirection::ToDevice => SmsDir::ToDevice,
            },
            number: sms.number,
            text: sms.text,
        },
        SimEventKind::FaultApplied(fault) => Event::Fault { fault },
        SimEventKind::FaultEnded(fault) => Event::FaultEnd { fault },
        SimEventKind::Noise { direction, counts } => Event::Noise {
            dir: dir(direction),
            flipped: counts.flipped,
            dropped: counts.dropped,
            duplicated: counts.duplicated,
        },
        SimEventKind::UartOverflow { direction, lost } => Event::UartOverflow {
            dir: dir(direction),
            lost: lost as u64,
        },
        // A line error shows as the firmware's read error; a byte it took, as noise.
        SimEventKind::UartError { lost_byte: true } => Event::Noise {
            dir: Dir::FromModem,
            flipped: 0,
            dropped: 1,
            duplicated: 0,
        },
        SimEventKind::UartError { lost_byte: false } => return None,
    })
}
