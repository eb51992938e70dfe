//! A simulated SIM800 / Air202-class modem, the cellular network around it, and a lab server.
//!
//! The core is sans-IO: no real socket, no real clock. Time is an input (`now: Duration`,
//! virtual time since the simulation started) and every component has the same shape:
//! `handle_*(now, input)`, `poll_*()` for what it wants to emit, `poll_timeout()` for when it
//! next needs to run, `handle_timeout(now)`. Replay drives it in virtual time; the `live`
//! module drives the same modem with real time, a pty / TCP / serial port and real sockets.
//!
//! The line between the two is the cargo feature `live` (on by default): it brings `live`,
//! the `sim-modem` binary and their IO dependencies (tokio, a pty, a serial port, logging).
//! A crate that only replays depends on this one with `default-features = false` and gets
//! the core alone, without them.
//!
//! - [`modem`]: the AT modem: line discipline, the TCP/IP state machine, timing from the
//!   [`profile`].
//! - [`net`]: the interface between the modem and whatever carries its data.
//! - [`network`]: the simulated cellular network and internet: registration, PDP, sockets
//!   with latency, bandwidth and loss.
//! - [`fault`]: the faults that can be injected (the SIM800's field misbehaviours among
//!   them, each with where it was seen), each with its units, and seeded line noise.
//! - [`lab`]: the lab server: accepts device connections, records them, sends on command.
//! - [`sim`]: modem + network + lab server + the UART between host and modem (wire time,
//!   line noise, line errors) as one sans-IO unit, for replay and live mode.
//! - `knob`: serde helpers that refuse knob values a model cannot run with.

pub mod fault;
pub mod http;
mod knob;
pub mod lab;
#[cfg(feature = "live")]
pub mod live;
pub mod modem;
pub mod net;
pub mod network;
pub mod profile;
pub mod sim;
pub mod sntp;
