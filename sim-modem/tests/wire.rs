//! The UART between host and modem takes time: 10 bit times a byte at the modem's baud rate,
//! both ways; and what the modem's UART buffers cannot hold is lost, with a `UartOverflow`
//! event saying how much.

mod sim_support;

use std::time::Duration;

use pretty_assertions::assert_eq;
use sim_modem::fault::Direction;
use sim_modem::net::{NetEvent, NetRequest};
use sim_modem::profile::Profile;
use sim_modem::sim::{SimConfig, SimEventKind};
use sim_support::{secs, SimBench};

/// What crosses the UART in a wire-time case.
#[derive(Debug, Clone, Copy)]
enum Crossing {
    /// The lab sends `n` bytes: from the modem writing `\r\n+RECEIVE,0,<n>:\r\n` and the
    /// data, to the host having the last byte.
    Receive(usize),
    /// `AT\r` with echo off: from the host writing it to the host having `\r\nOK\r\n`
    /// (3 bytes there, the command's 10 ms, 6 bytes back).
    RoundTrip,
    /// An `n`-byte payload after the `> ` prompt: from the host writing it to the modem
    /// handing it to the network.
    Payload(usize),
}

struct WireCase {
    baud: u32,
    crossing: Crossing,
    /// How long it takes, in microseconds: bytes × 10 bits / baud, each run rounded up to
    /// the microsecond.
    micros: u64,
}

/// A connected modem (link 0 to the lab, echo off) whose UART runs at `baud`.
fn connected_at(baud: u32) -> SimBench {
    let profile = Profile {
        ipr: baud,
        ..Profile::sim800()
    };
    let mut bench = SimBench::with_profile(SimConfig::default(), profile);
    bench.boot();
    bench.connect("TCP");
    bench
}

/// When the modem got `event` last, from the trace.
fn last_net_event(bench: &SimBench, matches: impl Fn(&SimEventKind) -> bool) -> Duration {
    let event = bench.events.iter().rev().find(|e| matches(&e.kind));
    event.expect("the event happened").at
}

/// How long the case's bytes take to cross.
fn measure(bench: &mut SimBench, crossing: Crossing) -> Duration {
    bench.run_for(secs(1));
    match crossing {
        Crossing::Receive(n) => {
            let data = vec![b'x'; n];
            bench.mark();
            bench.sim.lab_send(bench.now, 1, &data).unwrap();
            bench.collect();
            let header = format!("+RECEIVE,0,{n}:\r\n");
            let arrived = bench.wait_for(&format!("{header}{}", "x".repeat(n)), secs(60));
            let written = last_net_event(bench, |k| {
                matches!(k, SimEventKind::Net(NetEvent::Received { .. }))
            });
            arrived - written
        }
        Crossing::RoundTrip => {
            let written = bench.now;
            bench.cmd("AT", "OK\r\n");
            bench.now - written
        }
        Crossing::Payload(n) => {
            bench.cmd(&format!("AT+CIPSEND=0,{n}"), "> ");
            let written = bench.now;
            bench.write_bytes(&vec![b'y'; n]);
            bench.wait_for("SEND OK", secs(60));
            let sent = last_net_event(bench, |k| {
                matches!(k, SimEventKind::Request(NetRequest::Send { .. }))
            });
            sent - written
        }
    }
}

#[test]
fn bytes_take_ten_bit_times_each_way() {
    let cases = [
        // The header is 20 bytes: `\r\n+RECEIVE,0,1460:\r\n`. The 1,460 bytes alone take
        // 126.7 ms at 115,200 baud, 1.52 s at 9,600.
        WireCase {
            baud: 115_200,
            crossing: Crossing::Receive(1460),
            micros: 128_473,
        },
        WireCase {
            baud: 9600,
            crossing: Crossing::Receive(1460),
            micros: 1_541_667,
        },
        // 17 + 5 bytes.
        WireCase {
            baud: 115_200,
            crossing: Crossing::Receive(5),
            micros: 1910,
        },
        WireCase {
            baud: 115_200,
            crossing: Crossing::RoundTrip,
            micros: 261 + 10_000 + 521,
        },
        WireCase {
            baud: 9600,
            crossing: Crossing::RoundTrip,
            micros: 3125 + 10_000 + 6250,
        },
        WireCase {
            baud: 115_200,
            crossing: Crossing::Payload(1460),
            micros: 126_737,
        },
        WireCase {
            baud: 9600,
            crossing: Crossing::Payload(1460),
            micros: 1_520_834,
        },
    ];
    for case in &cases {
        let mut bench = connected_at(case.baud);
        let took = measure(&mut bench, case.crossing);
        assert_eq!(
            took,
            Duration::from_micros(case.micros),
            "{:?} at {} baud",
            case.crossing,
            case.baud
        );
    }
}

/// An overflow case: a modem whose profile `tweak` changes, what the `script` does to it, the
/// overflow that must follow, and what the host must have received after it.
struct OverflowCase {
    name: &'static str,
    tweak: fn(&mut Profile),
    script: fn(&mut SimBench),
    direction: Direction,
    /// Bytes lost, summed over the events (`None`: worked out by `check`).
    lost: Option<usize>,
    check: fn(&SimBench, usize),
}

