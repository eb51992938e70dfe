//! The response half of `protocol`: [`Response::encode`] (the modem side) and the firmware
//! side's [`Decoder`].
//!
//! - **Golden transcript.** `tests/golden/responses.txt` holds every sample response (all
//!   variants, single and multi mode) and its exact bytes. After an intended change of the
//!   encoding, regenerate it and review the diff:
//!
//!   ```text
//!   UPDATE_EXPECT=1 cargo test -p protocol --test responses golden
//!   ```
//!
//!   Each sample is also decoded back.
//! - **Decoder tables.** Each case is a script of host commands started (as the host would,
//!   in order) and modem bytes, and the events expected. [`check`] feeds every case all at
//!   once, one byte at a time and in chunks of 5, and all three must give the expected events.
//! - **Transcripts.** The Luat 2G bring-up (reference §3.1) and the TinyGSM SIM800 driver's
//!   sequences (§4), replayed as modem byte streams through the same [`check`].
//! - **Properties.** encode → decode is the identity for every variant; any stream in any
//!   chunks decodes as it does all at once; no input panics.

mod support;

use pretty_assertions::assert_eq;
use proptest::prelude::*;
use protocol::command::{Name, RxGet};
use protocol::response::{
    ConnectResult, ConnectionLine, DecodeError, Decoder, Event, Location, Response, RxGetResponse,
    VoltageAlarm,
};
use protocol::types::{ClientState, DateTime, IpState, RegStat, SimState, Transport};
use protocol::Command;
use support::{check_golden, Escaped};

type Expected = Result<Event<'static>, DecodeError>;

// ---- Helpers -------------------------------------------------------------------------------

fn urc(r: Response<'static>) -> Expected {
    Ok(Event::Urc(r))
}
fn info(r: Response<'static>) -> Expected {
    Ok(Event::Info(r))
}
fn fin(r: Response<'static>) -> Expected {
    Ok(Event::Final(r))
}
fn echo(line: &'static [u8]) -> Expected {
    Ok(Event::Echo(line))
}
fn text(line: &'static [u8]) -> Response<'static> {
    Response::Text(line)
}
fn named(name: &'static str, params: &'static str) -> Response<'static> {
    Response::Info { name, params }
}

fn leak(bytes: &[u8]) -> &'static [u8] {
    Box::leak(bytes.to_vec().into_boxed_slice())
}
fn leak_str(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

/// A copy of a decoded event that outlives the decoder's buffer.
fn own(event: Result<Event<'_>, DecodeError>) -> Expected {
    event.map(|e| match e {
        Event::Echo(line) => Event::Echo(leak(line)),
        Event::Urc(r) => Event::Urc(own_response(r)),
        Event::Info(r) => Event::Info(own_response(r)),
        Event::Final(r) => Event::Final(own_response(r)),
    })
}

fn own_connection(c: ConnectionLine<'_>) -> ConnectionLine<'static> {
    ConnectionLine {
        ip: leak_str(c.ip),
        port: leak_str(c.port),
        ..c
    }
}

fn own_response(r: Response<'_>) -> Response<'static> {
    use Response as R;
    match r {
        R::Receive { link, data } => R::Receive {
            link,
            data: leak(data),
        },
        R::Ipd(data) => R::Ipd(leak(data)),
        R::IpdTransport { transport, data } => R::IpdTransport {
            transport,
            data: leak(data),
        },
        R::RxGet(RxGetResponse::Data {
            link,
            hex,
            remaining,
            data,
        }) => R::RxGet(RxGetResponse::Data {
            link,
            hex,
            remaining,
            data: leak(data),
        }),
        R::RxGet(RxGetResponse::DataReady(link)) => R::RxGet(RxGetResponse::DataReady(link)),
        R::RxGet(RxGetResponse::Available { link, len }) => {
            R::RxGet(RxGetResponse::Available { link, len })
        }
        R::Connection(c) => R::Connection(own_connection(c)),
        R::LinkStatus(c) => R::LinkStatus(own_connection(c)),
        R::Info { name, params } => R::Info {
            name: leak_str(name),
            params: leak_str(params),
        },
        R::Text(line) => R::Text(leak(line)),
        // The rest borrow nothing.
        R::Ok => R::Ok,
        R::Error => R::Error,
        R::CmeError(n) => R::CmeError(n),
        R::Cipack {
            txlen,
            acklen,
            nacklen,
        } => R::Cipack {
            txlen,
            acklen,
            nacklen,
        },
        R::CmsError(n) => R::CmsError(n),
        R::ShutOk => R::ShutOk,
        R::CloseOk(l) => R::CloseOk(l),
        R::Prompt => R::Prompt,
        R::SendOk(l) => R::SendOk(l),
        R::SendFail(l) => R::SendFail(l),
        R::DataAccept { link, len } => R::DataAccept { link, len },
        R::Connect { link, result } => R::Connect { link, result },
        R::Closed(l) => R::Closed(l),
        R::PdpDeact => R::PdpDeact,
        R::NoCarrier => R::NoCarrier,
        R::State(s) => R::State(s),
        R::IpAddress(ip) => R::IpAddress(ip),
        R::Csq { rssi, ber } => R::Csq { rssi, ber },
        R::Creg {
            mode,
            stat,
            location,
        } => R::Creg {
            mode,
            stat,
            location,
        },
        R::Cgatt(a) => R::Cgatt(a),
        R::Cpin(s) => R::Cpin(s),
        R::Cfun(n) => R::Cfun(n),
        R::Cclk(t) => R::Cclk(t),
        R::Cntp(c) => R::Cntp(c),
        R::Ready => R::Ready,
        R::CallReady => R::CallReady,
        R::SmsReady => R::SmsReady,
        R::NormalPowerDown => R::NormalPowerDown,
        R::Voltage(a) => R::Voltage(a),
    }
}

/// Feeds all of `input`, collecting the events.
fn feed_all<const N: usize>(decoder: &mut Decoder<N>, mut input: &[u8], out: &mut Vec<Expected>) {
    while !input.is_empty() {
        let (used, event) = decoder.feed(input);
        let done = event.is_none();
        if let Some(event) = event {
            out.push(own(event));
        }
        assert!(used > 0 || !done, "feed made no progress");
        input = &input[used..];
    }
}

fn encode(r: &Response<'_>) -> Vec<u8> {
    let mut buf = vec![0; 4096];
    let len = r.encode(&mut buf).expect("4 KiB holds any sample");
    buf.truncate(len);
    buf
}

// ---- Golden transcript of the encoder ------------------------------------------------------

const CCLK: DateTime = DateTime {
    year: 26,
    month: 11,
    day: 28,
    hour: 15,
    minute: 20,
    second: 0,
    quarter_hours: 32,
};

fn connected(link: u8) -> ConnectionLine<'static> {
    ConnectionLine {
        link,
        bearer: 0,
        transport: Some(Transport::Tcp),
        ip: "1.2.3.4",
        port: "8000",
        state: ClientState::Connected,
    }
}

fn unused(link: u8) -> ConnectionLine<'static> {
    ConnectionLine {
        link,
        bearer: 0,
        transport: None,
        ip: "",
        port: "",
        state: ClientState::Initial,
    }
}

/// Every variant, in single and multi mode where they differ.
fn samples() -> Vec<Response<'static>> {
    use Response as R;
    let mut all = vec![
        R::Ok,
        R::Error,
        R::CmeError(3),
        R::CmsError(500),
        R::ShutOk,
        R::CloseOk(None),
        R::CloseOk(Some(0)),
        R::Prompt,
        R::SendOk(None),
        R::SendOk(Some(1)),
        R::SendFail(None),
        R::SendFail(Some(1)),
        R::DataAccept { link: None, len: 5 },
        R::DataAccept {
            link: Some(0),
            len: 5,
        },
        R::Connect {
            link: None,
            result: ConnectResult::Ok,
        },
        R::Connect {
            link: Some(0),
            result: ConnectResult::Ok,
        },
        R::Connect {
            link: Some(2),
            result: ConnectResult::Fail,
        },
        R::Connect {
            link: Some(3),
            result: ConnectResult::AlreadyConnected,
        },
        R::Closed(None),
        R::Closed(Some(0)),
        R::PdpDeact,
        R::Receive {
            link: 0,
            data: b"back\r\nOK\r\nERROR\r\n\x00\xff",
        },
        R::Receive { link: 5, data: b"" },
        R::Ipd(b"time"),
        R::RxGet(RxGetResponse::DataReady(None)),
        R::RxGet(RxGetResponse::DataReady(Some(0))),
        R::RxGet(RxGetResponse::Data {
            link: Some(0),
            hex: false,
            remaining: 0,
            data: b"hi\r\n",
        }),
        R::RxGet(RxGetResponse::Data {
            link: None,
            hex: true,
            remaining: 7,
            data: b"112233",
        }),
        R::RxGet(RxGetResponse::Available {
            link: Some(0),
            len: 5,
        }),
        R::RxGet(RxGetResponse::Available { link: None, len: 0 }),
        R::Connection(connected(0)),
        R::Connection(unused(1)),
        R::LinkStatus(ConnectionLine {
            ip: "51.116.145.38",
            port: "80",
            ..connected(0)
        }),
        R::Cipack {
            txlen: 1460,
            acklen: 1000,
            nacklen: 460,
        },
        R::IpAddress([10, 68, 27, 49]),
        R::Csq { rssi: 20, ber: 0 },
        R::Csq { rssi: 99, ber: 99 },
        R::Creg {
            mode: Some(0),
            stat: RegStat::Home,
            location: None,
        },
        R::Creg {
            mode: Some(2),
            stat: RegStat::Roaming,
            location: Some(Location {
                lac: 0x18be,
                ci: 0x93e1,
            }),
        },
        R::Creg {
            mode: None,
            stat: RegStat::Searching,
            location: None,
        },
        R::Creg {
            mode: None,
            stat: RegStat::Home,
            location: Some(Location {
                lac: 0x18be,
                ci: 0x93e1,
            }),
        },
        R::Creg {
            mode: None,
            stat: RegStat::Home,
            location: Some(Location {
                lac: 0x1,
                ci: 0x0123_4567,
            }),
        },
        R::Cgatt(true),
        R::Cgatt(false),
        R::Cfun(1),
        R::Cclk(CCLK),
        R::Cclk(DateTime {
            year: 4,
            month: 1,
            day: 2,
            quarter_hours: -4,
            ..CCLK
        }),
        R::Cntp(1),
        R::Cntp(61),
        R::Ready,
        R::CallReady,
        R::SmsReady,
        R::NormalPowerDown,
        R::Info {
            name: "CIPMUX",
            params: "1",
        },
        R::Info {
            name: "CENG",
            params: "0,\"0460,00,18be,93e1,41,35\"",
        },
        R::Text(b"SIM800 R14.18"),
        R::Text(b"862991527986589"),
        // Issue 13: transparent mode.
        R::Connect {
            link: None,
            result: ConnectResult::DataMode,
        },
        R::NoCarrier,
        R::IpdTransport {
            transport: Transport::Udp,
            data: b"time",
        },
        // Issue 13: housekeeping answers are information lines (`Info`) or text, each as the
        // simulated modem writes it (sources in `sim-modem/src/modem/housekeeping.rs`).
        R::Info {
            name: "CBC",
            params: "0,85,4100",
        },
        R::Info {
            name: "COPS",
            params: "0,0,\"CHINA MOBILE\"",
        },
        R::Info {
            name: "CGREG",
            params: "2,1,\"18be\",\"93e1\"",
        },
        R::Info {
            name: "CSMINS",
            params: "0,1",
        },
        R::Info {
            name: "IFC",
            params: "0,0",
        },
        R::Info {
            name: "CSCS",
            params: "\"GSM\"",
        },
        R::Info {
            name: "CDNSGIP",
            params: "1,\"lab.longlink.test\",\"10.0.0.1\"",
        },
        R::Info {
            name: "CDNSGIP",
            params: "0,8",
        },
        R::Info {
            name: "CIPGSMLOC",
            params: "0,121.473700,31.230400,2024/01/01,08:00:05",
        },
        R::Info {
            name: "CLBS",
            params: "0,121.473700,31.230400,550",
        },
        R::Info {
            name: "MUID",
            params: "\"0x3901b2c3d4e5f6a7\"",
        },
        R::Text(b"*PSUTTZ: 2024,1,1,0,0,5,\"+32\",0"),
        R::Text(b"DST: 0"),
        R::Text(b"RECV FROM:10.0.0.1:6500"),
    ];
    all.extend(IpState::ALL.map(R::State));
    all.extend(SimState::ALL.map(R::Cpin));
    all.extend(VoltageAlarm::ALL.map(R::Voltage));
    all
}

