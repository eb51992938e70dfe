//! The AT command half of `protocol`: the encoder against a golden transcript, the modem
//! side's incremental parser, properties of both, and real hosts' byte streams.
//!
//! `tests/golden/commands.txt` lists every command form with its exact bytes. After a
//! deliberate change to the encoder, regenerate it and review the diff:
//!
//!     UPDATE_EXPECT=1 cargo test -p protocol --test commands
//!
//! The properties run 256 cases each; `PROPTEST_CASES=100000` runs more.

mod support;

use pretty_assertions::assert_eq;
use proptest::prelude::*;
use protocol::command::{
    Cipccfg, CipccfgRx, Command, CommandParser, Name, ParseError, ParserEvent, RxGet,
};
use protocol::types::{DateTime, Transport};
use support::{check_golden, unescaped, Escaped};

// ---------------------------------------------------------------------------------------------
// Helpers

fn encode(command: &Command) -> Vec<u8> {
    let mut buf = [0; 512];
    let n = command.encode(&mut buf).expect("fits 512 bytes");
    buf[..n].to_vec()
}

/// What came out of the parser, owned: commands as their `Debug` text.
#[derive(Debug, Clone, PartialEq)]
enum Out {
    Line {
        raw: String,
        commands: Vec<Result<String, ParseError>>,
    },
    Data(String),
    Cancelled,
    Error(ParseError),
}

fn line(raw: &[u8], commands: &[Result<Command, ParseError>]) -> Out {
    Out::Line {
        raw: Escaped(raw).to_string(),
        commands: commands
            .iter()
            .map(|c| c.map(|c| format!("{c:?}")))
            .collect(),
    }
}

fn data(bytes: &[u8]) -> Out {
    Out::Data(Escaped(bytes).to_string())
}

/// The modem's side of the parser: parses each line's commands in the current `AT+CIPMUX`
/// mode, follows `AT+CIPMUX=<n>`, and enters data mode after a CIPSEND as the modem does when
/// it prompts with `> `.
struct Modem<const N: usize> {
    parser: CommandParser<N>,
    multi: bool,
    ctrl_z_max: u16,
    out: Vec<Out>,
}

impl<const N: usize> Modem<N> {
    fn new(ctrl_z_max: u16) -> Self {
        Modem {
            parser: CommandParser::new(),
            multi: false,
            ctrl_z_max,
            out: Vec::new(),
        }
    }

    fn feed(&mut self, mut input: &[u8]) {
        loop {
            let (used, event) = self.parser.feed(input);
            assert!(used <= input.len());
            input = &input[used..];
            let Some(event) = event else {
                assert!(input.is_empty(), "no event, so all input is taken");
                return;
            };
            let mut data_mode = None;
            let out = match event {
                Ok(ParserEvent::Line(line)) => {
                    let mut commands = Vec::new();
                    for segment in line.segments() {
                        let command = segment.parse(self.multi);
                        if let Ok(Command::Cipmux(multi)) = command {
                            self.multi = multi;
                        }
                        if let Some(mode) = command.ok().and_then(|c| c.data_mode(self.ctrl_z_max))
                        {
                            data_mode = Some(mode);
                        }
                        commands.push(command.map(|c| format!("{c:?}")));
                    }
                    Out::Line {
                        raw: Escaped(line.raw()).to_string(),
                        commands,
                    }
                }
                Ok(ParserEvent::Data(bytes)) => data(bytes),
                Ok(ParserEvent::DataCancelled) => Out::Cancelled,
                Err(e) => Out::Error(e),
            };
            self.out.push(out);
            if let Some(mode) = data_mode {
                self.parser.expect_data(mode);
            }
        }
    }
}

/// Feeds `chunks` one after the other to a fresh modem (64-byte parser, Ctrl-Z data at most
/// 16 bytes) and returns what came out.
fn run(chunks: &[&[u8]]) -> Vec<Out> {
    let mut modem = Modem::<64>::new(16);
    for chunk in chunks {
        modem.feed(chunk);
    }
    modem.out
}

/// `(name, the host's bytes in chunks, what the modem gets)`.
type StreamCase<'a> = (&'a str, &'a [&'a [u8]], Vec<Out>);

/// Runs the stream as chunked in the case, all at once and one byte at a time: each must
/// give `expected`.
fn check_stream(name: &str, chunks: &[&[u8]], expected: &[Out]) {
    assert_eq!(run(chunks), expected, "{name}: as chunked");
    let whole = chunks.concat();
    assert_eq!(run(&[&whole]), expected, "{name}: all at once");
    let bytes: Vec<&[u8]> = whole.chunks(1).collect();
    assert_eq!(run(&bytes), expected, "{name}: byte by byte");
}

// ---------------------------------------------------------------------------------------------
// Golden transcript: every command form and its exact bytes

fn dt(quarter_hours: i8) -> DateTime {
    DateTime {
        year: 26,
        month: 11,
        day: 28,
        hour: 15,
        minute: 20,
        second: 0,
        quarter_hours,
    }
}

/// Every variant, every form, and the edges of their spellings.
#[rustfmt::skip]
fn golden_commands() -> Vec<Command<'static>> {
    use Command as C;
    let mut all = vec![
        C::At,
        C::Echo(false),
        C::Echo(true),
        C::Info,
        C::SaveProfile,
        C::FlowControl(0),
        C::FlowControl(3),
        C::Reset,
        C::FactoryDefaults,
        C::Verbose(false),
        C::Verbose(true),
        C::Quiet(false),
        C::Quiet(true),
        C::Online,
    ];
    for name in Name::ALL {
        all.extend([C::Test(name), C::Read(name), C::Exec(name)]);
    }
    all.extend([
        C::Cmee(0),
        C::Cmee(2),
        C::Cpin("1234"),
        C::Atwmft(99),
        C::Creg(2),
        C::Cgatt(false),
        C::Cgatt(true),
        C::Cfun { fun: 0, rst: None },
        C::Cfun { fun: 1, rst: Some(1) },
        C::Cpowd(1),
        C::Cclk(dt(32)),
        C::Cclk(dt(0)),
        C::Cclk(dt(-20)),
        C::Cclk(DateTime { year: 0, month: 1, day: 2, hour: 3, minute: 4, second: 5, quarter_hours: 4 }),
        C::Cntpcid(1),
        C::Cntp { server: "pool.ntp.org", tz: 32 },
        C::Cntp { server: "pool.ntp.org", tz: -20 },
        C::Ceng { mode: 1, ncell: Some(1) },
        C::Ceng { mode: 0, ncell: None },
        C::Clts(true),
        C::Cbatchk(true),
        C::Ciurc(false),
        C::Ipr(115_200),
        C::Cipmux(true),
        C::Cstt { apn: "CMIOT", user: None, pwd: None },
        C::Cstt { apn: "internet", user: Some("user"), pwd: Some("pwd") },
        C::Cstt { apn: "internet", user: Some(""), pwd: Some("") },
        C::Cstt { apn: "internet", user: Some("user"), pwd: None },
        C::Ciicrmode(2),
        C::CipstatusLink(0),
        C::CipackLink(3),
        C::Cipstart { link: None, transport: Transport::Tcp, host: "example.com", port: 8000 },
        C::Cipstart { link: Some(0), transport: Transport::Tcp, host: "example.com", port: 8000 },
        C::Cipstart { link: Some(5), transport: Transport::Udp, host: "10.0.0.1", port: 123 },
        C::Cipsend { link: None, len: Some(10) },
        C::Cipsend { link: Some(0), len: Some(1460) },
        C::Cipsend { link: Some(1), len: None },
        C::Cipqsend(1),
        C::Cipclose { link: None, quick: Some(true) },
        C::Cipclose { link: None, quick: Some(false) },
        C::Cipclose { link: Some(0), quick: None },
        C::Cipclose { link: Some(1), quick: Some(true) },
        C::Ciphead(true),
        C::Ciprxget(RxGet::Manual(false)),
        C::Ciprxget(RxGet::Manual(true)),
        C::Ciprxget(RxGet::Read { link: None, len: 1460, hex: false }),
        C::Ciprxget(RxGet::Read { link: None, len: 100, hex: true }),
        C::Ciprxget(RxGet::Read { link: Some(0), len: 63, hex: false }),
        C::Ciprxget(RxGet::Read { link: Some(7), len: 1, hex: true }),
        C::Ciprxget(RxGet::Available { link: None }),
        C::Ciprxget(RxGet::Available { link: Some(0) }),
        C::Cipssl(false),
        C::Cdnscfg { primary: "8.8.8.8", secondary: None },
        C::Cdnscfg { primary: "8.8.8.8", secondary: Some("8.8.4.4") },
        C::Cgdcont { cid: 1, pdp_type: "IP", apn: "internet" },
        C::Cgact { active: true, cid: 1 },
        C::Sapbr { cmd: 3, cid: 1, param: Some(("Contype", "GPRS")) },
        C::Sapbr { cmd: 1, cid: 1, param: None },
        C::Tcpuserparam([6, 4, 7200, 16]),
        C::Cipccfg(Cipccfg { retries: 5, wait_tm: 2, send_size: 1024, esc: true, rx: None }),
        C::Cipccfg(Cipccfg {
            retries: 3, wait_tm: 10, send_size: 1460, esc: false,
            rx: Some(CipccfgRx { mode: true, size: 50, timer: 1000 }),
        }),
        // Issue 13.
        C::Ifc { dce_by_dte: 0, dte_by_dce: Some(0) },
        C::Ifc { dce_by_dte: 2, dte_by_dce: None },
        C::Clip(true),
        C::Cscs("GSM"),
        C::Cscs("HEX"),
        C::Cmgf(true),
        C::Cmghex(true),
        C::Csclk(0),
        C::Csclk(2),
        C::Cnetlight(false),
        C::Csmins(true),
        C::Cops { mode: 0, format: None },
        C::Cops { mode: 3, format: Some((2, None)) },
        C::Cops { mode: 1, format: Some((2, Some("46001"))) },
        C::Cops { mode: 4, format: Some((0, Some("CHINA MOBILE"))) },
        C::Cgreg(2),
        C::Cipsrip(true),
        C::Cipshowtp(true),
        C::Cipsprt(2),
        C::Cipmode(true),
        C::Cdnsgip("lab.longlink.test"),
        C::Cipgsmloc { kind: 1, cid: 1 },
        C::Clbs { kind: 4, cid: 1 },
        C::Ston(false),
    ]);
    all
}

