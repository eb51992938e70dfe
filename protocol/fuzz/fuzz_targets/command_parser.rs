//! Arbitrary host bytes, cut at arbitrary points, through the modem side's command parser.
//!
//! Input: one control byte, then the stream. The control byte seeds the chunk sizes and
//! whether a line that holds no CIPSEND still switches to data mode. Every line's segments
//! (`;`-separated, and chained basic commands such as `AT&FZE0&W` split one per segment) are
//! parsed in both mux modes, and every command parsed must survive encode -> parse.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::command::{Command, CommandParser, DataMode, ParserEvent};

fuzz_target!(|input: &[u8]| {
    let Some((&control, mut stream)) = input.split_first() else {
        return;
    };
    let mut parser = CommandParser::<64>::new();
    let mut seed = u32::from(control) | 1;
    while !stream.is_empty() {
        // A small xorshift: the chunk sizes and the data-mode switches follow from `control`.
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let cut = (seed as usize % 8 + 1).min(stream.len());
        let (mut chunk, rest) = stream.split_at(cut);
        stream = rest;
        while !chunk.is_empty() {
            let (used, event) = parser.feed(chunk);
            assert!(used <= chunk.len());
            chunk = &chunk[used..];
            let mut data_mode = None;
            match event {
                Some(Ok(ParserEvent::Line(line))) => {
                    let raw = line.raw();
                    assert!(raw.len() >= 3 && raw[..2].eq_ignore_ascii_case(b"AT"));
                    assert!(matches!(raw.last(), Some(b'\r' | b'\n')));
                    for segment in line.segments() {
                        for multi in [false, true] {
                            if let Ok(command) = segment.parse(multi) {
                                check_round_trip(&command, multi);
                                data_mode = data_mode.or(command.data_mode(16));
                            }
                        }
                    }
                    if data_mode.is_none() && seed & 0x100 != 0 {
                        data_mode = Some(match seed >> 9 & 1 {
                            0 => DataMode::Fixed((seed >> 10) as u16 % 80),
                            _ => DataMode::CtrlZ {
                                max: (seed >> 10) as u16 % 80,
                            },
                        });
                    }
                }
                Some(Ok(ParserEvent::Data(data))) => assert!(data.len() <= 64),
                Some(Ok(ParserEvent::DataCancelled) | Err(_)) => {}
                None => assert!(chunk.is_empty()),
            }
            if let Some(mode) = data_mode {
                parser.expect_data(mode);
            }
        }
    }
});

/// What the parser accepts, the encoder writes back, and the parser reads the same.
fn check_round_trip(command: &Command, multi: bool) {
    let mut buf = [0; 256];
    let n = command
        .encode(&mut buf)
        .expect("a parsed command fits 256 bytes");
    let mut parser = CommandParser::<256>::new();
    let (used, event) = parser.feed(&buf[..n]);
    assert_eq!(used, n);
    let Some(Ok(ParserEvent::Line(line))) = event else {
        panic!("{command:?} encodes to no line");
    };
    let mut segments = line.segments();
    let again = segments.next().map(|s| s.parse(multi));
    assert_eq!(again, Some(Ok(*command)));
    assert!(segments.next().is_none());
}
