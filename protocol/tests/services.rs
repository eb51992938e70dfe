//! `protocol::service`: the HTTP and SMS commands and answers, both ways.
//!
//! - **Golden transcript.** `tests/golden/services.txt` holds every command form and every
//!   sample answer with its exact bytes; each is parsed back. Regenerate after an intended
//!   change and review the diff:
//!
//!   ```text
//!   UPDATE_EXPECT=1 cargo test -p protocol --test services
//!   ```
//! - **Tables** of the spellings hosts use (usim800, TinyGSM, Luat) and of errors.
//! - **Properties.** encode → parse is the identity for commands and answers; no input
//!   panics the answer decoder, which never takes more than it was given.

mod support;

use std::fmt::Write as _;

use pretty_assertions::assert_eq;
use proptest::prelude::*;
use protocol::command::{DataMode, ParseError};
use protocol::service::{
    CmgsTarget, MoreDetails, Param, ServiceCommand, ServiceDecodeError, ServiceName,
    ServiceResponse, SmsEntry, SmsHead, TextDetails,
};
use protocol::types::DateTime;
use support::{check_golden, Escaped};

fn encode(command: &ServiceCommand) -> Vec<u8> {
    let mut buf = [0; 512];
    let n = command.encode(&mut buf).expect("fits");
    buf[..n].to_vec()
}

fn encode_response(response: &ServiceResponse) -> Vec<u8> {
    let mut buf = [0; 1024];
    let n = response.encode(&mut buf).expect("fits");
    buf[..n].to_vec()
}

/// The segment text of an encoded command: without `AT` and `\r`.
fn segment(bytes: &[u8]) -> &[u8] {
    &bytes[2..bytes.len() - 1]
}

const T: DateTime = DateTime {
    year: 24,
    month: 1,
    day: 1,
    hour: 8,
    minute: 0,
    second: 5,
    quarter_hours: 32,
};

#[rustfmt::skip]
fn golden_commands() -> Vec<ServiceCommand<'static>> {
    use ServiceCommand as C;
    let mut all = Vec::new();
    for name in ServiceName::ALL {
        all.extend([C::Test(name), C::Read(name), C::Exec(name)]);
    }
    all.extend([
        C::Httppara { tag: "CID", value: Param::Number(1) },
        C::Httppara { tag: "URL", value: Param::Text("http://lab.longlink.test/ping?x=1") },
        C::Httppara { tag: "CONTENT", value: Param::Text("application/json") },
        C::Httppara { tag: "USERDATA", value: Param::Text("X-Key: 1\\r\\nX-Other: 2") },
        C::Httpdata { size: 18, time_ms: 10_000 },
        C::Httpaction(0),
        C::Httpaction(1),
        C::Httpread { start: 0, size: 100 },
        C::Httpssl(false),
        C::Cmgf(true),
        C::Cmgf(false),
        C::Cscs("GSM"),
        C::Cscs("UCS2"),
        C::Cmghex(true),
        C::Csmp([Some(17), Some(167), Some(0), Some(8)]),
        C::Csmp([Some(17), None, None, None]),
        C::Csdh(true),
        C::Cpms([Some("SM"), None, None]),
        C::Cpms([Some("SM"), Some("SM"), Some("SM")]),
        C::Cnmi([Some(2), Some(1), None, None, None]),
        C::Cnmi([Some(2), Some(1), Some(0), Some(0), Some(0)]),
        C::Cmgs(CmgsTarget::Text { da: "+8613800138000", toda: None }),
        C::Cmgs(CmgsTarget::Text { da: "10086", toda: Some(129) }),
        C::Cmgs(CmgsTarget::Pdu { length: 21 }),
        C::Cmgr { index: 1, mode: None },
        C::Cmgr { index: 3, mode: Some(1) },
        C::Cmgl { stat: Param::Text("ALL"), mode: None },
        C::Cmgl { stat: Param::Number(4), mode: Some(1) },
        C::Cmgd { index: 1, flag: None },
        C::Cmgd { index: 1, flag: Some(4) },
        C::Cmgda(Param::Text("DEL ALL")),
        C::Cmgda(Param::Number(6)),
    ]);
    all
}

fn text_entry(
    stat: Option<&'static str>,
    details: Option<TextDetails<'static>>,
) -> SmsEntry<'static> {
    SmsEntry {
        head: SmsHead::Text {
            stat,
            address: "+15550100",
            alpha: "",
            timestamp: T,
            details,
        },
        body: b"hello, device",
    }
}

