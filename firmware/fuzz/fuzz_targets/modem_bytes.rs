//! The firmware core against arbitrary modem output, in virtual time: whatever the modem
//! says (garbage, truncated lines, answers out of turn, prompts and payload headers that
//! lie), the firmware must never panic (a buffer it overran would), never block (it always
//! waits for a deadline: its watchdog keeps it awake), and never run away (write without
//! bound at one instant).
//!
//! Input: records, each a control byte `c` and what it says:
//! - `c < 0x40`: the next `c` bytes (or what is left) are modem bytes, sent now;
//! - `0x40..=0x7f`: a modem line from [`LINES`] (`c - 0x40`, modulo), with `\r\n`;
//! - `0x80..=0xbf`: time passes, `(c - 0x80) × 100 ms`;
//! - otherwise: time passes, `(c - 0xc0)` seconds.
//!
//! The first byte picks the framing, the transport and short timeouts (so that the ladder
//! of timeouts and restarts comes within a short run). Records after two minutes of virtual
//! time are left out; after the last one the firmware runs on for 30 s with a silent modem.
//! (A run costs what the firmware does, about two wake-ups per virtual second: bounded, so
//! that a long fuzzing run reaches millions of executions.)
//!
//! `cargo xtask fuzz modem_bytes` (or `cd firmware/fuzz && cargo +nightly fuzz run modem_bytes`).
#![no_main]

use std::collections::VecDeque;
use std::time::Duration;

use firmware::harness::{Harness, Output, Peer, Wire};
use firmware::{Board, Config, LedState, Report};
use libfuzzer_sys::fuzz_target;

/// What a SIM800 says, for the fuzzer to splice: answers, URCs, prompts and payload headers.
const LINES: &[&[u8]] = &[
    b"OK",
    b"ERROR",
    b"+CME ERROR: 3",
    b"RDY",
    b"+CPIN: READY",
    b"+CPIN: NOT READY",
    b"Call Ready",
    b"SMS Ready",
    b"+CFUN: 1",
    b"+CREG: 1",
    b"+CREG: 0,1",
    b"+CREG: 2,1,\"18BE\",\"93E1\"",
    b"+CREG: 0,5",
    b"+CREG: 0,2",
    b"+CGATT: 1",
    b"+CGATT: 0",
    b"+CSQ: 24,0",
    b"SIM800 R14.18",
    b"Revision:1418B04SIM800L24",
    b"Luat_V0034_AIR202",
    b"STATE: IP INITIAL",
    b"STATE: IP START",
    b"STATE: IP GPRSACT",
    b"STATE: IP STATUS",
    b"STATE: IP PROCESSING",
    b"STATE: PDP DEACT",
    b"C: 0,0,\"TCP\",\"203.0.113.10\",\"6500\",\"CONNECTED\"",
    b"C: 0,,\"\",\"\",\"\",\"INITIAL\"",
    b"10.68.27.49",
    b"0, CONNECT OK",
    b"0, CONNECT FAIL",
    b"0, ALREADY CONNECT",
    b"0, CLOSED",
    b"0, SEND OK",
    b"0, SEND FAIL",
    b"0, CLOSE OK",
    b"SHUT OK",
    b"+PDP: DEACT",
    b"> ",
    b"+RECEIVE,0,6:",
    b"+RECEIVE,0,1460:",
    b"back 1",
    b"bin",
    b"time",
    b"+CNTP: 1",
    b"+CNTP: 61",
    b"+CCLK: \"24/01/01,00:00:00+00\"",
    b"UNDER-VOLTAGE WARNNING",
    b"UNDER-VOLTAGE POWER DOWN",
    b"NORMAL POWER DOWN",
    b"+CIPACK: 10,10,0",
    b"DATA ACCEPT:0,10",
];

/// The modem: bytes at their times, from the input.
struct Script {
    due: VecDeque<(Duration, Vec<u8>)>,
    /// The instant of the last exchange, and what the firmware wrote in it so far.
    instant: Duration,
    written: usize,
}

