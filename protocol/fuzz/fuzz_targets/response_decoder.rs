//! The response decoder on arbitrary modem bytes, in arbitrary chunks, with pending commands
//! started, cancelled and link counts set from the input. It must never panic, always make
//! progress, keep payloads within its buffer, and give the same events as a second decoder fed
//! one byte at a time.
//!
//! Input: a sequence of records. A control byte `c`:
//! - `c < 0xc0`: the next `c & 0x3f` bytes (or what is left) are modem bytes, one chunk;
//! - `0xc0..=0xef`: start command `(c - 0xc0) % COMMANDS.len()`;
//! - `0xf0..=0xf7`: `set_connection_lines(c & 7)`;
//! - otherwise: cancel.
//!
//! `cd protocol/fuzz && cargo +nightly fuzz run response_decoder -- -max_total_time=30`
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::command::{Name, RxGet};
use protocol::response::{DecodeError, Decoder, Event, Response, RxGetResponse};
use protocol::types::Transport;
use protocol::Command;

const COMMANDS: &[Command<'static>] = &[
    Command::At,
    // Issue 13: ATO's CONNECT / NO CARRIER, GMR's free text, CBC's line.
    Command::Online,
    Command::Exec(Name::Gmr),
    Command::Exec(Name::Cbc),
    Command::Echo(false),
    Command::Info,
    Command::Exec(Name::Csq),
    Command::Exec(Name::Cipstatus),
    Command::Exec(Name::Cifsr),
    Command::Exec(Name::Cipshut),
    Command::Exec(Name::Cipsend),
    Command::Exec(Name::Cgsn),
    Command::Exec(Name::Cntp),
    Command::Read(Name::Creg),
    Command::Read(Name::Cpin),
    Command::Read(Name::Cdnscfg),
    Command::Test(Name::Cipsend),
    Command::CipstatusLink(0),
    Command::CipackLink(0),
    Command::Cipsend {
        link: Some(0),
        len: Some(5),
    },
    Command::Cipclose {
        link: Some(1),
        quick: Some(true),
    },
    Command::Cpowd(1),
    Command::Cipstart {
        link: Some(0),
        transport: Transport::Tcp,
        host: "1.2.3.4",
        port: 80,
    },
    Command::Ciprxget(RxGet::Read {
        link: Some(0),
        len: 8,
        hex: true,
    }),
];

const N: usize = 64;

/// Feeds `input`, appending a description of every event to `log`.
fn feed(decoder: &mut Decoder<N>, mut input: &[u8], log: &mut Vec<String>) {
    while !input.is_empty() {
        let (used, event) = decoder.feed(input);
        assert!(used <= input.len());
        match event {
            None => assert_eq!(used, input.len(), "stopped early with no event"),
            Some(event) => {
                check(&event);
                log.push(format!("{event:?}"));
            }
        }
        input = &input[used..];
    }
}

fn check(event: &Result<Event<'_>, DecodeError>) {
    let payload = match event {
        Ok(e) => match e.response() {
            Some(
                Response::Receive { data, .. }
                | Response::Ipd(data)
                | Response::IpdTransport { data, .. },
            ) => data.len(),
            Some(Response::RxGet(RxGetResponse::Data { data, .. })) => data.len(),
            _ => 0,
        },
        Err(DecodeError::PayloadTooLong { len }) => {
            assert!(*len > N as u64);
            0
        }
        Err(_) => 0,
    };
    assert!(payload <= N);
}

fuzz_target!(|data: &[u8]| {
    let mut chunked = Decoder::<N>::new();
    let mut bytewise = Decoder::<N>::new();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut rest = data;
    while let Some((&c, tail)) = rest.split_first() {
        rest = tail;
        match c {
            0x00..=0xbf => {
                let (chunk, tail) = rest.split_at((c & 0x3f).min(rest.len() as u8) as usize);
                rest = tail;
                feed(&mut chunked, chunk, &mut a);
                for byte in chunk.chunks(1) {
                    feed(&mut bytewise, byte, &mut b);
                }
            }
            0xc0..=0xef => {
                let command = &COMMANDS[usize::from(c - 0xc0) % COMMANDS.len()];
                chunked.start(command);
                bytewise.start(command);
            }
            0xf0..=0xf7 => {
                chunked.set_connection_lines(c & 7);
                bytewise.set_connection_lines(c & 7);
            }
            _ => {
                chunked.cancel();
                bytewise.cancel();
            }
        }
        assert_eq!(chunked.is_pending(), bytewise.is_pending());
    }
    assert_eq!(a, b);
});
