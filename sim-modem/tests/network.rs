//! The simulated network alone: timing, loss, DNS, PDP and coverage, and the TCP model
//! (segmentation, acknowledgements, retransmission, windows, delivery batching), with a tiny
//! host side that accepts connections to the lab address and refuses other ports there, and
//! a bench that plays the modem.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use pretty_assertions::assert_eq;
use protocol::types::{LinkId, RegStat, Transport};
use sim_modem::fault::Fault;
use sim_modem::net::{ConnectError, Coverage, NetEvent, NetRequest, TcpSettings};
use sim_modem::network::{ConnId, HostEvent, HostInput, NetOutput, Network, NetworkConfig};
use sim_modem::profile::Profile;

const LAB: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);
const PORT: u16 = 6500;

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// A network plus a host side, with a log of every output and when it came out. The bench
/// plays the modem: it takes what is received at once (push mode, `AT+CIPRXGET=0`) unless
/// `reading` is off.
struct NetworkBench {
    net: Network,
    now: Duration,
    log: Vec<(Duration, NetOutput)>,
    /// The device's TCP settings for the next connect.
    tcp: TcpSettings,
    reading: bool,
    /// Bytes received and not yet taken, per link (while `reading` is off).
    unread: BTreeMap<LinkId, usize>,
}

impl NetworkBench {
    fn new(config: NetworkConfig, seed: u64) -> NetworkBench {
        let mut net = Network::new(config, seed);
        net.add_dns("lab.longlink.test", LAB);
        let mut bench = NetworkBench {
            net,
            now: Duration::ZERO,
            log: Vec::new(),
            tcp: Profile::sim800().tcp_settings(),
            reading: true,
            unread: BTreeMap::new(),
        };
        bench.settle();
        bench.log.clear(); // the first coverage report
        bench
    }

    /// The default network with round numbers: 100 ms latency, 1000 B/s up, 2000 B/s down,
    /// and no delivery batching (each arrival is handed over at once).
    fn simple() -> NetworkBench {
        NetworkBench::new(simple_config(), 1)
    }

    fn request(&mut self, request: NetRequest) {
        self.net.handle_request(self.now, request);
        self.settle();
    }

    fn host(&mut self, conn: ConnId, input: HostInput) {
        self.net.handle_host(self.now, conn, input);
        self.settle();
    }

    fn inject(&mut self, fault: Fault) {
        assert!(self.net.inject(self.now, &fault));
        self.settle();
    }

    /// The modem's host reads `len` bytes of `link`.
    fn read(&mut self, link: LinkId, len: usize) {
        *self.unread.entry(link).or_default() -= len;
        self.request(NetRequest::Consumed { link, len });
    }

    /// Runs virtual time forward to `until`, event by event.
    fn run_to(&mut self, until: Duration) {
        while let Some(at) = self.net.poll_timeout().filter(|&at| at <= until) {
            self.now = at;
            self.net.handle_timeout(at);
            self.settle();
        }
        self.now = until;
    }

    fn run_for(&mut self, duration: Duration) {
        self.run_to(self.now + duration);
    }

    fn settle(&mut self) {
        while let Some(output) = self.net.poll_output() {
            match &output {
                NetOutput::Host(HostEvent::Connect {
                    conn,
                    ip: Some(ip),
                    port,
                    ..
                }) => {
                    let answer = match (*ip == LAB, *port == PORT) {
                        (true, true) => Some(HostInput::Accepted),
                        (true, false) => Some(HostInput::Refused(ConnectError::Refused)),
                        _ => None, // nobody there: silence
                    };
                    let conn = *conn;
                    self.log.push((self.now, output));
                    if let Some(answer) = answer {
                        self.net.handle_host(self.now, conn, answer);
                    }
                    continue;
                }
                NetOutput::Modem(NetEvent::Received { link, data }) => {
                    let (link, len) = (*link, data.len());
                    self.log.push((self.now, output));
                    if self.reading {
                        self.net
                            .handle_request(self.now, NetRequest::Consumed { link, len });
                    } else {
                        *self.unread.entry(link).or_default() += len;
                    }
                    continue;
                }
                _ => {}
            }
            self.log.push((self.now, output));
        }
    }

    fn take(&mut self) -> Vec<(Duration, NetOutput)> {
        std::mem::take(&mut self.log)
    }

