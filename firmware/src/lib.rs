//! The LongLink device firmware core: keeps a long TCP (or UDP) connection to a server alive
//! through a SIM800-class modem, whatever the network does (behaviours B1–B11 of DESIGN.md).
//!
//! `no_std`, no heap, no real clock, no IO of its own: the UART, the clock and the board
//! outputs are traits ([`embedded_io_async`] Read + Write, [`Clock`], [`Board`]) that embassy
//! implements on a board, tokio on a host, and a deterministic harness in replay.
#![no_std]
#![forbid(unsafe_code)]

pub mod board;
pub mod report;
pub mod time;

pub use board::{Board, LedState};
pub use report::Report;
pub use time::{Clock, Instant};
