//! The response decoder on a generated day of a long-link session.
//!
//! `benches/data/modem-stream.bin` is what a SIM800 in multi-link mode (`AT+CIPMUX=1`,
//! `AT+CIPHEAD=1`) sends its host over one simulated day: boot URCs, the Luat-style bring-up,
//! `CIPSTATUS` answers with six `C:` lines, a heartbeat sent every 10 s (`> ` then `SEND OK` or
//! `DATA ACCEPT`), `CSQ` and `CREG?` every minute (sometimes with a URC inside the answer),
//! server messages as `+RECEIVE` with binary payloads up to 1460 bytes, peer closes, lost PDP
//! contexts, registration losses and reconnects, and a little line noise. Raw modem bytes
//! only, so other decoders (e.g. `atat`'s ingress) can be measured on the same input.
//!
//! `benches/data/modem-stream.cmds` is its sidecar: one line per command the host sent,
//! `<offset>\t<command>`, where offset is the number of stream bytes the host had read when it
//! sent the command.
//!
//! Run: `cargo bench -p protocol --bench decoder`. It prints bytes/s and events/s for three
//! passes: nothing pending (every line a URC) fed all at once, the same in 64-byte chunks (a
//! UART DMA buffer), and with the sidecar's commands started at their offsets.
//!
//! Both files are made by [`generate`], a hand-written model of such a session with its own
//! seeded random numbers, not recorded from a modem. They are the benchmark's input, not a
//! golden file (nothing is compared with them), so they are not rewritten by `UPDATE_EXPECT`;
//! after a change to `generate`, regenerate both (deterministic, seeded):
//! `LONGLINK_REGEN_STREAM=1 cargo bench -p protocol --bench decoder`.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // a benchmark measures wall time (clippy.toml)

use std::hint::black_box;
use std::time::{Duration, Instant};

use protocol::command::Name;
use protocol::response::{ConnectResult, ConnectionLine, Decoder, Event, Location, Response};
use protocol::types::{ClientState, IpState, RegStat, SimState, Transport};
use protocol::Command;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/data/modem-stream.bin");
const CMDS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/benches/data/modem-stream.cmds"
);
const LINKS: u8 = 6;

fn main() {
    if std::env::var_os("LONGLINK_REGEN_STREAM").is_some() {
        let (stream, cmds) = generate(0x1046_114b);
        std::fs::create_dir_all(std::path::Path::new(DATA).parent().unwrap()).unwrap();
        std::fs::write(DATA, &stream).unwrap();
        std::fs::write(CMDS, cmds).unwrap();
        println!("wrote {DATA} ({} bytes) and {CMDS}", stream.len());
    }
    let stream = std::fs::read(DATA).expect("run with LONGLINK_REGEN_STREAM=1 to create it");
    let cmds = std::fs::read_to_string(CMDS).unwrap();
    let cmds: Vec<(usize, Command<'static>)> = cmds
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let (offset, text) = l.split_once('\t').unwrap();
            (offset.parse().unwrap(), command(text))
        })
        .collect();
    println!(
        "{}: {:.2} MB, {} host commands",
        DATA.rsplit('/').next().unwrap(),
        stream.len() as f64 / 1e6,
        cmds.len()
    );

    report("nothing pending, all at once", &stream, || {
        pass(&stream, &[], usize::MAX)
    });
    report("nothing pending, 64-byte chunks", &stream, || {
        pass(&stream, &[], 64)
    });
    report("commands started, all at once", &stream, || {
        pass(&stream, &cmds, usize::MAX)
    });

    let counts = pass(&stream, &cmds, usize::MAX);
    println!(
        "with commands: {} echo, {} info, {} final, {} urc, {} errors ({} commands)",
        counts.echo,
        counts.info,
        counts.fin,
        counts.urc,
        counts.errors,
        cmds.len()
    );
}

#[derive(Default, Debug, PartialEq)]
struct Counts {
    echo: usize,
    info: usize,
    fin: usize,
    urc: usize,
    errors: usize,
}

impl Counts {
    fn events(&self) -> usize {
        self.echo + self.info + self.fin + self.urc + self.errors
    }
}

