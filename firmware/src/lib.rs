//! The LongLink device firmware core: keeps a long TCP (or UDP) connection to a server alive
//! through a SIM800-class modem, whatever the network does (behaviours B1–B11 of DESIGN.md).
//!
//! `no_std`, no heap, no real clock, no IO of its own: the UART, the clock and the board
//! outputs are traits ([`embedded_io_async`] Read + Write, [`Clock`], [`Board`]) that embassy
//! implements on a board, tokio on a host, and a deterministic harness in replay.
//!
//! The files form layers, bottom up; each uses only the ones below it:
//!
//! 1. values and config:
//!    - [`time`]: [`Instant`] and the [`Clock`] trait;
//!    - [`config`]: every knob with its unit, the seed's values as defaults, the buffer sizes;
//!    - [`outbox`]: the bounded FIFO of messages to send, and its drop policy (B9); a message
//!      is sent straight from it;
//!    - [`values`]: the small values reported and shown ([`Phase`], [`LedState`],
//!      [`RestartReason`], [`ModemKind`], [`LinkLoss`], ...);
//!    - [`report`]: [`Report`], one thing the firmware did;
//!    - [`board`]: the [`Board`] trait (LED, watchdog, modem power lines, reports);
//! 2. [`at`]: the AT client: one command at a time, answers, URCs, timeouts;
//! 3. the device:
//!    - `state`: the URC handler and what it keeps (flags, the outbox, the receive path);
//!    - `device`: `Device`, what the phases share: commands, pauses, B10's query;
//!    - `clock`: B4's clock sync, its steps and what each answer decides;
//! 4. the phases, each an `impl Device` of its own:
//!    - `startup`: start-up (identification, the SIM, the data settings) and modem restarts;
//!    - `bringup`: registration, data bring-up (B6) and connect (B7);
//!    - `session`: the connected event loop (B1–B4, B8–B10);
//! 5. `run`: the top loop, [`run`], which ties them together and never returns.
//!
//! # Recovery bounds
//!
//! What the scenarios may assert, with the default [`Config`] values:
//!
//! | event | bound |
//! |---|---|
//! | heartbeat (B1) | on a `heartbeat_interval` grid from the connect (the first right after connecting), none while the modem says the cell is lost; a due one goes ahead of the replies never tried and is written after at most the command in progress (one send: a prompt, at most [`MAX_MESSAGE`](config::MAX_MESSAGE) bytes and a `DATA ACCEPT`, some 145 ms at 115,200 baud; one `AT+CIPACK`; one read of received data, at most 486 bytes, some 55 ms; one clock-sync step or B10's query) and, with raw framing, the acknowledgement of the one message on the way; a late one does not move the next |
//! | `back…` / `bin` / `time` (B2–B4) | the reply is queued when the data is decoded and sent next (after the send in progress); the clock is set before the first connection (bring-up runs the first sync), so `time` is the network's unless the network gave none |
//! | a burst of requests (B9) | newline and acknowledged framings: read from the modem (`AT+CIPRXGET=2`) only as the outbox has room for the replies, the rest held back by the modem and the server's TCP: none dropped. Raw framing: pushed (`+RECEIVE`), a reply that finds no room is dropped (`Dropped`) |
//! | a silently dead TCP link | the session ends within [`Config::dead_link_bound`] (10 s + 30 s + 0.25 s: the heartbeat's bytes not acknowledged, seen by `AT+CIPACK`); closed (`AT+CIPCLOSE=0,1`) at once: a send never holds the AT channel (quick send mode), so a modem waiting for the network is never reset |
//! | `<n>, CLOSED`, `SEND FAIL` | the session ends at once; the next `AT+CIPSTART` after `connect_pause` (5 s) plus a close and three status commands |
//! | `+PDP: DEACT` | the session ends at once; `AT+CIPSHUT`, `connect_pause`, then bring-up from `IP INITIAL` |
//! | IP not ready (B6) | polled every `poll_interval` (2 s); flight mode after `ip_wait` (5 min) for `flight_mode` (20 s); the SIM's `+CPIN: NOT READY` is no restart until it is back (`+CPIN: READY`, or the IP ready): some modems reset it after `AT+CFUN=1` |
//! | connects failing (B7), or sessions delivering nothing (every send failing) | `AT+CIPSHUT` after 5 in a row, within [`Config::connect_round_bound`] |
//! | rounds of that, nothing delivered | start-up again after `connect_rounds_before_startup` (3) rounds, within [`Config::ladder_rung_bound`]; the modem power-cycled after `startups_before_power_cycle` (2) of those start-ups: no loop is endless |
//! | a failed send, a lost link | what was written and not acknowledged (`AT+CIPACK`, asked once more after the link is gone) is written again, first, on the next connection: at-least-once delivery |
//! | acknowledged framing (`framing: acked`) | a numbered frame stays until the server's `A<n>`: written again first on the next connection, after a modem reboot, and on the same connection when its TCP acknowledged it and `A<n>` did not come within `resend_timeout` (5 s): exactly-once delivery with the lab server's deduplication (`protocol::app`) |
//! | data the modem holds unannounced (its `+CIPRXGET: 1` notice garbled) | read at the session loop's next turn after a line the decoder refuses, and with B10's query (60 s) at the latest |
//! | the modem rebooted (`RDY`, `+CPIN: NOT READY`) | start-up again at once, no power action (a `RDY` during start-up: start-up begins again, after the step in progress) |
//! | the modem rebooted unseen (auto-baud: no `RDY`; or a garbled one) | its next sign (an echo, `Call Ready` or `SMS Ready` a second time since it booted, `+CPIN: READY` unasked, `ERROR` to a multi-link command, a single-link `STATE:`) makes the next command check `AT+CIPMUX?`; `+CIPMUX: 0`: start-up again, no power action. Within a heartbeat interval while connected (the heartbeat's send is echoed, or refused) |
//! | the modem hung | power-cycled within [`Config::hung_modem_bound`] of the first unanswered command |
//! | the modem silent from power-up | RESET pulse after `boot_timeout` (10 s), then the power key after another, alternately |
//! | a command without an answer in time | `AT` probes until one is answered, then `resync_quiet` (200 ms) of silence before the next command: a late answer is not taken for the next command's ([`at`]) |
//! | a `> ` prompt that did not come in time, or garbled, or a send aborted by a URC | 1,460 bytes of filler (line ends: as much as any send takes, whatever `<len>` line noise made of it) written at once: a late prompt takes it for the data, never a command, and a modem in command mode skips it; then `AT` probes and `resync_quiet` before the next command |
//! | a UART read error | reported, and the read tried again at once (no byte wait) |
//! | the watchdog | fed on every wake, at least every `watchdog_feed_interval` (4 s), while the device makes progress: a command answered, a phase changed or a message delivered within `progress_timeout` (5 min); a livelock stops feeding it and the hardware watchdog resets the MCU; [`Report::WatchdogFed`] (when fed) at most once a second |
//!
//! # Driving it in virtual time
//!
//! [`run`] is a future that only ever waits on two things: `U::read` and
//! `Clock::sleep_until`. A deterministic harness polls it with a no-op waker and, each time it
//! is `Pending`:
//!
//! 1. takes what the firmware wrote to the UART and hands it to the modem;
//! 2. if the modem has bytes for the firmware now, makes them readable and polls again;
//! 3. otherwise advances the clock to the earliest deadline passed to `sleep_until` during
//!    that poll (or the modem's own next event, if earlier) and polls again.
//!
//! The clock's `sleep_until` future is ready once `now() >= deadline`, and otherwise records
//! its deadline (keep the minimum, reset before each poll). A read that is pending must lose
//! no bytes when it is dropped (the harness just keeps them queued). `harness` (the `std`
//! feature) is such a harness; scenarios' replay and `firmware/tests/` use it.
//!
//! # Features
//!
//! - `serde`: [`Config`] from and to files and flags (serde, durations as `"10s"`) and its
//!   JSON schema; needs std (host tools), off for boards.
//! - `std`: `harness`, the virtual-time harness that drives the core in replay and tests.
#![no_std]
#![forbid(unsafe_code)]

#[cfg(feature = "std")]
extern crate std;

pub mod at;
pub mod board;
mod bringup;
mod clock;
pub mod config;
mod device;
#[cfg(feature = "std")]
pub mod harness;
pub mod outbox;
pub mod report;
mod run;
mod session;
mod startup;
mod state;
pub mod time;
pub mod values;

pub use board::Board;
pub use config::Config;
pub use report::{Report, REPORT_KINDS};
pub use run::run;
pub use time::{Clock, Instant};
pub use values::{LedState, LinkLoss, Model, ModemKind, Phase, PowerAction, RestartReason};
