//! `protocol::pdu`: SMS PDUs against PDUs published with their decoding, then properties.
//!
//! Known PDUs:
//! - dreamfabric.com's SMS PDU pages (the reference most SMS PDU tutorials quote): the
//!   SMS-DELIVER `07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37`
//!   ("hellohello" from 27838890001, 1999-03-29 15:16:59 +02:00) and the SMS-SUBMIT
//!   `0011000B916407281553F80000AA0AE8329BFD4697D9EC37` ("hellohello" to +46708251358,
//!   valid 4 days).
//! - 3GPP TS 23.038 §6.1.2.1.1's packing, and its extension table (`€` is `1B 65`).
//! - Luat's `sms.lua` SMS-SUBMIT in UCS2 (`001110<len>91<digits>000800<udl><ucs2>`).
//! - A concatenated 7-bit SMS whose header needs one fill bit (TS 23.040 §9.2.3.24.1,
//!   the `050003` header).

use proptest::prelude::*;
use protocol::pdu::{
    decode_hex, encode_hex, gsm7, Alphabet, Body, Deliver, DeliverFields, PduError, Submit,
    SubmitFields, Validity,
};
use protocol::types::DateTime;

fn hex(text: &str) -> Vec<u8> {
    let mut out = vec![0; text.len() / 2];
    let n = decode_hex(text.as_bytes(), &mut out).expect("hex");
    out.truncate(n);
    out
}

fn to_hex(octets: &[u8]) -> String {
    let mut out = vec![0; 2 * octets.len()];
    let n = encode_hex(octets, &mut out).unwrap();
    String::from_utf8(out[..n].to_vec()).unwrap()
}

fn text(chars: impl Iterator<Item = char>) -> String {
    chars.collect()
}

#[test]
fn dreamfabric_deliver() {
    let pdu = hex("07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37");
    let d = Deliver::decode(&pdu).unwrap();
    assert_eq!(text(d.service_centre.unwrap().chars()), "+27381000015");
    assert_eq!(text(d.originator.chars()), "27838890001");
    assert_eq!(d.originator.type_of_address, 0xC8);
    assert_eq!((d.pid, d.dcs), (0, 0));
    assert_eq!(
        d.timestamp,
        DateTime {
            year: 99,
            month: 3,
            day: 29,
            hour: 15,
            minute: 16,
            second: 59,
            quarter_hours: 8
        }
    );
    assert_eq!(d.user_data.alphabet, Alphabet::Gsm7);
    assert_eq!(text(d.user_data.chars()), "hellohello");
}

#[test]
fn dreamfabric_submit() {
    let pdu = hex("0011000B916407281553F80000AA0AE8329BFD4697D9EC37");
    let s = Submit::decode(&pdu).unwrap();
    assert!(s.service_centre.is_none());
    assert_eq!(s.reference, 0);
    assert_eq!(text(s.destination.chars()), "+46708251358");
    assert_eq!(s.validity, Validity::Relative(0xAA));
    assert_eq!(text(s.user_data.chars()), "hellohello");
    // Written back from its fields, byte for byte.
    let fields = SubmitFields {
        service_centre: None,
        reference: 0,
        destination: "+46708251358",
        pid: 0,
        dcs: 0,
        validity: Some(0xAA),
        status_report: false,
        header: None,
        body: Body::Text("hellohello"),
    };
    let mut out = [0; 200];
    let n = fields.encode(&mut out).unwrap();
    assert_eq!(
        to_hex(&out[..n]),
        "0011000B916407281553F80000AA0AE8329BFD4697D9EC37"
    );
}

#[test]
fn luat_ucs2_submit() {
    // What Luat's sms.lua writes for sms.send("10086", "你好"): "001110" then the number
    // ("05" digits, "81" type, "0180F6"), "000800", the length and UCS2 big endian.
    let pdu = hex("00111005810180F6000800044F60597D");
    let s = Submit::decode(&pdu).unwrap();
    assert_eq!(s.reference, 0x10);
    assert_eq!(text(s.destination.chars()), "10086");
    assert_eq!(s.user_data.alphabet, Alphabet::Ucs2);
    assert_eq!(text(s.user_data.chars()), "你好");
    assert_eq!(s.validity, Validity::Relative(0));
}

#[test]
fn extension_table_and_packing() {
    let mut codes = Vec::new();
    for ch in "€[x]".chars() {
        match gsm7::from_char(ch).unwrap() {
            gsm7::Septets::One(c) => codes.push(c),
            gsm7::Septets::Two(c) => codes.extend([gsm7::ESCAPE, c]),
        }
    }
    assert_eq!(codes, [0x1B, 0x65, 0x1B, 0x3C, 0x78, 0x1B, 0x3E]);
    assert_eq!(text(gsm7::chars(codes.iter().copied())), "€[x]");
    // TS 23.038's example: "hellohello" packs to E8329BFD4697D9EC37.
    let septets: Vec<u8> = "hellohello".bytes().collect();
    let mut out = [0; 16];
    let n = gsm7::pack(septets.iter().copied(), 0, &mut out).unwrap();
    assert_eq!(to_hex(&out[..n]), "E8329BFD4697D9EC37");
    assert_eq!(gsm7::unpack(&out[..n], 10, 0).collect::<Vec<_>>(), septets);
    // An escape with no table entry shows its default-alphabet character.
    assert_eq!(text(gsm7::chars([0x1B, 0x41].into_iter())), "A");
    assert_eq!(gsm7::from_char('中'), None);
}

