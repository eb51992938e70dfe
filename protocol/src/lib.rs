//! The languages LongLink speaks, as values and bytes, with no IO, no clock and no heap.
//!
//! - [`command`]: what the host (the firmware) sends to the modem: [`Command`], its encoder,
//!   and the modem side's incremental parser [`CommandParser`].
//! - [`response`]: what the modem sends back: [`Response`] (final results, information lines,
//!   URCs), its encoder, and the firmware side's incremental [`Decoder`].
//! - [`app`]: the long-link application protocol on top of the TCP/UDP link: heartbeat, the
//!   replies to `back…`, `bin` and `time`, and message framing.
//! - [`text`]: bytes as readable text, the one escaping every trace, log and transcript uses.
//!
//! Everything here is `no_std`: bytes in, values out; values in, bytes out.
#![no_std]
#![forbid(unsafe_code)]

#[macro_use]
mod packed;
pub mod app;
pub mod command;
mod encode;
pub mod pdu;
pub mod response;
pub mod service;
pub mod text;
pub mod types;

pub use command::{Command, CommandParser};
pub use encode::BufferFull;
pub use response::{Decoder, Response};
