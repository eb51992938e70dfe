//! The HTTP / SMS parsers on arbitrary bytes: `ServiceCommand::parse` (every value it
//! accepts must survive encode -> parse), `ServiceResponse::decode` (never takes more than it
//! was given; what it reads encodes to the same bytes), and the SMS PDU decoders (a decoded
//! DELIVER's text and address are readable to the end).
//!
//! `cd protocol/fuzz && cargo +nightly fuzz run services -- -max_total_time=30`
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::pdu::{Deliver, Submit};
use protocol::service::{ServiceCommand, ServiceResponse};

fuzz_target!(|input: &[u8]| {
    if let Ok(command) = ServiceCommand::parse(input) {
        let mut buf = [0; 1024];
        let n = command.encode(&mut buf).expect("a parsed command fits 1 KiB");
        let again = ServiceCommand::parse(&buf[2..n - 1]);
        assert_eq!(again, Ok(command));
    }
    if let Ok((response, taken)) = ServiceResponse::decode(input) {
        assert!(taken <= input.len());
        let mut buf = [0; 2048];
        let n = response.encode(&mut buf).expect("a decoded answer fits 2 KiB");
        let (again, _) = ServiceResponse::decode(&buf[2..n]).expect("its own bytes decode");
        assert_eq!(again, response);
    }
    if let Ok(deliver) = Deliver::decode(input) {
        deliver.user_data.chars().for_each(drop);
        deliver.originator.chars().for_each(drop);
    }
    if let Ok(submit) = Submit::decode(input) {
        submit.user_data.chars().for_each(drop);
        submit.destination.chars().for_each(drop);
    }
});
