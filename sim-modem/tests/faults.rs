//! Each fault, injected through [`Sim`], shows on the UART as a real modem would show it.

mod sim_support;

use std::time::Duration;

use sim_modem::fault::{Direction, Fault};
use sim_modem::sim::{SimConfig, SimEventKind};
use sim_support::{ms, secs, SimBench};

/// A fault case: inject `fault` on a connected modem (with `AT+CREG=2` on), expect these
/// texts in this order within `within`, then run `after` commands and expect their answers.
struct Case {
    fault: Fault,
    expect: &'static [&'static str],
    within: Duration,
    after: &'static [(&'static str, &'static str)],
}

fn assert_in_order(text: &str, expected: &[&str], context: &str) {
    let mut rest = text;
    for needle in expected {
        match rest.find(needle) {
            Some(at) => rest = &rest[at + needle.len()..],
            None => {
                panic!("{context}: expected {expected:?} in order, missing {needle:?} in {text:?}")
            }
        }
    }
}

fn run(case: &Case) {
    let context = case.fault.to_json();
    let mut bench = SimBench::connected(SimConfig::default());
    bench.cmd("AT+CREG=2", "OK");
    bench.mark();
    bench.sim.inject(bench.now, case.fault.clone());
    bench.collect();
    bench.run_for(case.within);
    assert_in_order(&bench.since_mark(), case.expect, &context);
    for (line, expect) in case.after {
        let answer = bench.cmd(line, expect);
        assert!(
            answer.contains(expect),
            "{context}: {line} answered {answer:?}"
        );
    }
    let applied = bench
        .events
        .iter()
        .any(|e| e.kind == SimEventKind::FaultApplied(case.fault.clone()));
    assert!(applied, "{context}: no FaultApplied in the trace");
}

#[test]
fn faults_show_as_a_real_modem_shows_them() {
    let cases = [
        // Shorter than the profile's `pdp_hold` (60 s): the context and the link survive.
        Case {
            fault: Fault::RegistrationLost { duration: secs(30) },
            expect: &["+CREG: 2", "+CREG: 1,"],
            within: secs(60),
            after: &[("AT+CIPSTATUS=0", "\"CONNECTED\"")],
        },
        // Longer: the context is gone, said `pdp_deact_delay` (60 s) after the hold.
        Case {
            fault: Fault::RegistrationLost {
                duration: secs(300),
            },
            expect: &["+CREG: 2", "0, CLOSED", "+PDP: DEACT", "+CREG: 1,"],
            within: secs(330),
            after: &[
                ("AT+CIPSTATUS", "STATE: PDP DEACT"),
                ("AT+CIPSHUT", "SHUT OK"),
            ],
        },
        Case {
            fault: Fault::RegistrationDenied { duration: secs(30) },
            expect: &["+PDP: DEACT", "+CREG: 3", "+CREG: 1,"],
            within: secs(60),
            after: &[("AT+CREG?", "+CREG: 2,1")],
        },
        Case {
            fault: Fault::Roaming { duration: secs(30) },
            expect: &["+CREG: 5,", "+CREG: 1,"],
            within: secs(60),
            after: &[("AT+CIPSTATUS", "STATE: IP PROCESSING")],
        },
        Case {
            fault: Fault::DataServiceLost { duration: secs(30) },
            expect: &["+PDP: DEACT"],
            within: secs(1),
            after: &[("AT+CIPSTATUS", "STATE: PDP DEACT")],
        },
        Case {
            fault: Fault::Signal { rssi: 5 },
            expect: &[],
            within: secs(1),
            after: &[("AT+CSQ", "+CSQ: 5,")],
        },
        Case {
            fault: Fault::PdpDeact,
            expect: &["+PDP: DEACT"],
            within: secs(1),
            after: &[("AT+CIPSTATUS", "STATE: PDP DEACT")],
        },
        Case {
            fault: Fault::PeerClose { link: Some(0) },
            expect: &["0, CLOSED"],
            within: secs(1),
            after: &[],
        },
        Case {
            fault: Fault::PeerReset { link: None },
            expect: &["0, CLOSED"],
            within: secs(1),
            after: &[],
        },
        Case {
            fault: Fault::Reboot,
            expect: &["RDY"],
            within: secs(30),
            after: &[("AT+CIPSTATUS", "STATE: IP INITIAL")],
        },
        Case {
            fault: Fault::BrownOut,
            expect: &["UNDER-VOLTAGE WARNNING", "UNDER-VOLTAGE POWER DOWN"],
            within: secs(60),
            after: &[],
        },
    ];
    for case in &cases {
        run(case);
    }
}

#[test]
fn send_fail() {
    let mut bench = SimBench::connected(SimConfig::default());
    bench.sim.inject(bench.now, Fault::SendFail { count: 1 });
    bench.send_data(0, b"heart beat", "0, SEND FAIL");
    bench.send_data(0, b"heart beat", "0, SEND OK");
}