#[rustfmt::skip]
fn golden_responses() -> Vec<ServiceResponse<'static>> {
    use ServiceResponse as R;
    let full = TextDetails {
        tooa: 145,
        length: 13,
        more: Some(MoreDetails { fo: 4, pid: 0, dcs: 0, sca: "+8613800100500", tosca: 145 }),
    };
    let pdu = SmsEntry {
        head: SmsHead::Pdu { stat: Some(0), alpha: "", length: 24 },
        body: b"0791683108100005F0040B915155100010F00000420110800050230AE8329BFD4697D9EC37",
    };
    vec![
        R::Download,
        R::HttpAction { method: 0, status: 200, len: 12 },
        R::HttpAction { method: 1, status: 601, len: 0 },
        R::HttpRead(b"hello\r\nOK\r\n"),
        R::HttpRead(b""),
        R::HttpStatus { method: 0, state: 0, finish: 0, remain: 0 },
        R::HttpStatus { method: 1, state: 2, finish: 10, remain: 90 },
        R::Cmgs(7),
        R::Cmti { storage: "SM", index: 1 },
        R::Cmgr(text_entry(Some("REC UNREAD"), None)),
        R::Cmgr(text_entry(Some("REC READ"), Some(full))),
        R::Cmgr(pdu),
        R::Cmgl { index: 2, entry: text_entry(Some("REC UNREAD"), None) },
        R::Cmgl { index: 2, entry: text_entry(Some("REC READ"), Some(TextDetails { tooa: 145, length: 13, more: None })) },
        R::Cmgl { index: 5, entry: pdu },
        R::Cmt(text_entry(None, None)),
        R::Cmt(SmsEntry { head: SmsHead::Pdu { stat: None, alpha: "", length: 24 }, ..pdu }),
        R::Cpms { storages: None, counts: [(1, 50), (1, 50), (1, 50)] },
        R::Cpms { storages: Some(["SM", "SM", "SM"]), counts: [(0, 50), (0, 50), (0, 50)] },
    ]
}

#[test]
fn golden() {
    let mut out = String::from(
        "# protocol::service: every command form and sample answer, and its exact bytes.\n\
         # Regenerate: UPDATE_EXPECT=1 cargo test -p protocol --test services\n",
    );
    for command in golden_commands() {
        let bytes = encode(&command);
        let _ = writeln!(out, "{command:?}  =>  {}", Escaped(&bytes));
        assert_eq!(
            ServiceCommand::parse(segment(&bytes)),
            Ok(command),
            "{command:?}"
        );
    }
    for response in golden_responses() {
        let bytes = encode_response(&response);
        let _ = writeln!(out, "{response:?}\n    {}", Escaped(&bytes));
        assert_eq!(
            ServiceResponse::decode(&bytes[2..]),
            Ok((response, bytes.len() - 2)),
            "{response:?}"
        );
    }
    check_golden("tests/golden/services.txt", &out);
}

#[test]
fn spellings_and_errors() {
    use ServiceCommand as C;
    let cases: &[(&str, Result<ServiceCommand, ParseError>)] = &[
        // usim800 writes the CID unquoted, some sketches quote it.
        (
            "+HTTPPARA=\"CID\",1",
            Ok(C::Httppara {
                tag: "CID",
                value: Param::Number(1),
            }),
        ),
        (
            "+HTTPPARA=\"CID\",\"1\"",
            Ok(C::Httppara {
                tag: "CID",
                value: Param::Text("1"),
            }),
        ),
        ("+httpinit", Ok(C::Exec(ServiceName::Httpinit))),
        ("+HTTPACTION= 1", Ok(C::Httpaction(1))),
        (
            "+CMGS=\"+8613800138000\",145",
            Ok(C::Cmgs(CmgsTarget::Text {
                da: "+8613800138000",
                toda: Some(145),
            })),
        ),
        ("+CMGS=21", Ok(C::Cmgs(CmgsTarget::Pdu { length: 21 }))),
        ("+CMGS=300", Err(ParseError::BadParameters)),
        ("+CMGS=\"1\",2,3", Err(ParseError::BadParameters)),
        ("+CNMI=2,1,0,0,0,0", Err(ParseError::BadParameters)),
        ("+CMGF=2", Err(ParseError::BadParameters)),
        ("+CSCS=GSM", Err(ParseError::BadParameters)),
        ("+HTTPDATA=10", Err(ParseError::BadParameters)),
        ("+CMGR=", Err(ParseError::BadParameters)),
        ("+CMGX", Err(ParseError::UnknownCommand)),
        ("+CSQ", Err(ParseError::UnknownCommand)),
        ("E0", Err(ParseError::UnknownCommand)),
    ];
    for (text, expected) in cases {
        assert_eq!(&ServiceCommand::parse(text.as_bytes()), expected, "{text}");
    }
    assert_eq!(
        C::Cmgs(CmgsTarget::Pdu { length: 5 }).data_mode(500),
        Some(DataMode::CtrlZ { max: 500 })
    );
    assert_eq!(
        C::Httpdata {
            size: 5,
            time_ms: 1000
        }
        .data_mode(500),
        None
    );
    assert!(ServiceName::Cmgf.is_sms() && !ServiceName::Httpread.is_sms());
}

