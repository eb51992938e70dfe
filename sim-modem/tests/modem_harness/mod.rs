//! A bench for the simulated modem: a scripted network, virtual time, and a transcript.
//!
//! The transcript is what golden files hold: one line per thing that happened, stamped with
//! virtual time in seconds:
//!
//! ```text
//!     3.000 < \r\nRDY\r\n          the modem wrote (escaped as `protocol::text::Escaped`)
//!    10.000 > AT\r                 the host wrote
//!    10.500 ^ Connect 0 TCP "lab.example":6500     the modem asked its network
//!    10.700 ~ Connected 0          the network answered
//!    10.700 * LinkOpened { .. }    a modem event
//!    11.000 # a note               the script's comment
//! ```
//!
//! Bytes are text the one way LongLink writes them, `protocol::text`: [`Escaped`] for what
//! the modem and the host wrote, [`Quoted`] for data inside a line.
//!
//! Golden files live under `tests/golden/modem/` and are checked with `expect-test`
//! ([`expect_test::expect_file!`]), the mechanism every golden file of the workspace uses.
//! After a deliberate change, rewrite them with the same variable everywhere and read the
//! diff:
//!
//! ```text
//! UPDATE_EXPECT=1 cargo test -p sim-modem
//! git diff sim-modem/tests/golden
//! ```

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

pub use protocol::text::{Escaped, Quoted};
use protocol::types::{LinkId, RegStat};
use sim_modem::modem::Modem;
use sim_modem::net::{ConnectError, Coverage, NetEvent, NetRequest, SmsError, NTP_LINK};
use sim_modem::profile::Profile;
use sim_modem::sntp;

/// How the scripted network answers the modem.
#[derive(Debug, Clone)]
pub struct ScriptNet {
    /// PDP activation: the delay and the outcome (`Err`: rejected); `None`: never answered.
    pub pdp: Option<(u64, Result<[u8; 4], ()>)>,
    /// Connection attempts: delay and outcome; `None`: never answered.
    pub connect: Option<(u64, Result<(), ConnectError>)>,
    /// The peer acknowledges each send after this many ms; `None`: never.
    pub ack: Option<u64>,
    /// The peer echoes each send back after this many ms.
    pub echo: Option<u64>,
    /// `AT+CNTP`'s time server: the delay of its answer, and the Unix time it gives
    /// (`None`: an answer that is no SNTP); `None`: never answered.
    pub time: Option<(u64, Option<u64>)>,
    /// `AT+CDNSGIP`'s lookups: delay and the address every name has (`None`: no such name).
    pub dns: (u64, Option<[u8; 4]>),
    /// The network's clock (Unix seconds at time 0) that network time (`AT+CLTS=1`) carries.
    pub clock: Option<u64>,
    /// The service centre takes an SMS after this many ms; `None`: no service.
    pub sms: Option<u64>,
}

impl Default for ScriptNet {
    fn default() -> Self {
        ScriptNet {
            pdp: Some((500, Ok([10, 68, 27, 49]))),
            connect: Some((200, Ok(()))),
            ack: Some(100),
            echo: None,
            time: Some((300, Some(1_795_000_000))),
            dns: (300, Some([10, 0, 0, 1])),
            // 2024-01-01T00:00:00Z
            clock: Some(1_704_067_200),
            sms: Some(3000),
        }
    }
}

