//! The acknowledged framing (`protocol::app`, `Framing::Acked`): frames against golden bytes
//! (checksums computed independently, CRC-16/CCITT-FALSE), and its properties: every frame
//! reads back as itself, whatever its number and payload, and line noise that changes a
//! frame's bytes is caught.
//!
//! The properties run 256 cases each; `PROPTEST_CASES=100000` runs more.

use pretty_assertions::assert_eq;
use proptest::prelude::*;
use protocol::app::{crc16, Frame, FRAME_OVERHEAD, HEARTBEAT_FRAME};

fn encode(frame: &Frame) -> Vec<u8> {
    let mut buf = vec![0; frame_payload(frame).len() + FRAME_OVERHEAD];
    let n = frame.encode(&mut buf).expect("fits its overhead");
    buf.truncate(n);
    buf
}

fn frame_payload<'a>(frame: &Frame<'a>) -> &'a [u8] {
    match *frame {
        Frame::Message { payload, .. } => payload,
        Frame::Ack { .. } => &[],
    }
}

/// The line without its `\n`, as a reader gets it from a deframer.
fn line(bytes: &[u8]) -> &[u8] {
    bytes.strip_suffix(b"\n").expect("a frame ends with \\n")
}

#[test]
fn crc_is_ccitt_false() {
    // The catalogue's check value for CRC-16/CCITT-FALSE.
    assert_eq!(crc16(0xFFFF, b"123456789"), 0x29B1);
    assert_eq!(crc16(0xFFFF, b""), 0xFFFF);
    // Carried on: in pieces or whole, the same.
    assert_eq!(crc16(crc16(0xFFFF, b"1234"), b"56789"), 0x29B1);
}

#[test]
fn golden_frames() {
    let cases: &[(Frame, &[u8])] = &[
        (
            Frame::Message {
                seq: 1,
                payload: b"back 1",
            },
            b"M1 9eb3 back 1\n",
        ),
        (Frame::Ack { seq: 1 }, b"A1 0580\n"),
        (
            Frame::Message {
                seq: 0,
                payload: b"heart beat",
            },
            b"M0 9a0b heart beat\n",
        ),
        (
            Frame::Message {
                seq: 65535,
                payload: &[0x11, 0x22, 0x33],
            },
            b"M65535 f35f \x11\x22\x33\n",
        ),
        (
            Frame::Message {
                seq: 7,
                payload: b"",
            },
            b"M7 202b \n",
        ),
    ];
    for (frame, bytes) in cases {
        assert_eq!(encode(frame), *bytes, "{frame:?}");
        assert_eq!(Frame::parse(line(bytes)), Some(*frame), "{bytes:?}");
    }
    assert_eq!(&HEARTBEAT_FRAME[..], b"M0 9a0b heart beat\n");
}

#[test]
fn what_is_no_frame() {
    let cases: &[&[u8]] = &[
        b"",
        b"back 1",
        b"heart beat",
        // Wrong checksum, wrong case, short, missing parts.
        b"M1 9eb4 back 1",
        b"M1 9EB3 back 1",
        b"M1 9eb back 1",
        b"M1 9eb3back 1",
        b"M1 9eb3",
        b"A1 0580 ",
        b"A1 0580 x",
        b"M 9eb3 back 1",
        b"M1",
        // Numbers: no leading zero, no sign, at most 65535.
        b"M01 9eb3 back 1",
        b"M+1 9eb3 back 1",
        b"M65536 0000 x",
        b"M123456 0000 x",
        // Unknown kind.
        b"X1 0580",
    ];
    for line in cases {
        assert_eq!(
            Frame::parse(line),
            None,
            "{:?}",
            String::from_utf8_lossy(line)
        );
    }
}

#[test]
fn line_noise_from_the_scenarios_is_caught() {
    // faults/line_noise_to_modem.json doubles a byte of a reply, line_noise_from_modem.json
    // flips a bit of a request, line_noise_both.json drops one: each frame is refused.
    let frame = encode(&Frame::Message {
        seq: 3,
        payload: b"back 1 in the noise",
    });
    let body = line(&frame);
    let doubled = [&body[..12], &body[11..]].concat();
    let flipped: Vec<u8> = body
        .iter()
        .enumerate()
        .map(|(i, &b)| if i == 10 { b ^ 0x04 } else { b })
        .collect();
    let dropped = [&body[..9], &body[10..]].concat();
    for noisy in [doubled, flipped, dropped] {
        assert_eq!(
            Frame::parse(&noisy),
            None,
            "{:?}",
            String::from_utf8_lossy(&noisy)
        );
    }
}

fn frames() -> impl Strategy<Value = (bool, u16, Vec<u8>)> {
    (
        any::<bool>(),
        any::<u16>(),
        // Any payload but `\n`, which ends the line.
        proptest::collection::vec(any::<u8>().prop_filter("no \\n", |&b| b != b'\n'), 0..64),
    )
}

fn frame_of((message, seq, payload): &(bool, u16, Vec<u8>)) -> Frame<'_> {
    if *message {
        Frame::Message { seq: *seq, payload }
    } else {
        Frame::Ack { seq: *seq }
    }
}

proptest! {
    #[test]
    fn every_frame_reads_back_as_itself(f in frames()) {
        let frame = frame_of(&f);
        let bytes = encode(&frame);
        prop_assert!(bytes.len() <= frame_payload(&frame).len() + FRAME_OVERHEAD);
        prop_assert_eq!(bytes.iter().filter(|&&b| b == b'\n').count(), 1);
        prop_assert_eq!(Frame::parse(line(&bytes)), Some(frame));
    }

    /// Any burst of noise within one byte (a flipped bit, a changed byte) is caught:
    /// CRC-16 catches every burst of up to 16 bits, and a change to the number or the kind
    /// letter changes what the checksum covers, or the frame's form.
    #[test]
    fn a_changed_byte_is_caught(f in frames(), at in any::<prop::sample::Index>(), x in 1u8..) {
        let frame = frame_of(&f);
        let bytes = encode(&frame);
        let body = line(&bytes);
        let i = at.index(body.len());
        let mut noisy = body.to_vec();
        noisy[i] ^= x;
        prop_assert_eq!(Frame::parse(&noisy), None);
    }

    /// Reading never panics, whatever the line.
    #[test]
    fn any_line_parses_or_not(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
        if let Some(frame) = Frame::parse(&bytes) {
            let encoded = encode(&frame);
            prop_assert_eq!(line(&encoded), &bytes[..]);
        }
    }
}
