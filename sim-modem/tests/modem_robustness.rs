//! The modem survives what a host or a network may throw at it: random bytes, overlong
//! lines, absurd parameters, floods, a host that never reads. Nothing panics, every buffer
//! stays bounded, and afterwards `AT` still gets `OK`.
//!
//! Randomness comes from a seeded generator; a failure names its seed. Regenerate the golden
//! file with `UPDATE_EXPECT=1 cargo test -p sim-modem --test modem_robustness`.

mod modem_harness;

use std::time::Duration;

use modem_harness::Op::*;
use modem_harness::*;
use protocol::types::LinkId;
use sim_modem::modem::{Buffer, Modem, ModemEvent};
use sim_modem::net::{Coverage, NetEvent, NetRequest, HTTP_LINK, NTP_LINK};

/// The links the modem's own services use (`AT+HTTPACTION`, `AT+CNTP`).
const SERVICE_LINKS: [LinkId; 2] = [HTTP_LINK, NTP_LINK];
use sim_modem::profile::Profile;

/// splitmix64: small, seeded, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

#[test]
fn absurd_parameters() {
    check_cases("robustness", ABSURD);
}

const ABSURD: &[Case] = &[Case {
    name: "absurd_parameters",
    profile: "sim800",
    ops: &[
        BOOT,
        ECHO_OFF,
        MULTI_MODE,
        BEARER_UP,
        CONNECT_0,
        &[
            Host("AT+CIPSEND=0,1000000000\r"),
            Wait(50),
            Host("AT+CIPSEND=0,65535\r"),
            Wait(50),
            Host("AT+CIPSEND=99,5\r"),
            Wait(50),
            Host("AT+CIPSEND=0,-1\r"),
            Wait(50),
            Host("AT+CIPRXGET=2,0,99999\r"),
            Wait(50),
            Host("AT+CIPSTART=1,\"TCP\",\"lab.example\",99999\r"),
            Wait(50),
            Host("AT+CIPSTART=1,\"SCTP\",\"lab.example\",1\r"),
            Wait(50),
            Host("AT+CIPSTART=1,\"TCP\",lab.example,1\r"),
            Wait(50),
            Host("AT+IPR=4294967296\r"),
            Wait(50),
            Host("AT+CFUN=1,1,1\r"),
            Wait(50),
            Host("AT+CCLK=\"99/99/99,99:99:99+99\"\r"),
            Wait(50),
            Host("AT+CMEE=18446744073709551616\r"),
            Wait(50),
            Host("AT+CSTT=\"unterminated\r"),
            Wait(50),
            Host("AT+CIPSEND=0,\"5\"\r"),
            Wait(50),
            Host("AT+++\r"),
            Wait(50),
            Host("AT\r"),
            Wait(50),
        ],
    ],
}];

/// A bench after boot with echo off.
fn booted() -> ModemBench {
    let mut b = ModemBench::new("sim800");
    b.log_events = false;
    b.run(BOOT);
    b.run(ECHO_OFF);
    b
}

/// Random bytes in random pieces at random times, then `AT` still gets `OK`.
#[test]
fn random_bytes_never_stop_the_modem() {
    for seed in 1..=64 {
        let mut rng = Rng(seed);
        let mut b = booted();
        for _ in 0..rng.below(40) + 1 {
            let len = rng.below(300) as usize + 1;
            let bytes = rng.bytes(len);
            b.host(&bytes);
            b.wait(rng.below(300));
        }
        // End whatever line the garbage left open, then ask.
        b.host(b"\r");
        b.wait(500);
        b.take_output();
        b.host(b"AT\r");
        b.wait(2000);
        let out = String::from_utf8_lossy(&b.take_output()).into_owned();
        assert!(
            out.ends_with("OK\r\n"),
            "seed {seed}: AT got {out:?}; transcript:\n{}",
            b.transcript()
        );
    }
}

/// Commands, fragments, data and network events in random order: the modem never panics,
/// never leaves a timer in the past, never asks about a link it does not have, keeps every
/// buffer bounded, and comes back from a reset answering `AT`.
#[test]
fn random_sessions_keep_the_modem_consistent() {
    let (mut connects, mut sends) = (0, 0);
    for seed in 1..=64 {
        let mut s = Session::new(seed);
        for step in 0..400 {
            s.step = step;
            s.random_action();
            s.check();
        }
        connects += s.connects;
        sends += s.sends;
        s.reset_and_ask();
    }
    // The walk must reach the interesting states, not only bounce off errors.
    assert!(
        connects > 100 && sends > 100,
        "{connects} connects, {sends} sends"
    );
}