#[test]
fn golden() {
    let mut transcript = String::from(
        "# Response::encode: each sample response and its exact bytes.\n\
         # Regenerate: UPDATE_EXPECT=1 cargo test -p protocol --test responses golden\n",
    );
    for r in samples() {
        transcript.push_str(&format!("{r:?}\n    {}\n", Escaped(&encode(&r))));
    }
    check_golden("tests/golden/responses.txt", &transcript);
}

#[test]
fn golden_samples_decode_back() {
    for r in samples() {
        assert_eq!(decode_one(&r), vec![expected_alone(r)], "{r:?}");
    }
}

/// The events of `r`'s bytes through a fresh decoder: a CIPSEND is pending for the prompt,
/// nothing otherwise.
fn decode_one(r: &Response<'_>) -> Vec<Expected> {
    let mut decoder = Decoder::<1600>::new();
    if *r == Response::Prompt {
        decoder.start(&Command::Cipsend {
            link: Some(0),
            len: Some(5),
        });
    }
    let mut events = vec![];
    feed_all(&mut decoder, &encode(r), &mut events);
    events
}

fn expected_alone(r: Response<'static>) -> Expected {
    if r == Response::Prompt {
        info(r)
    } else {
        urc(r)
    }
}

#[test]
fn final_responses() {
    use Response as R;
    let cases: &[(Response, bool)] = &[
        (R::Ok, true),
        (R::Error, true),
        (R::CmeError(3), true),
        (R::CmsError(3), true),
        (R::ShutOk, true),
        (R::CloseOk(Some(0)), true),
        (R::SendOk(None), true),
        (R::SendFail(Some(1)), true),
        (
            R::DataAccept {
                link: Some(0),
                len: 5,
            },
            true,
        ),
        // Final only in context: the decoder knows.
        (R::IpAddress([10, 0, 0, 1]), false),
        (R::State(IpState::IpStatus), false),
        (R::NormalPowerDown, false),
        (
            R::Connect {
                link: Some(0),
                result: ConnectResult::Ok,
            },
            false,
        ),
        (R::Prompt, false),
        (R::Csq { rssi: 20, ber: 0 }, false),
        (R::PdpDeact, false),
    ];
    for (r, expected) in cases {
        assert_eq!(r.is_final(), *expected, "{r:?}");
    }
}

#[test]
fn encode_refuses_a_small_buffer() {
    for r in samples() {
        let len = encode(&r).len();
        let mut buf = vec![0; len - 1];
        assert_eq!(r.encode(&mut buf), Err(protocol::BufferFull), "{r:?}");
    }
}