#[test]
fn answers_from_the_wire() {
    use ServiceDecodeError::*;
    let cases: &[(&[u8], Result<usize, ServiceDecodeError>)] = &[
        (b"+HTTPACTION: 0,200,5\r\n", Ok(22)),
        (b"+HTTPACTION: 0,200,5\r", Err(Incomplete)),
        (b"+HTTPACTION: 0,200\r\n", Err(Malformed)),
        (b"+HTTPREAD: 5\r\nhel", Err(Incomplete)),
        (b"+HTTPREAD: 5\r\nhello\r\nOK\r\n", Ok(19)),
        (b"+CMTI: \"SM\",3\n", Ok(14)),
        (b"+CMGR: 0,,24\r\n0791", Err(Incomplete)),
        (b"OK\r\n", Err(NotService)),
        (b"+CSQ: 24,0\r\n", Err(NotService)),
        (b"+CMGR: \"REC READ\"\r\nx\r\n", Err(Malformed)),
    ];
    for (bytes, expected) in cases {
        let got = ServiceResponse::decode(bytes).map(|(_, n)| n);
        assert_eq!(&got, expected, "{}", Escaped(bytes));
    }
    // Luat's PDU-mode pattern `+CMGR:%s*(%d),(.*),%s*(%d+)` also takes an empty alpha.
    let (r, _) = ServiceResponse::decode(b"+CMGR: 1,,5\r\n0011000000\r\n").unwrap();
    assert_eq!(
        r,
        ServiceResponse::Cmgr(SmsEntry {
            head: SmsHead::Pdu {
                stat: Some(1),
                alpha: "",
                length: 5
            },
            body: b"0011000000",
        })
    );
}

// ---- Properties ----------------------------------------------------------------------------

fn word() -> impl Strategy<Value = &'static str> {
    "[A-Za-z0-9 +./:?=&-]{0,30}".prop_map(|s| &*Box::leak(s.into_boxed_str()))
}

fn param() -> impl Strategy<Value = Param<'static>> {
    prop_oneof![
        any::<u32>().prop_map(Param::Number),
        word().prop_map(Param::Text)
    ]
}

fn prefix<const N: usize>() -> impl Strategy<Value = [Option<u8>; N]> {
    (1..=N, any::<[u8; N]>()).prop_map(|(n, v)| {
        let mut out = [None; N];
        for i in 0..n {
            out[i] = Some(v[i]);
        }
        out
    })
}

fn command() -> impl Strategy<Value = ServiceCommand<'static>> {
    use ServiceCommand as C;
    let name = proptest::sample::select(ServiceName::ALL.to_vec());
    prop_oneof![
        name.clone().prop_map(C::Test),
        name.clone().prop_map(C::Read),
        name.prop_map(C::Exec),
        (word(), param()).prop_map(|(tag, value)| C::Httppara { tag, value }),
        any::<(u32, u32)>().prop_map(|(size, time_ms)| C::Httpdata { size, time_ms }),
        any::<u8>().prop_map(C::Httpaction),
        any::<(u32, u32)>().prop_map(|(start, size)| C::Httpread { start, size }),
        any::<bool>().prop_map(C::Cmgf),
        word().prop_map(C::Cscs),
        prefix::<4>().prop_map(C::Csmp),
        prefix::<5>().prop_map(C::Cnmi),
        (1usize..=3, word(), word(), word()).prop_map(|(n, a, b, c)| {
            let all = [Some(a), Some(b), Some(c)];
            C::Cpms(std::array::from_fn(|i| if i < n { all[i] } else { None }))
        }),
        (word(), proptest::option::of(any::<u8>()))
            .prop_map(|(da, toda)| C::Cmgs(CmgsTarget::Text { da, toda })),
        any::<u8>().prop_map(|length| C::Cmgs(CmgsTarget::Pdu { length })),
        (any::<u16>(), proptest::option::of(any::<u8>()))
            .prop_map(|(index, mode)| C::Cmgr { index, mode }),
        (param(), proptest::option::of(any::<u8>()))
            .prop_map(|(stat, mode)| C::Cmgl { stat, mode }),
        (any::<u16>(), proptest::option::of(any::<u8>()))
            .prop_map(|(index, flag)| C::Cmgd { index, flag }),
        param().prop_map(C::Cmgda),
    ]
}