/// Words a host may write, right or wrong for the state the modem is in.
const WORDS: &[&[u8]] = &[
    b"AT\r",
    b"ATE1\r",
    b"ATE0\r",
    b"AT+CMEE=2\r",
    b"AT+CIPMUX=1\r",
    b"AT+CIPSTATUS\r",
    b"AT+CIPSTATUS=0\r",
    b"AT+CIFSR;E0\r\n",
    b"AT+CIPSTART=3,\"UDP\",\"lab.example\",6500\r",
    b"AT+CIPSEND\r",
    b"AT+CIPSEND=0\r",
    b"AT+CIPQSEND=1\r",
    b"AT+CIPQSEND=0\r",
    b"AT+CIPRXGET=1\r",
    b"AT+CIPRXGET=2,0,100\r",
    b"AT+CIPRXGET=3,0,7\r",
    b"AT+CIPRXGET=4,0\r",
    b"AT+CIPHEAD=1\r",
    b"AT+CIPCLOSE=0\r",
    b"AT+CIPCLOSE\r",
    b"AT+CIPSHUT\r",
    b"AT+CGATT=0\r",
    b"AT+CGATT=1\r",
    b"AT+CGACT=1,1\r",
    b"AT+SAPBR=1,1\r",
    b"AT+SAPBR=0,1\r",
    b"AT+CFUN=0\r",
    b"AT+CFUN=4\r",
    b"AT+CFUN=1\r",
    b"AT+CNTPCID=1;+CNTP=\"pool.ntp.org\",32;+CNTP\r",
    b"AT+CREG=2;+CREG?\r",
    b"AT&K0\r",
    b"hello",
    b"\x1a",
    b"\x1b",
    b"\r\n",
    b"\x00\xff\xfe",
    b"AT+CIP",
];

/// A modem driven at random, with a network that answers everything at once.
struct Session {
    rng: Rng,
    modem: Modem,
    now: Duration,
    links: LinkId,
    cap: usize,
    seed: u64,
    step: usize,
    connects: usize,
    sends: usize,
    /// The link the network last connected.
    last_link: LinkId,
}

impl Session {
    fn new(seed: u64) -> Session {
        let profile = if seed % 2 == 0 {
            Profile::sim800()
        } else {
            Profile::air202()
        };
        let (links, cap) = (profile.link_count, profile.output_buffer);
        let mut modem = Modem::new(profile, Duration::ZERO);
        modem.handle_net(Duration::ZERO, NetEvent::Coverage(Coverage::GOOD));
        let mut s = Session {
            rng: Rng(seed),
            modem,
            now: Duration::ZERO,
            links,
            cap,
            seed,
            step: 0,
            connects: 0,
            sends: 0,
            last_link: 0,
        };
        s.pass(10_000);
        s
    }

    fn context(&self) -> String {
        format!("seed {}, step {}", self.seed, self.step)
    }

    fn write(&mut self, bytes: &[u8]) {
        self.modem.handle_uart(self.now, bytes);
        self.answer();
    }

    fn pass(&mut self, ms: u64) {
        self.now += Duration::from_millis(ms);
        self.modem.handle_timeout(self.now);
        self.answer();
    }

    fn random_action(&mut self) {
        match self.rng.below(12) {
            0..=3 => {
                let word = *self.rng.pick(WORDS);
                self.write(word);
            }
            4 => self.bring_up(),
            5 | 6 => self.send(),
            7 => self.network_event(),
            8 if self.rng.below(4) == 0 => self.fault(),
            _ => {
                let ms = self.rng.below(3000);
                self.pass(ms);
            }
        }
    }

    /// The usual bring-up, in one mode or the other.
    fn bring_up(&mut self) {
        let multi = self.rng.below(2) == 0;
        let mut lines: Vec<Vec<u8>> = vec![
            b"AT+CIPSHUT\r".to_vec(),
            format!("AT+CIPMUX={}\r", u8::from(multi)).into_bytes(),
            b"AT+CSTT=\"CMNET\"\r".to_vec(),
            b"AT+CIICR\r".to_vec(),
            b"AT+CIFSR\r".to_vec(),
        ];
        let link = self.rng.below(u64::from(self.links));
        lines.push(if multi {
            format!("AT+CIPSTART={link},\"TCP\",\"lab.example\",6500\r").into_bytes()
        } else {
            b"AT+CIPSTART=\"TCP\",\"lab.example\",6500\r".to_vec()
        });
        for line in lines {
            self.write(&line);
            self.pass(2000);
        }
    }