const GOLDEN: &str = "tests/golden/commands.txt";
const SEPARATOR: &str = "  =>  ";

#[test]
fn golden_transcript() {
    let mut text = String::from(
        "# Every Command form and the exact bytes Command::encode writes (protocol/tests/commands.rs).\n",
    );
    for command in golden_commands() {
        text.push_str(&format!(
            "{command:?}{SEPARATOR}{}\n",
            Escaped(&encode(&command))
        ));
    }
    check_golden(GOLDEN, &text);
}

/// Each golden line's bytes, parsed as a modem would, give back the command.
#[test]
fn golden_bytes_parse_back() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN);
    let golden = std::fs::read_to_string(path).unwrap();
    for record in golden.lines().filter(|l| !l.starts_with('#')) {
        let (value, bytes) = record.rsplit_once(SEPARATOR).unwrap();
        let bytes = unescaped(bytes);
        // The bytes themselves say the mode: only multi-mode spellings carry `Some(<link>)`.
        let multi = value.contains("link: Some")
            || value.starts_with("CipstatusLink")
            || value.starts_with("CipackLink");
        let parsed = parse_line(&bytes, multi);
        assert_eq!(parsed, [Ok(value.to_owned())], "{record}");
    }
}

/// The commands of the single line `bytes`, as `Debug` text.
fn parse_line(bytes: &[u8], multi: bool) -> Vec<Result<String, ParseError>> {
    let mut parser = CommandParser::<512>::new();
    let (used, event) = parser.feed(bytes);
    assert_eq!(used, bytes.len(), "{}", Escaped(bytes));
    match event {
        Some(Ok(ParserEvent::Line(line))) => line
            .segments()
            .map(|s| s.parse(multi).map(|c| format!("{c:?}")))
            .collect(),
        other => panic!("{}: {other:?}", Escaped(bytes)),
    }
}

#[test]
fn encoder_reports_a_small_buffer() {
    let command = Command::Cipstart {
        link: Some(0),
        transport: Transport::Tcp,
        host: "example.com",
        port: 8000,
    };
    let full = encode(&command);
    for len in 0..full.len() {
        let mut buf = vec![0; len];
        assert_eq!(command.encode(&mut buf), Err(protocol::BufferFull), "{len}");
    }
    let mut body = [0; 64];
    let n = command.encode_body(&mut body).unwrap();
    assert_eq!(
        Escaped(&body[..n]).to_string(),
        r#"+CIPSTART=0,"TCP","example.com",8000"#
    );
}

/// The values that share their bytes with another value: documented, not round-tripped.
#[test]
fn values_with_the_same_bytes_as_another() {
    use Command as C;
    let cases: &[(Command, Command)] = &[
        (
            C::Cipsend {
                link: None,
                len: None,
            },
            C::Exec(Name::Cipsend),
        ),
        (
            C::Cipclose {
                link: None,
                quick: None,
            },
            C::Exec(Name::Cipclose),
        ),
        (
            C::Cstt {
                apn: "a",
                user: None,
                pwd: Some("p"),
            },
            C::Cstt {
                apn: "a",
                user: Some(""),
                pwd: Some("p"),
            },
        ),
    ];
    for (value, canonical) in cases {
        assert_eq!(encode(value), encode(canonical));
        assert_eq!(
            parse_line(&encode(value), false),
            [Ok(format!("{canonical:?}"))]
        );
    }
}

// ---------------------------------------------------------------------------------------------
// One command line: spellings, modes and errors

/// `(line without terminator, multi, the commands it holds)`.
type LineCase<'a> = (&'a str, bool, &'a [Result<Command<'a>, ParseError>]);