// ---- Decoder tables ------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Step {
    /// The host sends a command: `start` it.
    Host(Command<'static>),
    /// Bytes from the modem.
    Modem(&'static [u8]),
    /// The host gives up waiting.
    Cancel,
    /// Whether an answer is pending now.
    Pending(bool),
    /// The line went quiet with a payload unfinished: `abandon_payload`, which says whether
    /// there was one.
    Abandon(bool),
}
use Step::{Abandon, Cancel, Host, Modem, Pending};

struct Case {
    name: &'static str,
    /// `set_connection_lines`.
    links: u8,
    steps: Vec<Step>,
    expect: Vec<Expected>,
}

fn case(name: &'static str, steps: Vec<Step>, expect: Vec<Expected>) -> Case {
    Case {
        name,
        links: 0,
        steps,
        expect,
    }
}

fn run<const N: usize>(case: &Case, chunk: usize) -> Vec<Expected> {
    let mut decoder = Decoder::<N>::new();
    decoder.set_connection_lines(case.links);
    let mut events = vec![];
    for step in &case.steps {
        match step {
            Host(command) => decoder.start(command),
            Cancel => decoder.cancel(),
            Pending(p) => assert_eq!(decoder.is_pending(), *p, "{}: pending", case.name),
            Abandon(a) => assert_eq!(decoder.abandon_payload(), *a, "{}: abandon", case.name),
            Modem(bytes) => {
                for piece in bytes.chunks(chunk) {
                    feed_all(&mut decoder, piece, &mut events);
                }
            }
        }
    }
    events
}

/// All at once, one byte at a time and 5 at a time: the same expected events.
fn check<const N: usize>(case: &Case) {
    for chunk in [usize::MAX, 1, 5] {
        let events = run::<N>(case, chunk);
        assert_eq!(events, case.expect, "{} (chunks of {chunk})", case.name);
    }
}

fn check_all(cases: &[Case]) {
    for case in cases {
        check::<1600>(case);
    }
}

const CSQ: Command = Command::Exec(Name::Csq);
const CIPSTATUS: Command = Command::Exec(Name::Cipstatus);
const CIFSR: Command = Command::Exec(Name::Cifsr);
const CIPSHUT: Command = Command::Exec(Name::Cipshut);
const SEND0: Command = Command::Cipsend {
    link: Some(0),
    len: Some(5),
};

#[test]
fn lines() {
    use Response as R;
    check_all(&[
        case(
            "CRLF, bare LF and bare CR end lines; empty lines are skipped",
            vec![Modem(b"\r\nOK\r\n\nRDY\n\rCall Ready\r\r\n\r\n\r\nSMS Ready\r\n")],
            vec![urc(R::Ok), urc(R::Ready), urc(R::CallReady), urc(R::SmsReady)],
        ),
        case(
            "a line without its end yet is not an event",
            vec![Modem(b"\r\nOK\r\n\r\nERR")],
            vec![urc(R::Ok)],
        ),
        case(
            "with nothing pending everything is a URC, even OK and an AT line",
            vec![Modem(b"\r\n+CSQ: 20,0\r\n\r\nOK\r\nAT+CSQ\r\n")],
            vec![urc(R::Csq { rssi: 20, ber: 0 }), urc(R::Ok), urc(text(b"AT+CSQ"))],
        ),
        case(
            "the echo of the pending command, then its answer",
            vec![Host(CSQ), Modem(b"AT+CSQ\r\r\n+CSQ: 20,0\r\n\r\nOK\r\n")],
            vec![echo(b"AT+CSQ"), info(R::Csq { rssi: 20, ber: 0 }), fin(R::Ok)],
        ),
        case(
            "a lower-case echo",
            vec![Host(Command::At), Modem(b"at\r\r\nOK\r\n")],
            vec![echo(b"at"), fin(R::Ok)],
        ),
        case(
            "unknown lines are text; +NAME: lines are Info",
            vec![Modem(b"\r\nhello\r\n\r\n+CIEV: 10,\"46000\"\r\n\r\n*PSUTTZ: 26,11,28\r\n\r\n+\r\n+CME ERROR\r\n")],
            vec![
                urc(text(b"hello")),
                urc(named("CIEV", "10,\"46000\"")),
                urc(text(b"*PSUTTZ: 26,11,28")),
                urc(text(b"+")),
                urc(text(b"+CME ERROR")),
            ],
        ),
        case(
            "the manual's <n>,RESULT without the space, and extra spaces",
            vec![Modem(b"\r\n0,CONNECT OK\r\n\r\n1,  CLOSED\r\n\r\n12,34\r\n")],
            vec![
                urc(R::Connect { link: Some(0), result: ConnectResult::Ok }),
                urc(R::Closed(Some(1))),
                urc(text(b"12,34")),
            ],
        ),
        case(
            "test-form answers of known names are Info; verbose CME errors are ERROR",
            vec![
                Host(Command::Test(Name::Creg)),
                Modem(b"\r\n+CREG: (0-2)\r\n\r\nOK\r\n"),
                Host(Command::Cpin("1234")),
                Modem(b"\r\n+CME ERROR: incorrect password\r\n"),
            ],
            vec![info(named("CREG", "(0-2)")), fin(R::Ok), fin(R::Error)],
        ),
        case(
            "+CNTP with its time, and the read form of AT+CNTP",
            vec![
                Modem(b"\r\n+CNTP: 1,\"2026/11/28,15:20:00\"\r\n"),
                Host(Command::Read(Name::Cntp)),
                Modem(b"\r\n+CNTP: \"pool.ntp.org\",32\r\n\r\nOK\r\n"),
            ],
            vec![urc(R::Cntp(1)), info(named("CNTP", "\"pool.ntp.org\",32")), fin(R::Ok)],
        ),
    ]);
}

#[test]
fn answers() {
    use Response as R;
    let status = |state| R::State(state);
    check_all(&[
        case(
            "URCs in the middle of a CSQ answer",
            vec![
                Host(CSQ),
                Modem(b"\r\n+CSQ: 20,0\r\n\r\n+CREG: 1\r\n\r\n0, CLOSED\r\n\r\n+RECEIVE,1,4:\r\nOK\r\n\r\nOK\r\n"),
                Pending(false),
            ],
            vec![
                info(R::Csq { rssi: 20, ber: 0 }),
                urc(R::Creg { mode: None, stat: RegStat::Home, location: None }),
                urc(R::Closed(Some(0))),
                urc(R::Receive { link: 1, data: b"OK\r\n" }),
                fin(R::Ok),
            ],
        ),
        case(
            "CREG: the read answer carries the mode, the URC does not",
            vec![
                Host(Command::Read(Name::Creg)),
                Modem(b"\r\n+CREG: 1,\"18be\",\"93e1\"\r\n\r\n+CREG: 0,1\r\n\r\nOK\r\n"),
            ],
            vec![
                urc(R::Creg {
                    mode: None,
                    stat: RegStat::Home,
                    location: Some(Location { lac: 0x18be, ci: 0x93e1 }),
                }),
                info(R::Creg { mode: Some(0), stat: RegStat::Home, location: None }),
                fin(R::Ok),
            ],
        ),
        case(
            "+CPIN belongs to AT+CPIN? only; after AT+CFUN=1 it is a URC",
            vec![
                Host(Command::Read(Name::Cpin)),
                Modem(b"\r\n+CPIN: READY\r\n\r\nOK\r\n"),
                Host(Command::Cfun { fun: 1, rst: None }),
                Modem(b"\r\n+CPIN: NOT READY\r\n\r\nOK\r\n"),
            ],
            vec![
                info(R::Cpin(SimState::Ready)),
                fin(R::Ok),
                urc(R::Cpin(SimState::NotReady)),
                fin(R::Ok),
            ],
        ),
        case(
            "identification text belongs to ATI, AT+CGMR and AT+CGSN",
            vec![
                Host(Command::Info),
                Modem(b"\r\nSIM800 R14.18\r\n\r\nOK\r\n"),
                Host(Command::Exec(Name::Cgmr)),
                Modem(b"\r\nRevision:1418B04SIM800L24\r\n\r\nOK\r\n"),
                Host(Command::Exec(Name::Cgsn)),
                Modem(b"\r\n862991527986589\r\n\r\nOK\r\n"),
            ],
            vec![
                info(text(b"SIM800 R14.18")),
                fin(R::Ok),
                info(text(b"Revision:1418B04SIM800L24")),
                fin(R::Ok),
                info(text(b"862991527986589")),
                fin(R::Ok),
            ],
        ),
        case(
            "CIPSTATUS in single mode: OK first, then STATE ends it",
            vec![
                Host(CIPSTATUS),
                Modem(b"\r\nOK\r\n"),
                Pending(true),
                Modem(b"\r\nSTATE: IP STATUS\r\n"),
                Pending(false),
                Modem(b"\r\nSTATE: PDP DEACT\r\n"),
            ],
            vec![
                info(R::Ok),
                fin(status(IpState::IpStatus)),
                urc(status(IpState::PdpDeact)),
            ],
        ),
        Case {
            name: "CIPSTATUS in multi mode: the last C: line ends it",
            links: 3,
            steps: vec![
                Host(CIPSTATUS),
                Modem(b"\r\nOK\r\n\r\nSTATE: IP PROCESSING\r\n\r\nC: 0,0,\"TCP\",\"1.2.3.4\",\"8000\",\"CONNECTED\"\r\n"),
                Modem(b"\r\n+CREG: 5\r\n\r\nC: 1,,\"\",\"\",\"\",\"INITIAL\"\r\n"),
                Pending(true),
                Modem(b"\r\nC: 2,,\"\",\"\",\"\",\"INITIAL\"\r\n"),
                Pending(false),
            ],
            expect: vec![
                info(R::Ok),
                info(status(IpState::IpProcessing)),
                info(R::Connection(connected(0))),
                urc(R::Creg { mode: None, stat: RegStat::Roaming, location: None }),
                info(R::Connection(unused(1))),
                fin(R::Connection(unused(2))),
            ],
        },
        case(
            "CIPSTATUS=<n> answers one +CIPSTATUS line and OK",
            vec![
                Host(Command::CipstatusLink(0)),
                Modem(b"\r\n+CIPSTATUS: 0,0,\"TCP\",\"51.116.145.38\",\"80\",\"CONNECTED\"\r\n\r\nOK\r\n"),
            ],
            vec![
                info(R::LinkStatus(ConnectionLine {
                    ip: "51.116.145.38",
                    port: "80",
                    ..connected(0)
                })),
                fin(R::Ok),
            ],
        ),
        case(
            "CIPACK=<n> answers one +CIPACK line and OK",
            vec![
                Host(Command::CipackLink(0)),
                Modem(b"\r\n+CIPACK: 25,20,5\r\n\r\nOK\r\n"),
            ],
            vec![
                info(R::Cipack {
                    txlen: 25,
                    acklen: 20,
                    nacklen: 5,
                }),
                fin(R::Ok),
            ],
        ),
        case(
            "a +CIPACK line no command asked for is a URC, not an answer",
            vec![
                Host(Command::Exec(Name::Csq)),
                Modem(b"\r\n+CIPACK: 25,20,5\r\n\r\n+CSQ: 20,0\r\n\r\nOK\r\n"),
            ],
            vec![
                urc(R::Cipack {
                    txlen: 25,
                    acklen: 20,
                    nacklen: 5,
                }),
                info(R::Csq { rssi: 20, ber: 0 }),
                fin(R::Ok),
            ],
        ),
        case(
            "CIFSR: the bare IP line ends it, with no OK",
            vec![Host(CIFSR), Modem(b"\r\n10.68.27.49\r\n"), Pending(false)],
            vec![fin(R::IpAddress([10, 68, 27, 49]))],
        ),
        case(
            "CIFSR: ERROR ends it too",
            vec![Host(CIFSR), Modem(b"\r\nERROR\r\n"), Pending(false)],
            vec![fin(R::Error)],
        ),
        case(
            "CIPSTART: OK ends it, CONNECT OK comes later as a URC",
            vec![
                Host(Command::Cipstart {
                    link: Some(0),
                    transport: Transport::Tcp,
                    host: "36.7.87.100",
                    port: 6500,
                }),
                Modem(b"\r\nOK\r\n"),
                Pending(false),
                Modem(b"\r\n0, CONNECT OK\r\n"),
            ],
            vec![fin(R::Ok), urc(R::Connect { link: Some(0), result: ConnectResult::Ok })],
        ),
        case(
            "CIPSEND: the prompt, then SEND OK",
            vec![Host(SEND0), Modem(b"\r\n> "), Pending(true), Modem(b"\r\n0, SEND OK\r\n")],
            vec![info(R::Prompt), fin(R::SendOk(Some(0)))],
        ),
        case(
            "CIPSEND: DATA ACCEPT, SEND FAIL and ERROR end it",
            vec![
                Host(SEND0),
                Modem(b"\r\n> \r\nDATA ACCEPT:0,5\r\n"),
                Host(SEND0),
                Modem(b"\r\n> \r\n1, SEND FAIL\r\n"),
                Host(Command::Exec(Name::Cipsend)),
                Modem(b"\r\nERROR\r\n"),
            ],
            vec![
                info(R::Prompt),
                fin(R::DataAccept { link: Some(0), len: 5 }),
                info(R::Prompt),
                fin(R::SendFail(Some(1))),
                fin(R::Error),
            ],
        ),
        case(
            "CIPSEND: before the prompt only an error ends it; a stray OK, SEND OK, SEND FAIL or DATA ACCEPT is a URC; after it OK ends nothing",
            vec![
                Host(SEND0),
                Modem(b"\r\nOK\r\n\r\n0, SEND OK\r\n\r\nDATA ACCEPT:0,5\r\n\r\n0, SEND FAIL\r\n"),
                Pending(true),
                Modem(b"\r\n> \r\nOK\r\n"),
                Pending(true),
                Modem(b"\r\nDATA ACCEPT:0,5\r\n"),
                Pending(false),
                Host(SEND0),
                Modem(b"\r\n+CME ERROR: 3\r\n"),
                Pending(false),
            ],
            vec![
                urc(R::Ok),
                urc(R::SendOk(Some(0))),
                urc(R::DataAccept { link: Some(0), len: 5 }),
                urc(R::SendFail(Some(0))),
                info(R::Prompt),
                urc(R::Ok),
                fin(R::DataAccept { link: Some(0), len: 5 }),
                fin(R::CmeError(3)),
            ],
        ),
        case(
            "CIPSEND: +PDP: DEACT and CLOSED are URCs; the host gives up",
            vec![
                Host(SEND0),
                Modem(b"\r\n+PDP: DEACT\r\n\r\n0, CLOSED\r\n"),
                Pending(true),
                Cancel,
                Pending(false),
            ],
            vec![urc(R::PdpDeact), urc(R::Closed(Some(0)))],
        ),
        case(
            "the prompt is a prompt only while a CIPSEND waits for it",
            vec![
                Modem(b"\r\n> \r\n"),
                Host(SEND0),
                Modem(b"\r\n> \r\n> \r\n0, SEND OK\r\n"),
            ],
            vec![urc(text(b"> ")), info(R::Prompt), urc(text(b"> ")), fin(R::SendOk(Some(0)))],
        ),
        case(
            "CIPSHUT ends with SHUT OK, CIPCLOSE with CLOSE OK, CPOWD=1 with NORMAL POWER DOWN",
            vec![
                Host(CIPSHUT),
                Modem(b"\r\nSHUT OK\r\n"),
                Host(Command::Cipclose { link: Some(0), quick: Some(true) }),
                Modem(b"\r\nSHUT OK\r\n\r\n0, CLOSE OK\r\n"),
                Host(Command::Cpowd(1)),
                Modem(b"\r\nNORMAL POWER DOWN\r\n"),
                Pending(false),
            ],
            vec![
                fin(R::ShutOk),
                urc(R::ShutOk),
                fin(R::CloseOk(Some(0))),
                fin(R::NormalPowerDown),
            ],
        ),
        case(
            "CNTP: OK ends it, +CNTP: 1 comes later as a URC",
            vec![
                Host(Command::Exec(Name::Cntp)),
                Modem(b"\r\nOK\r\n"),
                Host(CSQ),
                Modem(b"\r\n+CNTP: 1\r\n\r\n+CSQ: 31,0\r\n\r\nOK\r\n"),
            ],
            vec![fin(R::Ok), urc(R::Cntp(1)), info(R::Csq { rssi: 31, ber: 0 }), fin(R::Ok)],
        ),
        case(
            "+CME ERROR ends any answer",
            vec![Host(CIPSHUT), Modem(b"\r\n+CME ERROR: 3\r\n"), Pending(false)],
            vec![fin(R::CmeError(3))],
        ),
        case(
            "a new start replaces the pending answer",
            vec![
                Host(CIFSR),
                Host(CSQ),
                Modem(b"\r\n10.0.0.1\r\n\r\n+CSQ: 1,2\r\n\r\nOK\r\n"),
            ],
            vec![
                urc(R::IpAddress([10, 0, 0, 1])),
                info(R::Csq { rssi: 1, ber: 2 }),
                fin(R::Ok),
            ],
        ),
    ]);
}

/// Issue 13: transparent mode, housekeeping answers, the Air202's `+CENG`, `+IPD` with the
/// transport.
#[test]
fn issue_13_answers() {
    use Response as R;
    let connect = |result| R::Connect { link: None, result };
    let tcp = |host| Command::Cipstart {
        link: None,
        transport: Transport::Tcp,
        host,
        port: 80,
    };
    check_all(&[
        case(
            "transparent mode: OK, then CONNECT as a URC; +++ answers OK, ATO CONNECT",
            vec![
                Host(tcp("lab")),
                Modem(b"\r\nOK\r\n\r\nCONNECT\r\n"),
                Host(Command::At),
                Modem(b"\r\nOK\r\n"),
                Host(Command::Online),
                Modem(b"\r\nCONNECT\r\n"),
                Pending(false),
            ],
            vec![
                fin(R::Ok),
                urc(connect(ConnectResult::DataMode)),
                fin(R::Ok),
                fin(connect(ConnectResult::DataMode)),
            ],
        ),
        case(
            "ATO without a link: NO CARRIER ends it; a URC meanwhile stays one",
            vec![
                Host(Command::Online),
                Modem(b"\r\n+CGREG: 1\r\n\r\nNO CARRIER\r\n"),
                Pending(false),
                Modem(b"\r\nNO CARRIER\r\n"),
            ],
            vec![
                urc(named("CGREG", "1")),
                fin(R::NoCarrier),
                urc(R::NoCarrier),
            ],
        ),
        case(
            "AT+CBC, AT+GMR, AT+COPS=?: their lines belong to them",
            vec![
                Host(Command::Exec(Name::Cbc)),
                Modem(b"\r\n+CBC: 0,85,4100\r\n\r\nOK\r\n"),
                Host(Command::Exec(Name::Gmr)),
                Modem(b"\r\nRevision:1418B04SIM800C24\r\n\r\nOK\r\n"),
                Host(Command::Test(Name::Cops)),
                Modem(b"\r\n+COPS: (2,\"CHINA MOBILE\",\"CMCC\",\"46000\"),,(0-4),(0-2)\r\n\r\nOK\r\n"),
            ],
            vec![
                info(named("CBC", "0,85,4100")),
                fin(R::Ok),
                info(text(b"Revision:1418B04SIM800C24")),
                fin(R::Ok),
                info(named("COPS", "(2,\"CHINA MOBILE\",\"CMCC\",\"46000\"),,(0-4),(0-2)")),
                fin(R::Ok),
            ],
        ),
        case(
            "the Air202's +CENG (Luat's format, no space) reads as CENG lines",
            vec![
                Host(Command::Read(Name::Ceng)),
                Modem(b"\r\n+CENG:1,1\r\n\r\n+CENG:0,\"573,24,99,460,0,13,49234,10,0,6311,255\"\r\n\r\nOK\r\n"),
            ],
            vec![
                info(named("CENG", "1,1")),
                info(named("CENG", "0,\"573,24,99,460,0,13,49234,10,0,6311,255\"")),
                fin(R::Ok),
            ],
        ),
        case(
            "AT+CDNSGIP: OK, the answer comes later as a URC",
            vec![
                Host(Command::Cdnsgip("lab")),
                Modem(b"\r\nOK\r\n\r\n+CDNSGIP: 1,\"lab\",\"10.0.0.1\"\r\n"),
            ],
            vec![fin(R::Ok), urc(named("CDNSGIP", "1,\"lab\",\"10.0.0.1\""))],
        ),
        case(
            "+IPD with the transport (AT+CIPSHOWTP=1), after RECV FROM (AT+CIPSRIP=1)",
            vec![Modem(b"\r\nRECV FROM:10.0.0.1:6500\r\n+IPD,6,TCP:ba\r\nck+IPD,1,UDP:x\r\n+IPD,1,SCTP:x\r\n")],
            vec![
                urc(text(b"RECV FROM:10.0.0.1:6500")),
                urc(R::IpdTransport { transport: Transport::Tcp, data: b"ba\r\nck" }),
                urc(R::IpdTransport { transport: Transport::Udp, data: b"x" }),
                Err(DecodeError::Malformed),
            ],
        ),
    ]);
}

#[test]
fn payloads() {
    use Response as R;
    check_all(&[
        case(
            "+RECEIVE: a binary payload with CR, LF, OK and ERROR is data",
            vec![Modem(
                b"\r\n+RECEIVE,0,15:\r\n\r\nOK\r\nERROR\r\n\x00\xff\r\n0, CLOSED\r\n",
            )],
            vec![
                urc(R::Receive {
                    link: 0,
                    data: b"\r\nOK\r\nERROR\r\n\x00\xff",
                }),
                urc(R::Closed(Some(0))),
            ],
        ),
        case(
            "+RECEIVE without a line end before its payload",
            vec![Modem(b"\r\n+RECEIVE,1,3:abc\r\nRDY\r\n")],
            vec![
                urc(R::Receive {
                    link: 1,
                    data: b"abc",
                }),
                urc(R::Ready),
            ],
        ),
        case(
            "+RECEIVE after a bare LF, and with an empty payload",
            vec![Modem(b"+RECEIVE,1,2:\n\n\n+RECEIVE,2,0:\r\n")],
            vec![
                urc(R::Receive {
                    link: 1,
                    data: b"\n\n",
                }),
                urc(R::Receive { link: 2, data: b"" }),
            ],
        ),
        case(
            "+IPD: the payload follows the colon",
            vec![Modem(b"\r\n+IPD,7:\r\nOK\r\n\r\n\r\nOK\r\n")],
            vec![urc(R::Ipd(b"\r\nOK\r\n\r")), urc(R::Ok)],
        ),
        case(
            "+RECEIVE in the middle of CIPSEND, between the prompt and SEND OK",
            vec![
                Host(SEND0),
                Modem(b"\r\n> \r\n+RECEIVE,0,9:\r\nSEND OK\r\n\r\n0, SEND OK\r\n"),
            ],
            vec![
                info(R::Prompt),
                urc(R::Receive {
                    link: 0,
                    data: b"SEND OK\r\n",
                }),
                fin(R::SendOk(Some(0))),
            ],
        ),
        case(
            "CIPRXGET=2: header, raw data, then OK",
            vec![
                Host(Command::Ciprxget(RxGet::Read {
                    link: Some(0),
                    len: 8,
                    hex: false,
                })),
                Modem(b"\r\n+CIPRXGET: 2,0,8,2\r\nERROR\r\n\x00\r\nOK\r\n"),
            ],
            vec![
                info(R::RxGet(RxGetResponse::Data {
                    link: Some(0),
                    hex: false,
                    remaining: 2,
                    data: b"ERROR\r\n\x00",
                })),
                fin(R::Ok),
            ],
        ),
        case(
            "CIPRXGET=3: 2 * len hex digits, single mode",
            vec![
                Host(Command::Ciprxget(RxGet::Read {
                    link: None,
                    len: 3,
                    hex: true,
                })),
                Modem(b"\r\n+CIPRXGET: 3,3,0\r\n0D0A4F\r\nOK\r\n"),
            ],
            vec![
                info(R::RxGet(RxGetResponse::Data {
                    link: None,
                    hex: true,
                    remaining: 0,
                    data: b"0D0A4F",
                })),
                fin(R::Ok),
            ],
        ),
        case(
            "CIPRXGET: the data-ready URC and the mode-4 answer",
            vec![
                Modem(b"\r\n+CIPRXGET: 1,0\r\n"),
                Host(Command::Ciprxget(RxGet::Available { link: Some(0) })),
                Modem(b"\r\n+CIPRXGET: 1,1\r\n\r\n+CIPRXGET: 4,0,2871\r\n\r\nOK\r\n"),
            ],
            vec![
                urc(R::RxGet(RxGetResponse::DataReady(Some(0)))),
                urc(R::RxGet(RxGetResponse::DataReady(Some(1)))),
                info(R::RxGet(RxGetResponse::Available {
                    link: Some(0),
                    len: 2871,
                })),
                fin(R::Ok),
            ],
        ),
        case(
            "a huge length is refused at once and taken for noise: what follows up to the next line end is its payload",
            vec![
                Host(CSQ),
                Modem(b"\r\n+RECEIVE,0,1000000000:\r\nRDY\r\n+CSQ: 20,0\r\n\r\nOK\r\n"),
                Modem(b"\r\n+IPD,99999999999999999999:x\r\n+CIPRXGET: 3,0,1000,0\r\nRDY\r\n"),
            ],
            vec![
                Err(DecodeError::PayloadTooLong { len: 1_000_000_000 }),
                info(R::Csq { rssi: 20, ber: 0 }),
                fin(R::Ok),
                Err(DecodeError::Malformed),
                // Skipped by its length: the `RDY` is in it.
                Err(DecodeError::PayloadTooLong { len: 2000 }),
            ],
        ),
    ]);
}

#[test]
fn errors_and_recovery() {
    use Response as R;
    check_all(&[
        case(
            "known prefixes with bad fields are malformed",
            vec![Modem(
                b"\r\n+CSQ: 99\r\n\r\nSTATE: FOO\r\n\r\n+CREG: 7\r\n\r\n1000, CLOSED\r\n\
                  \r\nC: 0,0,\"TCP\"\r\n\r\n+CCLK: \"26/13/28,15:20:00+32\"\r\n\
                  \r\nDATA ACCEPT:x\r\n\r\n+CGATT: 2\r\n\r\n+PDP: ACT\r\n\r\n+CIPRXGET: 9\r\n",
            )],
            vec![Err(DecodeError::Malformed); 10],
        ),
        case(
            "noise, then recovery",
            vec![
                Modem(b"\x00\xff\xfe garbage \x1b[0m\r\n\xde\xad\r\n"),
                Host(CSQ),
                Modem(b"\r\n+CSQ: x,y\r\n\r\n+CSQ: 5,0\r\n\r\nOK\r\n"),
            ],
            vec![
                urc(text(b"\x00\xff\xfe garbage \x1b[0m")),
                urc(text(b"\xde\xad")),
                Err(DecodeError::Malformed),
                info(R::Csq { rssi: 5, ber: 0 }),
                fin(R::Ok),
            ],
        ),
    ]);
    // A line longer than the buffer: one error, the rest of it skipped, the next line read.
    check::<16>(&case(
        "overlong line",
        vec![
            Host(CSQ),
            Modem(b"\r\n+CSQ: 20,0 and a much longer tail\r\n\r\n1234567890123456\r\nOK\r\n"),
        ],
        vec![
            Err(DecodeError::LineTooLong),
            urc(text(b"1234567890123456")),
            fin(R::Ok),
        ],
    ));
    // Server data never reads as modem lines: a payload the buffer cannot hold, or whose
    // header is garbled, is skipped, by its length where the header still tells it.
    check::<16>(&case(
        "a payload larger than the buffer is skipped by its length",
        vec![Modem(
            b"\r\n+RECEIVE,0,20:\r\nab\r\nRDY\r\n0, CLOSED\r\n\
              \r\n+IPD,17:+PDP: DEACT\r\nRDY\r\n\
              \r\n+RECEIVE,0,16:\r\n0123456789abcdef\r\n0, SEND OK\r\n",
        )],
        vec![
            Err(DecodeError::PayloadTooLong { len: 20 }),
            Err(DecodeError::PayloadTooLong { len: 17 }),
            urc(R::Receive {
                link: 0,
                data: b"0123456789abcdef",
            }),
            urc(R::SendOk(Some(0))),
        ],
    ));
    check_all(&[
        case(
            "a header with a garbled name or link is skipped by its length",
            vec![Modem(
                b"\r\n+RECEVE,0,12:\r\nx\r\n0, CLOSED\r\n\
                  \r\n+R\xc5CEIVE,0,5:\r\nRDY\r\n\r\n+IP,5:RDY\r\n\r\nOK\r\n",
            )],
            vec![
                Err(DecodeError::Malformed),
                Err(DecodeError::Malformed),
                Err(DecodeError::Malformed),
                urc(R::Ok),
            ],
        ),
        case(
            "a header whose length or colon is garbled: skipped up to the line end after it",
            vec![Modem(
                b"\r\n+RECEIVE,0,1x:\r\nRDY 1 in the noise\r\n0, SEND OK\r\n\
                  \r\n+RECEIVE,0,19;\r\nback 2 in the noise\r\n+PDP: DEACT\r\n\
                  \r\n+RECEIVE,x,3:RDY\r\nOK\r\n\r\n+RECEIVE,0,99999:\r\nRDY\r\nOK\r\n",
            )],
            vec![
                Err(DecodeError::Malformed),
                urc(R::SendOk(Some(0))),
                Err(DecodeError::Malformed),
                urc(R::PdpDeact),
                Err(DecodeError::Malformed),
                urc(R::Ok),
                Err(DecodeError::PayloadTooLong { len: 99999 }),
                urc(R::Ok),
            ],
        ),
        case(
            "a manual-receive read longer than the buffer is skipped by its length",
            vec![
                Host(Command::Ciprxget(RxGet::Read {
                    link: Some(0),
                    len: 1700,
                    hex: false,
                })),
                Modem(b"\r\n+CIPRXGET: 2,0,1700,0\r\n"),
                Modem(&[b'R'; 1700]),
                Modem(b"\r\nOK\r\n"),
            ],
            vec![Err(DecodeError::PayloadTooLong { len: 1700 }), fin(R::Ok)],
        ),
        case(
            "a manual-receive read announcing more than was asked for is noise: skipped to the line end, the OK and probes after it read",
            vec![
                Host(Command::Ciprxget(RxGet::Read {
                    link: Some(0),
                    len: 486,
                    hex: false,
                })),
                Modem(b"\r\n+CIPRXGET: 2,0,1446,0\r\nback 1\nback 2\n\r\nOK\r\n"),
                Host(Command::At),
                Modem(b"\r\nOK\r\n"),
            ],
            vec![
                Err(DecodeError::Malformed),
                urc(text(b"back 2")),
                fin(R::Ok),
                fin(R::Ok),
            ],
        ),
        case(
            "a read whose length noise made longer swallows what follows until it is given up on a quiet line; then the probes are answered",
            vec![
                Host(Command::Ciprxget(RxGet::Read {
                    link: Some(0),
                    len: 486,
                    hex: false,
                })),
                Modem(b"\r\n+CIPRXGET: 2,00,233,0\r\nback 3\n\r\nOK\r\n"),
                Cancel,
                Host(Command::At),
                Modem(b"\r\nOK\r\n"),
                Pending(true),
                Abandon(true),
                Abandon(false),
                Cancel,
                Host(Command::At),
                Modem(b"\r\nOK\r\n"),
            ],
            vec![fin(R::Ok)],
        ),
        case(
            "a hex read may announce as many bytes as were asked for",
            vec![
                Host(Command::Ciprxget(RxGet::Read {
                    link: Some(0),
                    len: 2,
                    hex: true,
                })),
                Modem(b"\r\n+CIPRXGET: 3,0,2,0\r\n0D0A\r\nOK\r\n"),
            ],
            vec![
                info(R::RxGet(RxGetResponse::Data {
                    link: Some(0),
                    hex: true,
                    remaining: 0,
                    data: b"0D0A",
                })),
                fin(R::Ok),
            ],
        ),
    ]);
}

// ---- Transcripts ---------------------------------------------------------------------------

/// `C: <n>,,"","","","INITIAL"` for links `from..to`, as modem bytes and expected events;
/// the last one is final when `to` is the link count.
fn unused_links(from: u8, to: u8, count: u8) -> (Vec<u8>, Vec<Expected>) {
    let mut bytes = vec![];
    let mut events = vec![];
    for n in from..to {
        bytes.extend(format!("\r\nC: {n},,\"\",\"\",\"\",\"INITIAL\"\r\n").bytes());
        let r = Response::Connection(unused(n));
        events.push(if n + 1 == count { fin(r) } else { info(r) });
    }
    (bytes, events)
}

/// A CIPSTATUS in multi mode with every link unused.
fn cipstatus_multi(state: IpState, links: u8, steps: &mut Vec<Step>, expect: &mut Vec<Expected>) {
    let (lines, events) = unused_links(0, links, links);
    let mut bytes = format!("\r\nOK\r\n\r\nSTATE: {}\r\n", state.as_str()).into_bytes();
    bytes.extend(lines);
    steps.extend([Host(CIPSTATUS), Modem(leak(&bytes))]);
    expect.extend([info(Response::Ok), info(Response::State(state))]);
    expect.extend(events);
}

/// Luat's `ril.lua`, `net.lua`, `misc.lua`, `sim.lua`, `link.lua` and `socket.lua` on an
/// Air202 (8 links), from RDY to a received message, a lost PDP context and a new bring-up.
#[test]
fn luat_2g_bring_up() {
    use Response as R;
    let links = 8;
    let creg2 = |stat| R::Creg {
        mode: None,
        stat,
        location: Some(Location {
            lac: 0x18be,
            ci: 0x93e1,
        }),
    };
    let mut steps = vec![
        // Power-up: echo is on; Luat waits for RDY.
        Modem(b"\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n"),
        Host(Command::Echo(false)),
        Modem(b"ATE0\r\r\nOK\r\n"),
        Host(Command::Cmee(0)),
        Modem(b"\r\nOK\r\n"),
        Host(Command::Creg(2)),
        Modem(b"\r\nOK\r\n"),
        Host(Command::Read(Name::Creg)),
        Modem(b"\r\n+CREG: 2,2\r\n\r\nOK\r\n"),
        Host(Command::Ceng {
            mode: 1,
            ncell: Some(1),
        }),
        Modem(b"\r\nOK\r\n"),
        Host(CSQ),
        Modem(b"\r\n+CSQ: 0,0\r\n\r\nOK\r\n"),
        Host(Command::Exec(Name::Ver)),
        Modem(b"\r\nLuat_V0034_8955\r\n\r\nOK\r\n"),
        Host(Command::Exec(Name::Cgsn)),
        Modem(b"\r\n862991527986589\r\n\r\nOK\r\n"),
        Host(Command::Exec(Name::Ccid)),
        Modem(b"\r\n89860117851014783481\r\n\r\nOK\r\n"),
        // Registration arrives in the middle of the IMSI answer.
        Host(Command::Exec(Name::Cimi)),
        Modem(b"\r\n+CREG: 1,\"18be\",\"93e1\"\r\n\r\n460041234567890\r\n\r\nOK\r\n"),
        // link.lua, on NET_STATE_REGISTERED.
        Host(Command::Ciicrmode(2)),
        Modem(b"\r\nOK\r\n"),
        Host(Command::Cipmux(true)),
        Modem(b"\r\nOK\r\n"),
        Host(Command::Ciphead(true)),
        Modem(b"\r\nOK\r\n"),
        Host(Command::Cipqsend(0)),
        Modem(b"\r\nOK\r\n"),
        Host(Command::Read(Name::Cgatt)),
        Modem(b"\r\n+CGATT: 1\r\n\r\nOK\r\n"),
    ];
    let mut expect = vec![
        urc(R::Ready),
        urc(R::Cfun(1)),
        urc(R::Cpin(SimState::Ready)),
        echo(b"ATE0"),
        fin(R::Ok),
        fin(R::Ok),
        fin(R::Ok),
        info(R::Creg {
            mode: Some(2),
            stat: RegStat::Searching,
            location: None,
        }),
        fin(R::Ok),
        fin(R::Ok),
        info(R::Csq { rssi: 0, ber: 0 }),
        fin(R::Ok),
        info(text(b"Luat_V0034_8955")),
        fin(R::Ok),
        info(text(b"862991527986589")),
        fin(R::Ok),
        info(text(b"89860117851014783481")),
        fin(R::Ok),
        urc(creg2(RegStat::Home)),
        info(text(b"460041234567890")),
        fin(R::Ok),
        fin(R::Ok),
        fin(R::Ok),
        fin(R::Ok),
        fin(R::Ok),
        info(R::Cgatt(true)),
        fin(R::Ok),
    ];
    // The STATE-driven bring-up: IP INITIAL → CSTT + CIICR → IP GPRSACT → CIFSR → IP STATUS.
    cipstatus_multi(IpState::IpInitial, links, &mut steps, &mut expect);
    steps.extend([
        Host(Command::Cstt {
            apn: "CMIOT",
            user: None,
            pwd: None,
        }),
        Modem(b"\r\nOK\r\n"),
        Host(Command::Exec(Name::Ciicr)),
        Modem(b"\r\nOK\r\n"),
    ]);
    expect.extend([fin(R::Ok), fin(R::Ok)]);
    cipstatus_multi(IpState::IpGprsact, links, &mut steps, &mut expect);
    steps.extend([
        Host(CIFSR),
        Modem(b"\r\n10.68.27.49\r\n"),
        Host(Command::Read(Name::Cdnscfg)),
        Modem(b"\r\nPrimaryDns: 211.138.180.2\r\n\r\nSecondaryDns: 211.138.180.3\r\n\r\nOK\r\n"),
    ]);
    expect.extend([
        fin(R::IpAddress([10, 68, 27, 49])),
        info(text(b"PrimaryDns: 211.138.180.2")),
        info(text(b"SecondaryDns: 211.138.180.3")),
        fin(R::Ok),
    ]);
    cipstatus_multi(IpState::IpStatus, links, &mut steps, &mut expect);
    // socket.lua: connect, send a heartbeat, receive, the periodic CSQ, a lost PDP context.
    steps.extend([
        Host(Command::Cipstart {
            link: Some(0),
            transport: Transport::Tcp,
            host: "36.7.87.100",
            port: 6500,
        }),
        Modem(b"\r\nOK\r\n"),
        Modem(b"\r\n0, CONNECT OK\r\n"),
        Host(Command::Cipsend {
            link: Some(0),
            len: Some(12),
        }),
        Modem(b"\r\n> "),
        Modem(b"\r\n0, SEND OK\r\n"),
        Modem(b"\r\n+RECEIVE,0,6:\r\nback\r\n"),
        Host(CSQ),
        Modem(b"\r\n+CSQ: 24,0\r\n\r\n+RECEIVE,0,3:\r\nbin\r\nOK\r\n"),
        Modem(b"\r\n+PDP: DEACT\r\n\r\n0, CLOSED\r\n"),
        Host(CIPSTATUS),
        Modem(b"\r\nOK\r\n\r\nSTATE: PDP DEACT\r\n"),
    ]);
    expect.extend([
        fin(R::Ok),
        urc(R::Connect {
            link: Some(0),
            result: ConnectResult::Ok,
        }),
        info(R::Prompt),
        fin(R::SendOk(Some(0))),
        urc(R::Receive {
            link: 0,
            data: b"back\r\n",
        }),
        info(R::Csq { rssi: 24, ber: 0 }),
        urc(R::Receive {
            link: 0,
            data: b"bin",
        }),
        fin(R::Ok),
        urc(R::PdpDeact),
        urc(R::Closed(Some(0))),
        info(R::Ok),
        info(R::State(IpState::PdpDeact)),
    ]);
    let (lines, events) = unused_links(0, links, links);
    steps.extend([
        Modem(leak(&lines)),
        Host(CIPSHUT),
        Modem(b"\r\nSHUT OK\r\n"),
        Pending(false),
    ]);
    expect.extend(events);
    expect.push(fin(R::ShutOk));
    check::<1600>(&Case {
        name: "Luat 2G bring-up",
        links,
        steps,
        expect,
    });
}

/// TinyGSM's SIM800 driver: init, gprsConnect (with `AT+CIFSR;E0`), connect, send, manual
/// receive, polling, stop, and power off (6 links).
#[test]
fn tinygsm_sim800() {
    use Response as R;
    let steps = vec![
        // init: AT until it answers (echo on), ATE0, CMEE, CLTS, CBATCHK, CPIN?.
        Host(Command::At),
        Modem(b"AT\r\r\nOK\r\n"),
        Host(Command::Echo(false)),
        Modem(b"ATE0\r\r\nOK\r\n"),
        Host(Command::Cmee(0)),
        Modem(b"\r\nOK\r\n"),
        Host(Command::Clts(true)),
        Modem(b"\r\nOK\r\n\r\n*PSUTTZ: 2026,11,28,7,20,0,\"+32\",0\r\n\r\nDST: 0\r\n"),
        Host(Command::Cbatchk(true)),
        Modem(b"\r\nOK\r\n"),
        Host(Command::Read(Name::Cpin)),
        Modem(b"\r\n+CPIN: READY\r\n\r\nOK\r\n"),
        // gprsConnect.
        Host(CIPSHUT),
        Modem(b"\r\nSHUT OK\r\n"),
        Host(Command::Cgatt(false)),
        Modem(b"\r\nOK\r\n"),
        Host(Command::Sapbr {
            cmd: 3,
            cid: 1,
            param: Some(("Contype", "GPRS")),
        }),
        Modem(b"\r\nOK\r\n"),
        Host(Command::Sapbr {
            cmd: 3,
            cid: 1,
            param: Some(("APN", "internet")),
        }),
        Modem(b"\r\nOK\r\n"),
        Host(Command::Cgdcont {
            cid: 1,
            pdp_type: "IP",
            apn: "internet",
        }),
        Modem(b"\r\nOK\r\n"),
        Host(Command::Cgact {
            active: true,
            cid: 1,
        }),
        Modem(b"\r\nOK\r\n"),
        Host(Command::Sapbr {
            cmd: 1,
            cid: 1,
            param: None,
        }),
        Modem(b"\r\nOK\r\n"),
        Host(Command::Sapbr {
            cmd: 2,
            cid: 1,
            param: None,
        }),
        Modem(b"\r\n+SAPBR: 1,1,\"10.52.3.7\"\r\n\r\nOK\r\n"),
        Host(Command::Cgatt(true)),
        Modem(b"\r\nOK\r\n"),
        Host(Command::Cipmux(true)),
        Modem(b"\r\nOK\r\n"),
        Host(Command::Cipqsend(1)),
        Modem(b"\r\nOK\r\n"),
        Host(Command::Ciprxget(RxGet::Manual(true))),
        Modem(b"\r\nOK\r\n"),
        Host(Command::Cstt {
            apn: "internet",
            user: Some(""),
            pwd: Some(""),
        }),
        Modem(b"\r\nOK\r\n"),
        Host(Command::Exec(Name::Ciicr)),
        Modem(b"\r\nOK\r\n"),
        // `AT+CIFSR;E0`: the IP line ends CIFSR; the host then waits for E0's OK.
        Host(CIFSR),
        Modem(b"\r\n10.52.3.7\r\n"),
        Host(Command::Echo(false)),
        Modem(b"\r\nOK\r\n"),
        Host(Command::Cdnscfg {
            primary: "8.8.8.8",
            secondary: Some("8.8.4.4"),
        }),
        Modem(b"\r\nOK\r\n"),
        // modemConnect, mux 0.
        Host(Command::Cipssl(false)),
        Modem(b"\r\nOK\r\n"),
        Host(Command::Cipstart {
            link: Some(0),
            transport: Transport::Tcp,
            host: "vsh.pp.ua",
            port: 80,
        }),
        Modem(b"\r\nOK\r\n\r\n0, CONNECT OK\r\n"),
        // modemSend.
        Host(SEND0),
        Modem(b"\r\n> "),
        Modem(b"\r\nDATA ACCEPT:0,5\r\n"),
        // Data arrives; modemGetAvailable, then modemRead.
        Modem(b"\r\n+CIPRXGET: 1,0\r\n"),
        Host(Command::Ciprxget(RxGet::Available { link: Some(0) })),
        Modem(b"\r\n+CIPRXGET: 4,0,12\r\n\r\nOK\r\n"),
        Host(Command::Ciprxget(RxGet::Read {
            link: Some(0),
            len: 12,
            hex: false,
        })),
        Modem(b"\r\n+CIPRXGET: 2,0,12,0\r\nHTTP/1.1\r\nOK\r\nOK\r\n"),
        // Polling the link, the minute's CSQ and CREG.
        Host(Command::CipstatusLink(0)),
        Modem(b"\r\n+CIPSTATUS: 0,0,\"TCP\",\"51.116.145.38\",\"80\",\"CONNECTED\"\r\n\r\nOK\r\n"),
        Host(CSQ),
        Modem(b"\r\n+CSQ: 17,0\r\n\r\nOK\r\n"),
        Host(Command::Read(Name::Creg)),
        Modem(b"\r\n+CREG: 0,1\r\n\r\nOK\r\n"),
        // Issue #111: SEND FAIL; #62: CIPRXGET and CLOSED while waiting for DATA ACCEPT.
        Host(Command::Cipsend {
            link: Some(1),
            len: Some(5),
        }),
        Modem(b"\r\n> \r\n1, SEND FAIL\r\n"),
        Host(SEND0),
        Modem(b"\r\n> \r\n+CIPRXGET: 1,0\r\n\r\n0, CLOSED\r\n\r\nERROR\r\n"),
        // stop(), then poweroff().
        Host(Command::Cipclose {
            link: Some(0),
            quick: Some(true),
        }),
        Modem(b"\r\nERROR\r\n"),
        Host(Command::Cpowd(1)),
        Modem(b"\r\nNORMAL POWER DOWN\r\n"),
        Pending(false),
    ];
    let expect = vec![
        echo(b"AT"),
        fin(R::Ok),
        echo(b"ATE0"),
        fin(R::Ok),
        fin(R::Ok),
        fin(R::Ok),
        urc(text(b"*PSUTTZ: 2026,11,28,7,20,0,\"+32\",0")),
        urc(text(b"DST: 0")),
        fin(R::Ok),
        info(R::Cpin(SimState::Ready)),
        fin(R::Ok),
        fin(R::ShutOk),
        fin(R::Ok),
        fin(R::Ok),
        fin(R::Ok),
        fin(R::Ok),
        fin(R::Ok),
        fin(R::Ok),
        info(named("SAPBR", "1,1,\"10.52.3.7\"")),
        fin(R::Ok),
        fin(R::Ok),
        fin(R::Ok),
        fin(R::Ok),
        fin(R::Ok),
        fin(R::Ok),
        fin(R::Ok),
        fin(R::IpAddress([10, 52, 3, 7])),
        fin(R::Ok),
        fin(R::Ok),
        fin(R::Ok),
        fin(R::Ok),
        urc(R::Connect {
            link: Some(0),
            result: ConnectResult::Ok,
        }),
        info(R::Prompt),
        fin(R::DataAccept {
            link: Some(0),
            len: 5,
        }),
        urc(R::RxGet(RxGetResponse::DataReady(Some(0)))),
        info(R::RxGet(RxGetResponse::Available {
            link: Some(0),
            len: 12,
        })),
        fin(R::Ok),
        info(R::RxGet(RxGetResponse::Data {
            link: Some(0),
            hex: false,
            remaining: 0,
            data: b"HTTP/1.1\r\nOK",
        })),
        fin(R::Ok),
        info(R::LinkStatus(ConnectionLine {
            ip: "51.116.145.38",
            port: "80",
            ..connected(0)
        })),
        fin(R::Ok),
        info(R::Csq { rssi: 17, ber: 0 }),
        fin(R::Ok),
        info(R::Creg {
            mode: Some(0),
            stat: RegStat::Home,
            location: None,
        }),
        fin(R::Ok),
        info(R::Prompt),
        fin(R::SendFail(Some(1))),
        info(R::Prompt),
        urc(R::RxGet(RxGetResponse::DataReady(Some(0)))),
        urc(R::Closed(Some(0))),
        fin(R::Error),
        fin(R::Error),
        fin(R::NormalPowerDown),
    ];
    check::<1600>(&Case {
        name: "TinyGSM SIM800",
        links: 6,
        steps,
        expect,
    });
}

// ---- Properties ----------------------------------------------------------------------------

fn link() -> impl Strategy<Value = Option<u8>> {
    proptest::option::of(any::<u8>())
}

fn bytes(max: usize) -> impl Strategy<Value = &'static [u8]> {
    proptest::collection::vec(any::<u8>(), 0..=max).prop_map(|v| leak(&v))
}

