//! The network as harsh as a real one, seen from the modem's UART (issue 10): TCP
//! retransmission after a blackhole, the PDP context through a lost cell, segmentation, the
//! receive window, `AT+CIPACK`, the quick send buffer, and the retry settings of
//! `AT+CIPCCFG` / `AT+TCPUSERPARAM`. The whole `Sim` runs: modem, network, lab server.

mod sim_support;

use std::time::Duration;

use sim_modem::fault::Fault;
use sim_modem::lab::Client;
use sim_modem::sim::SimConfig;
use sim_support::{ms, secs, SimBench};

/// The lab's first client.
fn client(bench: &SimBench) -> &Client {
    bench.sim.lab().client(1).expect("the lab's first client")
}

/// When the lab first received bytes from the device, counted from `t0`.
fn lab_received_at(bench: &SimBench, t0: Duration) -> Option<Duration> {
    client(bench).received.first().map(|c| c.at - t0)
}

/// Whether the host read a line the modem said at `said` in its wire time: a short line takes
/// under 5 ms at 115,200 baud.
fn read_in_wire_time(read: Duration, said: Duration) -> bool {
    read >= said && read < said + ms(5)
}

/// How many times `needle` appears in `text`.
fn count(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

/// A slow send (`AT+CIPQSEND=0`) into a blackhole: `SEND OK` comes with the first
/// retransmission that gets through after the blackhole (RTO 1 s after the handshake, then
/// doubling: 1, 3, 7, 15, 31, 63, 127 s ...), not when the blackhole ends; a blackhole longer
/// than the 645 s give-up ends in `CLOSED`.
#[test]
fn a_blackhole_delays_a_send_to_the_next_retransmission() {
    // (blackhole, when the lab has the data, what answers the send)
    let cases = [
        (secs(20), Some(secs(31)), "0, SEND OK"),
        (secs(90), Some(secs(127)), "0, SEND OK"),
        (secs(700), None, "0, CLOSED"),
    ];
    for (duration, arrives, answer) in cases {
        let mut bench = SimBench::connected(SimConfig::default());
        bench.sim.inject(bench.now, Fault::Blackhole { duration });
        let t0 = bench.now;
        bench.cmd("AT+CIPSEND=0,2", ">");
        bench.write_bytes(b"hb");
        let answered = bench.wait_for(answer, secs(700)) - t0;
        let got = lab_received_at(&bench, t0);
        match arrives {
            // On the air for a few ms, 150 ms to the lab, 150 ms back.
            Some(at) => {
                let got = got.expect("the lab got the data");
                assert!(
                    got >= at && got < at + ms(200),
                    "{duration:?}: lab at {got:?}"
                );
                assert!(got > duration + secs(1), "not at the blackhole's end");
                assert!(answered >= got + ms(150) && answered < got + ms(200));
            }
            None => {
                assert_eq!(got, None, "{duration:?}");
                assert!(
                    read_in_wire_time(answered, secs(645)),
                    "the manual's 645 s: {answered:?}"
                );
            }
        }
    }
}

/// A lost cell shorter than `pdp_hold` (60 s) keeps the context and the link: what was sent
/// meanwhile arrives once the cell is back. A longer one loses them, said (`CLOSED`,
/// `+PDP: DEACT`) `pdp_deact_delay` (60 s) after the hold ran out.
#[test]
fn a_lost_cell_keeps_the_pdp_context_for_a_while() {
    // (loss, whether the context survives)
    let cases = [(secs(20), true), (secs(50), true), (secs(300), false)];
    for (duration, survives) in cases {
        let mut bench = SimBench::connected(SimConfig::default());
        bench.mark();
        let t0 = bench.now;
        bench
            .sim
            .inject(bench.now, Fault::RegistrationLost { duration });
        bench.run_for(secs(5));
        let status = bench.cmd("AT+CIPSTATUS=0", "OK");
        assert!(status.contains("\"CONNECTED\""), "{duration:?}: {status}");
        bench.cmd("AT+CIPSEND=0,5", ">");
        bench.write_bytes(b"hello");
        let when = bench.try_wait_for("+PDP: DEACT", duration + secs(60));
        if survives {
            assert_eq!(when, None, "{duration:?}");
            bench.wait_for("0, SEND OK", secs(120));
            assert_eq!(client(&bench).received_bytes(), b"hello");
            let status = bench.cmd("AT+CIPSTATUS", "OK");
            assert!(status.contains("STATE: IP PROCESSING"), "{status}");
        } else {
            let when = when.map(|at| at - t0);
            assert!(
                when.is_some_and(|at| read_in_wire_time(at, secs(120))),
                "{duration:?}: {when:?}"
            );
            assert!(bench.since_mark().contains("0, CLOSED"));
            let status = bench.cmd("AT+CIPSTATUS", "OK");
            assert!(status.contains("STATE: PDP DEACT"), "{status}");
        }
    }
}

/// A server write bigger than a segment reaches the host in pieces: 3,000 bytes as at least
/// three `+RECEIVE`s (1460 + 1460 + 80 at the default MSS).
#[test]
fn a_big_write_arrives_as_several_receives() {
    // (write, the least number of +RECEIVEs)
    let cases = [(3000, 3), (1460, 1), (10_000, 7)];
    for (len, pieces) in cases {
        let mut bench = SimBench::connected(SimConfig::default());
        bench.mark();
        let data: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
        bench.sim.lab_send(bench.now, 1, &data).unwrap();
        bench.run_for(secs(10));
        let out = bench.since_mark();
        assert!(count(&out, "+RECEIVE,0,") >= pieces, "{len}: {out:?}");
        let text = String::from_utf8(data).unwrap();
        let got: String = out
            .split("+RECEIVE,0,")
            .skip(1)
            .map(|piece| {
                let (len, rest) = piece.split_once(":\r\n").expect("a +RECEIVE header");
                rest[..len.parse::<usize>().unwrap()].to_string()
            })
            .collect();
        assert_eq!(got, text, "{len}: in order, nothing lost");
    }
}

/// In manual receive mode a host that stops reading fills the modem's buffer (10,220 bytes);
/// the window then stops the server's sends. An hour later nothing is lost and the server
/// has not given up; reading lets the rest through.
#[test]
fn a_host_that_stops_reading_stalls_the_server_and_loses_nothing() {
    let mut bench = SimBench::booted(SimConfig::default());
    bench.cmd("AT+CIPRXGET=1", "OK");
    bench.bring_up();
    bench.cmd(
        "AT+CIPSTART=0,\"TCP\",\"lab.longlink.test\",6500",
        "0, CONNECT OK",
    );
    let data: Vec<u8> = (0..30_000u32).map(|i| (i % 253) as u8).collect();
    bench.sim.lab_send(bench.now, 1, &data).unwrap();
    bench.run_for(secs(3600));
    let waiting = bench.cmd("AT+CIPRXGET=4,0", "OK");
    assert!(waiting.contains("+CIPRXGET: 4,0,10220"), "{waiting}");
    assert!(client(&bench).is_open(), "the server has not given up");
    let mut got = Vec::new();
    for _ in 0..100 {
        let start = bench.rx.len();
        bench.cmd("AT+CIPRXGET=2,0,1460", "OK");
        // `+CIPRXGET: 2,0,<len>,<left>\r\n<len bytes>`, binary: read the raw bytes.
        let raw = &bench.rx[start..];
        let header = b"+CIPRXGET: 2,0,";
        let at = raw
            .windows(header.len())
            .position(|w| w == header)
            .expect("a read answer")
            + header.len();
        let line_end = at + raw[at..].windows(2).position(|w| w == b"\r\n").unwrap();
        let fields = String::from_utf8_lossy(&raw[at..line_end]).into_owned();
        let len: usize = fields.split(',').next().unwrap().parse().unwrap();
        if len == 0 {
            break;
        }
        got.extend_from_slice(&raw[line_end + 2..line_end + 2 + len]);
        bench.run_for(secs(2));
    }
    assert_eq!(got.len(), data.len());
    assert!(got == data, "in order, nothing lost");
}

/// `AT+CIPACK` counts what the server acknowledged: in quick send mode, sends into a
/// blackhole are sent and not acknowledged until the first retransmission after it.
#[test]
fn cipack_counts_what_the_server_acknowledged() {
    let mut bench = SimBench::connected(SimConfig::default());
    bench.cmd("AT+CIPQSEND=1", "OK");
    bench
        .sim
        .inject(bench.now, Fault::Blackhole { duration: secs(10) });
    for len in [100, 200, 300] {
        bench.send_data(0, &vec![b'x'; len], "DATA ACCEPT");
    }
    // (when, the expected answer)
    let steps = [
        (secs(1), "+CIPACK: 600,0,600"),
        (secs(10), "+CIPACK: 600,0,600"),
        // Retransmissions at 1, 3, 7, 15 s: the one at 15 s gets through.
        (secs(20), "+CIPACK: 600,600,0"),
    ];
    let t0 = bench.now;
    for (at, answer) in steps {
        bench.run_for(t0 + at - bench.now);
        let got = bench.cmd("AT+CIPACK=0", "OK");
        assert!(got.contains(answer), "at {at:?}: {got}");
    }
    assert_eq!(client(&bench).received_bytes().len(), 600);
}

/// Quick send mode's buffer (10,220 bytes) fills with what is not yet acknowledged: then
/// `AT+CIPSEND` answers `ERROR` and `AT+CIPSEND?` shows the room left; the server's
/// acknowledgements drain it.
#[test]
fn the_quick_send_buffer_fills_and_drains() {
    let mut bench = SimBench::connected(SimConfig::default());
    bench.cmd("AT+CIPQSEND=1", "OK");
    bench
        .sim
        .inject(bench.now, Fault::Blackhole { duration: secs(30) });
    for _ in 0..7 {
        bench.send_data(0, &[b'q'; 1460], "DATA ACCEPT:0,1460");
    }
    let sizes = bench.cmd("AT+CIPSEND?", "OK");
    assert!(sizes.contains("+CIPSEND: 0,0"), "{sizes}");
    let refused = bench.cmd("AT+CIPSEND=0,1", "ERROR");
    assert!(!refused.contains('>'), "{refused}");
    bench.run_for(secs(60));
    let sizes = bench.cmd("AT+CIPSEND?", "OK");
    assert!(sizes.contains("+CIPSEND: 0,1460"), "{sizes}");
    bench.send_data(0, b"more", "DATA ACCEPT:0,4");
}

/// The retry count of `AT+CIPCCFG` (SIM800) and `AT+TCPUSERPARAM` (Luat, Air202) decide when
/// a connection whose data is never acknowledged is given up (`CLOSED`).
#[test]
fn retry_settings_decide_the_give_up() {
    // (profile, setting, when CLOSED comes after the send)
    let cases = [
        ("sim800", None, secs(645)),
        // 1, 3, 7, 15, 31 s, and the 6th timeout at 63 s.
        ("sim800", Some("AT+CIPCCFG=5,2,1024,1"), secs(63)),
        ("sim800", Some("AT+CIPCCFG=3,2,1024,1,0,1460,50"), secs(15)),
        // Luat's socket.lua: 4 retries, RTO capped at 16 s: 1, 3, 7, 15, then 31 s.
        ("air202", Some("AT+TCPUSERPARAM=6,4,7200,16"), secs(31)),
    ];
    for (profile, setting, closed) in cases {
        let config = SimConfig {
            profile: profile.into(),
            ..SimConfig::default()
        };
        let mut bench = SimBench::booted(config);
        if let Some(setting) = setting {
            bench.cmd(setting, "OK");
        }
        bench.bring_up();
        bench.cmd(
            "AT+CIPSTART=0,\"TCP\",\"lab.longlink.test\",6500",
            "0, CONNECT OK",
        );
        bench.cmd("AT+CIPQSEND=1", "OK");
        bench.sim.inject(
            bench.now,
            Fault::Blackhole {
                duration: secs(3600),
            },
        );
        let t0 = bench.now;
        bench.send_data(0, b"x", "DATA ACCEPT");
        let at = bench.wait_for("0, CLOSED", secs(700));
        let took = at - t0;
        assert!(
            took >= closed && took < closed + ms(100),
            "{profile} {setting:?}: CLOSED after {took:?}"
        );
    }
}

/// `AT+CIPCCFG` and `AT+TCPUSERPARAM` check their ranges; the read and test forms show them.
#[test]
fn retry_settings_commands() {
    // (profile, line, answer)
    let cases = [
        (
            "sim800",
            "AT+CIPCCFG=?",
            "+CIPCCFG: (3-8),(1-10),(1-1460),(0,1),(0,1),(50-1460),(20-1000)",
        ),
        ("sim800", "AT+CIPCCFG?", "+CIPCCFG: 12,2,1024,1,0,1460,50"),
        ("sim800", "AT+CIPCCFG=9,2,1024,1", "ERROR"),
        ("sim800", "AT+CIPCCFG=5,0,1024,1", "ERROR"),
        ("sim800", "AT+CIPCCFG=5,2,1024,1,1,20,50", "ERROR"),
        ("sim800", "AT+TCPUSERPARAM=6,4,7200,16", "ERROR"),
        ("air202", "AT+TCPUSERPARAM=6,13,7200,16", "ERROR"),
        ("air202", "AT+TCPUSERPARAM=6,4,7200,17", "ERROR"),
        ("air202", "AT+TCPUSERPARAM=6,4,7200,0", "ERROR"),
    ];
    for (profile, line, answer) in cases {
        let config = SimConfig {
            profile: profile.into(),
            ..SimConfig::default()
        };
        let mut bench = SimBench::booted(config);
        let got = bench.cmd(line, if answer == "ERROR" { "ERROR" } else { "OK" });
        assert!(got.contains(answer), "{profile} {line}: {got}");
    }
    let mut bench = SimBench::booted(SimConfig::default());
    bench.cmd("AT+CIPCCFG=5,4,512,0", "OK");
    let got = bench.cmd("AT+CIPCCFG?", "OK");
    assert!(got.contains("+CIPCCFG: 5,4,512,0,0,1460,50"), "{got}");
}