fn check_lines(cases: &[LineCase<'_>]) {
    for (text, multi, expected) in cases {
        let expected: Vec<_> = expected
            .iter()
            .map(|c| c.map(|c| format!("{c:?}")))
            .collect();
        assert_eq!(
            parse_line(format!("{text}\r").as_bytes(), *multi),
            expected,
            "{text} (multi: {multi})"
        );
    }
}

const BAD: Result<Command<'static>, ParseError> = Err(ParseError::BadParameters);
const UNKNOWN: Result<Command<'static>, ParseError> = Err(ParseError::UnknownCommand);

#[test]
#[rustfmt::skip]
fn basic_commands() {
    use Command as C;
    check_lines(&[
        ("AT", false, &[Ok(C::At)]),
        ("at", false, &[Ok(C::At)]),
        ("AT ", false, &[Ok(C::At)]),
        ("AT;", false, &[Ok(C::At)]),
        ("ATE0", false, &[Ok(C::Echo(false))]),
        ("ate1", false, &[Ok(C::Echo(true))]),
        // A missing number is 0 (V.250 §5.3.1).
        ("ATE", false, &[Ok(C::Echo(false))]),
        ("ATE2", false, &[BAD]),
        ("ATI", false, &[Ok(C::Info)]),
        ("ATI1", false, &[BAD]),
        ("AT&W", false, &[Ok(C::SaveProfile)]),
        ("at&k0", false, &[Ok(C::FlowControl(0))]),
        ("AT&K3", false, &[Ok(C::FlowControl(3))]),
        ("AT&K", false, &[BAD]),
        ("AT&K256", false, &[BAD]),
        ("ATZ", false, &[Ok(C::Reset)]),
        ("ATZ0", false, &[Ok(C::Reset)]),
        ("ATZ1", false, &[BAD]),
        ("AT&F", false, &[Ok(C::FactoryDefaults)]),
        ("at&f0", false, &[Ok(C::FactoryDefaults)]),
        ("AT&F1", false, &[BAD]),
        ("AT&W0", false, &[Ok(C::SaveProfile)]),
        ("AT&W1", false, &[BAD]),
        ("ATV0", false, &[Ok(C::Verbose(false))]),
        ("ATV1", false, &[Ok(C::Verbose(true))]),
        ("ATV", false, &[Ok(C::Verbose(false))]),
        ("ATV2", false, &[BAD]),
        ("ATQ1", false, &[Ok(C::Quiet(true))]),
        ("ATQ", false, &[Ok(C::Quiet(false))]),
        ("ATO", false, &[Ok(C::Online)]),
        ("ATO0", false, &[Ok(C::Online)]),
        ("ATO1", false, &[BAD]),
        ("AT&X", false, &[UNKNOWN]),
        ("ATD123", false, &[UNKNOWN]),
        ("AT+", false, &[UNKNOWN]),
        ("AT+FOO", false, &[UNKNOWN]),
        ("AT+FOO=1", false, &[UNKNOWN]),
    ]);
}

#[test]
#[rustfmt::skip]
fn extended_forms_and_parameters() {
    use Command as C;
    let cstt = |apn, user, pwd| C::Cstt { apn, user, pwd };
    let cntp = |tz| C::Cntp { server: "pool.ntp.org", tz };
    let cfun = |fun, rst| C::Cfun { fun, rst };
    let ccfg = |retries, rx| Cipccfg { retries, wait_tm: 2, send_size: 1024, esc: true, rx };
    check_lines(&[
        ("AT+CSQ", false, &[Ok(C::Exec(Name::Csq))]),
        ("at+csq", false, &[Ok(C::Exec(Name::Csq))]),
        ("AT+CSQ ", false, &[Ok(C::Exec(Name::Csq))]),
        ("AT+CREG?", false, &[Ok(C::Read(Name::Creg))]),
        ("AT+CIPSEND=?", false, &[Ok(C::Test(Name::Cipsend))]),
        ("AT+CSQ=1", false, &[BAD]),
        ("AT+CSQ?1", false, &[BAD]),
        ("AT+CFUN ?", false, &[UNKNOWN]),
        ("AT+CFUN=1,1", false, &[Ok(cfun(1, Some(1)))]),
        ("AT+CFUN= 1 , 1 ", false, &[Ok(cfun(1, Some(1)))]),
        ("AT+CFUN=01", false, &[Ok(cfun(1, None))]),
        ("AT+CFUN=", false, &[BAD]),
        ("AT+CFUN=1,", false, &[BAD]),
        ("AT+CFUN=,1", false, &[BAD]),
        ("AT+CFUN=1,1,1", false, &[BAD]),
        ("AT+CFUN=-1", false, &[BAD]),
        ("AT+CMEE=256", false, &[BAD]),
        ("AT+CGATT=2", false, &[BAD]),
        ("AT+IPR=4294967296", false, &[BAD]),
        ("AT+TCPUSERPARAM=6,4,7200,16", false, &[Ok(C::Tcpuserparam([6, 4, 7200, 16]))]),
        ("AT+TCPUSERPARAM=6,4,7200,16,1", false, &[BAD]),
        ("AT+CIPCCFG=5,2,1024,1", false, &[Ok(C::Cipccfg(ccfg(5, None)))]),
        ("AT+CIPCCFG=8,2,1024,1,0,1460,50", false,
            &[Ok(C::Cipccfg(ccfg(8, Some(CipccfgRx { mode: false, size: 1460, timer: 50 }))))]),
        // Ranges (NmRetry 3-8, ...) are the modem's to check; the fields' types are not.
        ("AT+CIPCCFG=0,2,1024,1", false, &[Ok(C::Cipccfg(ccfg(0, None)))]),
        ("AT+CIPCCFG=256,2,1024,1", false, &[BAD]),
        ("AT+CIPCCFG=5,2,1024,2", false, &[BAD]),
        ("AT+CIPCCFG=5,2,1024", false, &[BAD]),
        ("AT+CIPCCFG=5,2,1024,1,0", false, &[BAD]),
        ("AT+CIPCCFG=5,2,1024,1,0,1460,50,1", false, &[BAD]),
        // Strings: quoted, any bytes but `"`, `,` and `;` included.
        (r#"AT+CPIN="1234""#, false, &[Ok(C::Cpin("1234"))]),
        ("AT+CPIN=1234", false, &[BAD]),
        (r#"AT+CPIN="12"#, false, &[BAD]),
        (r#"AT+CPIN="1"2""#, false, &[BAD]),
        (r#"AT+CSTT="a,b;c""#, false, &[Ok(cstt("a,b;c", None, None))]),
        (r#"AT+CSTT="""#, false, &[Ok(cstt("", None, None))]),
        ("AT+CSTT", false, &[Ok(C::Exec(Name::Cstt))]),
        (r#"AT+CSTT="a","u","p","x""#, false, &[BAD]),
        (r#"AT+CDNSCFG="8.8.8.8", "8.8.4.4""#, false,
            &[Ok(C::Cdnscfg { primary: "8.8.8.8", secondary: Some("8.8.4.4") })]),
        (r#"AT+SAPBR=3,1,"APN""#, false, &[BAD]),
        // Time: two digits each, the zone signed, -47..=48 quarter-hours.
        (r#"AT+CCLK="26/11/28,15:20:00+32""#, false, &[Ok(C::Cclk(dt(32)))]),
        (r#"AT+CCLK="26/11/28,15:20:00-20""#, false, &[Ok(C::Cclk(dt(-20)))]),
        (r#"AT+CCLK="26/11/28,15:20:00+49""#, false, &[BAD]),
        (r#"AT+CCLK="26/11/28,15:20:00-48""#, false, &[BAD]),
        (r#"AT+CCLK="26/11/28,15:20:00""#, false, &[BAD]),
        (r#"AT+CCLK="26/13/28,15:20:00+32""#, false, &[BAD]),
        (r#"AT+CCLK="26/11/28,24:20:00+32""#, false, &[BAD]),
        (r#"AT+CCLK="26/11/8,15:20:00+032""#, false, &[BAD]),
        (r#"AT+CNTP="pool.ntp.org",32"#, false, &[Ok(cntp(32))]),
        (r#"AT+CNTP="pool.ntp.org",+8"#, false, &[Ok(cntp(8))]),
        (r#"AT+CNTP="pool.ntp.org",-8"#, false, &[Ok(cntp(-8))]),
        (r#"AT+CNTP="pool.ntp.org",128"#, false, &[BAD]),
        (r#"AT+CNTP="pool.ntp.org""#, false, &[BAD]),
    ]);
}

#[test]
#[rustfmt::skip]
fn single_and_multi_connection_spellings() {
    use Command as C;
    let tcp = |link| C::Cipstart { link, transport: Transport::Tcp, host: "example.com", port: 8000 };
    let send = |link, len| C::Cipsend { link, len };
    let close = |link, quick| C::Cipclose { link, quick };
    let read = |link, len, hex| C::Ciprxget(RxGet::Read { link, len, hex });
    let available = |link| C::Ciprxget(RxGet::Available { link });
    let (single, multi) = (false, true);
    check_lines(&[
        (r#"AT+CIPSTART="TCP","example.com",8000"#, single, &[Ok(tcp(None))]),
        (r#"AT+CIPSTART="TCP","example.com","8000""#, single, &[Ok(tcp(None))]),
        (r#"AT+CIPSTART="tcp","example.com",8000"#, single, &[Ok(tcp(None))]),
        (r#"AT+CIPSTART=0,"TCP","example.com",8000"#, multi, &[Ok(tcp(Some(0)))]),
        (r#"AT+CIPSTART=0, "TCP", "example.com", 8000"#, multi, &[Ok(tcp(Some(0)))]),
        (r#"AT+CIPSTART=0,"TCP","example.com",8000"#, single, &[BAD]),
        (r#"AT+CIPSTART="TCP","example.com",8000"#, multi, &[BAD]),
        (r#"AT+CIPSTART=8,"TCP","example.com",8000"#, multi, &[BAD]),
        (r#"AT+CIPSTART="SCTP","example.com",8000"#, single, &[BAD]),
        (r#"AT+CIPSTART="TCP","example.com",65536"#, single, &[BAD]),
        (r#"AT+CIPSTART="TCP",example.com,8000"#, single, &[BAD]),
        // CIPSEND: a length in single mode, a link (and a length) in multi mode.
        ("AT+CIPSEND", single, &[Ok(C::Exec(Name::Cipsend))]),
        ("AT+CIPSEND=5", single, &[Ok(send(None, Some(5)))]),
        ("AT+CIPSEND=5", multi, &[Ok(send(Some(5), None))]),
        ("AT+CIPSEND=0,5", multi, &[Ok(send(Some(0), Some(5)))]),
        ("AT+CIPSEND=0,5", single, &[BAD]),
        ("AT+CIPSEND=8", multi, &[BAD]),
        ("AT+CIPSEND=65536", single, &[BAD]),
        // CIPCLOSE: `quick` in single mode, a link (and `quick`) in multi mode.
        ("AT+CIPCLOSE", single, &[Ok(C::Exec(Name::Cipclose))]),
        ("AT+CIPCLOSE=1", single, &[Ok(close(None, Some(true)))]),
        ("AT+CIPCLOSE=2", single, &[BAD]),
        ("AT+CIPCLOSE=1", multi, &[Ok(close(Some(1), None))]),
        ("AT+CIPCLOSE=0,1", multi, &[Ok(close(Some(0), Some(true)))]),
        ("AT+CIPCLOSE=0,1", single, &[BAD]),
        ("AT+CIPSTATUS=0", multi, &[Ok(C::CipstatusLink(0))]),
        ("AT+CIPSTATUS=0", single, &[BAD]),
        // CIPACK: `AT+CIPACK=<n>` in multi mode, the bare `AT+CIPACK` in single mode.
        ("AT+CIPACK=2", multi, &[Ok(C::CipackLink(2))]),
        ("AT+CIPACK=2", single, &[BAD]),
        ("AT+CIPACK", single, &[Ok(C::Exec(Name::Cipack))]),
        ("AT+CIPACK=?", multi, &[Ok(C::Test(Name::Cipack))]),
        // CIPRXGET: the link is there in multi mode only.
        ("AT+CIPRXGET=0", single, &[Ok(C::Ciprxget(RxGet::Manual(false)))]),
        ("AT+CIPRXGET=1", multi, &[Ok(C::Ciprxget(RxGet::Manual(true)))]),
        ("AT+CIPRXGET=2,1460", single, &[Ok(read(None, 1460, false))]),
        ("AT+CIPRXGET=3,100", single, &[Ok(read(None, 100, true))]),
        ("AT+CIPRXGET=2,0,63", multi, &[Ok(read(Some(0), 63, false))]),
        ("AT+CIPRXGET=2,0,63", single, &[BAD]),
        ("AT+CIPRXGET=2,63", multi, &[BAD]),
        ("AT+CIPRXGET=4", single, &[Ok(available(None))]),
        ("AT+CIPRXGET=4,1", multi, &[Ok(available(Some(1)))]),
        ("AT+CIPRXGET=4", multi, &[BAD]),
        ("AT+CIPRXGET=1,0", single, &[BAD]),
        // Luat's report-every-arrival mode 5 (newer firmware) is not supported.
        ("AT+CIPRXGET=5", single, &[BAD]),
    ]);
}

#[test]
#[rustfmt::skip]
fn chained_commands() {
    use Command as C;
    let (csq, ciicr) = (Ok(C::Exec(Name::Csq)), Ok(C::Exec(Name::Ciicr)));
    check_lines(&[
        (r#"AT+CSTT="x";+CIICR"#, false, &[Ok(C::Cstt { apn: "x", user: None, pwd: None }), ciicr]),
        // TinyGSM: `;E0` forces an OK after CIFSR.
        ("AT+CIFSR;E0", false, &[Ok(C::Exec(Name::Cifsr)), Ok(C::Echo(false))]),
        ("ATE0;+CMEE=0", false, &[Ok(C::Echo(false)), Ok(C::Cmee(0))]),
        ("AT+CSQ; +CREG? ;", false, &[csq, Ok(C::Read(Name::Creg))]),
        ("AT+CSQ;;+CREG?", false, &[csq, Ok(C::Read(Name::Creg))]),
        // A `;` inside quotes does not split.
        (r#"AT+CSTT="a;b","u;","p";+CIICR"#, false,
            &[Ok(C::Cstt { apn: "a;b", user: Some("u;"), pwd: Some("p") }), ciicr]),
        // Later commands have no `AT`; one that has is not a command.
        ("AT+CSQ;AT+CREG?", false, &[csq, UNKNOWN]),
        ("AT+FOO;+CSQ", false, &[UNKNOWN, csq]),
        // Basic commands chain without a separator (V.250 §5.4.1); TinyGSM's factoryDefault.
        ("AT&FZE0&W", false, &[Ok(C::FactoryDefaults), Ok(C::Reset), Ok(C::Echo(false)), Ok(C::SaveProfile)]),
        ("ATE0V1", false, &[Ok(C::Echo(false)), Ok(C::Verbose(true))]),
        ("ATE0 V1 Q0", false, &[Ok(C::Echo(false)), Ok(C::Verbose(true)), Ok(C::Quiet(false))]),
        // An extended command may follow basic ones.
        ("ATE0+CMEE=2", false, &[Ok(C::Echo(false)), Ok(C::Cmee(2))]),
        ("ATZ;E0", false, &[Ok(C::Reset), Ok(C::Echo(false))]),
        // One bad link of a chain is that link's error.
        ("ATE0X1V1", false, &[Ok(C::Echo(false)), UNKNOWN, Ok(C::Verbose(true))]),
        ("ATE5V1", false, &[BAD, Ok(C::Verbose(true))]),
        // S-registers are split off whole; `D` takes the rest of its segment.
        ("ATS0=1E0", false, &[UNKNOWN, Ok(C::Echo(false))]),
        ("ATS7?V1", false, &[UNKNOWN, Ok(C::Verbose(true))]),
        ("ATD123;E0", false, &[UNKNOWN, Ok(C::Echo(false))]),
        ("ATDE0", false, &[UNKNOWN]),
        // Ircama's sim800l `setup()` in text mode (`AT+IFC=0,0;+CLIP=1;...`).
        (r#"AT+IFC=0,0;+CLIP=1;+CMGF=1;+CLTS=1;+CSCLK=0;+CSCS="GSM";+CMGHEX=1"#, false, &[
            Ok(C::Ifc { dce_by_dte: 0, dte_by_dce: Some(0) }), Ok(C::Clip(true)), Ok(C::Cmgf(true)),
            Ok(C::Clts(true)), Ok(C::Csclk(0)), Ok(C::Cscs("GSM")), Ok(C::Cmghex(true)),
        ]),
    ]);
}

#[test]
#[rustfmt::skip]
fn issue_13_set_forms() {
    use Command as C;
    let cops = |mode, format| C::Cops { mode, format };
    check_lines(&[
        ("AT+IFC=0,0", false, &[Ok(C::Ifc { dce_by_dte: 0, dte_by_dce: Some(0) })]),
        ("AT+IFC=2", false, &[Ok(C::Ifc { dce_by_dte: 2, dte_by_dce: None })]),
        ("AT+IFC=0,0,0", false, &[BAD]),
        ("AT+IFC", false, &[Ok(C::Exec(Name::Ifc))]),
        ("AT+CLIP=2", false, &[BAD]),
        (r#"AT+CSCS="UCS2""#, false, &[Ok(C::Cscs("UCS2"))]),
        ("AT+CSCS=GSM", false, &[BAD]),
        ("AT+CSCLK=9", false, &[Ok(C::Csclk(9))]),
        ("AT+CSCLK=256", false, &[BAD]),
        ("AT+CNETLIGHT=0", false, &[Ok(C::Cnetlight(false))]),
        ("AT+CSMINS?", false, &[Ok(C::Read(Name::Csmins))]),
        ("AT+CBC", false, &[Ok(C::Exec(Name::Cbc))]),
        ("AT+CBC=1", false, &[BAD]),
        ("AT+COPS?", false, &[Ok(C::Read(Name::Cops))]),
        ("AT+COPS=?", false, &[Ok(C::Test(Name::Cops))]),
        ("AT+COPS=0", false, &[Ok(cops(0, None))]),
        (r#"AT+COPS=1,2,"46001""#, false, &[Ok(cops(1, Some((2, Some("46001")))))]),
        ("AT+COPS=1,2,46001", false, &[BAD]),
        ("AT+COPS=3,0", false, &[Ok(cops(3, Some((0, None))))]),
        (r#"AT+COPS=1,2,"46001",7"#, false, &[BAD]),
        ("AT+CGREG=2", false, &[Ok(C::Cgreg(2))]),
        ("AT+CGREG?", false, &[Ok(C::Read(Name::Cgreg))]),
        ("AT+GMR", false, &[Ok(C::Exec(Name::Gmr))]),
        ("AT+CIPSRIP=1", false, &[Ok(C::Cipsrip(true))]),
        ("AT+CIPSHOWTP=1", false, &[Ok(C::Cipshowtp(true))]),
        ("AT+CIPSPRT=0", false, &[Ok(C::Cipsprt(0))]),
        ("AT+CIPMODE=1", false, &[Ok(C::Cipmode(true))]),
        ("AT+CIPMODE=2", false, &[BAD]),
        (r#"AT+CDNSGIP="www.example.com""#, false, &[Ok(C::Cdnsgip("www.example.com"))]),
        // Bare, as Ircama's sim800l writes it; the encoder quotes it.
        ("AT+CDNSGIP=www.example.com", false, &[Ok(C::Cdnsgip("www.example.com"))]),
        ("AT+CDNSGIP=", false, &[BAD]),
        ("AT+CDNSGIP=a\"b", false, &[BAD]),
        ("AT+CIPGSMLOC=1,1", false, &[Ok(C::Cipgsmloc { kind: 1, cid: 1 })]),
        ("AT+CIPGSMLOC=1", false, &[BAD]),
        ("AT+CLBS=4,1", false, &[Ok(C::Clbs { kind: 4, cid: 1 })]),
        ("AT+STON=0", false, &[Ok(C::Ston(false))]),
        ("AT+CNUM", false, &[Ok(C::Exec(Name::Cnum))]),
        ("AT+CSPN?", false, &[Ok(C::Read(Name::Cspn))]),
        ("AT+CMTE?", false, &[Ok(C::Read(Name::Cmte))]),
        ("AT+COPN", false, &[Ok(C::Exec(Name::Copn))]),
    ]);
}

// ---------------------------------------------------------------------------------------------
// The byte stream: terminators, echo, noise, overflow, data mode

#[test]
#[rustfmt::skip]
fn line_discipline() {
    use Command as C;
    let at = || line(b"AT\r", &[Ok(C::At)]);
    let csq = |raw: &[u8]| line(raw, &[Ok(C::Exec(Name::Csq))]);
    let (noise, too_long_line) = (Out::Error(ParseError::Noise), Out::Error(ParseError::LineTooLong));
    // `AT+CSTT=""\r` is 11 bytes; the parser holds 64.
    let fits = format!("AT+CSTT=\"{}\"\r", "x".repeat(64 - 11));
    let too_long = format!("AT+CSTT=\"{}\"\r", "x".repeat(64 - 10));
    let apn = C::Cstt { apn: &fits[9..62], user: None, pwd: None };
    let cases: &[StreamCase] = &[
        ("CR", &[b"AT\r"], vec![at()]),
        ("CRLF: the LF is not an empty line", &[b"AT\r\nAT\r\n"], vec![at(), at()]),
        ("LF alone", &[b"AT\n"], vec![line(b"AT\n", &[Ok(C::At)])]),
        ("empty lines", &[b"\r\n\r\r\n\n\n", b"AT\r"], vec![at()]),
        ("raw is the line as received", &[b"aT+cSq\r\n"], vec![csq(b"aT+cSq\r")]),
        ("noise line", &[b"\x00\xffgarbage\r\nAT\r"], vec![noise.clone(), at()]),
        ("lone A is noise", &[b"A\rAT\r"], vec![noise.clone(), at()]),
        ("noise before AT", &[b"\xfe\xff+++AAT+CSQ\r"], vec![csq(b"AT+CSQ\r")]),
        ("CR ends a line inside quotes", &[b"AT+CPIN=\"12\rAT\r"], vec![line(b"AT+CPIN=\"12\r", &[BAD]), at()]),
        ("overlong line, then a good one", &[too_long.as_bytes(), b"AT\r"], vec![too_long_line.clone(), at()]),
        ("the longest line that fits", &[fits.as_bytes()], vec![line(fits.as_bytes(), &[Ok(apn)])]),
        ("overlong in pieces", &[b"AT+CSQ", &[b' '; 60], b"\r\nAT\r"], vec![too_long_line.clone(), at()]),
    ];
    for (name, chunks, expected) in cases {
        check_stream(name, chunks, expected);
    }
}

#[test]
#[rustfmt::skip]
fn data_mode() {
    use Command as C;
    let at = || line(b"AT\r", &[Ok(C::At)]);
    let send = |n| line(format!("AT+CIPSEND={n}\r").as_bytes(), &[Ok(C::Cipsend { link: None, len: Some(n) })]);
    let ctrl_z = || line(b"AT+CIPSEND\r", &[Ok(C::Exec(Name::Cipsend))]);
    let too_long = Out::Error(ParseError::DataTooLong);
    let cases: &[StreamCase] = &[
        ("fixed: any bytes, terminators and Ctrl-Z included",
            &[b"AT+CIPSEND=9\r", b"\r\nOK\r\n\x1a\x1b\x00", b"AT\r"],
            vec![send(9), data(b"\r\nOK\r\n\x1a\x1b\x00"), at()]),
        ("fixed: zero bytes", &[b"AT+CIPSEND=0\rAT\r"], vec![send(0), data(b""), at()]),
        ("fixed: longer than the buffer is counted and dropped",
            &[b"AT+CIPSEND=100\r", &[b'x'; 100], b"AT\r"],
            vec![send(100), too_long.clone(), at()]),
        ("ctrl-z", &[b"AT+CIPSEND\r", b"hello\r\n", b"\x1aAT\r"], vec![ctrl_z(), data(b"hello\r\n"), at()]),
        ("ctrl-z: empty", &[b"AT+CIPSEND\r\x1a"], vec![ctrl_z(), data(b"")]),
        ("ctrl-z: ESC cancels", &[b"AT+CIPSEND\rhel\x1bAT\r"], vec![ctrl_z(), Out::Cancelled, at()]),
        ("ctrl-z: exactly max", &[b"AT+CIPSEND\r0123456789abcdef\x1a"], vec![ctrl_z(), data(b"0123456789abcdef")]),
        ("ctrl-z: one byte past max, then commands again",
            &[b"AT+CIPSEND\r0123456789abcdefg\x1aAT\r"],
            vec![ctrl_z(), too_long.clone(), at()]),
        ("multi mode: link only is ctrl-z data",
            &[b"AT+CIPMUX=1\rAT+CIPSEND=2\rab\x1a"],
            vec![
                line(b"AT+CIPMUX=1\r", &[Ok(C::Cipmux(true))]),
                line(b"AT+CIPSEND=2\r", &[Ok(C::Cipsend { link: Some(2), len: None })]),
                data(b"ab"),
            ]),
        // TinyGSM ends lines with CRLF: its LF may come after the modem has prompted.
        ("CRLF host: a late LF is not data",
            &[b"AT\r\n", b"AT+CIPSEND=3\r", b"\n", b"abc"],
            vec![at(), send(3), data(b"abc")]),
        // Found by `chunking_does_not_change_events`: an empty block takes no byte, so the LF
        // still owed is a terminator's.
        ("CRLF host: zero bytes leave the LF owed",
            &[b"AT\r\n", b"AT+CIPSEND=0\r", b"\nAT+CIPSEND=1\r\n", b"x"],
            vec![at(), send(0), data(b""), send(1), data(b"x")]),
        // Before a host's first CRLF the parser assumes CR alone, whatever the chunks.
        ("first line: CR alone is assumed", &[b"AT+CIPSEND=2\r\nx"], vec![send(2), data(b"\nx")]),
        // Luat ends lines with CR only and waits for the prompt: an LF is its data.
        ("CR host: an LF is data", &[b"AT\r", b"AT+CIPSEND=3\r", b"\nab"], vec![at(), send(3), data(b"\nab")]),
    ];
    for (name, chunks, expected) in cases {
        check_stream(name, chunks, expected);
    }
}

#[test]
fn expect_data_and_reset() {
    let mut parser = CommandParser::<16>::new();
    assert!(!parser.in_data_mode());
    assert_eq!(parser.feed(b"AT+C"), (4, None));
    parser.expect_data(protocol::command::DataMode::Fixed(2));
    assert!(parser.in_data_mode());
    assert_eq!(parser.feed(b"xyz"), (2, Some(Ok(ParserEvent::Data(b"xy")))));
    assert!(!parser.in_data_mode());
    parser.expect_data(protocol::command::DataMode::CtrlZ { max: 100 });
    assert_eq!(parser.feed(b"abc"), (3, None));
    parser.reset();
    assert!(!parser.in_data_mode());
    let (used, event) = parser.feed(b"AT\r");
    assert_eq!(
        (
            used,
            event.map(|e| e.map(|e| matches!(e, ParserEvent::Line(_))))
        ),
        (3, Some(Ok(true)))
    );
}

// ---------------------------------------------------------------------------------------------
// Real hosts

/// A host's byte stream, one write per step: a command line and the commands it holds, or
/// (with no commands) the data after a prompt. Checks that the modem gets exactly that.
fn check_host(name: &str, steps: &[(&[u8], &[Command])]) {
    let chunks: Vec<&[u8]> = steps.iter().map(|(bytes, _)| *bytes).collect();
    let expected: Vec<Out> = steps
        .iter()
        .map(|(bytes, commands)| match commands {
            [] => data(bytes),
            // `raw` ends at the `\r`: a `\n` after it is not echoed.
            _ => line(
                bytes.strip_suffix(b"\n").unwrap_or(bytes),
                &commands.iter().map(|c| Ok(*c)).collect::<Vec<_>>(),
            ),
        })
        .collect();
    check_stream(name, &chunks, &expected);
}

/// Luat 2G (reference §3.1): `\r` after each command; start-up, bring-up, one session, the
/// clock, shutting the link and flight mode.
#[test]
#[rustfmt::skip]
fn luat_2g_bring_up() {
    use Command as C;
    check_host("luat", &[
        (b"ATE0\r", &[C::Echo(false)]),
        (b"AT+CMEE=0\r", &[C::Cmee(0)]),
        (b"AT+CREG=2\r", &[C::Creg(2)]),
        (b"AT+CREG?\r", &[C::Read(Name::Creg)]),
        (b"AT+CENG=1,1\r", &[C::Ceng { mode: 1, ncell: Some(1) }]),
        (b"AT+CSQ\r", &[C::Exec(Name::Csq)]),
        (b"AT+CENG?\r", &[C::Read(Name::Ceng)]),
        (b"AT+VER\r", &[C::Exec(Name::Ver)]),
        (b"AT+ATWMFT=99\r", &[C::Atwmft(99)]),
        (b"AT+WISN?\r", &[C::Read(Name::Wisn)]),
        (b"AT+CGSN\r", &[C::Exec(Name::Cgsn)]),
        (b"AT+MUID?\r", &[C::Read(Name::Muid)]),
        (b"AT+CCID\r", &[C::Exec(Name::Ccid)]),
        (b"AT+CIMI\r", &[C::Exec(Name::Cimi)]),
        (b"AT+TCPUSERPARAM=6,4,7200,16\r", &[C::Tcpuserparam([6, 4, 7200, 16])]),
        (b"AT+CIICRMODE=2\r", &[C::Ciicrmode(2)]),
        (b"AT+CIPMUX=1\r", &[C::Cipmux(true)]),
        (b"AT+CIPHEAD=1\r", &[C::Ciphead(true)]),
        (b"AT+CIPQSEND=0\r", &[C::Cipqsend(0)]),
        (b"AT+CGATT?\r", &[C::Read(Name::Cgatt)]),
        (b"AT+CIPSTATUS\r", &[C::Exec(Name::Cipstatus)]),
        (b"AT+CSTT=\"CMIOT\"\r", &[C::Cstt { apn: "CMIOT", user: None, pwd: None }]),
        (b"AT+CIICR\r", &[C::Exec(Name::Ciicr)]),
        (b"AT+CIPSTATUS\r", &[C::Exec(Name::Cipstatus)]),
        (b"AT+CIFSR\r", &[C::Exec(Name::Cifsr)]),
        (b"AT+CDNSCFG?\r", &[C::Read(Name::Cdnscfg)]),
        (b"AT+CIPSTART=0,\"TCP\",\"36.7.87.100\",6500\r",
            &[C::Cipstart { link: Some(0), transport: Transport::Tcp, host: "36.7.87.100", port: 6500 }]),
        (b"AT+CIPSEND=0,12\r", &[C::Cipsend { link: Some(0), len: Some(12) }]),
        (b"heart data\r\n", &[]),
        (b"AT+CCLK=\"26/11/28,15:20:00+32\"\r", &[C::Cclk(dt(32))]),
        (b"AT+CIPCLOSE=0\r", &[C::Cipclose { link: Some(0), quick: None }]),
        (b"AT+CIPSHUT\r", &[C::Exec(Name::Cipshut)]),
        (b"AT+CFUN=0\r", &[C::Cfun { fun: 0, rst: None }]),
        (b"AT+CFUN=1\r", &[C::Cfun { fun: 1, rst: None }]),
    ]);
}

/// TinyGSM SIM800 (reference §4): `\r\n` after each command; init, gprsConnect, a session
/// with manual receive, restart and power-off.
#[test]
#[rustfmt::skip]
fn tinygsm_sim800() {
    use Command as C;
    let sapbr = |cmd, param| C::Sapbr { cmd, cid: 1, param };
    check_host("tinygsm", &[
        (b"AT\r\n", &[C::At]),
        (b"ATE0\r\n", &[C::Echo(false)]),
        (b"AT+CMEE=0\r\n", &[C::Cmee(0)]),
        (b"AT+CLTS=1\r\n", &[C::Clts(true)]),
        (b"AT+CBATCHK=1\r\n", &[C::Cbatchk(true)]),
        (b"AT+CPIN?\r\n", &[C::Read(Name::Cpin)]),
        (b"AT+CIPSHUT\r\n", &[C::Exec(Name::Cipshut)]),
        (b"AT+CGATT=0\r\n", &[C::Cgatt(false)]),
        (b"AT+SAPBR=3,1,\"Contype\",\"GPRS\"\r\n", &[sapbr(3, Some(("Contype", "GPRS")))]),
        (b"AT+SAPBR=3,1,\"APN\",\"internet\"\r\n", &[sapbr(3, Some(("APN", "internet")))]),
        (b"AT+CGDCONT=1,\"IP\",\"internet\"\r\n", &[C::Cgdcont { cid: 1, pdp_type: "IP", apn: "internet" }]),
        (b"AT+CGACT=1,1\r\n", &[C::Cgact { active: true, cid: 1 }]),
        (b"AT+SAPBR=1,1\r\n", &[sapbr(1, None)]),
        (b"AT+SAPBR=2,1\r\n", &[sapbr(2, None)]),
        (b"AT+CGATT=1\r\n", &[C::Cgatt(true)]),
        (b"AT+CIPMUX=1\r\n", &[C::Cipmux(true)]),
        (b"AT+CIPQSEND=1\r\n", &[C::Cipqsend(1)]),
        (b"AT+CIPRXGET=1\r\n", &[C::Ciprxget(RxGet::Manual(true))]),
        (b"AT+CSTT=\"internet\",\"\",\"\"\r\n", &[C::Cstt { apn: "internet", user: Some(""), pwd: Some("") }]),
        (b"AT+CIICR\r\n", &[C::Exec(Name::Ciicr)]),
        (b"AT+CIFSR;E0\r\n", &[C::Exec(Name::Cifsr), C::Echo(false)]),
        (b"AT+CDNSCFG=\"8.8.8.8\",\"8.8.4.4\"\r\n", &[C::Cdnscfg { primary: "8.8.8.8", secondary: Some("8.8.4.4") }]),
        (b"AT+CIPSSL=0\r\n", &[C::Cipssl(false)]),
        (b"AT+CIPSTART=0,\"TCP\",\"example.com\",80\r\n",
            &[C::Cipstart { link: Some(0), transport: Transport::Tcp, host: "example.com", port: 80 }]),
        (b"AT+CIPSEND=0,5\r\n", &[C::Cipsend { link: Some(0), len: Some(5) }]),
        (b"hello", &[]),
        (b"AT+CIPRXGET=4,0\r\n", &[C::Ciprxget(RxGet::Available { link: Some(0) })]),
        (b"AT+CIPRXGET=2,0,1460\r\n", &[C::Ciprxget(RxGet::Read { link: Some(0), len: 1460, hex: false })]),
        (b"AT+CIPSTATUS=0\r\n", &[C::CipstatusLink(0)]),
        (b"AT+CIPCLOSE=0,1\r\n", &[C::Cipclose { link: Some(0), quick: Some(true) }]),
        (b"AT&W\r\n", &[C::SaveProfile]),
        (b"AT+CFUN=0\r\n", &[C::Cfun { fun: 0, rst: None }]),
        (b"AT+CFUN=1,1\r\n", &[C::Cfun { fun: 1, rst: Some(1) }]),
        (b"AT+CPOWD=1\r\n", &[C::Cpowd(1)]),
    ]);
}

// ---------------------------------------------------------------------------------------------
// Properties

/// A string that AT syntax can carry: no `"` and no control characters. Leaked, so that the
/// command can borrow it for the rest of the test run (a few bytes per case).
fn text() -> impl Strategy<Value = &'static str> {
    "[^\"\\p{Cc}]{0,12}".prop_map(|s| &*Box::leak(s.into_boxed_str()))
}

fn link() -> impl Strategy<Value = u8> {
    0..=7u8
}

fn date_time() -> impl Strategy<Value = DateTime> {
    (
        0..=99u8,
        1..=12u8,
        1..=31u8,
        0..=23u8,
        0..=59u8,
        0..=59u8,
        -47..=48i8,
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

/// Every variant, with parameters in the ranges the parser accepts, except the values that
/// share their bytes with another (see `values_with_the_same_bytes_as_another`).
fn command() -> impl Strategy<Value = Command<'static>> {
    use Command as C;
    let name = || proptest::sample::select(Name::ALL.to_vec());
    let transport = prop_oneof![Just(Transport::Tcp), Just(Transport::Udp)];
    let rx_get = prop_oneof![
        any::<bool>().prop_map(RxGet::Manual),
        (proptest::option::of(link()), any::<u16>(), any::<bool>())
            .prop_map(|(link, len, hex)| RxGet::Read { link, len, hex }),
        proptest::option::of(link()).prop_map(|link| RxGet::Available { link }),
    ];
    let cstt = (
        text(),
        proptest::option::of((text(), proptest::option::of(text()))),
    )
        .prop_map(|(apn, login)| C::Cstt {
            apn,
            user: login.map(|l| l.0),
            pwd: login.and_then(|l| l.1),
        });
    // A bare `AT+CIPSEND` / `AT+CIPCLOSE` is `Exec`: single mode always has a parameter.
    let cipsend = prop_oneof![
        any::<u16>().prop_map(|len| C::Cipsend {
            link: None,
            len: Some(len)
        }),
        (link(), proptest::option::of(any::<u16>())).prop_map(|(link, len)| C::Cipsend {
            link: Some(link),
            len
        }),
    ];
    let cipclose = prop_oneof![
        any::<bool>().prop_map(|quick| C::Cipclose {
            link: None,
            quick: Some(quick)
        }),
        (link(), proptest::option::of(any::<bool>())).prop_map(|(link, quick)| C::Cipclose {
            link: Some(link),
            quick
        }),
    ];
    prop_oneof![
        Just(C::At),
        any::<bool>().prop_map(C::Echo),
        Just(C::Info),
        Just(C::SaveProfile),
        any::<u8>().prop_map(C::FlowControl),
        Just(C::Reset),
        Just(C::FactoryDefaults),
        any::<bool>().prop_map(C::Verbose),
        any::<bool>().prop_map(C::Quiet),
        Just(C::Online),
        name().prop_map(C::Test),
        name().prop_map(C::Read),
        name().prop_map(C::Exec),
        any::<u8>().prop_map(C::Cmee),
        text().prop_map(C::Cpin),
        any::<u8>().prop_map(C::Atwmft),
        any::<u8>().prop_map(C::Creg),
        any::<bool>().prop_map(C::Cgatt),
        (any::<u8>(), proptest::option::of(any::<u8>()))
            .prop_map(|(fun, rst)| C::Cfun { fun, rst }),
        any::<u8>().prop_map(C::Cpowd),
        date_time().prop_map(C::Cclk),
        any::<u8>().prop_map(C::Cntpcid),
        (text(), any::<i8>()).prop_map(|(server, tz)| C::Cntp { server, tz }),
        (any::<u8>(), proptest::option::of(any::<u8>()))
            .prop_map(|(mode, ncell)| C::Ceng { mode, ncell }),
        any::<bool>().prop_map(C::Clts),
        any::<bool>().prop_map(C::Cbatchk),
        any::<bool>().prop_map(C::Ciurc),
        any::<u32>().prop_map(C::Ipr),
        any::<bool>().prop_map(C::Cipmux),
        cstt,
        any::<u8>().prop_map(C::Ciicrmode),
        link().prop_map(C::CipstatusLink),
        link().prop_map(C::CipackLink),
        (
            proptest::option::of(link()),
            transport,
            text(),
            any::<u16>()
        )
            .prop_map(|(link, transport, host, port)| C::Cipstart {
                link,
                transport,
                host,
                port
            }),
        cipsend,
        any::<u8>().prop_map(C::Cipqsend),
        cipclose,
        any::<bool>().prop_map(C::Ciphead),
        rx_get.prop_map(C::Ciprxget),
        any::<bool>().prop_map(C::Cipssl),
        (text(), proptest::option::of(text()))
            .prop_map(|(primary, secondary)| C::Cdnscfg { primary, secondary }),
        (any::<u8>(), text(), text()).prop_map(|(cid, pdp_type, apn)| C::Cgdcont {
            cid,
            pdp_type,
            apn
        }),
        (any::<bool>(), any::<u8>()).prop_map(|(active, cid)| C::Cgact { active, cid }),
        (
            any::<u8>(),
            any::<u8>(),
            proptest::option::of((text(), text()))
        )
            .prop_map(|(cmd, cid, param)| C::Sapbr { cmd, cid, param }),
        any::<[u32; 4]>().prop_map(C::Tcpuserparam),
        (
            any::<(u8, u8, u16, bool)>(),
            proptest::option::of(any::<(bool, u16, u16)>())
        )
            .prop_map(
                |((retries, wait_tm, send_size, esc), rx)| C::Cipccfg(Cipccfg {
                    retries,
                    wait_tm,
                    send_size,
                    esc,
                    rx: rx.map(|(mode, size, timer)| CipccfgRx { mode, size, timer }),
                })
            ),
        issue_13_command(),
    ]
}

/// The set forms issue 13 added.
fn issue_13_command() -> impl Strategy<Value = Command<'static>> {
    use Command as C;
    prop_oneof![
        (any::<u8>(), proptest::option::of(any::<u8>())).prop_map(|(dce_by_dte, dte_by_dce)| {
            C::Ifc {
                dce_by_dte,
                dte_by_dce,
            }
        }),
        any::<bool>().prop_map(C::Clip),
        text().prop_map(C::Cscs),
        any::<bool>().prop_map(C::Cmgf),
        any::<bool>().prop_map(C::Cmghex),
        any::<u8>().prop_map(C::Csclk),
        any::<bool>().prop_map(C::Cnetlight),
        any::<bool>().prop_map(C::Csmins),
        (
            any::<u8>(),
            proptest::option::of((any::<u8>(), proptest::option::of(text())))
        )
            .prop_map(|(mode, format)| C::Cops { mode, format }),
        any::<u8>().prop_map(C::Cgreg),
        any::<bool>().prop_map(C::Cipsrip),
        any::<bool>().prop_map(C::Cipshowtp),
        any::<u8>().prop_map(C::Cipsprt),
        any::<bool>().prop_map(C::Cipmode),
        text().prop_map(C::Cdnsgip),
        (any::<u8>(), any::<u8>()).prop_map(|(kind, cid)| C::Cipgsmloc { kind, cid }),
        (any::<u8>(), any::<u8>()).prop_map(|(kind, cid)| C::Clbs { kind, cid }),
        any::<bool>().prop_map(C::Ston),
    ]
}

/// A piece of a host's byte stream.
#[derive(Debug, Clone)]
enum Piece {
    Command(Command<'static>),
    /// `AT+CIPSEND=<len>` and the payload (single mode).
    Send(Vec<u8>),
    /// `AT+CIPSEND`, the payload and Ctrl-Z or ESC.
    SendCtrlZ(Vec<u8>, bool),
    /// Bytes with no line terminator, then a terminator.
    Garbage(Vec<u8>),
}

fn piece() -> impl Strategy<Value = Piece> {
    // Any byte but those that would end the piece early.
    let data_byte = any::<u8>().prop_map(|b| if b == 0x1A || b == 0x1B { b'.' } else { b });
    let noise_byte = any::<u8>().prop_map(|b| if b == b'\r' || b == b'\n' { b'.' } else { b });
    let bytes = |n| proptest::collection::vec(any::<u8>(), 0..n);
    prop_oneof![
        3 => command().prop_map(Piece::Command),
        1 => bytes(40).prop_map(Piece::Send),
        1 => (proptest::collection::vec(data_byte, 0..20), any::<bool>())
            .prop_map(|(data, cancel)| Piece::SendCtrlZ(data, cancel)),
        1 => proptest::collection::vec(noise_byte, 0..80).prop_map(Piece::Garbage),
    ]
}

/// The host's bytes; `crlf` is its line ending (one host does not switch).
fn render(pieces: &[Piece], crlf: bool) -> Vec<u8> {
    let end: &[u8] = if crlf { b"\r\n" } else { b"\r" };
    let mut bytes = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Command(c) => {
                let encoded = encode(c);
                bytes.extend_from_slice(&encoded[..encoded.len() - 1]);
                bytes.extend_from_slice(end);
            }
            Piece::Send(data) => {
                bytes.extend_from_slice(format!("AT+CIPSEND={}", data.len()).as_bytes());
                bytes.extend_from_slice(end);
                bytes.extend_from_slice(data);
            }
            Piece::SendCtrlZ(data, cancel) => {
                bytes.extend_from_slice(b"AT+CIPSEND");
                bytes.extend_from_slice(end);
                bytes.extend_from_slice(data);
                bytes.push(if *cancel { 0x1B } else { 0x1A });
            }
            Piece::Garbage(noise) => {
                bytes.extend_from_slice(noise);
                bytes.extend_from_slice(end);
            }
        }
    }
    bytes
}

/// Runs `bytes` split at `cuts` (positions, any order, may repeat) through a 1600-byte modem.
fn run_split(bytes: &[u8], cuts: &[usize]) -> Vec<Out> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    let mut modem = Modem::<1600>::new(1460);
    let mut start = 0;
    for cut in cuts.into_iter().chain([bytes.len()]) {
        modem.feed(&bytes[start..cut]);
        start = cut;
    }
    modem.out
}

proptest! {
    /// The invariant: every command parses back from its bytes to itself.
    #[test]
    fn encode_then_parse_is_the_identity(command in command()) {
        let bytes = encode(&command);
        let multi = command.link().is_some();
        prop_assert_eq!(parse_line(&bytes, multi), vec![Ok(format!("{command:?}"))]);

        let mut body = [0; 512];
        let n = command.encode_body(&mut body).unwrap();
        prop_assert_eq!([b"AT", &body[..n], b"\r"].concat(), bytes);
    }

    /// Chunks do not matter: one byte at a time, all at once or cut anywhere, the same events.
    #[test]
    fn chunking_does_not_change_events(
        pieces in proptest::collection::vec(piece(), 1..12),
        crlf in any::<bool>(),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let bytes = render(&pieces, crlf);
        let whole = run_split(&bytes, &[]);
        prop_assert_eq!(&run_split(&bytes, &cuts), &whole);
        let every_byte: Vec<usize> = (0..bytes.len()).collect();
        prop_assert_eq!(&run_split(&bytes, &every_byte), &whole);
    }

    /// Any garbage at all, then a line end: the next good line is parsed.
    #[test]
    fn recovers_after_garbage(
        garbage in proptest::collection::vec(any::<u8>(), 0..200),
        crlf in any::<bool>(),
    ) {
        let mut parser = CommandParser::<64>::new();
        let end: &[u8] = if crlf { b"\r\n" } else { b"\r" };
        let mut input: &[u8] = &[garbage.as_slice(), end].concat();
        while !input.is_empty() {
            let (used, _) = parser.feed(input);
            input = &input[used..];
        }
        let good = [b"AT+CSQ".as_slice(), end].concat();
        let (used, event) = parser.feed(&good);
        prop_assert_eq!(used, b"AT+CSQ\r".len());
        let Some(Ok(ParserEvent::Line(line))) = event else { panic!("{event:?}") };
        let commands: Vec<_> = line.segments().map(|s| s.parse(false)).collect();
        prop_assert_eq!(commands, vec![Ok(Command::Exec(Name::Csq))]);
    }
}