fn overflows(bench: &SimBench, direction: Direction) -> usize {
    bench
        .events
        .iter()
        .filter_map(|e| match e.kind {
            SimEventKind::UartOverflow { direction: d, lost } if d == direction => Some(lost),
            _ => None,
        })
        .sum()
}

#[test]
fn full_uart_buffers_lose_bytes_and_say_so() {
    let cases = [
        OverflowCase {
            // 40 `AT\r` arrive while `AT+CFUN=4` executes (500 ms): the 64-byte receive
            // buffer keeps the first 21 lines and the `A` of the 22nd; 56 bytes are lost.
            name: "receive buffer",
            tweak: |p| p.input_buffer = 64,
            script: |b| {
                b.boot();
                b.write("AT+CFUN=4\r");
                b.write(&"AT\r".repeat(40));
                b.run_for(secs(2));
                b.write("T\r");
                b.run_for(secs(1));
            },
            direction: Direction::ToModem,
            lost: Some(56),
            check: |b, _| {
                let oks = String::from_utf8_lossy(&b.rx).matches("\r\nOK\r\n").count();
                // ATE0 and AT+CFUN=4, the 21 kept lines, and the kept `A` with the `T\r`.
                assert_eq!(oks, 2 + 21 + 1, "{}", String::from_utf8_lossy(&b.rx));
            },
        },
        OverflowCase {
            // At 9,600 baud a 1,480-byte `+RECEIVE` takes 1.54 s to go out, and the server's
            // writes come faster: the 4,000-byte transmit buffer fills and whole responses
            // are lost. The host gets the others whole.
            name: "transmit buffer",
            tweak: |p| {
                p.ipr = 9600;
                p.output_buffer = 4000;
            },
            script: |b| {
                b.boot();
                b.connect("TCP");
                for _ in 0..6 {
                    b.sim.lab_send(b.now, 1, &[b'z'; 1460]).unwrap();
                }
                b.run_for(secs(30));
            },
            direction: Direction::FromModem,
            lost: None,
            check: |b, lost| {
                // What the modem wrote: a `+RECEIVE` per 1,460 bytes the network delivered.
                let written: usize = b
                    .events
                    .iter()
                    .filter_map(|e| match &e.kind {
                        SimEventKind::Net(NetEvent::Received { data, .. }) => Some(data.len()),
                        _ => None,
                    })
                    .map(|len| {
                        let frame = |n: usize| format!("\r\n+RECEIVE,0,{n}:\r\n").len() + n;
                        (len / 1460) * frame(1460) + frame(len % 1460) * usize::from(len % 1460 > 0)
                    })
                    .sum();
                let text = String::from_utf8_lossy(&b.rx);
                let got = text[text.find("+RECEIVE").map_or(0, |at| at - 2)..].len();
                assert!(lost > 0, "nothing lost");
                assert_eq!(got + lost, written, "every byte is either received or lost");
                // Whole responses only: every header's data is all there.
                for frame in text.split("\r\n+RECEIVE,0,").skip(1) {
                    let (len, data) = frame.split_once(":\r\n").expect("a whole header");
                    assert_eq!(data.len(), len.parse::<usize>().unwrap(), "{frame:?}");
                }
            },
        },
    ];
    for case in &cases {
        let mut profile = Profile::sim800();
        (case.tweak)(&mut profile);
        let mut bench = SimBench::with_profile(SimConfig::default(), profile);
        (case.script)(&mut bench);
        let lost = overflows(&bench, case.direction);
        if let Some(expected) = case.lost {
            assert_eq!(lost, expected, "{}", case.name);
        }
        let other = match case.direction {
            Direction::ToModem => Direction::FromModem,
            _ => Direction::ToModem,
        };
        assert_eq!(overflows(&bench, other), 0, "{}: the other way", case.name);
        (case.check)(&bench, lost);
    }
}

#[test]
fn line_errors_reach_the_host_where_they_hit() {
    // A 1,460-byte `+RECEIVE` crosses at 115,200 baud (a byte every 86.8 µs, 128.5 ms in
    // all); a burst of 4 errors over 60 ms starts 20 ms in, so they come at 20, 35, 50 and
    // 65 ms: each loses the byte on the wire then (the 230th, 403rd, 576th and 748th of the
    // run, counting from 0) and the host's UART reports an error in its place.
    let mut bench = connected_at(115_200);
    bench.run_for(secs(1));
    bench.sim.lab_send(bench.now, 1, &[b'e'; 1460]).unwrap();
    let fault =
        serde_json::from_str(r#"{"kind":"uart_errors","duration":"60ms","count":4}"#).unwrap();
    let (mut rx, mut errors) = (Vec::new(), Vec::new());
    let mut fault = Some(fault);
    while let Some(at) = bench
        .sim
        .poll_timeout()
        .filter(|&at| at < bench.now + secs(5))
    {
        bench.sim.handle_timeout(at);
        bench.sim.receive_uart(&mut rx, &mut errors);
        let writing = bench.sim.uart_busy() && rx.is_empty();
        if let Some(fault) = fault.take_if(|_| writing) {
            bench.sim.inject(at + Duration::from_millis(20), fault);
        }
    }
    assert_eq!(errors, [230, 403 - 1, 576 - 2, 748 - 3]);
    assert_eq!(rx.len(), 20 + 1460 - 4);
    assert!(rx.starts_with(b"\r\n+RECEIVE,0,1460:\r\n"));
}
