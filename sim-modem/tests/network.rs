//! The simulated network alone: timing, loss, DNS, PDP and coverage, with a tiny host side
//! that accepts connections to the lab address and refuses other ports there.

use std::net::Ipv4Addr;
use std::time::Duration;

use pretty_assertions::assert_eq;
use protocol::types::{RegStat, Transport};
use sim_modem::fault::Fault;
use sim_modem::net::{ConnectError, Coverage, NetEvent, NetRequest};
use sim_modem::network::{ConnId, HostEvent, HostInput, NetOutput, Network, NetworkConfig};

const LAB: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);
const PORT: u16 = 6500;

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// A network plus a host side, with a log of every output and when it came out.
struct NetworkBench {
    net: Network,
    now: Duration,
    log: Vec<(u64, NetOutput)>,
}

impl NetworkBench {
    fn new(config: NetworkConfig, seed: u64) -> NetworkBench {
        let mut net = Network::new(config, seed);
        net.add_dns("lab.longlink.test", LAB);
        let mut bench = NetworkBench {
            net,
            now: Duration::ZERO,
            log: Vec::new(),
        };
        bench.settle();
        bench.log.clear(); // the first coverage report
        bench
    }

    /// The default network with round numbers: 100 ms latency, 1000 B/s up, 2000 B/s down.
    fn simple() -> NetworkBench {
        NetworkBench::new(
            NetworkConfig {
                latency: ms(100),
                uplink_bytes_per_s: 1000,
                downlink_bytes_per_s: 2000,
                dns_delay: ms(200),
                pdp_activation: ms(1000),
                ..NetworkConfig::default()
            },
            1,
        )
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

    /// Runs virtual time forward to `until` (ms), event by event.
    fn run_to(&mut self, until: u64) {
        let until = ms(until);
        while let Some(at) = self.net.poll_timeout().filter(|&at| at <= until) {
            self.now = at;
            self.net.handle_timeout(at);
            self.settle();
        }
        self.now = until;
    }

    fn settle(&mut self) {
        while let Some(output) = self.net.poll_output() {
            if let NetOutput::Host(HostEvent::Connect {
                conn,
                ip: Some(ip),
                port,
                ..
            }) = &output
            {
                let answer = match (*ip == LAB, *port == PORT) {
                    (true, true) => Some(HostInput::Accepted),
                    (true, false) => Some(HostInput::Refused(ConnectError::Refused)),
                    _ => None, // nobody there: silence
                };
                let conn = *conn;
                self.log.push((self.now.as_millis() as u64, output));
                if let Some(answer) = answer {
                    self.net.handle_host(self.now, conn, answer);
                }
                continue;
            }
            self.log.push((self.now.as_millis() as u64, output));
        }
    }

    fn take(&mut self) -> Vec<(u64, NetOutput)> {
        std::mem::take(&mut self.log)
    }

    /// Activates PDP and connects link 0 to the lab over `transport`; returns its conn id.
    fn connected(&mut self, transport: Transport) -> ConnId {
        self.request(NetRequest::ActivatePdp {
            apn: "CMIOT".into(),
        });
        self.run_to(self.now.as_millis() as u64 + 5000);
        let host = "lab.longlink.test".to_string();
        self.request(NetRequest::Connect {
            link: 0,
            transport,
            host,
            port: PORT,
        });
        self.run_to(self.now.as_millis() as u64 + 10_000);
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
    h.run_to(1000);
    let host_name = "lab.longlink.test".to_string();
    h.request(NetRequest::Connect {
        link: 0,
        transport: Transport::Tcp,
        host: host_name.clone(),
        port: PORT,
    });
    h.run_to(100_000);
    let from = "10.68.27.49:40000".parse().unwrap();
    assert_eq!(
        h.take(),
        vec![
            (
                1000,
                modem(NetEvent::PdpActivated {
                    ip: [10, 68, 27, 49]
                })
            ),
            // DNS 200 ms, SYN 100 ms, SYN-ACK 100 ms.
            (
                1300,
                host(HostEvent::Connect {
                    conn: 1,
                    transport: Transport::Tcp,
                    host: host_name,
                    ip: Some(LAB),
                    port: PORT,
                    from
                })
            ),
            (1400, modem(NetEvent::Connected { link: 0 })),
        ]
    );
}

#[test]
fn connect_failures() {
    // (host, port, when the modem hears, what)
    let cases = [
        ("nowhere.example", PORT, 1200, ConnectError::Dns),
        ("203.0.113.10", 80, 1200, ConnectError::Refused), // RST after a round trip
        ("198.51.100.7", PORT, 1000 + 75_000, ConnectError::Refused), // silence: timeout
    ];
    for (name, port, at, error) in cases {
        let mut h = NetworkBench::simple();
        h.request(NetRequest::ActivatePdp {
            apn: "CMIOT".into(),
        });
        h.run_to(1000);
        h.take();
        let request = NetRequest::Connect {
            link: 2,
            transport: Transport::Tcp,
            host: name.into(),
            port,
        };
        h.request(request);
        h.run_to(200_000);
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
    let host = "lab.longlink.test".to_string();
    h.request(NetRequest::Connect {
        link: 0,
        transport: Transport::Tcp,
        host,
        port: PORT,
    });
    let error = ConnectError::NoNetwork;
    assert_eq!(
        h.take(),
        vec![(0, modem(NetEvent::ConnectFailed { link: 0, error }))]
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
        h.run_to(60_000);
        assert_eq!(h.take(), vec![(1500, modem(answer.clone()))], "{apn}");
    }
}

#[test]
fn delivery_latency_and_bandwidth() {
    let mut h = NetworkBench::simple();
    let conn = h.connected(Transport::Tcp);
    let t0 = h.now.as_millis() as u64;
    // Two sends back to back share the 1000 B/s uplink: 500 B takes 500 ms, 200 B 200 ms.
    h.request(NetRequest::Send {
        link: 0,
        data: vec![b'a'; 500],
    });
    h.request(NetRequest::Send {
        link: 0,
        data: vec![b'b'; 200],
    });
    // 1000 B down at 2000 B/s: 500 ms, then 100 ms latency.
    h.host(conn, HostInput::Data(vec![b'c'; 1000]));
    h.run_to(t0 + 10_000);
    assert_eq!(
        h.take(),
        vec![
            (
                t0 + 600,
                host(HostEvent::Data {
                    conn,
                    data: vec![b'a'; 500]
                })
            ),
            (
                t0 + 600,
                modem(NetEvent::Received {
                    link: 0,
                    data: vec![b'c'; 1000]
                })
            ),
            (t0 + 700, modem(NetEvent::Delivered { link: 0, len: 500 })),
            (
                t0 + 800,
                host(HostEvent::Data {
                    conn,
                    data: vec![b'b'; 200]
                })
            ),
            (t0 + 900, modem(NetEvent::Delivered { link: 0, len: 200 })),
        ]
    );
}

#[test]
fn close_from_either_side() {
    let mut h = NetworkBench::simple();
    let conn = h.connected(Transport::Tcp);
    let t0 = h.now.as_millis() as u64;
    h.host(conn, HostInput::Close);
    h.run_to(t0 + 1000);
    assert_eq!(
        h.take(),
        vec![(t0 + 100, modem(NetEvent::Closed { link: 0 }))]
    );

    let conn = h.connected(Transport::Tcp);
    let t0 = h.now.as_millis() as u64;
    h.request(NetRequest::Send {
        link: 0,
        data: b"bye".to_vec(),
    });
    h.request(NetRequest::Close { link: 0 });
    h.run_to(t0 + 1000);
    // The FIN follows the data; the data's acknowledgement no longer reaches a closed link.
    assert_eq!(
        h.take(),
        vec![
            (
                t0 + 103,
                host(HostEvent::Data {
                    conn,
                    data: b"bye".to_vec()
                })
            ),
            (t0 + 103, host(HostEvent::Close { conn })),
        ]
    );
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
            h.request(NetRequest::Send {
                link: 0,
                data: b"ping".to_vec(),
            });
        }
        h.run_to(h.now.as_millis() as u64 + 10_000);
        let log = h.take();
        let arrived = log
            .iter()
            .filter(|(_, o)| matches!(o, NetOutput::Host(HostEvent::Data { .. })))
            .count();
        let delivered = log
            .iter()
            .filter(|(_, o)| matches!(o, NetOutput::Modem(NetEvent::Delivered { .. })))
            .count();
        assert_eq!(delivered, 10_000, "UDP reports every datagram sent");
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
fn tcp_loss_shows_as_delay_then_closes() {
    // 30 % segment loss: some sends take retransmissions (1 s, 2 s, ...) but all arrive.
    let config = NetworkConfig {
        tcp_loss_permille: 300,
        uplink_bytes_per_s: 0,
        latency: ms(100),
        ..NetworkConfig::default()
    };
    let mut h = NetworkBench::new(config.clone(), 3);
    h.connected(Transport::Tcp);
    let t0 = h.now;
    for _ in 0..100 {
        h.request(NetRequest::Send {
            link: 0,
            data: b"x".to_vec(),
        });
    }
    h.run_to(h.now.as_millis() as u64 + 700_000);
    let acks: Vec<Duration> = h
        .take()
        .into_iter()
        .filter(|(_, o)| matches!(o, NetOutput::Modem(NetEvent::Delivered { .. })))
        .map(|(at, _)| ms(at) - t0)
        .collect();
    assert_eq!(acks.len(), 100);
    assert!(acks.iter().all(|&d| d >= ms(200)));
    assert!(acks.iter().any(|&d| d >= ms(1200)), "some retransmitted");

    // 100 % loss: the device gives up after tcp_give_up and the modem hears Closed.
    let mut h = NetworkBench::new(
        NetworkConfig {
            tcp_loss_permille: 1000,
            ..config
        },
        3,
    );
    h.connected(Transport::Tcp);
    let t0 = h.now.as_millis() as u64;
    h.request(NetRequest::Send {
        link: 0,
        data: b"x".to_vec(),
    });
    h.run_to(t0 + 700_000);
    assert_eq!(
        h.take(),
        vec![(t0 + 645_000, modem(NetEvent::Closed { link: 0 }))]
    );
}

#[test]
fn coverage_faults() {
    let lost = |fault: Fault, expected: Vec<(u64, NetOutput)>| {
        let mut h = NetworkBench::simple();
        h.connected(Transport::Tcp);
        h.run_to(10_000);
        h.inject(fault.clone());
        h.run_to(200_000);
        assert_eq!(h.take(), expected, "{fault:?}");
    };
    lost(
        Fault::RegistrationLost {
            duration: ms(60_000),
        },
        vec![
            (10_000, coverage(RegStat::NotRegistered)),
            (10_000, modem(NetEvent::PdpDeactivated)),
            (70_000, coverage(RegStat::Home)),
        ],
    );
    lost(
        Fault::RegistrationDenied {
            duration: ms(5_000),
        },
        vec![
            (10_000, coverage(RegStat::Denied)),
            (10_000, modem(NetEvent::PdpDeactivated)),
            (15_000, coverage(RegStat::Home)),
        ],
    );
    lost(
        Fault::Roaming {
            duration: ms(5_000),
        },
        vec![
            (10_000, coverage(RegStat::Roaming)),
            (15_000, coverage(RegStat::Home)),
        ],
    );
    lost(
        Fault::DataServiceLost {
            duration: ms(5_000),
        },
        vec![
            (
                10_000,
                modem(NetEvent::Coverage(Coverage {
                    data: false,
                    ..Coverage::GOOD
                })),
            ),
            (10_000, modem(NetEvent::PdpDeactivated)),
            (15_000, coverage(RegStat::Home)),
        ],
    );
    lost(
        Fault::Signal { rssi: 5 },
        vec![(
            10_000,
            modem(NetEvent::Coverage(Coverage {
                rssi: 5,
                ..Coverage::GOOD
            })),
        )],
    );
    lost(
        Fault::PdpDeact,
        vec![(10_000, modem(NetEvent::PdpDeactivated))],
    );
}

#[test]
fn pdp_loss_makes_connections_half_open() {
    let mut h = NetworkBench::simple();
    let conn = h.connected(Transport::Tcp);
    h.inject(Fault::PdpDeact);
    h.take();
    let t0 = h.now.as_millis() as u64;
    // The server does not know; its next send goes nowhere and it gives up.
    h.host(conn, HostInput::Data(b"hello?".to_vec()));
    h.run_to(t0 + 700_000);
    assert_eq!(
        h.take(),
        vec![(t0 + 645_000, host(HostEvent::Reset { conn }))]
    );
}

#[test]
fn blackhole_holds_tcp_and_loses_udp() {
    // A 30 s blackhole: TCP data waits and arrives after it.
    let mut h = NetworkBench::simple();
    let conn = h.connected(Transport::Tcp);
    let t0 = h.now.as_millis() as u64;
    h.inject(Fault::Blackhole {
        duration: ms(30_000),
    });
    h.request(NetRequest::Send {
        link: 0,
        data: b"hb".to_vec(),
    });
    h.run_to(t0 + 100_000);
    assert_eq!(
        h.take(),
        vec![
            (
                t0 + 30_102,
                host(HostEvent::Data {
                    conn,
                    data: b"hb".to_vec()
                })
            ),
            (t0 + 30_202, modem(NetEvent::Delivered { link: 0, len: 2 })),
        ]
    );

    // Longer than the give-up time: the device closes, the server never hears.
    let mut h = NetworkBench::simple();
    h.connected(Transport::Tcp);
    let t0 = h.now.as_millis() as u64;
    h.inject(Fault::Blackhole {
        duration: ms(3_600_000),
    });
    h.request(NetRequest::Send {
        link: 0,
        data: b"hb".to_vec(),
    });
    h.run_to(t0 + 4_000_000);
    assert_eq!(
        h.take(),
        vec![(t0 + 645_000, modem(NetEvent::Closed { link: 0 }))]
    );

    // UDP: sent (Delivered) but lost.
    let mut h = NetworkBench::simple();
    h.connected(Transport::Udp);
    let t0 = h.now.as_millis() as u64;
    h.inject(Fault::Blackhole {
        duration: ms(30_000),
    });
    h.request(NetRequest::Send {
        link: 0,
        data: b"hb".to_vec(),
    });
    h.run_to(t0 + 100_000);
    assert_eq!(
        h.take(),
        vec![(t0 + 2, modem(NetEvent::Delivered { link: 0, len: 2 }))]
    );
}

#[test]
fn latency_spike() {
    let mut h = NetworkBench::simple();
    let conn = h.connected(Transport::Tcp);
    let t0 = h.now.as_millis() as u64;
    h.inject(Fault::LatencySpike {
        extra: ms(2_000),
        duration: ms(10_000),
    });
    h.request(NetRequest::Send {
        link: 0,
        data: b"x".to_vec(),
    });
    h.run_to(t0 + 20_000);
    h.request(NetRequest::Send {
        link: 0,
        data: b"y".to_vec(),
    });
    h.run_to(t0 + 40_000);
    let host_data: Vec<u64> = h
        .take()
        .into_iter()
        .filter(
            |(_, o)| matches!(o, NetOutput::Host(HostEvent::Data { conn: c, .. }) if *c == conn),
        )
        .map(|(at, _)| at - t0)
        .collect();
    assert_eq!(host_data, vec![2_101, 20_101]);
}

#[test]
fn network_time() {
    let mut h = NetworkBench::simple();
    h.request(NetRequest::Time {
        server: "pool.ntp.org".into(),
    });
    assert_eq!(
        h.take(),
        vec![(0, modem(NetEvent::Time { unix: None }))],
        "no PDP, no time"
    );
    h.request(NetRequest::ActivatePdp {
        apn: "CMIOT".into(),
    });
    h.run_to(3_600_000);
    h.take();
    h.request(NetRequest::Time {
        server: "pool.ntp.org".into(),
    });
    h.run_to(3_700_000);
    let unix = NetworkConfig::default().unix_time_at_start + 3600;
    assert_eq!(
        h.take(),
        vec![(3_600_400, modem(NetEvent::Time { unix: Some(unix) }))]
    );
}

#[test]
fn config_json() {
    let config: NetworkConfig = serde_json::from_str(
        r#"{"latency":"250ms","tcp_give_up":"5m","dns":{"a.test":"192.0.2.1"}}"#,
    )
    .unwrap();
    assert_eq!(config.latency, ms(250));
    assert_eq!(config.tcp_give_up, Duration::from_secs(300));
    assert_eq!(config.dns["a.test"], Ipv4Addr::new(192, 0, 2, 1));
    let json = serde_json::to_value(NetworkConfig::default()).unwrap();
    assert_eq!(json["latency"], "150ms");
    assert_eq!(json["tcp_give_up"], "645s");
    let error = serde_json::from_str::<NetworkConfig>(r#"{"latency":"fast"}"#).unwrap_err();
    assert!(
        error.to_string().contains("invalid duration \"fast\""),
        "{error}"
    );
    let error = serde_json::from_str::<NetworkConfig>(r#"{"latency_ms":5}"#).unwrap_err();
    assert!(error.to_string().contains("unknown field"), "{error}");
}