/// Decodes the whole stream in `chunk`-byte pieces, starting each command at its offset.
fn pass(stream: &[u8], cmds: &[(usize, Command<'static>)], chunk: usize) -> Counts {
    let mut decoder = Decoder::<1600>::new();
    decoder.set_connection_lines(LINKS);
    let mut counts = Counts::default();
    let mut next = cmds.iter().peekable();
    let mut at = 0;
    while at < stream.len() {
        while let Some((_, command)) = next.next_if(|(offset, _)| *offset <= at) {
            decoder.start(command);
        }
        let until = next.peek().map_or(stream.len(), |(offset, _)| *offset);
        let end = until
            .min(at.saturating_add(chunk))
            .min(stream.len())
            .max(at + 1);
        let mut input = &stream[at..end];
        while !input.is_empty() {
            let (used, event) = decoder.feed(input);
            match event {
                None => {}
                Some(Ok(Event::Echo(_))) => counts.echo += 1,
                Some(Ok(Event::Info(r))) => {
                    black_box(r);
                    counts.info += 1
                }
                Some(Ok(Event::Final(r))) => {
                    black_box(r);
                    counts.fin += 1
                }
                Some(Ok(Event::Urc(r))) => {
                    black_box(r);
                    counts.urc += 1
                }
                Some(Err(_)) => counts.errors += 1,
            }
            input = &input[used..];
        }
        at = end;
    }
    counts
}

/// Runs `f` for about a second and prints the median pass.
fn report(name: &str, stream: &[u8], mut f: impl FnMut() -> Counts) {
    let mut times = vec![];
    let mut events = 0;
    let start = Instant::now();
    while times.len() < 5 || start.elapsed() < Duration::from_secs(1) {
        let t = Instant::now();
        events = black_box(f()).events();
        times.push(t.elapsed());
    }
    times.sort();
    let median = times[times.len() / 2].as_secs_f64();
    println!(
        "{name:32} {:8.3} ms/pass  {:8.1} MB/s  {:7.2} M events/s  ({events} events, {} passes)",
        median * 1e3,
        stream.len() as f64 / median / 1e6,
        events as f64 / median / 1e6,
        times.len()
    );
}

/// The sidecar's command texts.
fn command(text: &str) -> Command<'static> {
    match text {
        "ATE0" => Command::Echo(false),
        "AT+CMEE=0" => Command::Cmee(0),
        "AT+CREG=2" => Command::Creg(2),
        "AT+CREG?" => Command::Read(Name::Creg),
        "AT+CSQ" => Command::Exec(Name::Csq),
        "AT+CGSN" => Command::Exec(Name::Cgsn),
        "AT+CPIN?" => Command::Read(Name::Cpin),
        "AT+CIPMUX=1" => Command::Cipmux(true),
        "AT+CIPHEAD=1" => Command::Ciphead(true),
        "AT+CIPQSEND=0" => Command::Cipqsend(0),
        "AT+CIPQSEND=1" => Command::Cipqsend(1),
        "AT+CGATT?" => Command::Read(Name::Cgatt),
        "AT+CIPSTATUS" => Command::Exec(Name::Cipstatus),
        "AT+CSTT=\"CMIOT\"" => Command::Cstt {
            apn: "CMIOT",
            user: None,
            pwd: None,
        },
        "AT+CIICR" => Command::Exec(Name::Ciicr),
        "AT+CIFSR" => Command::Exec(Name::Cifsr),
        "AT+CIPSHUT" => Command::Exec(Name::Cipshut),
        "AT+CIPCLOSE=0" => Command::Cipclose {
            link: Some(0),
            quick: None,
        },
        "AT+CIPSTART=0,\"TCP\",\"36.7.87.100\",6500" => Command::Cipstart {
            link: Some(0),
            transport: Transport::Tcp,
            host: "36.7.87.100",
            port: 6500,
        },
        _ => match text.strip_prefix("AT+CIPSEND=0,") {
            Some(len) => Command::Cipsend {
                link: Some(0),
                len: Some(len.parse().unwrap()),
            },
            None => panic!("unknown command in the sidecar: {text}"),
        },
    }
}

// ---- The generator -------------------------------------------------------------------------

/// What the modem sends over a day, and when the host sent its commands.
struct Session {
    out: Vec<u8>,
    cmds: String,
    rng: u64,
    /// Send result: `DATA ACCEPT` with `AT+CIPQSEND=1`, else `SEND OK`.
    quick: bool,
}

impl Session {
    /// splitmix64.
    fn next(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }

    fn modem(&mut self, r: Response<'_>) {
        let mut buf = [0; 1600];
        let len = r.encode(&mut buf).unwrap();
        self.out.extend_from_slice(&buf[..len]);
    }

    fn host(&mut self, text: &str) {
        self.cmds.push_str(&format!("{}\t{text}\n", self.out.len()));
    }

    /// A command and its whole answer.
    fn ask(&mut self, text: &str, answer: &[Response<'_>]) {
        self.host(text);
        for r in answer {
            self.modem(*r);
        }
    }

    fn cipstatus(&mut self, state: IpState, link0: Option<ClientState>) {
        self.host("AT+CIPSTATUS");
        self.modem(Response::Ok);
        self.modem(Response::State(state));
        for link in 0..LINKS {
            let line = match (link, link0) {
                (0, Some(state)) => ConnectionLine {
                    link,
                    bearer: 0,
                    transport: Some(Transport::Tcp),
                    ip: "36.7.87.100",
                    port: "6500",
                    state,
                },
                _ => ConnectionLine {
                    link,
                    bearer: 0,
                    transport: None,
                    ip: "",
                    port: "",
                    state: ClientState::Initial,
                },
            };
            self.modem(Response::Connection(line));
        }
    }

    /// Luat's link.lua from IP INITIAL to a connected link 0.
    fn bring_up(&mut self) {
        self.ask("AT+CGATT?", &[Response::Cgatt(true), Response::Ok]);
        self.cipstatus(IpState::IpInitial, None);
        self.ask("AT+CSTT=\"CMIOT\"", &[Response::Ok]);
        self.ask("AT+CIICR", &[Response::Ok]);
        self.cipstatus(IpState::IpGprsact, None);
        let ip = [10, 68, self.next() as u8, 49];
        self.ask("AT+CIFSR", &[Response::IpAddress(ip)]);
        self.cipstatus(IpState::IpStatus, None);
        self.quick = self.chance(2);
        let qsend = if self.quick {
            "AT+CIPQSEND=1"
        } else {
            "AT+CIPQSEND=0"
        };
        self.ask(qsend, &[Response::Ok]);
        self.connect();
    }

    fn connect(&mut self) {
        loop {
            self.ask(
                "AT+CIPSTART=0,\"TCP\",\"36.7.87.100\",6500",
                &[Response::Ok],
            );
            let result = if self.chance(4) {
                ConnectResult::Fail
            } else {
                ConnectResult::Ok
            };
            self.modem(Response::Connect {
                link: Some(0),
                result,
            });
            if result == ConnectResult::Ok {
                return;
            }
        }
    }

    /// `AT+CIPSEND=0,<len>`, the prompt, the data (not in the modem stream), the result.
    fn send(&mut self, len: usize) {
        self.host(&format!("AT+CIPSEND=0,{len}"));
        self.modem(Response::Prompt);
        if self.quick {
            self.modem(Response::DataAccept {
                link: Some(0),
                len: len as u16,
            });
        } else {
            self.modem(Response::SendOk(Some(0)));
        }
    }

    /// A server message: mostly short commands, sometimes a large binary blob.
    fn receive(&mut self) {
        let mut data = match self.below(10) {
            0..=2 => b"back".to_vec(),
            3 => b"time".to_vec(),
            4 => b"bin".to_vec(),
            _ => Vec::new(),
        };
        let extra = if self.chance(3) {
            256 + self.below(1205)
        } else {
            self.below(48)
        };
        if data.is_empty() || data == b"back" {
            data.extend((0..extra).map(|_| self.next() as u8));
        }
        self.modem(Response::Receive {
            link: 0,
            data: &data,
        });
        let reply = match &data[..] {
            d if d.starts_with(b"back") => d.len(),
            b"time" => 10,
            b"bin" => 3,
            _ => return,
        };
        self.send(reply);
    }

    /// The minute's CSQ and CREG?, sometimes with a URC inside the answer.
    fn poll(&mut self, registered: bool) {
        self.host("AT+CSQ");
        let rssi = if registered {
            12 + self.below(20) as u8
        } else {
            99
        };
        self.modem(Response::Csq { rssi, ber: 0 });
        if registered && self.chance(8) {
            self.receive_urc();
        }
        self.modem(Response::Ok);
        let stat = if registered {
            RegStat::Home
        } else {
            RegStat::Searching
        };
        let location = registered.then_some(Location {
            lac: 0x18be,
            ci: 0x93e1,
        });
        self.ask(
            "AT+CREG?",
            &[
                Response::Creg {
                    mode: Some(2),
                    stat,
                    location,
                },
                Response::Ok,
            ],
        );
    }

    /// A short `+RECEIVE` that answers nothing, e.g. inside another answer.
    fn receive_urc(&mut self) {
        let data: Vec<u8> = (0..1 + self.below(32)).map(|_| self.next() as u8).collect();
        self.modem(Response::Receive {
            link: 0,
            data: &data,
        });
    }

    fn noise(&mut self) {
        let line: Vec<u8> = (0..1 + self.below(40))
            .map(|_| self.next() as u8)
            .filter(|&b| b != b'\r' && b != b'\n' && b != b'+')
            .collect();
        self.out.extend_from_slice(b"\r\n");
        self.out.extend_from_slice(&line);
        self.out.extend_from_slice(b"\r\n");
    }
}

/// A day of 10-second ticks.
fn generate(seed: u64) -> (Vec<u8>, String) {
    let mut s = Session {
        out: Vec::new(),
        cmds: String::from("# offset\tcommand: see benches/decoder.rs\n"),
        rng: seed,
        quick: false,
    };
    // Boot, with echo on until ATE0.
    for r in [
        Response::Ready,
        Response::Cfun(1),
        Response::Cpin(SimState::Ready),
    ] {
        s.modem(r);
    }
    s.host("ATE0");
    s.out.extend_from_slice(b"ATE0\r");
    s.modem(Response::Ok);
    s.ask("AT+CMEE=0", &[Response::Ok]);
    s.modem(Response::CallReady);
    s.modem(Response::SmsReady);
    s.ask("AT+CREG=2", &[Response::Ok]);
    s.ask(
        "AT+CREG?",
        &[
            Response::Creg {
                mode: Some(2),
                stat: RegStat::Searching,
                location: None,
            },
            Response::Ok,
        ],
    );
    s.ask(
        "AT+CGSN",
        &[Response::Text(b"862991527986589"), Response::Ok],
    );
    s.ask("AT+CPIN?", &[Response::Cpin(SimState::Ready), Response::Ok]);
    let here = Some(Location {
        lac: 0x18be,
        ci: 0x93e1,
    });
    s.modem(Response::Creg {
        mode: None,
        stat: RegStat::Home,
        location: here,
    });
    s.ask("AT+CIPMUX=1", &[Response::Ok]);
    s.ask("AT+CIPHEAD=1", &[Response::Ok]);
    s.bring_up();

    // (ticks left in an outage, what kind)
    let mut down: Option<(u32, u8)> = None;
    let mut next_outage = 1080 + s.below(720) as u32; // 3-5 hours
    for tick in 0..8640u32 {
        if tick == next_outage {
            next_outage += 1080 + s.below(720) as u32;
            let kind = s.below(3) as u8;
            match kind {
                // The network drops the PDP context.
                0 => {
                    s.modem(Response::PdpDeact);
                    s.modem(Response::Closed(Some(0)));
                }
                // The peer closes.
                1 => s.modem(Response::Closed(Some(0))),
                // Registration is lost.
                _ => {
                    s.modem(Response::Creg {
                        mode: None,
                        stat: RegStat::Searching,
                        location: None,
                    });
                    s.modem(Response::PdpDeact);
                }
            }
            down = Some((6 + s.below(60) as u32, kind));
        }
        if let Some((left, kind)) = down {
            if tick % 6 == 0 {
                s.poll(kind != 2);
            }
            if left > 0 {
                down = Some((left - 1, kind));
                continue;
            }
            down = None;
            if kind == 2 {
                s.modem(Response::Creg {
                    mode: None,
                    stat: RegStat::Home,
                    location: here,
                });
            }
            if kind == 1 {
                s.connect();
            } else {
                s.cipstatus(IpState::PdpDeact, Some(ClientState::Closed));
                s.ask("AT+CIPSHUT", &[Response::ShutOk]);
                s.bring_up();
            }
        }
        s.send(10); // the heartbeat
        if tick % 6 == 0 {
            s.poll(true);
        }
        if s.chance(3) {
            s.receive();
        }
        if s.chance(400) {
            s.noise();
        }
        if s.chance(2000) {
            s.cipstatus(IpState::IpProcessing, Some(ClientState::Connected));
        }
    }
    s.ask("AT+CIPCLOSE=0", &[Response::CloseOk(Some(0))]);
    s.ask("AT+CIPSHUT", &[Response::ShutOk]);
    (s.out, s.cmds)
}
