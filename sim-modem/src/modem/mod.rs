//! The simulated AT modem: a SIM800 / Air202-class modem as a sans-IO state machine.
//!
//! Bytes from the host go in with [`Modem::handle_uart`], what the modem writes back comes
//! out of [`Modem::drain_uart`]; the modem asks its network for things with
//! [`Modem::poll_request`] and hears back through [`Modem::handle_net`]; time is an input
//! (`now`, virtual time since the simulation started) and [`Modem::poll_timeout`] says when it
//! next needs [`Modem::handle_timeout`]. Nothing here reads a clock, touches a socket or draws
//! a random number: faults come from outside ([`Modem::hang`], [`Modem::brown_out`], ...).
//!
//! It behaves like the real modems in `shared/reference/sim800-tcpip-at.md`, quirks included,
//! because client code written for a real SIM800 must work against it unchanged. Where the
//! reference is silent the choice is marked UNCONFIRMED where it is made.
//!
//! The modules follow the modem's concerns:
//!
//! - `line`: the line discipline: echo, `;` chains, one reply per line written at once after
//!   the command's time, input held while a command executes, the `> ` data prompt, errors
//!   (`AT+CMEE`).
//! - `commands`: the general commands: identification, SIM, clock, `AT+CFUN`, power.
//! - `radio`: registration, packet-domain attach and the one PDP context.
//! - `ip`: the TCP/IP application: its state machine (IP INITIAL … PDP DEACT) and links.
//! - `timers`: the pending wake-ups.
//! - `field`: the SIM800's field misbehaviours injected from outside (a send-fail loop, a
//!   hang only a power cycle cures, a garbled or missing `RDY`, a SIM reset on `AT+CFUN=1`).
//! - `housekeeping`: settings and reports client libraries ask for (`ATZ`, `AT&F`, `ATV`,
//!   `ATQ`, `AT&W`, `AT+IFC`, `AT+CLIP`, `AT+CSCS`, the SMS settings of a set-up line,
//!   `AT+CSCLK` and sleep, `AT+CNETLIGHT`, `AT+CSMINS`, `AT+CBC`, `AT+COPS`, `AT+CGREG`,
//!   `AT+GMR`, network time with `AT+CLTS`), and the Air202's own formats.
//! - `transparent`: `AT+CIPMODE=1`: the UART carries a link's data, `+++` and `ATO`, and the
//!   TCP/IP application's display options (`AT+CIPSRIP`, `AT+CIPSHOWTP`, `AT+CIPSPRT`).
//! - `services`: the network services that answer later: `AT+CDNSGIP`, `AT+CIPGSMLOC`,
//!   `AT+CLBS`.
//! - `outcome`: what running a command gives back to the line discipline (how it ended, its
//!   error, what it waits for).
//! - `http`, `sms`, `sntp`: the application services: the HTTP application set, SMS in text
//!   and PDU mode, `AT+CNTP`'s time request; `apps` routes commands and network events to
//!   them.
//!
//! The files are layers, each importing only from those before it (and the shared
//! [`Modem`] plumbing from here): `outcome` and `timers` (values), `line`, `radio`, `ip`,
//! `field`, `housekeeping`, `transparent`, `services`, `http`, `sms`, `sntp`, `apps`,
//! `commands`. `line` runs commands through `Modem` methods, never by importing their files.

mod apps;
mod commands;
mod field;
mod housekeeping;
mod http;
mod ip;
mod line;
mod outcome;
mod radio;
mod services;
mod sms;
mod sntp;
mod timers;
mod transparent;

pub use sms::{StoredSms, SIM_SLOTS};

use std::collections::VecDeque;
use std::time::Duration;

use protocol::command::CommandParser;
use protocol::response::{Response, VoltageAlarm};
use protocol::types::{ClientState, IpState, LinkId, RegStat, Transport};

use crate::net::{Coverage, NetEvent, NetRequest};
use crate::profile::Profile;