    /// What was logged, with times from `t0`.
    fn take_since(&mut self, t0: Duration) -> Vec<(Duration, NetOutput)> {
        self.take()
            .into_iter()
            .map(|(at, output)| (at - t0, output))
            .collect()
    }

    /// Activates PDP and connects link 0 to the lab over `transport`; returns its conn id.
    fn connected(&mut self, transport: Transport) -> ConnId {
        self.request(NetRequest::ActivatePdp {
            apn: "CMIOT".into(),
        });
        self.run_for(secs(5));
        self.request(NetRequest::Connect {
            link: 0,
            transport,
            host: "lab.longlink.test".to_string(),
            port: PORT,
            tcp: self.tcp,
        });
        self.run_for(secs(10));
        let conn = self
            .log
            .iter()
            .find_map(|(_, o)| match o {
                NetOutput::Host(HostEvent::Connect { conn, .. }) => Some(*conn),
                _ => None,
            })
            .expect("connected");
        assert!(self
            .log
            .iter()
            .any(|(_, o)| *o == modem(NetEvent::Connected { link: 0 })));
        self.log.clear();
        conn
    }

    fn send(&mut self, data: &[u8]) {
        self.request(NetRequest::Send {
            link: 0,
            data: data.to_vec(),
        });
    }
}

fn simple_config() -> NetworkConfig {
    NetworkConfig {
        latency: ms(100),
        uplink_bytes_per_s: 1000,
        downlink_bytes_per_s: 2000,
        dns_delay: ms(200),
        pdp_activation: ms(1000),
        receive_coalescing_max: Duration::ZERO,
        ..NetworkConfig::default()
    }
}

fn sim800_tcp() -> TcpSettings {
    Profile::sim800().tcp_settings()
}

fn modem(event: NetEvent) -> NetOutput {
    NetOutput::Modem(event)
}

fn host(event: HostEvent) -> NetOutput {
    NetOutput::Host(event)
}

fn coverage(registration: RegStat) -> NetOutput {
    modem(NetEvent::Coverage(Coverage {
        registration,
        ..Coverage::GOOD
    }))
}

/// The sizes of what the modem received, in order.
fn received_sizes(log: &[(Duration, NetOutput)]) -> Vec<usize> {
    log.iter()
        .filter_map(|(_, o)| match o {
            NetOutput::Modem(NetEvent::Received { data, .. }) => Some(data.len()),
            _ => None,
        })
        .collect()
}