fn connection_line() -> impl Strategy<Value = ConnectionLine<'static>> {
    let transport = proptest::option::of(prop_oneof![Just(Transport::Tcp), Just(Transport::Udp)]);
    (
        any::<u8>(),
        any::<u8>(),
        transport,
        "[0-9.]{0,15}",
        "[0-9]{0,5}",
        0..6usize,
    )
        .prop_map(
            |(link, bearer, transport, ip, port, state)| ConnectionLine {
                link,
                // An unused link's bearer is written empty and read back as 0.
                bearer: if transport.is_some() { bearer } else { 0 },
                transport,
                ip: leak_str(&ip),
                port: leak_str(&port),
                state: ClientState::ALL[state],
            },
        )
}

fn date_time() -> impl Strategy<Value = DateTime> {
    (
        0..=99u8,
        1..=12u8,
        1..=31u8,
        0..24u8,
        0..60u8,
        0..60u8,
        any::<i8>(),
    )
        .prop_map(
            |(year, month, day, hour, minute, second, quarter_hours)| DateTime {
                year,
                month,
                day,
                hour,
                minute,
                second,
                quarter_hours,
            },
        )
}

const TYPED_NAMES: [&str; 10] = [
    "CSQ",
    "CREG",
    "CGATT",
    "CPIN",
    "CFUN",
    "CCLK",
    "CNTP",
    "CIPSTATUS",
    "CIPRXGET",
    "PDP",
];

