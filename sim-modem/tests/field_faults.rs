//! The SIM800's field misbehaviours, injected through `Sim` as a scenario or `--fault` would
//! (their JSON form), each with a golden transcript of what the host sees
//! (`tests/golden/modem/faults/`; the format is `sim_support::SimBench::record`'s).
//!
//! Regenerate after an intended change with
//! `UPDATE_EXPECT=1 cargo test -p sim-modem --test field_faults` and read the diff.

mod modem_harness;
mod sim_support;

use std::time::Duration;

use modem_harness::check_golden;
use sim_modem::fault::Fault;
use sim_modem::profile::Profile;
use sim_modem::sim::SimConfig;
use sim_support::{ms, secs, SimBench};

/// One scripted step.
#[derive(Clone, Copy)]
enum Step {
    /// Injects a fault, written as JSON.
    Fault(&'static str),
    /// The host writes a line and waits (up to 2 minutes) for this text in what follows.
    Cmd(&'static str, &'static str),
    /// The host writes bytes.
    Write(&'static [u8]),
    /// Virtual time passes.
    Wait(Duration),
    /// The lab server sends to client 1.
    Lab(&'static [u8]),
    /// The host holds one of the modem's lines for a while, then lets go.
    Pulse(Line, Duration),
    Note(&'static str),
}

#[derive(Clone, Copy)]
enum Line {
    PowerKey,
    Reset,
}

use Step::*;

/// How a case starts: power-up, booted (echo off), or connected to the lab over a transport.
#[derive(Clone, Copy)]
enum Start {
    PowerUp,
    Booted,
    Connected(&'static str),
}

struct Case {
    name: &'static str,
    tweak: fn(&mut Profile),
    start: Start,
    steps: &'static [Step],
}

fn as_is(_: &mut Profile) {}

fn run(case: &Case) -> String {
    let mut profile = Profile::sim800();
    (case.tweak)(&mut profile);
    let mut bench = SimBench::with_profile(SimConfig::default(), profile);
    match case.start {
        Start::PowerUp => bench.record(),
        Start::Booted => {
            bench.boot();
            bench.record();
        }
        Start::Connected(transport) => {
            bench.boot();
            bench.connect(transport);
            bench.record();
        }
    }
    for step in case.steps {
        match *step {
            Fault(json) => {
                let fault: sim_modem::fault::Fault = serde_json::from_str(json)
                    .unwrap_or_else(|e| panic!("{}: {json}: {e}", case.name));
                bench.note(&format!("fault {}", fault.to_json()));
                bench.sim.inject(bench.now, fault);
                bench.collect();
            }
            Cmd(line, expect) => {
                bench.cmd(line, expect);
            }
            Write(bytes) => bench.write_bytes(bytes),
            Wait(span) => bench.run_for(span),
            Lab(data) => {
                bench.note(&format!("lab sends {} bytes", data.len()));
                bench.sim.lab_send(bench.now, 1, data).unwrap();
                bench.collect();
            }
            Pulse(pin, held) => {
                let name = match pin {
                    Line::PowerKey => "power key",
                    Line::Reset => "reset line",
                };
                bench.note(&format!("{name} held for {}", units::format_duration(held)));
                for (level, then) in [(true, held), (false, Duration::ZERO)] {
                    match pin {
                        Line::PowerKey => bench.sim.set_power_key(bench.now, level),
                        Line::Reset => bench.sim.set_reset(bench.now, level),
                    }
                    bench.collect();
                    bench.run_for(then);
                }
            }
            Note(text) => bench.note(text),
        }
    }
    bench.transcript().to_string()
}

const UDP_OVERSIZE: &[Step] = &[
    Note("the lab learns of a UDP client from its first datagram"),
    Cmd("AT+CIPSEND=0,5", "> "),
    Write(b"hello"),
    Wait(secs(1)),
    Lab(&[b'u'; 1472]),
    Wait(secs(2)),
];

const CASES: &[Case] = &[
    Case {
        name: "send_fail_loop",
        tweak: as_is,
        start: Start::Connected("TCP"),
        steps: &[
            Fault(r#"{"kind":"send_fail_loop","link":0}"#),
            Cmd("AT+CIPSEND=0,5", "> "),
            Write(b"hello"),
            Wait(secs(1)),
            Note("the link still looks up, and data still comes in"),
            Cmd("AT+CIPSTATUS=0", "OK"),
            Lab(b"ping"),
            Wait(secs(1)),
            Cmd("AT+CIPSEND=0,5", "> "),
            Write(b"again"),
            Wait(secs(1)),
            Note("only a new connection ends it"),
            Cmd("AT+CIPCLOSE=0", "CLOSE OK"),
            Cmd(
                "AT+CIPSTART=0,\"TCP\",\"lab.longlink.test\",6500",
                "CONNECT OK",
            ),
            Cmd("AT+CIPSEND=0,5", "> "),
            Write(b"works"),
            Wait(secs(1)),
        ],
    },
    Case {
        name: "peer_vanish",
        tweak: as_is,
        start: Start::Connected("TCP"),
        steps: &[
            Cmd("AT+CIPQSEND=1", "OK"),
            Fault(r#"{"kind":"peer_vanish"}"#),
            Cmd("AT+CIPSEND=0,5", "> "),
            Write(b"hello"),
            Wait(secs(5)),
            Note("accepted, never acknowledged, never answered, never CLOSED"),
            Cmd("AT+CIPACK=0", "OK"),
            Cmd("AT+CIPSTATUS=0", "OK"),
            Wait(secs(600)),
            Cmd("AT+CIPSTATUS=0", "OK"),
        ],
    },
    Case {
        name: "silent_pdp_loss",
        tweak: as_is,
        start: Start::Connected("TCP"),
        steps: &[
            Cmd("AT+CIPQSEND=1", "OK"),
            Fault(r#"{"kind":"silent_pdp_loss"}"#),
            Wait(secs(5)),
            Note("no +PDP: DEACT, no CLOSED: all looks up"),
            Cmd("AT+CIPSTATUS", "C: 5"),
            Cmd("AT+CGATT?", "OK"),
            Cmd("AT+CIPSEND=0,5", "> "),
            Write(b"hello"),
            Wait(secs(60)),
            Cmd("AT+CIPACK=0", "OK"),
            Note("a new connection fails; shutting the bearer and activating it again cures it"),
            Cmd("AT+CIPCLOSE=0", "CLOSE OK"),
            Cmd(
                "AT+CIPSTART=0,\"TCP\",\"lab.longlink.test\",6500",
                "CONNECT FAIL",
            ),
            Cmd("AT+CIPSHUT", "SHUT OK"),
            Cmd("AT+CSTT=\"CMIOT\"", "OK"),
            Cmd("AT+CIICR", "OK"),
            Cmd("AT+CIFSR", "10.68.27.49"),
            Cmd(
                "AT+CIPSTART=0,\"TCP\",\"lab.longlink.test\",6500",
                "CONNECT OK",
            ),
        ],
    },
    Case {
        name: "hang_after",
        tweak: as_is,
        start: Start::Booted,
        steps: &[
            Fault(r#"{"kind":"hang_after","uptime":"2h"}"#),
            Wait(Duration::from_secs(2 * 3600)),
            Note("two hours after power-up: nothing answers"),
            Write(b"AT\r"),
            Wait(secs(2)),
            Note("the RESET line does not help"),
            Pulse(Line::Reset, ms(200)),
            Wait(secs(10)),
            Write(b"AT\r"),
            Wait(secs(2)),
            Note("a power cycle does: PWRKEY held 1.5 s switches it off, 1 s on"),
            Pulse(Line::PowerKey, ms(1600)),
            Wait(secs(1)),
            Pulse(Line::PowerKey, ms(1100)),
            Wait(secs(10)),
            Write(b"AT\r"),
            Wait(secs(1)),
        ],
    },
    Case {
        name: "reboot_bad_rdy",
        tweak: as_is,
        start: Start::Booted,
        steps: &[
            Fault(r#"{"kind":"reboot_bad_rdy","rdy":"garbled"}"#),
            Wait(secs(10)),
            Fault(r#"{"kind":"reboot_bad_rdy","rdy":"missing"}"#),
            Wait(secs(10)),
            Note("and the next restart says RDY again"),
            Fault(r#"{"kind":"reboot"}"#),
            Wait(secs(4)),
        ],
    },
    Case {
        name: "reboot_at_autobaud",
        tweak: |p| p.ipr = 0,
        start: Start::PowerUp,
        steps: &[
            Note("auto-bauding: no RDY, no +CPIN, nothing until the host's first AT"),
            Wait(secs(10)),
            Write(b"\r\nxyz"),
            Cmd("AT", "OK"),
            Cmd("ATE0", "OK"),
            Cmd("AT+CIPMUX=1", "OK"),
            Fault(r#"{"kind":"reboot"}"#),
            Wait(secs(10)),
            Note("after the restart: echo on again, single-link mode again"),
            Cmd("AT+CIPMUX?", "OK"),
        ],
    },
    Case {
        name: "uart_errors",
        tweak: as_is,
        start: Start::Connected("TCP"),
        steps: &[
            Note("a burst of 3 errors over 30 ms: the first on an idle line"),
            Lab(b"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz"),
            Wait(ms(145)),
            Fault(r#"{"kind":"uart_errors","duration":"30ms","count":3}"#),
            Wait(secs(1)),
        ],
    },
    Case {
        name: "cfun_sim_reset",
        tweak: as_is,
        start: Start::Booted,
        steps: &[
            Fault(r#"{"kind":"cfun_sim_reset"}"#),
            Cmd("AT+CFUN=0", "OK"),
            Wait(secs(1)),
            Cmd("AT+CFUN=1", "OK"),
            Wait(secs(10)),
        ],
    },
    // What a 1,472-byte datagram (GPRS MTU 1500 less IP and UDP headers) becomes: two
    // `+RECEIVE`s with `rx_chunk` 1460, one longer than 1460 with 1472.
    Case {
        name: "udp_oversize_split",
        tweak: as_is,
        start: Start::Connected("UDP"),
        steps: UDP_OVERSIZE,
    },
    Case {
        name: "udp_oversize_whole",
        tweak: |p| p.rx_chunk = 1472,
        start: Start::Connected("UDP"),
        steps: UDP_OVERSIZE,
    },
];

#[test]
fn field_faults_show_as_in_the_field() {
    let mut names = std::collections::BTreeSet::new();
    for case in CASES {
        assert!(names.insert(case.name), "two cases named {}", case.name);
        check_golden(&format!("faults/{}.txt", case.name), &run(case));
    }
}

#[test]
fn bad_knobs_are_refused_with_a_clear_error() {
    for (json, error) in [
        (
            r#"{"kind":"send_fail_loop","link":8}"#,
            "link 8 does not exist",
        ),
        (
            r#"{"kind":"peer_vanish","link":200}"#,
            "link 200 does not exist",
        ),
        (
            r#"{"kind":"hang_after","uptime":"0s"}"#,
            "expected a duration of more than 0s",
        ),
        (r#"{"kind":"hang_after","uptime":"6"}"#, "missing unit"),
        (
            r#"{"kind":"uart_errors","duration":"1s","count":0}"#,
            "expected a whole number from 1 to 100000",
        ),
        (
            r#"{"kind":"uart_errors","duration":"1s","count":100001}"#,
            "expected a whole number from 1 to 100000",
        ),
        (
            r#"{"kind":"uart_errors","duration":"0s","count":3}"#,
            "more than 0s",
        ),
        (
            r#"{"kind":"reboot_bad_rdy","rdy":"late"}"#,
            "unknown variant `late`",
        ),
        (r#"{"kind":"signal","rssi":45}"#, "rssi 45"),
        (
            r#"{"kind":"udp_loss","permille":1001,"duration":"1s"}"#,
            "expected a whole number from 0 to 1000",
        ),
        (
            r#"{"kind":"line_noise","direction":"both","duration":"1s","drop_ppm":1000001}"#,
            "expected a whole number from 0 to 1000000",
        ),
    ] {
        let got = serde_json::from_str::<Fault>(json).unwrap_err().to_string();
        assert!(got.contains(error), "{json}: {got}");
    }
    for (json, error) in [
        (r#"{"ipr": 12345}"#, "ipr 12345"),
        (
            r#"{"input_buffer": 0}"#,
            "expected a whole number from 1 to 16777216",
        ),
        (
            r#"{"output_buffer": 99999999999}"#,
            "expected a whole number from 1 to 16777216",
        ),
        (
            r#"{"rx_chunk": 70000}"#,
            "expected a whole number from 1 to 65507",
        ),
    ] {
        let got = serde_json::from_str::<Profile>(json)
            .unwrap_err()
            .to_string();
        assert!(got.contains(error), "{json}: {got}");
    }
}