/// Everything the modem received, joined.
fn received_bytes(log: &[(Duration, NetOutput)]) -> Vec<u8> {
    log.iter()
        .filter_map(|(_, o)| match o {
            NetOutput::Modem(NetEvent::Received { data, .. }) => Some(data.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

/// The acknowledged byte counts the modem was told, with their times.
fn delivered(log: &[(Duration, NetOutput)]) -> Vec<(Duration, usize)> {
    log.iter()
        .filter_map(|(at, o)| match o {
            NetOutput::Modem(NetEvent::Delivered { len, .. }) => Some((*at, *len)),
            _ => None,
        })
        .collect()
}

/// When the host got data, and what.
fn host_data(log: &[(Duration, NetOutput)]) -> Vec<(Duration, Vec<u8>)> {
    log.iter()
        .filter_map(|(at, o)| match o {
            NetOutput::Host(HostEvent::Data { data, .. }) => Some((*at, data.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn starts_by_reporting_coverage() {
    let mut net = Network::new(NetworkConfig::default(), 0);
    assert_eq!(
        net.poll_output(),
        Some(modem(NetEvent::Coverage(Coverage::GOOD)))
    );
    assert_eq!(net.poll_output(), None);
}

#[test]
fn tcp_connect_timing() {
    let mut h = NetworkBench::simple();
    h.request(NetRequest::ActivatePdp {
        apn: "CMIOT".into(),
    });
    h.run_to(secs(1));
    let host_name = "lab.longlink.test".to_string();
    h.request(NetRequest::Connect {
        link: 0,
        transport: Transport::Tcp,
        host: host_name.clone(),
        port: PORT,
        tcp: sim800_tcp(),
    });
    h.run_to(secs(100));
    let from = "10.68.27.49:40000".parse().unwrap();
    assert_eq!(
        h.take(),
        vec![
            (
                ms(1000),
                modem(NetEvent::PdpActivated {
                    ip: [10, 68, 27, 49]
                })
            ),
            // DNS 200 ms, SYN 100 ms, SYN-ACK 100 ms.
            (
                ms(1300),
                host(HostEvent::Connect {
                    conn: 1,
                    transport: Transport::Tcp,
                    host: host_name,
                    ip: Some(LAB),
                    port: PORT,
                    from
                })
            ),
            (ms(1400), modem(NetEvent::Connected { link: 0 })),
        ]
    );
}

#[test]
fn connect_failures() {
    // (host, port, when the modem hears, what)
    let cases = [
        ("nowhere.example", PORT, ms(1200), ConnectError::Dns),
        ("203.0.113.10", 80, ms(1200), ConnectError::Refused), // RST after a round trip
        (
            "198.51.100.7",
            PORT,
            ms(1000) + secs(75),
            ConnectError::Refused,
        ), // silence
    ];
    for (name, port, at, error) in cases {
        let mut h = NetworkBench::simple();
        h.request(NetRequest::ActivatePdp {
            apn: "CMIOT".into(),
        });
        h.run_to(secs(1));
        h.take();
        h.request(NetRequest::Connect {
            link: 2,
            transport: Transport::Tcp,
            host: name.into(),
            port,
            tcp: sim800_tcp(),
        });
        h.run_to(secs(200));
        let failed: Vec<_> = h
            .take()
            .into_iter()
            .filter(|(_, o)| matches!(o, NetOutput::Modem(_)))
            .collect();
        assert_eq!(
            failed,
            vec![(at, modem(NetEvent::ConnectFailed { link: 2, error }))],
            "{name}"
        );
    }
}

#[test]
fn no_pdp_no_connection() {
    let mut h = NetworkBench::simple();
    h.request(NetRequest::Connect {
        link: 0,
        transport: Transport::Tcp,
        host: "lab.longlink.test".to_string(),
        port: PORT,
        tcp: sim800_tcp(),
    });
    let error = ConnectError::NoNetwork;
    assert_eq!(
        h.take(),
        vec![(
            Duration::ZERO,
            modem(NetEvent::ConnectFailed { link: 0, error })
        )]
    );
}

#[test]
fn pdp_activation_and_rejection() {
    // (apns the network accepts, apn asked, data service, answer)
    let cases = [
        (
            vec![],
            "CMIOT",
            true,
            NetEvent::PdpActivated {
                ip: [10, 68, 27, 49],
            },
        ),
        (
            vec!["internet".to_string()],
            "INTERNET",
            true,
            NetEvent::PdpActivated {
                ip: [10, 68, 27, 49],
            },
        ),
        (
            vec!["internet".to_string()],
            "CMIOT",
            true,
            NetEvent::PdpRejected,
        ),
        (vec![], "CMIOT", false, NetEvent::PdpRejected),
    ];
    for (apns, apn, data, answer) in cases {
        let config = NetworkConfig {
            apns,
            data,
            pdp_activation: ms(1500),
            ..NetworkConfig::default()
        };
        let mut h = NetworkBench::new(config, 0);
        h.request(NetRequest::ActivatePdp { apn: apn.into() });
        h.run_to(secs(60));
        assert_eq!(h.take(), vec![(ms(1500), modem(answer.clone()))], "{apn}");
    }
}

#[test]
fn delivery_latency_and_bandwidth() {
    let mut h = NetworkBench::simple();
    let conn = h.connected(Transport::Tcp);
    let t0 = h.now;
    // Two sends back to back share the 1000 B/s uplink: 500 B takes 500 ms, 200 B 200 ms;
    // each is acknowledged one latency after it arrived.
    h.send(&[b'a'; 500]);
    h.send(&[b'b'; 200]);
    // 1000 B down at 2000 B/s: 500 ms, then 100 ms latency.
    h.host(conn, HostInput::Data(vec![b'c'; 1000]));
    h.run_for(secs(10));
    assert_eq!(
        h.take_since(t0),
        vec![
            (
                ms(600),
                host(HostEvent::Data {
                    conn,
                    data: vec![b'a'; 500]
                })
            ),
            (
                ms(600),
                modem(NetEvent::Received {
                    link: 0,
                    data: vec![b'c'; 1000]
                })
            ),
            (ms(700), modem(NetEvent::Delivered { link: 0, len: 500 })),
            (
                ms(800),
                host(HostEvent::Data {
                    conn,
                    data: vec![b'b'; 200]
                })
            ),
            (ms(900), modem(NetEvent::Delivered { link: 0, len: 200 })),
        ]
    );
}

#[test]
fn close_from_either_side() {
    let mut h = NetworkBench::simple();
    let conn = h.connected(Transport::Tcp);
    let t0 = h.now;
    h.host(conn, HostInput::Close);
    h.run_for(secs(1));
    assert_eq!(
        h.take_since(t0),
        vec![(ms(100), modem(NetEvent::Closed { link: 0 }))]
    );

    let conn = h.connected(Transport::Tcp);
    let t0 = h.now;
    h.send(b"bye");
    h.request(NetRequest::Close { link: 0 });
    h.run_for(secs(1));
    // The FIN follows the data; the data's acknowledgement no longer reaches a closed link.
    assert_eq!(
        h.take_since(t0),
        vec![
            (
                ms(103),
                host(HostEvent::Data {
                    conn,
                    data: b"bye".to_vec()
                })
            ),
            (ms(103), host(HostEvent::Close { conn })),
        ]
    );

    // A reset from the host: after what is on its way, and the device hears it.
    let conn = h.connected(Transport::Tcp);
    let t0 = h.now;
    h.host(conn, HostInput::Data(b"last".to_vec()));
    h.host(conn, HostInput::Reset);
    h.run_for(secs(1));
    assert_eq!(
        h.take_since(t0),
        vec![
            (
                ms(102),
                modem(NetEvent::Received {
                    link: 0,
                    data: b"last".to_vec()
                })
            ),
            (ms(102), modem(NetEvent::Closed { link: 0 })),
        ]
    );
}

/// A server that resets (or closes) a connection it just accepted, before its SYN-ACK reached
/// the device: the RST (FIN) follows the SYN-ACK, so the device's link opens, then closes.
/// (It was lost: the link stayed open, acknowledged by a server that had forgotten it; the
/// swarm's seed 15016.)
#[test]
fn an_end_before_the_handshake_completes_follows_it() {
    for end in [HostInput::Reset, HostInput::Close] {
        let mut h = NetworkBench::simple();
        h.request(NetRequest::ActivatePdp {
            apn: "CMIOT".into(),
        });
        h.run_for(secs(5));
        h.log.clear();
        h.request(NetRequest::Connect {
            link: 0,
            transport: Transport::Tcp,
            host: "lab.longlink.test".to_string(),
            port: PORT,
            tcp: h.tcp,
        });
        // Until the host has the connection (accepted at once), the SYN-ACK on its way.
        let conn = loop {
            let accepted = h.log.iter().find_map(|(_, o)| match o {
                NetOutput::Host(HostEvent::Connect { conn, .. }) => Some(*conn),
                _ => None,
            });
            if let Some(conn) = accepted {
                break conn;
            }
            h.run_for(ms(1));
        };
        let modem_events = |h: &NetworkBench| -> Vec<NetEvent> {
            h.log
                .iter()
                .filter_map(|(_, o)| match o {
                    NetOutput::Modem(event) => Some(event.clone()),
                    _ => None,
                })
                .collect()
        };
        assert!(!modem_events(&h).contains(&NetEvent::Connected { link: 0 }));
        h.host(conn, end.clone());
        h.run_for(secs(2));
        assert_eq!(
            modem_events(&h),
            vec![
                NetEvent::Connected { link: 0 },
                NetEvent::Closed { link: 0 }
            ],
            "{end:?}"
        );
    }
}

#[test]
fn udp_loss_is_seeded() {
    let lost = |seed| {
        let config = NetworkConfig {
            udp_loss_permille: 100,
            uplink_bytes_per_s: 0,
            ..NetworkConfig::default()
        };
        let mut h = NetworkBench::new(config, seed);
        h.connected(Transport::Udp);
        for _ in 0..10_000 {
            h.send(b"ping");
        }
        h.run_for(secs(10));
        let log = h.take();
        let arrived = host_data(&log).len();
        assert_eq!(
            delivered(&log).len(),
            10_000,
            "UDP reports every datagram sent"
        );
        10_000 - arrived
    };
    let first = lost(7);
    assert!(
        (900..1100).contains(&first),
        "10 % of 10,000 lost, got {first}"
    );
    assert_eq!(lost(7), first, "same seed, same losses");
    assert_ne!(lost(8), first);
}

#[test]
fn tcp_loss_shows_as_delay_and_loses_nothing() {
    // 30 % segment and acknowledgement loss: some sends wait for retransmissions (1 s,
    // doubling), every byte arrives once, in order, and is acknowledged.
    let config = NetworkConfig {
        tcp_loss_permille: 300,
        uplink_bytes_per_s: 0,
        latency: ms(100),
        ..NetworkConfig::default()
    };
    for seed in [3, 4, 5] {
        let mut h = NetworkBench::new(config.clone(), seed);
        h.connected(Transport::Tcp);
        let t0 = h.now;
        let mut sent = Vec::new();
        for i in 0..100u8 {
            h.send(&[i]);
            sent.push(i);
            h.run_for(ms(50));
        }
        h.run_for(secs(700));
        let log = h.take_since(t0);
        let arrived: Vec<u8> = host_data(&log).into_iter().flat_map(|(_, d)| d).collect();
        assert_eq!(arrived, sent, "seed {seed}");
        // Byte i was sent at i × 50 ms; how long each acknowledgement took for the newest
        // byte it covers.
        let mut acked = 0;
        let mut slowest = Duration::ZERO;
        for (at, len) in delivered(&log) {
            acked += len;
            slowest = slowest.max(at - ms(50) * (acked as u32 - 1));
        }
        assert_eq!(acked, 100, "seed {seed}");
        assert!(
            slowest >= secs(1),
            "seed {seed}: some waited for a retransmission ({slowest:?})"
        );
    }
}

/// The issue's example and its neighbours: data sent into a blackhole gets through at the
/// first retransmission after the blackhole ends (RTO 1 s after a 200 ms handshake, then
/// 2, 4, ... s), not at its end; beyond the give-up time (645 s) the device closes.
#[test]
fn a_blackhole_releases_data_at_the_next_retransmission() {
    // (blackhole, when the host has the data, or None: the device gives up at that time)
    let cases = [
        (secs(5), Some(ms(7_102))),     // retransmissions at 1, 3, 7 s
        (secs(30), Some(ms(31_102))),   // ..., 15, 31 s
        (secs(90), Some(ms(127_102))),  // ..., 63, 127 s: 37 s after it ended
        (secs(200), Some(ms(247_102))), // ..., 127, then RTO capped at 120 s: 247 s
        (secs(3600), None),
    ];
    for (duration, arrives) in cases {
        let mut h = NetworkBench::simple();
        let conn = h.connected(Transport::Tcp);
        let t0 = h.now;
        h.inject(Fault::Blackhole { duration });
        h.send(b"hb");
        h.run_for(secs(4000));
        let expected = match arrives {
            Some(at) => vec![
                (
                    at,
                    host(HostEvent::Data {
                        conn,
                        data: b"hb".to_vec(),
                    }),
                ),
                (at + ms(100), modem(NetEvent::Delivered { link: 0, len: 2 })),
            ],
            None => vec![(secs(645), modem(NetEvent::Closed { link: 0 }))],
        };
        assert_eq!(h.take_since(t0), expected, "{duration:?}");
    }
}

/// What the modem's settings (`AT+CIPCCFG`, `AT+TCPUSERPARAM`) do to the give-up time.
#[test]
fn the_device_gives_up_by_count_or_by_time() {
    let settings = |retransmissions, rto_max: Duration, give_up| TcpSettings {
        retransmissions,
        rto_max,
        give_up,
        ..sim800_tcp()
    };
    // (settings, when the modem hears Closed)
    let cases = [
        // SIM800 defaults: the 645 s give-up comes before the 12th retransmission.
        (sim800_tcp(), secs(645)),
        // AT+CIPCCFG=5,...: 1, 3, 7, 15, 31 s, the 6th timeout at 63 s.
        (settings(5, secs(120), secs(645)), secs(63)),
        // Luat's AT+TCPUSERPARAM=6,4,7200,16: 1, 3, 7, 15 s, then 16 s more.
        (settings(4, secs(16), secs(645)), secs(31)),
        // 8 retransmissions with a 16 s cap: 1, 3, 7, 15, 31, 47, 63, 79, then 95 s.
        (settings(8, secs(16), secs(645)), secs(95)),
        // The time bound alone.
        (settings(12, secs(120), secs(100)), secs(100)),
    ];
    for (tcp, closed) in cases {
        let mut h = NetworkBench::simple();
        h.tcp = tcp;
        h.connected(Transport::Tcp);
        let t0 = h.now;
        h.inject(Fault::Blackhole {
            duration: secs(3600),
        });
        h.send(b"x");
        h.run_for(secs(1000));
        assert_eq!(
            h.take_since(t0),
            vec![(closed, modem(NetEvent::Closed { link: 0 }))],
            "{tcp:?}"
        );
    }
}

/// Writes bigger than a segment arrive in pieces; writes that arrive close together can be
/// handed over together.
#[test]
fn segments_by_mss() {
    // (MSS, the host's writes, what the modem receives)
    let cases: &[(u16, &[usize], &[usize])] = &[
        (1460, &[3000], &[1460, 1460, 80]),
        (1460, &[1460], &[1460]),
        (536, &[1200], &[536, 536, 128]),
        (1360, &[1460, 100], &[1360, 100, 100]),
    ];
    for &(mss, writes, pieces) in cases {
        let mut h = NetworkBench::new(
            NetworkConfig {
                tcp_mss_bytes: mss,
                ..simple_config()
            },
            1,
        );
        let conn = h.connected(Transport::Tcp);
        let mut sent = Vec::new();
        for (i, &len) in writes.iter().enumerate() {
            let data = vec![b'a' + i as u8; len];
            sent.extend_from_slice(&data);
            h.host(conn, HostInput::Data(data));
        }
        h.run_for(secs(10));
        let log = h.take();
        assert_eq!(received_sizes(&log), pieces, "MSS {mss}, writes {writes:?}");
        assert_eq!(received_bytes(&log), sent);
    }
}

/// The device's stack hands over what arrived in batches of a seeded random wait (up to
/// `receive_coalescing_max`): two writes that arrive 1 ms apart are one `Received` for most
/// seeds; the same seed always batches the same way.
#[test]
fn close_writes_are_coalesced_by_seed() {
    let batches = |seed| {
        let config = NetworkConfig {
            receive_coalescing_max: ms(50),
            ..simple_config()
        };
        let mut h = NetworkBench::new(config, seed);
        let conn = h.connected(Transport::Tcp);
        h.host(conn, HostInput::Data(b"back 1".to_vec()));
        h.host(conn, HostInput::Data(b"back 2".to_vec()));
        h.run_for(secs(5));
        let log = h.take();
        assert_eq!(received_bytes(&log), b"back 1back 2");
        received_sizes(&log)
    };
    let all: Vec<Vec<usize>> = (0..40).map(batches).collect();
    let joined = all.iter().filter(|sizes| sizes.len() == 1).count();
    assert!(
        (30..40).contains(&joined),
        "joined in {joined} of 40 seeds (a 1 ms gap in a 0-50 ms wait)"
    );
    assert!(all.contains(&vec![6, 6]), "and apart in some");
    for seed in 0..40 {
        assert_eq!(batches(seed), all[seed as usize], "seed {seed}");
    }
}

/// A modem whose host does not read: the window closes and the host's sends stall (window
/// probes keep the connection up however long it lasts); nothing is lost, and reading lets
/// the rest through in order.
#[test]
fn a_host_that_does_not_read_stalls_the_sender() {
    let mut h = NetworkBench::simple();
    h.tcp.receive_window = 4000;
    let conn = h.connected(Transport::Tcp);
    h.reading = false;
    let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    h.host(conn, HostInput::Data(data.clone()));
    h.run_for(secs(3600));
    let stalled = h.take();
    assert_eq!(
        received_bytes(&stalled),
        data[..4000],
        "the window's worth, in order"
    );
    assert!(
        !stalled
            .iter()
            .any(|(_, o)| matches!(o, NetOutput::Host(HostEvent::Reset { .. }))),
        "answered window probes never give up"
    );
    // The host reads everything, a bit at a time.
    let mut got = received_bytes(&stalled);
    for _ in 0..20 {
        let unread = h.unread[&0];
        h.read(0, unread.min(1500));
        h.run_for(secs(200));
        got.extend(received_bytes(&h.take()));
    }
    assert_eq!(got, data);
}

/// `Delivered` is the host's cumulative acknowledgement moving on: the counts add up to
/// what was sent once it is all acknowledged, and no earlier.
#[test]
fn delivered_counts_what_the_host_acknowledged() {
    let mut h = NetworkBench::simple();
    h.connected(Transport::Tcp);
    let t0 = h.now;
    h.inject(Fault::Blackhole { duration: secs(2) });
    for size in [100, 1460, 1, 700] {
        h.send(&vec![b'x'; size]);
    }
    let mut acknowledged = 0;
    let mut seen = Vec::new();
    for step in [secs(1), secs(2), secs(3), secs(5), secs(10)] {
        h.run_to(t0 + step);
        acknowledged += delivered(&h.take()).iter().map(|(_, n)| n).sum::<usize>();
        seen.push(acknowledged);
    }
    // Nothing before the first retransmission after the blackhole (3 s), which carries a
    // segment's worth from the oldest byte (1460 of the 2261, acknowledged at 4.66 s); the
    // rest follows that acknowledgement (at 5.66 s).
    assert_eq!(seen, vec![0, 0, 0, 1460, 2261]);
}

#[test]
fn coverage_faults() {
    let lost = |fault: Fault, expected: Vec<(Duration, NetOutput)>| {
        let mut h = NetworkBench::simple();
        h.connected(Transport::Tcp);
        h.run_to(secs(10));
        h.inject(fault.clone());
        h.run_to(secs(200));
        assert_eq!(h.take(), expected, "{fault:?}");
    };
    // A lost cell keeps the PDP context: the modem decides (its profile's `pdp_hold`).
    lost(
        Fault::RegistrationLost { duration: secs(60) },
        vec![
            (secs(10), coverage(RegStat::NotRegistered)),
            (secs(70), coverage(RegStat::Home)),
        ],
    );
    lost(
        Fault::RegistrationDenied { duration: secs(5) },
        vec![
            (secs(10), coverage(RegStat::Denied)),
            (secs(10), modem(NetEvent::PdpDeactivated)),
            (secs(15), coverage(RegStat::Home)),
        ],
    );
    lost(
        Fault::Roaming { duration: secs(5) },
        vec![
            (secs(10), coverage(RegStat::Roaming)),
            (secs(15), coverage(RegStat::Home)),
        ],
    );
    lost(
        Fault::DataServiceLost { duration: secs(5) },
        vec![
            (
                secs(10),
                modem(NetEvent::Coverage(Coverage {
                    data: false,
                    ..Coverage::GOOD
                })),
            ),
            (secs(10), modem(NetEvent::PdpDeactivated)),
            (secs(15), coverage(RegStat::Home)),
        ],
    );
    lost(
        Fault::Signal { rssi: 5 },
        vec![(
            secs(10),
            modem(NetEvent::Coverage(Coverage {
                rssi: 5,
                ..Coverage::GOOD
            })),
        )],
    );
    lost(
        Fault::PdpDeact,
        vec![(secs(10), modem(NetEvent::PdpDeactivated))],
    );
}

/// Without the cell the device is unreachable but keeps its context: what it sends meanwhile
/// gets through at the first retransmission after the cell is back.
#[test]
fn data_stalls_while_the_cell_is_lost() {
    let mut h = NetworkBench::simple();
    let conn = h.connected(Transport::Tcp);
    let t0 = h.now;
    h.inject(Fault::RegistrationLost { duration: secs(20) });
    h.send(b"hb");
    h.host(conn, HostInput::Data(b"back".to_vec()));
    h.run_for(secs(60));
    let log = h.take_since(t0);
    // Retransmissions at 1, 3, 7, 15, 31 s; the host's (RTO 600 ms from its 200 ms
    // handshake sample: 0.6, 1.8, 4.2, 9, 18.6, 37.8 s), plus 2 ms on the air and 100 ms.
    assert_eq!(host_data(&log), vec![(ms(31_102), b"hb".to_vec())]);
    let at = log
        .iter()
        .find(|(_, o)| matches!(o, NetOutput::Modem(NetEvent::Received { .. })))
        .map(|(at, _)| *at);
    assert_eq!(at, Some(ms(37_902)));
    assert!(!log
        .iter()
        .any(|(_, o)| matches!(o, NetOutput::Modem(NetEvent::PdpDeactivated))));
}

#[test]
fn pdp_loss_makes_connections_half_open() {
    let mut h = NetworkBench::simple();
    let conn = h.connected(Transport::Tcp);
    h.inject(Fault::PdpDeact);
    h.take();
    let t0 = h.now;
    // The server does not know; its next send goes nowhere and it gives up at its
    // `host_tcp_give_up`.
    h.host(conn, HostInput::Data(b"hello?".to_vec()));
    h.run_for(secs(1000));
    assert_eq!(
        h.take_since(t0),
        vec![(ms(924_600), host(HostEvent::Reset { conn }))]
    );
}

#[test]
fn udp_is_lost_in_a_blackhole() {
    let mut h = NetworkBench::simple();
    h.connected(Transport::Udp);
    let t0 = h.now;
    h.inject(Fault::Blackhole { duration: secs(30) });
    h.send(b"hb");
    h.run_for(secs(100));
    // Sent (Delivered) but lost.
    assert_eq!(
        h.take_since(t0),
        vec![(ms(2), modem(NetEvent::Delivered { link: 0, len: 2 }))]
    );
}

#[test]
fn latency_spike() {
    let mut h = NetworkBench::simple();
    let conn = h.connected(Transport::Tcp);
    let t0 = h.now;
    h.inject(Fault::LatencySpike {
        extra: secs(2),
        duration: secs(10),
    });
    h.send(b"x");
    h.run_for(secs(20));
    h.send(b"y");
    h.run_for(secs(20));
    let arrivals: Vec<Duration> = host_data(&h.take_since(t0))
        .into_iter()
        .filter(|(_, d)| !d.is_empty())
        .map(|(at, _)| at)
        .collect();
    assert_eq!(arrivals, vec![ms(2_101), ms(20_101)], "{conn}");
}

#[test]
fn network_time() {
    let mut h = NetworkBench::simple();
    h.request(NetRequest::Time {
        server: "pool.ntp.org".into(),
    });
    assert_eq!(
        h.take(),
        vec![(Duration::ZERO, modem(NetEvent::Time { unix: None }))],
        "no PDP, no time"
    );
    h.request(NetRequest::ActivatePdp {
        apn: "CMIOT".into(),
    });
    h.run_to(secs(3600));
    h.take();
    h.request(NetRequest::Time {
        server: "pool.ntp.org".into(),
    });
    h.run_to(secs(3700));
    let unix = NetworkConfig::default().unix_time_at_start + 3600;
    assert_eq!(
        h.take(),
        vec![(ms(3_600_400), modem(NetEvent::Time { unix: Some(unix) }))]
    );
}

#[test]
fn config_json() {
    let config: NetworkConfig = serde_json::from_str(
        r#"{"latency":"250ms","host_tcp_give_up":"5m","dns":{"a.test":"192.0.2.1"}}"#,
    )
    .unwrap();
    assert_eq!(config.latency, ms(250));
    assert_eq!(config.host_tcp_give_up, secs(300));
    assert_eq!(config.dns["a.test"], Ipv4Addr::new(192, 0, 2, 1));
    let json = serde_json::to_value(NetworkConfig::default()).unwrap();
    assert_eq!(json["latency"], "150ms");
    assert_eq!(json["host_tcp_give_up"], "924600ms");
    assert_eq!(json["tcp_mss_bytes"], 1460);
}

/// Bad values are refused with an error that says what is wanted.
#[test]
fn config_refuses_bad_values() {
    let cases = [
        (r#"{"latency":"fast"}"#, "invalid duration \"fast\""),
        (r#"{"latency_ms":5}"#, "unknown field"),
        (
            r#"{"tcp_mss_bytes":0}"#,
            "expected a whole number from 1 to 65495",
        ),
        (
            r#"{"tcp_mss_bytes":70000}"#,
            "expected a whole number from 1 to 65495",
        ),
        (
            r#"{"tcp_loss_permille":1001}"#,
            "expected a whole number from 0 to 1000",
        ),
        (r#"{"udp_loss_permille":-1}"#, "invalid value: integer `-1`"),
        (
            r#"{"host_tcp_rto_min":"0s"}"#,
            "expected a duration of more than 0s",
        ),
        (
            r#"{"host_tcp_give_up":"0ms"}"#,
            "expected a duration of more than 0s",
        ),
        (
            r#"{"connect_timeout":"0s"}"#,
            "expected a duration of more than 0s",
        ),
        (
            r#"{"host_receive_window_bytes":0}"#,
            "expected a whole number from 1 to 1073741824",
        ),
        (
            r#"{"host_tcp_retransmissions":300}"#,
            "invalid value: integer `300`",
        ),
    ];
    for (json, message) in cases {
        let error = serde_json::from_str::<NetworkConfig>(json).unwrap_err();
        assert!(error.to_string().contains(message), "{json}: {error}");
    }
}