/// Every variant of [`Response`]. Text starts with a lower-case letter, so it cannot look like
/// any other response (their keywords are upper case, digits or `+`).
fn response() -> impl Strategy<Value = Response<'static>> {
    use Response as R;
    let location = proptest::option::of(
        (any::<u16>(), any::<u32>()).prop_map(|(lac, ci)| Location { lac, ci }),
    );
    let stat = (0..=5u8).prop_map(|s| RegStat::from_code(s).unwrap());
    let result = prop_oneof![
        Just(ConnectResult::Ok),
        Just(ConnectResult::Fail),
        Just(ConnectResult::AlreadyConnected),
        Just(ConnectResult::DataMode)
    ];
    let info_name =
        "[A-Z][A-Z0-9]{0,8}".prop_filter("a typed name", |n| !TYPED_NAMES.contains(&n.as_str()));
    let text =
        ("[a-z]", proptest::collection::vec(any::<u8>(), 0..100)).prop_map(|(first, rest)| {
            let mut t = first.into_bytes();
            t.extend(rest.into_iter().filter(|&b| b != b'\r' && b != b'\n'));
            R::Text(leak(&t))
        });
    prop_oneof![
        Just(R::Ok),
        Just(R::Error),
        any::<u16>().prop_map(R::CmeError),
        any::<u16>().prop_map(R::CmsError),
        Just(R::ShutOk),
        link().prop_map(R::CloseOk),
        Just(R::Prompt),
        link().prop_map(R::SendOk),
        link().prop_map(R::SendFail),
        (link(), any::<u16>()).prop_map(|(link, len)| R::DataAccept { link, len }),
        (link(), result).prop_map(|(link, result)| R::Connect { link, result }),
        link().prop_map(R::Closed),
        Just(R::PdpDeact),
        (any::<u8>(), bytes(1460)).prop_map(|(link, data)| R::Receive { link, data }),
        bytes(1460).prop_map(R::Ipd),
        (any::<bool>(), bytes(1460)).prop_map(|(udp, data)| R::IpdTransport {
            transport: if udp { Transport::Udp } else { Transport::Tcp },
            data
        }),
        Just(R::NoCarrier),
        link().prop_map(|l| R::RxGet(RxGetResponse::DataReady(l))),
        (link(), any::<bool>(), any::<u16>(), bytes(1460)).prop_map(
            |(link, hex, remaining, data)| {
                // Hex data is two digits a byte.
                let data = if hex {
                    &data[..data.len() / 2 * 2]
                } else {
                    data
                };
                R::RxGet(RxGetResponse::Data {
                    link,
                    hex,
                    remaining,
                    data,
                })
            }
        ),
        (link(), any::<u16>())
            .prop_map(|(link, len)| R::RxGet(RxGetResponse::Available { link, len })),
        (0..IpState::ALL.len()).prop_map(|i| R::State(IpState::ALL[i])),
        connection_line().prop_map(R::Connection),
        connection_line().prop_map(R::LinkStatus),
        (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(txlen, acklen, nacklen)| R::Cipack {
            txlen,
            acklen,
            nacklen,
        }),
        any::<[u8; 4]>().prop_map(R::IpAddress),
        (any::<u8>(), any::<u8>()).prop_map(|(rssi, ber)| R::Csq { rssi, ber }),
        (proptest::option::of(any::<u8>()), stat, location).prop_map(|(mode, stat, location)| {
            R::Creg {
                mode,
                stat,
                location,
            }
        }),
        any::<bool>().prop_map(R::Cgatt),
        (0..SimState::ALL.len()).prop_map(|i| R::Cpin(SimState::ALL[i])),
        any::<u8>().prop_map(R::Cfun),
        date_time().prop_map(R::Cclk),
        any::<u8>().prop_map(R::Cntp),
        Just(R::Ready),
        Just(R::CallReady),
        Just(R::SmsReady),
        Just(R::NormalPowerDown),
        (0..4usize).prop_map(|i| R::Voltage(VoltageAlarm::ALL[i])),
        (info_name, "([!-~][ -~]{0,40})?").prop_map(|(name, params)| R::Info {
            name: leak_str(&name),
            params: leak_str(&params)
        }),
        text,
    ]
}

