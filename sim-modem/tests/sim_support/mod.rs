//! A host for [`Sim`] in tests: writes AT commands, runs virtual time event by event, and
//! keeps everything the modem wrote and every trace event.

#![allow(dead_code)]

use std::fmt::Write as _;
use std::time::Duration;

use protocol::text::Escaped;
use sim_modem::profile::Profile;
use sim_modem::sim::{Sim, SimConfig, SimEvent};

pub const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub const fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// A whole [`Sim`] (modem, network, lab server) and its host: the bench of `sim.rs` and
/// `faults.rs` (`modem_harness::ModemBench` is the modem alone).
pub struct SimBench {
    pub sim: Sim,
    pub now: Duration,
    /// Everything the modem wrote, as text (bytes kept as they are, lossily).
    pub rx: Vec<u8>,
    pub events: Vec<SimEvent>,
    /// Where the current exchange's output starts in `rx`.
    mark: usize,
    /// The transcript, once [`SimBench::record`] started it.
    log: Option<String>,
}

impl SimBench {
    pub fn new(config: SimConfig) -> SimBench {
        SimBench::with(Sim::new(config).unwrap())
    }

    /// The simulation with a profile of its own.
    pub fn with_profile(config: SimConfig, profile: Profile) -> SimBench {
        SimBench::with(Sim::with_profile(config, profile))
    }

    fn with(sim: Sim) -> SimBench {
        let mut bench = SimBench {
            sim,
            now: Duration::ZERO,
            rx: Vec::new(),
            events: Vec::new(),
            mark: 0,
            log: None,
        };
        bench.collect();
        bench
    }

    /// Keeps a transcript from now on, one line per thing that happened, stamped with virtual
    /// time in seconds (to the microsecond: wire time is that fine): what the host wrote
    /// (`host>modem`), what reached it (`modem>host`, bytes as `protocol::text::Escaped`),
    /// and every simulation event (`SimEvent`'s own form).
    pub fn record(&mut self) {
        self.log = Some(String::new());
    }

    pub fn transcript(&self) -> &str {
        self.log.as_deref().unwrap_or_default()
    }

    /// A line of the script's own in the transcript.
    pub fn note(&mut self, text: &str) {
        self.log_line(self.now, "#", text);
    }

    fn log_line(&mut self, at: Duration, tag: &str, text: &str) {
        let line = format!("{:>14.6}s  {tag:<10} {text}", at.as_secs_f64());
        self.log_text(&line);
    }

    /// Adds a line to the transcript, if one is kept. Bulk data shows its ends, and how much
    /// is left out between them.
    fn log_text(&mut self, line: &str) {
        if let Some(log) = &mut self.log {
            let chars: Vec<char> = line.chars().collect();
            let _ = match chars.len() {
                0..=400 => writeln!(log, "{line}"),
                n => writeln!(
                    log,
                    "{}...[{} left out]...{}",
                    chars[..150].iter().collect::<String>(),
                    n - 230,
                    chars[n - 80..].iter().collect::<String>()
                ),
            };
        }
    }

    /// A booted modem with echo off, on the default simulated network.
    pub fn booted(config: SimConfig) -> SimBench {
        let mut bench = SimBench::new(config);
        bench.boot();
        bench
    }

    /// Waits for the boot to end and turns echo off.
    pub fn boot(&mut self) {
        self.wait_for("SMS Ready", secs(60));
        self.cmd("ATE0", "OK");
    }

    /// Booted, registered, multi-link, PDP up and link 0 connected to the lab over TCP.
    pub fn connected(config: SimConfig) -> SimBench {
        let mut bench = SimBench::booted(config);
        bench.connect("TCP");
        bench
    }

    /// Brings the data link up and connects link 0 to the lab over `transport`.
    pub fn connect(&mut self, transport: &str) {
        self.bring_up();
        self.cmd(
            &format!("AT+CIPSTART=0,\"{transport}\",\"lab.longlink.test\",6500"),
            "0, CONNECT OK",
        );
    }