use commands::Cntp;
use field::Field;
use housekeeping::{Battery, Rtc, Settings};
use ip::Ip;
use line::Cmd;
use radio::{Pdp, Radio};
use services::Services;
use timers::{Timer, Timers};
use transparent::Transparent;

/// What changed in the modem, for logs, traces and the live view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModemEvent {
    /// Power came on (power key, reset release, a reboot); boot begins.
    PoweredOn,
    PoweredOff(PowerOffCause),
    /// Boot reached `RDY`: the UART listens.
    Ready,
    /// The modem stopped answering ([`Modem::hang`]).
    Hung,
    /// `UNDER-VOLTAGE WARNNING`: a brown-out began.
    UnderVoltage,
    /// `AT+CFUN=<n>` took effect.
    Cfun(u8),
    /// The registration status changed (what `+CREG` reports).
    Registration(RegStat),
    /// Packet-domain attach changed (what `+CGATT` reports).
    Attached(bool),
    PdpActivated {
        ip: [u8; 4],
    },
    PdpDeactivated,
    /// The TCP/IP application state changed (what `STATE:` reports).
    IpState(IpState),
    /// A link reached CONNECT OK.
    LinkOpened {
        link: LinkId,
        transport: Transport,
        host: String,
        port: u16,
    },
    LinkClosed {
        link: LinkId,
        cause: CloseCause,
    },
    /// [`Modem::fail_next_sends`] turned a send into `SEND FAIL`.
    SendFailInjected {
        link: LinkId,
    },
    /// A bounded buffer was full and `amount` bytes (for requests: requests) were dropped.
    /// Repeated drops of one buffer add up in the last event.
    Dropped {
        buffer: Buffer,
        amount: usize,
    },
    /// Host bytes arrived while the modem was not listening (off, booting before `RDY`,
    /// hung, powering down, asleep) and were lost. Repeats add up in the last event.
    Ignored {
        amount: usize,
    },
    /// `AT+CSCLK`: the modem went to sleep (`true`) or woke (`false`).
    Asleep(bool),
    /// Transparent mode (`AT+CIPMODE=1`): the UART carries the link's data (`true`) or
    /// commands (`false`).
    DataMode(bool),
    /// The service centre took an SMS (`+CMGS: <mr>`).
    SmsSent {
        mr: u8,
    },
    /// An SMS arrived: stored at `index` on the SIM, or (`None`) shown as `+CMT`, or lost
    /// (a full SIM, an unreadable PDU).
    SmsReceived {
        index: Option<u16>,
    },
    /// An `AT+HTTPACTION` ended (`+HTTPACTION: <method>,<status>,<len>`).
    HttpAction {
        method: u8,
        status: u16,
        len: u32,
    },
}

/// Why the modem went off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerOffCause {
    PowerKey,
    /// `AT+CPOWD`.
    Command,
    UnderVoltage,
    ResetLine,
    /// [`Modem::reboot`]: it comes back at once.
    Reboot,
    /// `AT+CFUN=1,1`: it comes back at once.
    CfunReset,
}

/// Why a link closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseCause {
    /// `AT+CIPCLOSE`.
    Local,
    /// `AT+CIPSHUT`.
    Shut,
    /// The peer closed it or the network dropped it (`CLOSED`).
    Peer,
    /// The connection attempt failed (`CONNECT FAIL`).
    ConnectFailed,
    /// No answer in time: `AT+CIPSTART`'s maximum, or a slow send's acknowledgement.
    Timeout,
    /// The PDP context went away (`+PDP: DEACT`).
    PdpLost,
}

/// The modem's bounded buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Buffer {
    /// Host bytes held while a command executes.
    Input,
    /// Bytes for a host that does not read.
    Output,
    /// The data of a transparent link waiting to be sent (`AT+CIPMODE=1`).
    Transparent,
    /// A link's receive buffer (manual receive) or data for a link that is not open.
    Receive(LinkId),
    /// Requests to the network that nobody polls.
    Requests,
}