/// The most the firmware may write at one instant. Its buffers are fixed (no heap): a
/// command or a payload that did not fit would panic, which the fuzzer reports. What it
/// writes at one instant is many commands when answers come as fast as it asks (the
/// script can hold them all); more than this is a loop that runs away without time passing.
const MOST_AT_ONCE: usize = 64 * 1024;

impl Peer for Script {
    fn exchange(&mut self, now: Duration, drove: Vec<Output>, to_firmware: &mut Vec<u8>) {
        if now != self.instant {
            (self.instant, self.written) = (now, 0);
        }
        for output in drove {
            if let Output::Uart(bytes) = output {
                self.written += bytes.len();
                assert!(
                    self.written <= MOST_AT_ONCE,
                    "wrote {} bytes at {now:?}",
                    self.written
                );
            }
        }
        while self.due.front().is_some_and(|(at, _)| *at <= now) {
            let (_, bytes) = self.due.pop_front().expect("checked");
            to_firmware.extend(bytes);
        }
    }

    fn next_event(&self) -> Option<Duration> {
        self.due.front().map(|(at, _)| *at)
    }

    fn advance(&mut self, _: Duration) {}
}

/// A board that drives nothing but the modem's lines (through the wire, in order).
struct Pins(Wire);

impl Board for Pins {
    fn set_led(&mut self, _: LedState) {}
    fn feed_watchdog(&mut self) {}
    fn set_power_key(&mut self, pressed: bool) {
        self.0.drove(Output::PowerKey(pressed));
    }
    fn set_modem_reset(&mut self, asserted: bool) {
        self.0.drove(Output::Reset(asserted));
    }
    fn report(&mut self, _: Report<'_>) {}
}

/// The longest script, in virtual time.
const LONGEST: Duration = Duration::from_secs(120);

fn script(input: &[u8]) -> VecDeque<(Duration, Vec<u8>)> {
    let mut due = VecDeque::new();
    let mut at = Duration::ZERO;
    let mut rest = input;
    while let Some((&c, tail)) = rest.split_first() {
        if at > LONGEST {
            break;
        }
        rest = tail;
        match c {
            0x00..=0x3f => {
                let n = usize::from(c).min(rest.len());
                let (bytes, tail) = rest.split_at(n);
                rest = tail;
                due.push_back((at, bytes.to_vec()));
            }
            0x40..=0x7f => {
                let mut line = LINES[usize::from(c - 0x40) % LINES.len()].to_vec();
                line.extend_from_slice(b"\r\n");
                due.push_back((at, line));
            }
            0x80..=0xbf => at += Duration::from_millis(100 * u64::from(c - 0x80)),
            _ => at += Duration::from_secs(u64::from(c - 0xc0)),
        }
    }
    due
}

fuzz_target!(|input: &[u8]| {
    let Some((&setup, input)) = input.split_first() else {
        return;
    };
    let mut config = Config::default();
    if setup & 1 != 0 {
        config.framing = protocol::app::Framing::Newline;
    }
    if setup & 2 != 0 {
        config.transport = protocol::types::Transport::Udp;
    }
    if setup & 4 != 0 {
        let second = Duration::from_secs(1);
        config.at_timeout = second;
        config.at_no_answer_limit = 5 * second;
        config.boot_timeout = 2 * second;
        config.send_timeout = 3 * second;
        config.connect_timeout = 3 * second;
        config.heartbeat_interval = 2 * second;
        config.sim_timeout = 2 * second;
        config.ip_wait = 10 * second;
    }
    let mut peer = Script {
        due: script(input),
        instant: Duration::ZERO,
        written: 0,
    };
    let end = peer.due.back().map_or(Duration::ZERO, |(at, _)| *at) + Duration::from_secs(30);
    let wire = Wire::default();
    let mut board = Pins(wire.clone());
    let (uart, clock) = (wire.uart(), wire.clock());
    let device = async move { firmware::run(&config, uart, &clock, &mut board).await };
    let mut harness = Harness::new(wire, device);
    while harness.now() < end {
        // It always waits for something: never blocked for good.
        assert!(
            harness.step(&mut peer).is_some(),
            "the firmware waits on nothing at {:?}",
            harness.now()
        );
    }
});