    /// Waits for registration and brings the PDP context up, in multi-link mode.
    pub fn bring_up(&mut self) {
        self.cmd_until("AT+CREG?", "+CREG: 0,1", secs(60));
        self.cmd_until("AT+CGATT?", "+CGATT: 1", secs(60));
        self.cmd("AT+CIPMUX=1", "OK");
        self.cmd("AT+CSTT=\"CMIOT\"", "OK");
        self.cmd("AT+CIICR", "OK");
        self.cmd("AT+CIFSR", "10.68.27.49");
    }

    /// Sends a command line and waits (up to 2 minutes) until `expect` appears in what
    /// follows; returns that output.
    pub fn cmd(&mut self, line: &str, expect: &str) -> String {
        self.write(&format!("{line}\r"));
        self.wait_for(expect, secs(120));
        self.since_mark()
    }

    /// Repeats a command once a second until its answer contains `expect`.
    pub fn cmd_until(&mut self, line: &str, expect: &str, max: Duration) {
        let deadline = self.now + max;
        loop {
            self.write(&format!("{line}\r"));
            self.run_for(secs(1));
            if self.since_mark().contains(expect) {
                return;
            }
            assert!(
                self.now < deadline,
                "{line}: no {expect:?} within {max:?}; got {:?}",
                self.since_mark()
            );
        }
    }

    /// Sends `data` on `link` with `AT+CIPSEND=<link>,<len>` and waits for `expect`.
    pub fn send_data(&mut self, link: u8, data: &[u8], expect: &str) -> String {
        self.cmd(&format!("AT+CIPSEND={link},{}", data.len()), ">");
        self.write_bytes(data);
        self.wait_for(expect, secs(120));
        self.since_mark()
    }

    /// Starts a new exchange and writes text.
    pub fn write(&mut self, text: &str) {
        self.write_bytes(text.as_bytes());
    }

    pub fn write_bytes(&mut self, bytes: &[u8]) {
        self.mark = self.rx.len();
        self.log_line(self.now, "host>modem", &Escaped(bytes).to_string());
        self.sim.handle_uart(self.now, bytes);
        self.collect();
    }

    /// What the modem wrote since the current exchange began.
    pub fn since_mark(&self) -> String {
        String::from_utf8_lossy(&self.rx[self.mark..]).into_owned()
    }

    /// Marks the start of a new exchange without writing anything.
    pub fn mark(&mut self) {
        self.mark = self.rx.len();
    }

    /// Runs time forward event by event until `needle` appears since the mark; returns when.
    pub fn wait_for(&mut self, needle: &str, max: Duration) -> Duration {
        self.try_wait_for(needle, max)
            .unwrap_or_else(|| panic!("no {needle:?} within {max:?}; got {:?}", self.since_mark()))
    }

    pub fn try_wait_for(&mut self, needle: &str, max: Duration) -> Option<Duration> {
        let deadline = self.now + max;
        loop {
            if self.since_mark().contains(needle) {
                return Some(self.now);
            }
            match self.sim.poll_timeout() {
                Some(at) if at <= deadline => self.step(at),
                _ => {
                    self.now = deadline;
                    return None;
                }
            }
        }
    }

    /// Runs time forward by `span`.
    pub fn run_for(&mut self, span: Duration) {
        let until = self.now + span;
        while let Some(at) = self.sim.poll_timeout().filter(|&at| at <= until) {
            self.step(at);
        }
        self.now = until;
    }

    fn step(&mut self, at: Duration) {
        self.now = self.now.max(at);
        self.sim.handle_timeout(self.now);
        self.collect();
    }

    pub fn collect(&mut self) {
        while let Some(event) = self.sim.poll_event() {
            if self.log.is_some() {
                self.log_text(&format!("{event:#}"));
            }
            self.events.push(event);
        }
        let from = self.rx.len();
        self.sim.drain_uart(&mut self.rx);
        if self.rx.len() > from {
            let text = Escaped(&self.rx[from..]).to_string();
            self.log_line(self.now, "modem>host", &text);
        }
    }

    /// The trace so far, one line per event.
    pub fn trace(&self) -> Vec<String> {
        self.events.iter().map(ToString::to_string).collect()
    }
}