/// A snapshot of the modem, for the live view and for tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub power: PowerState,
    pub cfun: u8,
    pub echo: bool,
    pub sim_ready: bool,
    pub registration: RegStat,
    pub attached: bool,
    /// The PDP context's address, when active.
    pub ip: Option<[u8; 4]>,
    pub ip_state: IpState,
    /// `AT+CIPMUX=1`.
    pub multi: bool,
    /// Every link id of the profile (single mode uses link 0).
    pub links: Vec<LinkStatus>,
    /// Events dropped because nobody polled them (the queue keeps the newest).
    pub events_lost: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerState {
    Off,
    /// On, before `RDY`.
    Booting,
    On,
    /// On and silent.
    Hung,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkStatus {
    pub link: LinkId,
    pub state: ClientState,
    pub transport: Option<Transport>,
    pub host: String,
    pub port: u16,
    /// Bytes waiting in manual receive mode.
    pub rx_waiting: usize,
}

/// Most events kept for a driver that does not poll them; the oldest go first.
const EVENTS_MAX: usize = 1024;
/// Most requests kept for a network that does not poll them.
const REQUESTS_MAX: usize = 1024;

/// The simulated modem. See the module documentation.
pub struct Modem {
    profile: Profile,
    /// What `AT&W` saved: survives power loss.
    saved: Saved,
    power: Power,
    /// Everything the modem forgets when it loses power.
    session: Session,
    /// What the radio network offers here; the world's state, not the modem's.
    coverage: Option<Coverage>,
    timers: Timers,
    out: Vec<u8>,
    requests: VecDeque<NetRequest>,
    events: VecDeque<ModemEvent>,
    events_lost: u64,
    /// The last IP state reported as an event.
    seen_ip_state: Option<IpState>,
    /// [`Modem::fail_next_sends`]: sends still to fail.
    send_failures: u32,
    /// Since when PWRKEY is held, and whether it already toggled power this press.
    key_since: Option<Duration>,
    reset_held: bool,
    /// The field misbehaviours injected so far ([`Modem::hang_after`] ...).
    field: Field,
    /// The host's DTR line, high unless the host pulls it low (the SIM800's DTR has a
    /// pull-up): with `AT+CSCLK=1` a high DTR lets the modem sleep.
    dtr_high: bool,
    /// The network's clock, Unix seconds at virtual time 0, for network time (NITZ) after
    /// registration; `None`: the network sends none ([`Modem::set_network_clock`]).
    network_clock: Option<u64>,
    /// What `AT+CBC` reports: the profile's battery, as a fault changed it.
    battery: Battery,
    /// The SIM's SMS storage: it keeps its messages through power loss.
    sim_sms: Vec<Option<StoredSms>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Power {
    Off,
    On,
    Hung,
}

/// Settings `AT&W` stores (SIM800 AT manual V1.09 §2.2.34 `AT&W`; which ones exactly is
/// UNCONFIRMED: the `AT&V` profile lists these), `ATZ` brings back and `AT&F` resets.
#[derive(Debug, Clone, Copy)]
struct Saved {
    echo: bool,
    verbose: bool,
    quiet: bool,
    cmee: u8,
    ciurc: bool,
    ipr: u32,
    /// `AT+IFC`: flow control DCE by DTE, DTE by DCE.
    ifc: (u8, u8),
    clts: bool,
}

/// The modem's volatile state: a fresh one at every power-up.
struct Session {
    /// `RDY` time has passed: the UART listens.
    booted: bool,
    /// The modem knows the host's rate: always, but when auto-bauding (`AT+IPR=0` saved)
    /// only once the host's first `AT` arrived. Until then what the modem says is lost.
    synced: bool,
    /// Links in a send-fail loop, a bit each ([`Modem::fail_sends_until_restarted`]).
    stuck_sends: u16,
    /// Powering down (`NORMAL POWER DOWN` said): silent, deaf, off at [`Timer::PowerOff`].
    going_down: Option<PowerOffCause>,
    echo: bool,
    /// `ATV1`: verbose result codes; `ATV0`: numeric.
    verbose: bool,
    /// `ATQ1`: result codes suppressed.
    quiet: bool,
    cmee: u8,
    ciurc: bool,
    ipr: u32,
    /// `AT+IPR`'s new rate, in force once its own `OK` has gone out at the old one.
    ipr_next: Option<u32>,
    ifc: (u8, u8),
    clts: bool,
    cbatchk: bool,
    /// Issue 13's settings (`housekeeping`), transparent mode, the network services.
    settings: Settings,
    transparent: Transparent,
    services: Services,
    /// `AT+CENG=<mode>,<ncell>`.
    ceng: (u8, u8),
    parser: CommandParser,
    /// Host bytes not yet parsed (held while a command executes).
    input: Vec<u8>,
    cmd: Cmd,
    /// URCs held while a command's reply is pending: they follow it.
    deferred: Vec<u8>,
    radio: Radio,
    ip: Ip,
    rtc: Rtc,
    cntp: Cntp,
    sms: sms::SmsSettings,
    http: http::Http,
}

impl Session {
    fn new(profile: &Profile, saved: &Saved, now: Duration) -> Session {
        Session {
            booted: false,
            synced: saved.ipr != 0,
            stuck_sends: 0,
            going_down: None,
            echo: saved.echo,
            verbose: saved.verbose,
            quiet: saved.quiet,
            cmee: saved.cmee,
            ciurc: saved.ciurc,
            ipr: saved.ipr,
            ipr_next: None,
            ifc: saved.ifc,
            clts: saved.clts,
            cbatchk: false,
            settings: Settings::new(now),
            transparent: Transparent::default(),
            services: Services::default(),
            ceng: (0, 0),
            parser: CommandParser::new(),
            input: Vec::new(),
            cmd: Cmd::Idle,
            deferred: Vec::new(),
            radio: Radio::default(),
            ip: Ip::new(profile),
            rtc: Rtc::new(profile.rtc_at_boot, now),
            cntp: Cntp::default(),
            sms: sms::SmsSettings::default(),
            http: http::Http::default(),
        }
    }
}

impl Modem {
    /// A modem powered on at `now`: it boots (`RDY`, `+CPIN: READY`, `Call Ready`,
    /// `SMS Ready` at the profile's times). It has no coverage until the driver sends
    /// [`NetEvent::Coverage`].
    pub fn new(profile: Profile, now: Duration) -> Modem {
        let saved = Saved::factory(&profile);
        let session = Session::new(&profile, &saved, now);
        let battery = Battery::of(&profile);
        let mut modem = Modem {
            profile,
            saved,
            power: Power::Off,
            session,
            coverage: None,
            timers: Timers::default(),
            out: Vec::new(),
            requests: VecDeque::new(),
            events: VecDeque::new(),
            events_lost: 0,
            seen_ip_state: None,
            send_failures: 0,
            key_since: None,
            reset_held: false,
            field: Field::default(),
            dtr_high: true,
            network_clock: None,
            battery,
            sim_sms: vec![None; SIM_SLOTS],
        };
        modem.power_on(now);
        modem.sync();
        modem
    }

    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The UART's rate now, bits per second: `AT+IPR`'s, or 115,200 while auto-bauding (the
    /// modem then follows the host, whose rate the simulation does not know).
    pub fn uart_baud(&self) -> u32 {
        match self.session.ipr {
            0 => 115_200,
            rate => rate,
        }
    }

    /// Whether the modem learns the host's rate (`AT+IPR=0`): it follows the host's.
    pub fn auto_bauding(&self) -> bool {
        self.session.ipr == 0
    }

    /// Bytes from the host. Ignored while off, booting (before `RDY`), hung or powering
    /// down; held (bounded by `input_buffer`) while a command executes.
    pub fn handle_uart(&mut self, now: Duration, bytes: &[u8]) {
        self.run_timers(now);
        if self.listening() && self.host_activity(now, bytes) {
            self.settle(now);
            return;
        }
        if self.listening() {
            let mut rest = bytes;
            while !rest.is_empty() {
                let room = self
                    .profile
                    .input_buffer
                    .saturating_sub(self.session.input.len());
                if room == 0 {
                    self.dropped(Buffer::Input, rest.len());
                    break;
                }
                let (take, later) = rest.split_at(room.min(rest.len()));
                self.session.input.extend_from_slice(take);
                rest = later;
                self.pump(now);
            }
        } else if !bytes.is_empty() {
            self.ignored(bytes.len());
        }
        self.settle(now);
    }

    /// Appends what the modem wrote to the host since the last call. A new `AT+IPR` rate
    /// is in force from the next call: its `OK` went out at the old one.
    pub fn drain_uart(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.out);
        if !self.session.cmd.defers_urcs() {
            if let Some(rate) = self.session.ipr_next.take() {
                self.session.ipr = rate;
            }
        }
    }

    /// The next thing the modem asks of its network.
    pub fn poll_request(&mut self) -> Option<NetRequest> {
        self.requests.pop_front()
    }

    /// Something happened in the network. Coverage is always taken in (it is the world's
    /// state); everything else only while the modem is on and not hung.
    pub fn handle_net(&mut self, now: Duration, event: NetEvent) {
        self.run_timers(now);
        match event {
            NetEvent::Coverage(coverage) => {
                self.coverage = Some(coverage);
                if self.power == Power::On {
                    self.update_registration(now);
                }
            }
            _ if self.power != Power::On || self.session.going_down.is_some() => {}
            event if Self::is_service_event(&event) => self.on_service_net(now, event),
            NetEvent::PdpActivated { ip } => self.on_pdp_activated(now, ip),
            NetEvent::PdpRejected => self.on_pdp_failed(now, false),
            NetEvent::PdpDeactivated => self.lose_pdp(now, false),
            NetEvent::Connected { link } => self.on_connected(now, link),
            NetEvent::ConnectFailed { link, .. } => self.on_connect_failed(link),
            NetEvent::Received { link, data } => self.on_received(link, &data),
            NetEvent::Delivered { link, len } => self.on_delivered(now, link, len),
            NetEvent::Closed { link } => self.on_peer_closed(now, link),
            NetEvent::Time { unix } => self.on_time(now, unix),
            NetEvent::Resolved { name, ip } => self.on_resolved(&name, ip),
            event @ (NetEvent::SmsSent { .. } | NetEvent::SmsReceived { .. }) => {
                self.on_service_net(now, event)
            }
        }
        self.settle(now);
    }

    /// When the modem next needs [`Modem::handle_timeout`].
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.timers.next()
    }

    pub fn handle_timeout(&mut self, now: Duration) {
        self.settle(now);
    }

    /// The next state change, for logs and traces.
    pub fn poll_event(&mut self) -> Option<ModemEvent> {
        self.events.pop_front()
    }

    /// The SIM's SMS storage, slot 1 first.
    pub fn sim_messages(&self) -> &[Option<StoredSms>] {
        &self.sim_sms
    }

    pub fn status(&self) -> Status {
        let power = match self.power {
            Power::Off => PowerState::Off,
            Power::Hung => PowerState::Hung,
            Power::On if !self.session.booted => PowerState::Booting,
            Power::On => PowerState::On,
        };
        let r = &self.session.radio;
        Status {
            power,
            cfun: r.cfun,
            echo: self.session.echo,
            sim_ready: r.sim_ready,
            registration: r.reg,
            attached: r.attached,
            ip: match r.pdp {
                Pdp::Active(ip) => Some(ip),
                _ => None,
            },
            ip_state: self.ip_state(),
            multi: self.session.ip.multi,
            links: self.link_statuses(),
            events_lost: self.events_lost,
        }
    }

    // --- Pins and faults. ---

    /// The PWRKEY line. Held for `power_key_on` it switches an off modem on; held for
    /// `power_key_off` it switches a running one off (`NORMAL POWER DOWN`) and a hung one
    /// off silently. One toggle per press.
    pub fn set_power_key(&mut self, now: Duration, pressed: bool) {
        self.run_timers(now);
        match (pressed, self.key_since) {
            (true, None) => {
                self.key_since = Some(now);
                let hold = if self.power == Power::Off {
                    self.profile.power_key_on
                } else {
                    self.profile.power_key_off
                };
                self.timers.set(now + hold, Timer::PowerKey);
            }
            (false, Some(_)) => {
                self.key_since = None;
                self.timers.cancel(Timer::PowerKey);
            }
            _ => {}
        }
        self.settle(now);
    }

    /// The RESET line: off (state lost, no URC) while asserted, boots on release; no use on
    /// a modem hung for good ([`Modem::hang_after`]).
    pub fn set_reset(&mut self, now: Duration, asserted: bool) {
        self.run_timers(now);
        if self.field.needs_power_cycle {
            self.reset_held = asserted;
        } else if asserted && !self.reset_held {
            self.reset_held = true;
            self.power_off(PowerOffCause::ResetLine);
        } else if !asserted && self.reset_held {
            self.reset_held = false;
            self.power_on(now);
        }
        self.settle(now);
    }

    /// A spontaneous reboot: all state is lost and the modem boots again (`RDY` ...).
    pub fn reboot(&mut self, now: Duration) {
        self.run_timers(now);
        if self.power != Power::Off {
            self.power_off(PowerOffCause::Reboot);
            self.power_on(now);
        }
        self.settle(now);
    }

    /// A supply brown-out: `UNDER-VOLTAGE WARNNING` now, `UNDER-VOLTAGE POWER DOWN` and off
    /// after the profile's `brown_out`; it stays off until the power key or reset.
    pub fn brown_out(&mut self, now: Duration) {
        self.run_timers(now);
        if self.power != Power::Off && !self.timers.is_set(Timer::BrownOut) {
            self.say(&Response::Voltage(VoltageAlarm::UnderWarning));
            self.event(ModemEvent::UnderVoltage);
            self.timers
                .set(now + self.profile.brown_out, Timer::BrownOut);
        }
        self.settle(now);
    }

    /// The modem's firmware hangs: it answers nothing and reports nothing until the reset
    /// line or the power key.
    pub fn hang(&mut self, now: Duration) {
        self.run_timers(now);
        self.go_hung();
        self.settle(now);
    }

    /// Hangs a running modem; returns whether it did.
    fn go_hung(&mut self) -> bool {
        if self.power != Power::On {
            return false;
        }
        self.power = Power::Hung;
        self.timers.retain(Timer::is_hardware);
        self.event(ModemEvent::Hung);
        true
    }

    /// The next `count` sends (`AT+CIPSEND`) end in `SEND FAIL` instead of reaching the
    /// network.
    pub fn fail_next_sends(&mut self, count: u32) {
        self.send_failures = count;
    }

    // --- Power. ---

    fn power_on(&mut self, now: Duration) {
        self.power = Power::On;
        self.session = Session::new(&self.profile, &self.saved, now);
        self.timers.retain(Timer::is_hardware);
        let p = &self.profile;
        for (after, timer) in [
            (p.rdy_after, Timer::Rdy),
            (p.sim_ready_after, Timer::SimReady),
            (p.call_ready_after, Timer::CallReady),
            (p.sms_ready_after, Timer::SmsReady),
        ] {
            self.timers.set(now + after, timer);
        }
        self.field_power_on(now);
        self.event(ModemEvent::PoweredOn);
    }

    /// Off: everything volatile is forgotten. The network is told the PDP context is gone,
    /// which is all it would learn (links are not closed towards their peers).
    fn power_off(&mut self, cause: PowerOffCause) {
        if self.power == Power::Off {
            return;
        }
        if self.session.radio.pdp != Pdp::Inactive {
            self.request(NetRequest::DeactivatePdp);
        }
        self.power = Power::Off;
        self.field.needs_power_cycle = false;
        self.session = Session::new(&self.profile, &self.saved, Duration::ZERO);
        self.timers.retain(Timer::is_hardware);
        self.event(ModemEvent::PoweredOff(cause));
    }

    /// Whether host bytes are read at all.
    fn listening(&self) -> bool {
        self.power == Power::On && self.session.booted && self.session.going_down.is_none()
    }

    // --- Plumbing shared by the submodules. ---

    /// Runs due timers, the input that waits, and reports what changed.
    fn settle(&mut self, now: Duration) {
        self.run_timers(now);
        self.pump(now);
        self.sync();
    }

    /// Runs each due timer at the time it was due, so that a driver that comes late (or
    /// jumps ahead) still sees what follows from it timed from when it happened.
    fn run_timers(&mut self, now: Duration) {
        while let Some((at, timer)) = self.timers.pop_due(now) {
            self.on_timer(at, timer);
            self.pump(at);
        }
    }

    fn on_timer(&mut self, now: Duration, timer: Timer) {
        match timer {
            Timer::Rdy | Timer::SimReady | Timer::CallReady | Timer::SmsReady => {
                self.on_boot_step(now, timer)
            }
            Timer::Reply => self.on_reply_due(now),
            Timer::Register => self.on_register_due(now),
            Timer::Attach => self.on_attach_due(now),
            Timer::PdpDeadline => self.on_pdp_failed(now, true),
            Timer::PdpHold => self.on_pdp_hold_over(now),
            Timer::PdpLostReport => self.on_pdp_lost_report(now),
            Timer::ConnectDeadline(link) => self.on_connect_deadline(link),
            Timer::SendDeadline => self.on_send_deadline(now),
            Timer::CntpDeadline => self.cntp_done(65),
            Timer::HttpTimeout => self.on_http_timeout(),
            Timer::HttpDataDeadline => self.download_done(now),
            Timer::PowerKey => self.on_power_key_held(now),
            Timer::BrownOut => {
                self.say(&Response::Voltage(VoltageAlarm::UnderPowerDown));
                self.power_off(PowerOffCause::UnderVoltage);
            }
            Timer::PowerOff => {
                let cause = self.session.going_down.unwrap_or(PowerOffCause::Command);
                self.power_off(cause);
            }
            Timer::Restart => {
                self.power_off(PowerOffCause::CfunReset);
                self.power_on(now);
            }
            Timer::HangAfter => self.on_hang_due(),
            Timer::Sleep => self.on_sleep_due(now),
            Timer::Escape => self.on_escape_due(now),
            Timer::TransparentSend => self.on_transparent_send_due(now),
        }
    }

    fn on_power_key_held(&mut self, now: Duration) {
        if self.reset_held {
            return;
        }
        match self.power {
            Power::Off => self.power_on(now),
            Power::Hung => self.power_off(PowerOffCause::PowerKey),
            Power::On if self.session.going_down.is_none() => {
                self.say(&Response::NormalPowerDown);
                self.session.going_down = Some(PowerOffCause::PowerKey);
                self.timers
                    .set(now + self.profile.power_down, Timer::PowerOff);
            }
            Power::On => {}
        }
    }

    /// Reports the IP state when it changed (the other events are reported where they
    /// happen).
    fn sync(&mut self) {
        let state = (self.power == Power::On).then(|| self.ip_state());
        if state != self.seen_ip_state {
            self.seen_ip_state = state;
            if let Some(state) = state {
                self.event(ModemEvent::IpState(state));
            }
        }
    }

    /// A URC: held behind a pending reply, so that a command's consequences follow its
    /// final result; silent while hung or powering down.
    fn urc(&mut self, response: &Response<'_>) {
        self.urc_bytes(&frame(response, self.session.verbose));
    }

    fn urc_bytes(&mut self, bytes: &[u8]) {
        if self.power != Power::On || self.session.going_down.is_some() {
            return;
        }
        if self.session.cmd.defers_urcs() {
            if self.session.deferred.len() + bytes.len() <= self.profile.output_buffer {
                self.session.deferred.extend_from_slice(bytes);
            } else {
                self.dropped(Buffer::Output, bytes.len());
            }
        } else {
            self.write_out(bytes);
        }
    }

    /// Power-related last words: written at once, whatever is pending.
    fn say(&mut self, response: &Response<'_>) {
        if self.power == Power::On && self.session.going_down.is_none() {
            self.write_out(&frame(response, self.session.verbose));
        }
    }

    /// Into the UART's transmit buffer (`output_buffer` bytes; what does not fit is lost).
    fn write_out(&mut self, bytes: &[u8]) {
        if !self.session.synced {
            // Auto-bauding before the host's first `AT`: at no rate the host reads (SIM800
            // AT manual V1.09 §2.2.41.1: "RDY" and so on are not indicated).
            return;
        }
        if self.out.len() + bytes.len() > self.profile.output_buffer {
            self.dropped(Buffer::Output, bytes.len());
        } else {
            self.out.extend_from_slice(bytes);
        }
    }

    fn request(&mut self, request: NetRequest) {
        if self.requests.len() >= REQUESTS_MAX {
            self.dropped(Buffer::Requests, 1);
        } else {
            self.requests.push_back(request);
        }
    }

    fn event(&mut self, event: ModemEvent) {
        if self.events.len() >= EVENTS_MAX {
            self.events.pop_front();
            self.events_lost += 1;
        }
        self.events.push_back(event);
    }

    fn ignored(&mut self, amount: usize) {
        if let Some(ModemEvent::Ignored { amount: a }) = self.events.back_mut() {
            *a = a.saturating_add(amount);
        } else {
            self.event(ModemEvent::Ignored { amount });
        }
    }

    fn dropped(&mut self, buffer: Buffer, amount: usize) {
        if let Some(ModemEvent::Dropped {
            buffer: b,
            amount: a,
        }) = self.events.back_mut()
        {
            if *b == buffer {
                *a = a.saturating_add(amount);
                return;
            }
        }
        self.event(ModemEvent::Dropped { buffer, amount });
    }
}

/// A response's bytes as the modem writes them with `ATV1` (`verbose`) or `ATV0`: then the
/// result codes of V.250 are their numbers and a carriage return (`0\r` for `OK`), and other
/// lines lose their leading line end (`<text>\r\n`) (ITU-T V.250 §6.2.6, Table 1).
fn frame(response: &Response<'_>, verbose: bool) -> Vec<u8> {
    if verbose {
        return encode(response);
    }
    match result_code(response) {
        Some(code) => format!("{code}\r").into_bytes(),
        None => {
            let bytes = encode(response);
            match bytes.strip_prefix(b"\r\n") {
                Some(rest) => rest.to_vec(),
                None => bytes,
            }
        }
    }
}

/// The number of a V.250 result code (§5.7.1, Table 1): `OK` 0, `CONNECT` 1, `NO CARRIER` 3,
/// `ERROR` 4; `None` for any other response.
fn result_code(response: &Response<'_>) -> Option<u8> {
    use protocol::response::ConnectResult;
    Some(match response {
        Response::Ok => 0,
        Response::Connect {
            link: None,
            result: ConnectResult::DataMode,
        } => 1,
        Response::NoCarrier => 3,
        Response::Error => 4,
        _ => return None,
    })
}

/// A response's bytes as the modem writes them.
fn encode(response: &Response<'_>) -> Vec<u8> {
    // Lines are short; payloads are bounded by the profile. Grow until it fits.
    let mut size = 256;
    while size <= 1 << 20 {
        let mut buf = vec![0; size];
        if let Ok(len) = response.encode(&mut buf) {
            buf.truncate(len);
            return buf;
        }
        size *= 4;
    }
    Vec::new()
}