/// One scripted action.
#[derive(Clone, Copy)]
pub enum Op {
    /// The host writes this text (use Rust escapes: `"AT\r"`).
    Host(&'static str),
    /// The host writes these bytes.
    Bytes(&'static [u8]),
    /// Virtual time passes, in ms.
    Wait(u64),
    /// The peer sends on a link.
    Receive(LinkId, &'static [u8]),
    /// The peer acknowledges this many more bytes of what was sent on a link.
    Ack(LinkId, usize),
    /// The peer closes a link.
    PeerClose(LinkId),
    /// An SMS with this text arrives from +15550100 (GSM 7-bit, or UCS2 when it must).
    Sms(&'static str),
    /// The network releases the PDP context.
    PdpDeact,
    Coverage(Coverage),
    /// Changes how the network answers from now on.
    Net(fn(&mut ScriptNet)),
    PowerKey(bool),
    Reset(bool),
    Reboot,
    BrownOut,
    Hang,
    FailSends(u32),
    /// The host's DTR line: high (`true`) or low.
    Dtr(bool),
    /// The battery reads `percent` % and `millivolts` from now on.
    Battery(u8, u16),
    Note(&'static str),
}

/// No cell at all.
pub const NO_COVERAGE: Coverage = Coverage {
    registration: RegStat::NotRegistered,
    rssi: 99,
    data: false,
    lac: 0,
    ci: 0,
};

/// Registered, but the packet domain refuses data.
pub const NO_DATA: Coverage = Coverage {
    data: false,
    ..Coverage::GOOD
};

/// A table row: a named script and the golden file it must produce.
pub struct Case {
    pub name: &'static str,
    pub profile: &'static str,
    /// Pieces of script, run one after the other.
    pub ops: &'static [&'static [Op]],
}

/// The modem alone, its network scripted by [`ScriptNet`], in virtual time: the bench of
/// the `modem_*` tests (`sim_support::SimBench` is the whole `Sim`).
pub struct ModemBench {
    pub modem: Modem,
    pub now: Duration,
    pub net: ScriptNet,
    /// Network events waiting for their time, with a sequence number for ties.
    pending: Vec<(Duration, u64, NetEvent)>,
    seq: u64,
    transcript: String,
    /// Everything the host received, and what it has not looked at yet.
    host_rx: Vec<u8>,
    unread: usize,
    /// What each peer received.
    pub peer: BTreeMap<LinkId, Vec<u8>>,
    pub log_events: bool,
}

impl ModemBench {
    /// A modem of this profile powered on at 0 in good coverage.
    pub fn new(profile: &str) -> ModemBench {
        let profile = Profile::by_name(profile).expect("a built-in profile");
        ModemBench::with(profile, ScriptNet::default())
    }

    pub fn with(profile: Profile, net: ScriptNet) -> ModemBench {
        let mut modem = Modem::new(profile, Duration::ZERO);
        if let Some(clock) = net.clock {
            modem.set_network_clock(clock);
        }
        let mut bench = ModemBench {
            modem,
            now: Duration::ZERO,
            net,
            pending: Vec::new(),
            seq: 0,
            transcript: String::new(),
            host_rx: Vec::new(),
            unread: 0,
            peer: BTreeMap::new(),
            log_events: true,
        };
        bench.collect();
        bench.net_event(NetEvent::Coverage(Coverage::GOOD));
        bench
    }

    pub fn run(&mut self, ops: &[Op]) {
        for &op in ops {
            self.op(op);
        }
    }

    pub fn op(&mut self, op: Op) {
        match op {
            Op::Host(text) => self.host(text.as_bytes()),
            Op::Bytes(bytes) => self.host(bytes),
            Op::Wait(ms) => self.wait(ms),
            Op::Receive(link, data) => self.net_event(NetEvent::Received {
                link,
                data: data.to_vec(),
            }),
            Op::Ack(link, len) => self.net_event(NetEvent::Delivered { link, len }),
            Op::PeerClose(link) => self.net_event(NetEvent::Closed { link }),
            Op::Sms(text) => self.net_event(NetEvent::SmsReceived {
                pdu: deliver_pdu(text),
            }),
            Op::PdpDeact => self.net_event(NetEvent::PdpDeactivated),
            Op::Coverage(c) => self.net_event(NetEvent::Coverage(c)),
            Op::Net(change) => change(&mut self.net),
            Op::PowerKey(pressed) => {
                self.log(
                    "!",
                    &format!("power key {}", if pressed { "pressed" } else { "released" }),
                );
                self.modem.set_power_key(self.now, pressed);
                self.collect();
            }
            Op::Reset(asserted) => {
                self.log(
                    "!",
                    &format!("reset {}", if asserted { "asserted" } else { "released" }),
                );
                self.modem.set_reset(self.now, asserted);
                self.collect();
            }
            Op::Reboot => {
                self.log("!", "reboot");
                self.modem.reboot(self.now);
                self.collect();
            }
            Op::BrownOut => {
                self.log("!", "brown-out");
                self.modem.brown_out(self.now);
                self.collect();
            }
            Op::Hang => {
                self.log("!", "hang");
                self.modem.hang(self.now);
                self.collect();
            }
            Op::FailSends(count) => {
                self.log("!", &format!("fail the next {count} sends"));
                self.modem.fail_next_sends(count);
            }
            Op::Dtr(high) => {
                self.log("!", &format!("DTR {}", if high { "high" } else { "low" }));
                self.modem.set_dtr(self.now, high);
                self.collect();
            }
            Op::Battery(percent, millivolts) => {
                self.log("!", &format!("battery {percent} %, {millivolts} mV"));
                self.modem.set_battery(percent, millivolts, false);
            }
            Op::Note(text) => self.log("#", text),
        }
    }

    pub fn host(&mut self, bytes: &[u8]) {
        self.log(">", &Escaped(bytes).to_string());
        self.modem.handle_uart(self.now, bytes);
        self.collect();
    }

    pub fn net_event(&mut self, event: NetEvent) {
        self.log("~", &describe_event(&event));
        self.modem.handle_net(self.now, event);
        self.collect();
    }

    /// Lets `ms` of virtual time pass, stepping from one wake-up to the next.
    pub fn wait(&mut self, ms: u64) {
        let end = self.now + Duration::from_millis(ms);
        for _ in 0..1_000_000 {
            let next = [
                self.modem.poll_timeout(),
                self.pending.iter().map(|p| p.0).min(),
            ]
            .into_iter()
            .flatten()
            .min();
            match next {
                Some(at) if at <= end => {
                    self.now = self.now.max(at);
                    self.step();
                }
                _ => {
                    self.now = end;
                    return;
                }
            }
        }
        panic!("the modem never settles (busy stepping at {:?})", self.now);
    }

    fn step(&mut self) {
        while let Some(i) = self
            .pending
            .iter()
            .enumerate()
            .filter(|(_, p)| p.0 <= self.now)
            .min_by_key(|(_, p)| (p.0, p.1))
            .map(|(i, _)| i)
        {
            let (_, _, event) = self.pending.remove(i);
            self.net_event(event);
        }
        if self.modem.poll_timeout().is_some_and(|t| t <= self.now) {
            self.modem.handle_timeout(self.now);
            self.collect();
        }
    }

    /// Takes in what the modem wrote, asked and reported.
    fn collect(&mut self) {
        loop {
            let mut out = Vec::new();
            self.modem.drain_uart(&mut out);
            if !out.is_empty() {
                self.log("<", &Escaped(&out).to_string());
                self.host_rx.extend_from_slice(&out);
            }
            let mut any = !out.is_empty();
            while let Some(event) = self.modem.poll_event() {
                any = true;
                if self.log_events {
                    self.log("*", &format!("{event:?}"));
                }
            }
            while let Some(request) = self.modem.poll_request() {
                any = true;
                self.log("^", &describe_request(&request));
                self.answer(&request);
            }
            if !any {
                return;
            }
        }
    }

    fn answer(&mut self, request: &NetRequest) {
        let net = self.net.clone();
        match request {
            NetRequest::ActivatePdp { .. } => {
                if let Some((delay, outcome)) = net.pdp {
                    let event = match outcome {
                        Ok(ip) => NetEvent::PdpActivated { ip },
                        Err(()) => NetEvent::PdpRejected,
                    };
                    self.schedule(delay, event);
                }
            }
            NetRequest::Connect { link, .. } => {
                if let Some((delay, outcome)) = net.connect {
                    let link = *link;
                    let event = match outcome {
                        Ok(()) => NetEvent::Connected { link },
                        Err(error) => NetEvent::ConnectFailed { link, error },
                    };
                    self.schedule(delay, event);
                }
            }
            NetRequest::Send {
                link: NTP_LINK,
                data,
            } => {
                if let Some((delay, unix)) = net.time {
                    let data = match unix {
                        Some(unix) => sntp::answer(data, Duration::from_secs(unix))
                            .map_or_else(Vec::new, |a| a.to_vec()),
                        None => b"not a time".to_vec(),
                    };
                    self.schedule(
                        delay,
                        NetEvent::Received {
                            link: NTP_LINK,
                            data,
                        },
                    );
                }
            }
            NetRequest::SendSms { tpdu } => {
                self.peer
                    .entry(SMS_PEER)
                    .or_default()
                    .extend_from_slice(tpdu);
                let result = match net.sms {
                    Some(delay) => {
                        self.schedule(delay, NetEvent::SmsSent { result: Ok(()) });
                        return;
                    }
                    None => Err(SmsError::NoService),
                };
                self.schedule(0, NetEvent::SmsSent { result });
            }
            NetRequest::Send { link, data } => {
                self.peer.entry(*link).or_default().extend_from_slice(data);
                if let Some(delay) = net.ack {
                    let event = NetEvent::Delivered {
                        link: *link,
                        len: data.len(),
                    };
                    self.schedule(delay, event);
                }
                if let Some(delay) = net.echo {
                    let event = NetEvent::Received {
                        link: *link,
                        data: data.clone(),
                    };
                    self.schedule(delay, event);
                }
            }
            NetRequest::Time { .. } => {
                if let Some((delay, unix)) = net.time {
                    self.schedule(delay, NetEvent::Time { unix });
                }
            }
            NetRequest::Resolve { name } => {
                let (delay, ip) = net.dns;
                let name = name.clone();
                self.schedule(delay, NetEvent::Resolved { name, ip });
            }
            NetRequest::Close { .. } | NetRequest::DeactivatePdp | NetRequest::Consumed { .. } => {}
        }
    }

    fn schedule(&mut self, delay_ms: u64, event: NetEvent) {
        self.seq += 1;
        self.pending
            .push((self.now + Duration::from_millis(delay_ms), self.seq, event));
    }

    fn log(&mut self, tag: &str, text: &str) {
        let text = abbreviate(text);
        let _ = writeln!(
            self.transcript,
            "{:>9.3} {tag} {text}",
            self.now.as_secs_f64()
        );
    }

    pub fn transcript(&self) -> &str {
        &self.transcript
    }

    /// Lets time pass until the host has received `needle` (since the last
    /// [`ModemBench::take_output`]) and returns what it received; panics after `timeout_ms`.
    pub fn wait_for(&mut self, needle: &str, timeout_ms: u64) -> String {
        for _ in 0..timeout_ms.div_ceil(10) {
            let seen = String::from_utf8_lossy(&self.host_rx[self.unread..]).into_owned();
            if seen.contains(needle) {
                self.unread = self.host_rx.len();
                return seen;
            }
            self.wait(10);
        }
        panic!(
            "no {needle:?} within {timeout_ms} ms; transcript:\n{}",
            self.transcript
        );
    }

    /// Sends a command line and waits for `until` in the answer, as a host library does.
    pub fn exchange(&mut self, line: &str, until: &str) -> String {
        self.take_output();
        self.host(line.as_bytes());
        self.wait_for(until, 180_000)
    }

    /// What the host received since the last call.
    pub fn take_output(&mut self) -> Vec<u8> {
        let new = self.host_rx[self.unread..].to_vec();
        self.unread = self.host_rx.len();
        new
    }

    /// Everything the host received.
    pub fn output(&self) -> &[u8] {
        &self.host_rx
    }
}

/// Runs a case from power-on and returns its transcript.
pub fn run_case(case: &Case) -> String {
    let mut bench = ModemBench::new(case.profile);
    for ops in case.ops {
        bench.run(ops);
    }
    bench.transcript
}

/// Compares `actual` with the golden file `tests/golden/modem/<name>` (`expect-test`);
/// `UPDATE_EXPECT=1` writes it.
pub fn check_golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/modem")
        .join(name);
    // A new area's directory, for `UPDATE_EXPECT=1` to write into.
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("golden directory");
    expect_test::expect_file![path].assert_eq(actual);
}

/// Runs every case of a table against its golden file under `area/`.
pub fn check_cases(area: &str, cases: &[Case]) {
    let mut names = std::collections::BTreeSet::new();
    for case in cases {
        assert!(names.insert(case.name), "two cases named {}", case.name);
        check_golden(&format!("{area}/{}.txt", case.name), &run_case(case));
    }
}

/// Long lines (bulk data) keep their ends; the middle is counted, not shown.
fn abbreviate(text: &str) -> String {
    const HEAD: usize = 100;
    const TAIL: usize = 60;
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= 600 {
        return text.to_string();
    }
    let head: String = chars[..HEAD].iter().collect();
    let tail: String = chars[chars.len() - TAIL..].iter().collect();
    format!(
        "{head}...[{} characters]...{tail}",
        chars.len() - HEAD - TAIL
    )
}

fn describe_request(request: &NetRequest) -> String {
    match request {
        NetRequest::ActivatePdp { apn } => format!("ActivatePdp {apn:?}"),
        NetRequest::DeactivatePdp => "DeactivatePdp".into(),
        // The TCP settings are shown where they are not the built-in profiles' own.
        NetRequest::Connect {
            link,
            transport,
            host,
            port,
            tcp,
        } => {
            let settings = if *tcp == Profile::sim800().tcp_settings() {
                String::new()
            } else {
                format!(
                    " ({} retransmissions, RTO {:?}..{:?}, give up {:?}, window {})",
                    tcp.retransmissions, tcp.rto_min, tcp.rto_max, tcp.give_up, tcp.receive_window
                )
            };
            format!(
                "Connect {link} {} {host:?}:{port}{settings}",
                transport.as_str()
            )
        }
        NetRequest::Send { link, data } => {
            format!("Send {link} {} ({} bytes)", Quoted(data), data.len())
        }
        NetRequest::Close { link } => format!("Close {link}"),
        NetRequest::Consumed { link, len } => format!("Consumed {link} {len}"),
        NetRequest::Time { server } => format!("Time {server:?}"),
        NetRequest::Resolve { name } => format!("Resolve {name:?}"),
        NetRequest::SendSms { tpdu } => format!("SendSms {}", hex(tpdu)),
    }
}

/// Where [`ModemBench::peer`] keeps the TPDUs of the SMS the modem sent.
pub const SMS_PEER: LinkId = 0xFF;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// An SMS-DELIVER of `text` from +15550100, stamped 2024-01-01 08:00:00 UTC+8.
pub fn deliver_pdu(text: &str) -> Vec<u8> {
    use protocol::pdu::{gsm7, Alphabet, Body, DeliverFields};
    let gsm = text.chars().all(|c| gsm7::from_char(c).is_some());
    let alphabet = if gsm { Alphabet::Gsm7 } else { Alphabet::Ucs2 };
    let fields = DeliverFields {
        service_centre: Some("+15550199"),
        originator: "+15550100",
        pid: 0,
        dcs: alphabet.dcs(),
        timestamp: protocol::types::DateTime::from_unix(1_704_067_200, 32),
        header: None,
        body: Body::Text(text),
    };
    let mut out = [0; 200];
    let n = fields.encode(&mut out).expect("a short text");
    out[..n].to_vec()
}

fn describe_event(event: &NetEvent) -> String {
    match event {
        NetEvent::Received { link, data } => {
            format!("Received {link} {} ({} bytes)", Quoted(data), data.len())
        }
        NetEvent::SmsReceived { pdu } => format!("SmsReceived {}", hex(pdu)),
        other => format!("{other:?}"),
    }
}

// --- Script pieces shared by the test files. ---

/// Boot, registration and attach are done.
pub const BOOT: &[Op] = &[Op::Wait(10_000)];

pub const ECHO_OFF: &[Op] = &[Op::Host("ATE0\r"), Op::Wait(100)];

pub const MULTI_MODE: &[Op] = &[Op::Host("AT+CIPMUX=1\r"), Op::Wait(100)];

/// CSTT, CIICR, CIFSR: IP STATUS.
pub const BEARER_UP: &[Op] = &[
    Op::Host("AT+CSTT=\"CMNET\"\r"),
    Op::Wait(100),
    Op::Host("AT+CIICR\r"),
    Op::Wait(2000),
    Op::Host("AT+CIFSR\r"),
    Op::Wait(100),
];

/// Single mode: link up to the lab server.
pub const SINGLE_CONNECT: &[Op] = &[
    Op::Host("AT+CIPSTART=\"TCP\",\"lab.example\",6500\r"),
    Op::Wait(500),
];

/// Multi mode: link 0 up to the lab server.
pub const CONNECT_0: &[Op] = &[
    Op::Host("AT+CIPSTART=0,\"TCP\",\"lab.example\",6500\r"),
    Op::Wait(500),
];