#[test]
fn hang_answers_nothing() {
    let mut bench = SimBench::connected(SimConfig::default());
    bench.sim.inject(bench.now, Fault::Hang);
    bench.write("AT\r");
    assert_eq!(bench.try_wait_for("OK", secs(60)), None);
    assert_eq!(bench.since_mark(), "");
}

#[test]
fn pdp_deact_answers_a_send() {
    let mut bench = SimBench::connected(SimConfig::default());
    bench.sim.inject(bench.now, Fault::PdpDeact);
    bench.run_for(secs(1));
    bench.write("AT+CIPSEND=0,4\r");
    bench.wait_for("+PDP: DEACT", secs(10));
}

#[test]
fn blackhole_withholds_send_ok() {
    let mut bench = SimBench::connected(SimConfig::default());
    bench.cmd("AT+CIPQSEND=0", "OK");
    bench.sim.inject(
        bench.now,
        Fault::Blackhole {
            duration: secs(120),
        },
    );
    let start = bench.now;
    bench.cmd("AT+CIPSEND=0,10", ">");
    bench.write_bytes(b"heart beat");
    assert_eq!(
        bench.try_wait_for("SEND OK", secs(119)),
        None,
        "no SEND OK while nothing flows"
    );
    let at = bench.wait_for("0, SEND OK", secs(10));
    assert!(
        at - start >= secs(120),
        "SEND OK after the blackhole, at {:?}",
        at - start
    );
    let lab = bench.sim.lab().client(1).unwrap();
    assert_eq!(lab.received_bytes(), b"heart beat");
}

#[test]
fn latency_spike_delays_delivery() {
    let mut bench = SimBench::connected(SimConfig::default());
    bench.sim.inject(
        bench.now,
        Fault::LatencySpike {
            extra: secs(3),
            duration: secs(60),
        },
    );
    let sent = bench.now;
    bench.send_data(0, b"x", "SEND OK");
    let arrived = bench.sim.lab().client(1).unwrap().received[0].at;
    assert!(arrived - sent >= secs(3), "{:?}", arrived - sent);
}

#[test]
fn udp_loss_drops_datagrams() {
    let mut bench = SimBench::booted(SimConfig::default());
    bench.bring_up();
    bench.cmd(
        "AT+CIPSTART=0,\"UDP\",\"lab.longlink.test\",6500",
        "0, CONNECT OK",
    );
    bench.sim.inject(
        bench.now,
        Fault::UdpLoss {
            permille: 1000,
            duration: secs(60),
        },
    );
    bench.send_data(0, b"lost", "SEND OK");
    bench.run_for(secs(61));
    bench.send_data(0, b"kept", "SEND OK");
    bench.run_for(secs(5));
    let client = bench.sim.lab().clients().next().expect("a UDP client");
    assert_eq!(client.received_bytes(), b"kept");
}

#[test]
fn line_noise_corrupts_at_the_rate_deterministically() {
    let noisy = |seed| {
        let mut bench = SimBench::booted(SimConfig {
            seed,
            ..SimConfig::default()
        });
        let noise = Fault::LineNoise {
            direction: Direction::FromModem,
            duration: secs(3600),
            bit_flip_ppm: 20_000,
            drop_ppm: 0,
            duplicate_ppm: 0,
        };
        bench.sim.inject(bench.now, noise);
        bench.mark();
        for _ in 0..1000 {
            bench.write("AT+CSQ\r");
            bench.run_for(ms(100));
        }
        let flipped: u64 = bench
            .events
            .iter()
            .filter_map(|e| match &e.kind {
                SimEventKind::Noise {
                    direction: Direction::FromModem,
                    counts,
                } => Some(counts.flipped),
                _ => None,
            })
            .sum();
        (flipped, bench.rx.clone())
    };
    let (flipped, rx) = noisy(1);
    // "\r\n+CSQ: 24,0\r\n\r\nOK\r\n" is 20 bytes: 20,000 bytes at 2 %.
    assert!((300..500).contains(&flipped), "{flipped}");
    assert_eq!(
        noisy(1),
        (flipped, rx.clone()),
        "same seed, same corruption"
    );
    assert_ne!(noisy(2).1, rx);
}

#[test]
fn line_noise_to_the_modem_garbles_commands() {
    let mut bench = SimBench::booted(SimConfig::default());
    let noise = Fault::LineNoise {
        direction: Direction::ToModem,
        duration: secs(10),
        bit_flip_ppm: 0,
        drop_ppm: 1_000_000,
        duplicate_ppm: 0,
    };
    bench.sim.inject(bench.now, noise);
    bench.write("AT\r");
    assert_eq!(
        bench.try_wait_for("OK", secs(5)),
        None,
        "every byte dropped"
    );
    bench.run_for(secs(10));
    bench.cmd("AT", "OK");
}