    /// A send in either form, with random bytes; sometimes cut short.
    fn send(&mut self) {
        let len = self.rng.below(1600) + 1;
        // Mostly a link that was opened, in the spelling of the current mode.
        let link = match self.rng.below(4) {
            0 => self.rng.below(u64::from(self.links)) as LinkId,
            _ => self.last_link,
        };
        let multi = self.modem.status().multi != (self.rng.below(8) == 0);
        let line = match (multi, self.rng.below(3)) {
            (true, 0) => format!("AT+CIPSEND={link}\r"),
            (true, _) => format!("AT+CIPSEND={link},{len}\r"),
            (false, 0) => "AT+CIPSEND\r".to_string(),
            (false, _) => format!("AT+CIPSEND={len}\r"),
        };
        self.write(line.as_bytes());
        let pause = self.rng.below(100);
        self.pass(pause);
        // Sometimes the host writes less than it announced.
        let cut = self.rng.below(len) + 1;
        let short = self.rng.below(4) == 0;
        let data = self.rng.bytes(if short { cut } else { len } as usize);
        self.write(&data);
        let pause = self.rng.below(500);
        self.pass(pause);
    }

    fn network_event(&mut self) {
        let link = self.rng.below(u64::from(self.links) + 1) as LinkId;
        let len = self.rng.below(4000) as usize;
        let event = match self.rng.below(6) {
            0 => NetEvent::Closed { link },
            1 => NetEvent::PdpDeactivated,
            2 => NetEvent::Coverage(if self.rng.below(2) == 0 {
                Coverage::GOOD
            } else {
                NO_COVERAGE
            }),
            3 => NetEvent::Delivered { link, len },
            _ => NetEvent::Received {
                link,
                data: self.rng.bytes(len),
            },
        };
        self.modem.handle_net(self.now, event);
        self.answer();
    }

    fn fault(&mut self) {
        match self.rng.below(20) {
            0 => self.modem.reboot(self.now),
            1 => self.modem.hang(self.now),
            2 => self.modem.brown_out(self.now),
            3 => self.modem.fail_next_sends(2),
            4 => self.modem.set_reset(self.now, true),
            5..=7 => self.modem.set_reset(self.now, false),
            8 => self.modem.set_power_key(self.now, true),
            9..=11 => self.modem.set_power_key(self.now, false),
            _ => {}
        }
        self.answer();
    }

    /// The network answers what the modem asked, at once.
    fn answer(&mut self) {
        while let Some(request) = self.modem.poll_request() {
            let event = match request {
                NetRequest::ActivatePdp { .. } => {
                    Some(NetEvent::PdpActivated { ip: [10, 0, 0, 1] })
                }
                NetRequest::Connect { link, .. } => {
                    assert!(
                        link < self.links || SERVICE_LINKS.contains(&link),
                        "{}: connect on link {link}",
                        self.context()
                    );
                    self.connects += 1;
                    self.last_link = link;
                    Some(NetEvent::Connected { link })
                }
                NetRequest::Send { link, data } => {
                    let ok = link < self.links || SERVICE_LINKS.contains(&link);
                    assert!(ok, "{}: send on link {link}", self.context());
                    assert!(
                        data.len() <= 1460,
                        "{}: {} bytes",
                        self.context(),
                        data.len()
                    );
                    self.sends += 1;
                    Some(NetEvent::Delivered {
                        link,
                        len: data.len(),
                    })
                }
                NetRequest::Time { .. } => Some(NetEvent::Time { unix: Some(1) }),
                NetRequest::Resolve { name } => Some(NetEvent::Resolved {
                    name,
                    ip: Some([10, 0, 0, 1]),
                }),
                NetRequest::Close { link } => {
                    let ok = link < self.links || SERVICE_LINKS.contains(&link);
                    assert!(ok, "{}: close link {link}", self.context());
                    None
                }
                NetRequest::SendSms { .. } => Some(NetEvent::SmsSent { result: Ok(()) }),
                NetRequest::DeactivatePdp | NetRequest::Consumed { .. } => None,
            };
            if let Some(event) = event {
                self.modem.handle_net(self.now, event);
            }
        }
    }