#[test]
fn concatenated_seven_bit_with_fill_bits() {
    let header = [0x00, 0x03, 0xCC, 0x02, 0x01];
    let fields = DeliverFields {
        service_centre: Some("+8613800100500"),
        originator: "+15550100",
        pid: 0,
        dcs: 0,
        timestamp: DateTime::from_unix(1_704_067_200, 32),
        header: Some(&header),
        body: Body::Text("part one"),
    };
    let mut out = [0; 200];
    let n = fields.encode(&mut out).unwrap();
    let d = Deliver::decode(&out[..n]).unwrap();
    assert_eq!(d.user_data.header, Some(&header[..]));
    assert_eq!(text(d.user_data.chars()), "part one");
    assert_eq!(text(d.originator.chars()), "+15550100");
    assert_eq!(d.timestamp, DateTime::from_unix(1_704_067_200, 32));
    // Six octets of header are 48 bits: 7 septets (49 bits), one fill bit; UDL counts them.
    let udl_at = n - 1 - gsm7::packed_len(7 + 8, 0);
    assert_eq!(out[udl_at], 7 + 8);
}

#[test]
fn errors() {
    let cases: &[(&str, PduError)] = &[
        ("", PduError::Truncated),
        ("00", PduError::Truncated),
        (
            "0011000B916407281553F80000AA0AE8329BFD4697D9EC",
            PduError::Truncated,
        ),
        (
            "0011000B916407281553F80000AA0AE8329BFD4697D9EC3700",
            PduError::TrailingOctets,
        ),
        ("0004", PduError::WrongType),
        (
            "0011000B916407281553F80024AA00",
            PduError::UnsupportedCoding(0x24),
        ),
    ];
    for (pdu, error) in cases {
        assert_eq!(Submit::decode(&hex(pdu)), Err(*error), "{pdu}");
    }
    assert_eq!(decode_hex(b"ABC", &mut [0; 4]), Err(PduError::BadHex));
    assert_eq!(decode_hex(b"ZZ", &mut [0; 4]), Err(PduError::BadHex));
    let too_long = "x".repeat(161);
    let fields = SubmitFields {
        service_centre: None,
        reference: 1,
        destination: "123",
        pid: 0,
        dcs: 0,
        validity: None,
        status_report: false,
        header: None,
        body: Body::Text(&too_long),
    };
    assert_eq!(fields.encode(&mut [0; 400]), Err(PduError::TooLong));
    let fields = SubmitFields {
        body: Body::Text("中"),
        ..fields
    };
    assert_eq!(
        fields.encode(&mut [0; 400]),
        Err(PduError::NotWritable('中'))
    );
}

fn gsm_text() -> impl Strategy<Value = String> {
    let chars: Vec<char> = (0u8..128)
        .filter(|&c| c != 0x1B)
        .map(gsm7::to_char)
        .chain("^{}\\[~]|€".chars())
        .collect();
    proptest::collection::vec(proptest::sample::select(chars), 0..80)
        .prop_map(|v| v.into_iter().collect())
}

fn number() -> impl Strategy<Value = String> {
    "\\+?[0-9]{1,15}"
}

fn date_time() -> impl Strategy<Value = DateTime> {
    (0u64..4_000_000_000, -47i8..=48).prop_map(|(unix, tz)| DateTime::from_unix(unix, tz))
}

proptest! {
    #[test]
    fn deliver_round_trips(
        body in gsm_text(),
        ucs2 in any::<bool>(),
        wide in "\\PC{0,60}",
        originator in number(),
        timestamp in date_time(),
    ) {
        let (dcs, text_in) = if ucs2 { (8, wide.as_str()) } else { (0, body.as_str()) };
        let fields = DeliverFields {
            service_centre: None,
            originator: &originator,
            pid: 0,
            dcs,
            timestamp,
            header: None,
            body: Body::Text(text_in),
        };
        let mut out = [0; 400];
        match fields.encode(&mut out) {
            Ok(n) => {
                let d = Deliver::decode(&out[..n]).unwrap();
                prop_assert_eq!(text(d.user_data.chars()), text_in);
                prop_assert_eq!(text(d.originator.chars()), originator);
                prop_assert_eq!(d.timestamp, timestamp);
            }
            Err(e) => prop_assert_eq!(e, PduError::TooLong),
        }
    }

    #[test]
    fn submit_round_trips(body in gsm_text(), destination in number(), reference in any::<u8>()) {
        let fields = SubmitFields {
            service_centre: Some("+8613800755500"),
            reference,
            destination: &destination,
            pid: 0,
            dcs: 0,
            validity: Some(167),
            status_report: true,
            header: None,
            body: Body::Text(&body),
        };
        let mut out = [0; 400];
        if let Ok(n) = fields.encode(&mut out) {
            let s = Submit::decode(&out[..n]).unwrap();
            prop_assert_eq!(text(s.user_data.chars()), body);
            prop_assert_eq!(text(s.destination.chars()), destination);
            prop_assert_eq!(s.reference, reference);
            prop_assert!(s.status_report());
        }
    }

    #[test]
    fn packing_round_trips(septets in proptest::collection::vec(0u8..128, 0..160), fill in 0usize..7) {
        let mut out = [0xFFu8; 160];
        let n = gsm7::pack(septets.iter().copied(), fill, &mut out).unwrap();
        prop_assert_eq!(n, if septets.is_empty() { 0 } else { gsm7::packed_len(septets.len(), fill) });
        prop_assert_eq!(gsm7::unpack(&out[..n], septets.len(), fill).collect::<Vec<_>>(), septets);
    }

    #[test]
    fn decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(d) = Deliver::decode(&bytes) {
            let _ = text(d.user_data.chars());
            let _ = text(d.originator.chars());
        }
        if let Ok(s) = Submit::decode(&bytes) {
            let _ = text(s.user_data.chars());
        }
    }
}
