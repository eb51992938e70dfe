//! The modem's application services: the HTTP application set (`AT+HTTP*`, SIM800 AT
//! manual §15) and SMS in text and PDU mode (`AT+CMG*`, `AT+CSCS`, `AT+CPMS`, `AT+CNMI`,
//! 3GPP TS 27.005), as commands ([`ServiceCommand`]) and answers ([`ServiceResponse`]), both
//! ways. The PDUs themselves are [`crate::pdu`]'s.
//!
//! They are kept apart from [`crate::Command`] and [`crate::Response`] on purpose: the
//! firmware links the core command encoder and response decoder, and these commands would
//! grow its image (its core has a 32 KiB flash budget) for nothing; the simulated modem and
//! host-side clients use both. A line segment that the core parser does not know
//! ([`crate::command::ParseError::UnknownCommand`]) is tried here
//! ([`ServiceCommand::parse`]).

mod command;
mod response;

pub use command::{CmgsTarget, Param, ServiceCommand, ServiceName};
pub use response::{
    MoreDetails, ServiceDecodeError, ServiceResponse, SmsEntry, SmsHead, TextDetails,
};