    fn check(&mut self) {
        if let Some(at) = self.modem.poll_timeout() {
            assert!(
                at > self.now,
                "{}: a timer at {at:?} left behind at {:?}",
                self.context(),
                self.now
            );
        }
        while self.modem.poll_event().is_some() {}
        let mut out = Vec::new();
        self.modem.drain_uart(&mut out);
        assert!(
            out.len() <= self.cap,
            "{}: {} bytes out",
            self.context(),
            out.len()
        );
        let status = self.modem.status();
        assert_eq!(
            status.links.len(),
            usize::from(self.links),
            "{}",
            self.context()
        );
        assert!(
            status.links.iter().all(|l| l.rx_waiting <= 10220),
            "{}",
            self.context()
        );
    }

    /// Whatever state it is in, a reset brings it back.
    fn reset_and_ask(&mut self) {
        self.modem.set_reset(self.now, true);
        self.modem.set_reset(self.now, false);
        self.modem.set_power_key(self.now, false);
        self.pass(10_000);
        let mut out = Vec::new();
        self.modem.drain_uart(&mut out);
        out.clear();
        self.write(b"\rAT\r");
        self.pass(1000);
        self.modem.drain_uart(&mut out);
        let text = String::from_utf8_lossy(&out);
        assert!(text.ends_with("\r\nOK\r\n"), "seed {}: {text:?}", self.seed);
    }
}

/// A host that never reads: the modem keeps at most its output buffer and says what it
/// dropped.
#[test]
fn a_host_that_never_reads_costs_bounded_memory() {
    let profile = Profile::sim800();
    let cap = profile.output_buffer;
    let mut modem = Modem::new(profile, Duration::ZERO);
    modem.handle_net(Duration::ZERO, NetEvent::Coverage(Coverage::GOOD));
    let mut now = Duration::from_secs(10);
    modem.handle_timeout(now);
    let lines: &[&[u8]] = &[
        b"AT+CIPMUX=1\r",
        b"AT+CSTT=\"CMNET\"\r",
        b"AT+CIICR\r",
        b"AT+CIFSR\r",
        b"AT+CIPSTART=0,\"TCP\",\"lab.example\",6500\r",
    ];
    for line in lines {
        modem.handle_uart(now, line);
        while let Some(request) = modem.poll_request() {
            match request {
                NetRequest::ActivatePdp { .. } => {
                    modem.handle_net(now, NetEvent::PdpActivated { ip: [10, 0, 0, 1] })
                }
                NetRequest::Connect { link, .. } => {
                    modem.handle_net(now, NetEvent::Connected { link })
                }
                _ => {}
            }
        }
        now += Duration::from_secs(3);
        modem.handle_timeout(now);
    }
    for _ in 0..1000 {
        modem.handle_net(
            now,
            NetEvent::Received {
                link: 0,
                data: vec![b'x'; 1460],
            },
        );
    }
    let mut dropped = 0;
    while let Some(event) = modem.poll_event() {
        if let ModemEvent::Dropped {
            buffer: Buffer::Output,
            amount,
        } = event
        {
            dropped += amount;
        }
    }
    let mut out = Vec::new();
    modem.drain_uart(&mut out);
    assert!(out.len() <= cap, "{} bytes kept", out.len());
    assert!(dropped > 1_000_000, "{dropped} bytes reported dropped");
    // Once read, it talks again.
    out.clear();
    modem.handle_uart(now, b"AT\r");
    modem.handle_timeout(now + Duration::from_secs(1));
    modem.drain_uart(&mut out);
    assert!(String::from_utf8_lossy(&out).ends_with("\r\nOK\r\n"));
}

/// A host that writes while a command runs: held input is bounded.
#[test]
fn input_while_busy_is_bounded() {
    let mut b = ModemBench::new("sim800");
    b.log_events = true;
    b.run(BOOT);
    b.run(ECHO_OFF);
    b.net.pdp = None;
    b.host(b"AT+CSTT=\"CMNET\"\r");
    b.wait(50);
    b.host(b"AT+CIICR\r");
    b.wait(50);
    b.take_output();
    for _ in 0..100 {
        b.modem.handle_uart(b.now, &[b'A'; 1000]);
    }
    let mut dropped = 0;
    while let Some(event) = b.modem.poll_event() {
        if let ModemEvent::Dropped {
            buffer: Buffer::Input,
            amount,
        } = event
        {
            dropped += amount;
        }
    }
    assert_eq!(dropped, 100_000 - Profile::sim800().input_buffer);
    // CIICR gives up at 85 s, the held bytes are read (a line of noise, no terminator yet).
    b.wait(90_000);
    b.host(b"\rAT\r");
    b.wait(100);
    assert!(String::from_utf8_lossy(&b.take_output()).ends_with("\r\nOK\r\n"));
}