fn date_time() -> impl Strategy<Value = DateTime> {
    (0u64..4_000_000_000, -47i8..=48).prop_map(|(unix, tz)| DateTime::from_unix(unix, tz))
}

fn line_bytes() -> impl Strategy<Value = &'static [u8]> {
    // A message's data is one line: no CR LF pair in it.
    proptest::collection::vec(any::<u8>(), 0..60).prop_map(|mut v| {
        while let Some(i) = v.windows(2).position(|p| p == b"\r\n") {
            v.remove(i);
        }
        &*Box::leak(v.into_boxed_slice())
    })
}

fn entry() -> impl Strategy<Value = SmsEntry<'static>> {
    let stat = proptest::option::of(proptest::sample::select(vec![
        "REC UNREAD",
        "REC READ",
        "STO SENT",
    ]));
    let text = (
        stat,
        word(),
        date_time(),
        proptest::option::of((
            any::<(u8, u16)>(),
            proptest::option::of((any::<(u8, u8, u8, u8)>(), word())),
        )),
    )
        .prop_map(|(stat, address, timestamp, details)| SmsHead::Text {
            stat,
            address,
            alpha: "",
            timestamp,
            details: details.map(|((tooa, length), more)| TextDetails {
                tooa,
                length,
                more: more.map(|((fo, pid, dcs, tosca), sca)| MoreDetails {
                    fo,
                    pid,
                    dcs,
                    sca,
                    tosca,
                }),
            }),
        });
    let pdu =
        (proptest::option::of(0u8..5), any::<u16>()).prop_map(|(stat, length)| SmsHead::Pdu {
            stat,
            alpha: "",
            length,
        });
    (prop_oneof![text, pdu], line_bytes()).prop_map(|(head, body)| SmsEntry { head, body })
}

fn response() -> impl Strategy<Value = ServiceResponse<'static>> {
    use ServiceResponse as R;
    let with_stat = |e: SmsEntry<'static>| match e.head {
        SmsHead::Text { stat: None, .. } | SmsHead::Pdu { stat: None, .. } => None,
        _ => Some(e),
    };
    let without_stat = |e: SmsEntry<'static>| match e.head {
        SmsHead::Text { stat: Some(_), .. } | SmsHead::Pdu { stat: Some(_), .. } => None,
        // +CMT's PDU form is `"<alpha>",<length>`; its text form has no CMGL-style details.
        _ => Some(e),
    };
    prop_oneof![
        Just(R::Download),
        any::<(u8, u16, u32)>().prop_map(|(method, status, len)| R::HttpAction {
            method,
            status,
            len
        }),
        proptest::collection::vec(any::<u8>(), 0..80)
            .prop_map(|v| R::HttpRead(Box::leak(v.into_boxed_slice()))),
        (0u8..3, any::<(u8, u32, u32)>()).prop_map(|(method, (state, finish, remain))| {
            R::HttpStatus {
                method,
                state,
                finish,
                remain,
            }
        }),
        any::<u8>().prop_map(R::Cmgs),
        (word(), any::<u16>()).prop_map(|(storage, index)| R::Cmti { storage, index }),
        entry()
            .prop_filter_map("a status", with_stat)
            .prop_map(R::Cmgr),
        (any::<u16>(), entry().prop_filter_map("a status", with_stat))
            .prop_map(|(index, entry)| R::Cmgl { index, entry }),
        entry()
            .prop_filter_map("no status", without_stat)
            .prop_map(R::Cmt),
        (
            proptest::option::of([word(), word(), word()]),
            any::<[(u16, u16); 3]>()
        )
            .prop_map(|(storages, counts)| R::Cpms { storages, counts }),
    ]
}

proptest! {
    #[test]
    fn commands_round_trip(command in command()) {
        let bytes = encode(&command);
        prop_assert_eq!(ServiceCommand::parse(segment(&bytes)), Ok(command));
    }

    #[test]
    fn responses_round_trip(response in response()) {
        let bytes = encode_response(&response);
        prop_assert_eq!(ServiceResponse::decode(&bytes[2..]), Ok((response, bytes.len() - 2)));
    }

    #[test]
    fn decoding_is_total(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
        if let Ok((_, n)) = ServiceResponse::decode(&bytes) {
            prop_assert!(n <= bytes.len());
        }
        let _ = ServiceCommand::parse(&bytes);
    }
}
