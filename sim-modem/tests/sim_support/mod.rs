//! A host for [`Sim`] in tests: writes AT commands, runs virtual time event by event, and
//! keeps everything the modem wrote and every trace event.

#![allow(dead_code)]

use std::time::Duration;

use sim_modem::sim::{Sim, SimConfig, SimEvent};

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub fn ms(ms: u64) -> Duration {
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
}

impl SimBench {
    pub fn new(config: SimConfig) -> SimBench {
        let mut bench = SimBench {
            sim: Sim::new(config).unwrap(),
            now: Duration::ZERO,
            rx: Vec::new(),
            events: Vec::new(),
            mark: 0,
        };
        bench.collect();
        bench
    }

    /// A booted modem with echo off, on the default simulated network.
    pub fn booted(config: SimConfig) -> SimBench {
        let mut bench = SimBench::new(config);
        bench.wait_for("SMS Ready", secs(60));
        bench.cmd("ATE0", "OK");
        bench
    }

    /// Booted, registered, multi-link, PDP up and link 0 connected to the lab over TCP.
    pub fn connected(config: SimConfig) -> SimBench {
        let mut bench = SimBench::booted(config);
        bench.bring_up();
        bench.cmd(
            "AT+CIPSTART=0,\"TCP\",\"lab.longlink.test\",6500",
            "0, CONNECT OK",
        );
        bench
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
        self.sim.drain_uart(&mut self.rx);
        while let Some(event) = self.sim.poll_event() {
            self.events.push(event);
        }
    }

    /// The trace so far, one line per event.
    pub fn trace(&self) -> Vec<String> {
        self.events.iter().map(ToString::to_string).collect()
    }
}