/// Commands a host may have pending.
const COMMANDS: [Command<'static>; 16] = [
    Command::At,
    Command::Online,
    Command::Exec(Name::Gmr),
    Command::Info,
    CSQ,
    CIPSTATUS,
    CIFSR,
    CIPSHUT,
    SEND0,
    Command::Read(Name::Creg),
    Command::Read(Name::Cpin),
    Command::Exec(Name::Cgsn),
    Command::CipstatusLink(0),
    Command::Cipclose {
        link: Some(0),
        quick: None,
    },
    Command::Cpowd(1),
    Command::Ciprxget(RxGet::Read {
        link: Some(0),
        len: 100,
        hex: false,
    }),
];

/// A piece of a modem stream: a response, noise, or the host starting a command.
#[derive(Debug, Clone)]
enum Piece {
    Response(Response<'static>),
    Noise(Vec<u8>),
    Start(usize),
}

fn stream() -> impl Strategy<Value = Vec<Piece>> {
    let piece = prop_oneof![
        6 => response().prop_map(Piece::Response),
        1 => proptest::collection::vec(any::<u8>(), 0..40).prop_map(Piece::Noise),
        1 => proptest::collection::vec(
            prop_oneof![Just(b'\r'), Just(b'\n'), Just(b':'), Just(b' '), Just(b'>'), any::<u8>()],
            0..20,
        ).prop_map(Piece::Noise),
        2 => (0..COMMANDS.len()).prop_map(Piece::Start),
    ];
    proptest::collection::vec(piece, 0..30)
}

/// Decodes `pieces`, cutting the stream before every offset for which `cut` is true.
fn decode_stream<const N: usize>(pieces: &[Piece], cut: impl Fn(usize) -> bool) -> Vec<Expected> {
    let mut decoder = Decoder::<N>::new();
    decoder.set_connection_lines(2);
    let mut events = vec![];
    let mut offset = 0;
    for piece in pieces {
        let bytes = match piece {
            Piece::Start(i) => {
                decoder.start(&COMMANDS[*i]);
                continue;
            }
            Piece::Response(r) => encode(r),
            Piece::Noise(n) => n.clone(),
        };
        let mut from = 0;
        for to in 1..=bytes.len() {
            if to == bytes.len() || cut(offset + to) {
                feed_all(&mut decoder, &bytes[from..to], &mut events);
                from = to;
            }
        }
        offset += bytes.len();
    }
    events
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn encode_then_decode_is_the_identity(r in response()) {
        let events = decode_one(&r);
        prop_assert_eq!(events, vec![expected_alone(r)]);
    }

    #[test]
    fn any_chunks_decode_as_all_at_once(
        pieces in stream(),
        cuts in proptest::collection::vec(0..20_000usize, 0..40),
    ) {
        let whole = decode_stream::<1600>(&pieces, |_| false);
        prop_assert_eq!(&decode_stream::<1600>(&pieces, |at| cuts.contains(&at)), &whole);
        prop_assert_eq!(&decode_stream::<1600>(&pieces, |_| true), &whole);
        // A small buffer sees errors, but the same ones however the bytes come.
        let small = decode_stream::<24>(&pieces, |_| false);
        prop_assert_eq!(&decode_stream::<24>(&pieces, |_| true), &small);
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        input in proptest::collection::vec(any::<u8>(), 0..2000),
        command in 0..COMMANDS.len(),
    ) {
        let mut decoder = Decoder::<32>::new();
        decoder.set_connection_lines(3);
        decoder.start(&COMMANDS[command]);
        let mut events = vec![];
        feed_all(&mut decoder, &input, &mut events);
    }
}
