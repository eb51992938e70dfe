//! The top loop: [`run`] brings the modem up, keeps the connection to the server alive
//! ([`Device::serve`]: start-up, then bring-up, connect and the session, again and again),
//! and restarts the modem whenever a layer gives up on it.
//!
//! # Recovery, layer by layer
//!
//! | what went wrong | who notices | what happens |
//! |---|---|---|
//! | the connection dropped (`<n>, CLOSED`), a send failed or timed out | the session | reconnect after `connect_pause` (plus `connect_jitter`'s draw, when set) |
//! | `+PDP: DEACT` | the session, any wait | `AT+CIPSHUT`, bring-up again, reconnect |
//! | the IP is not ready | bring-up | poll every `poll_interval`; after `ip_wait`, flight mode (B6) |
//! | connects keep failing, or sessions deliver nothing (every send failing) | connect, the session | `AT+CIPSHUT` after the 5th in a row (B7) |
//! | rounds of that, `connect_rounds_before_startup` (3) in a row, nothing delivered | the top loop | start-up again, no power action (`ModemRestart { reason: NoProgress, action: None }`) |
//! | start-ups of that, `startups_before_power_cycle` (2) in a row, nothing delivered | the top loop | the modem is power-cycled (RESET, then the power key, alternately) |
//! | the modem restarted unseen (no `RDY`: auto-baud, noise), its settings lost | any command: an echo, `Call Ready`, `ERROR` to a multi-link command make the next one check `AT+CIPMUX?` | `+CIPMUX: 0`: start-up again, no power action |
//! | the IP is ready again after a wait | bring-up | with `connect_jitter` set, the pause (`connect_pause` and a draw of the jitter) before connecting: a fleet that lost a tower comes back spread out |
//! | the modem rebooted (`RDY`, `+CPIN: NOT READY`) | the URC handler, at once: it ends any wait, a pending command or send included | start-up again, no power action, no close, no pause |
//! | the modem stopped answering, or is off (`NORMAL POWER DOWN`) | the AT client, start-up | RESET pulse, then the power key, alternately, until it answers |

use core::convert::Infallible;

use embedded_io_async::{Read, Write};
use protocol::command::{Command, Name};

use crate::at::Wake;
use crate::board::Board;
use crate::bringup::{CLOSE, SHUT};
use crate::config::{Config, Jitter};
use crate::device::Device;
use crate::report::Report;
use crate::time::{Clock, Instant};
use crate::values::{LedState, LinkLoss, Phase, RestartReason};

/// Runs the firmware: brings the modem up, keeps the connection to the server alive, and
/// never returns. Every wait races UART bytes against `clock.sleep_until`; see the crate
/// documentation for how to drive it in virtual time.
///
/// The core is generic over the UART, the clock and the board: a firmware image has one of
/// each, so the core is compiled once all the same, and the board's methods inline into it
/// (with a board that does not log, the reports are not even built: 2 KB of flash less on the
/// Pico than through a `&mut dyn Board`). The URC handler is the one `state::State`.
pub async fn run<U, C, B>(config: &Config, uart: U, clock: &C, board: &mut B) -> !
where
    U: Read + Write,
    C: Clock,
    B: Board,
{
    let mut device = Device::new(config, uart, clock, board);
    let mut reason = None;
    loop {
        if let Some(reason) = reason {
            device.restart_modem(reason).await;
        }
        reason = Some(match device.serve().await {
            Err(reason) => reason,
            Ok(never) => match never {},
        });
    }
}

impl<'a, U: Read + Write, C: Clock, B: Board + ?Sized> Device<'a, U, C, B> {
    /// Brings the modem up and keeps the connection alive until the modem must be restarted.
    async fn serve(&mut self) -> Result<Infallible, RestartReason> {
        self.start_modem().await?;
        let c = self.config;
        // B7's count, and the ladder's rounds of it (see the module documentation).
        let (mut failures, mut rounds) = (0u8, 0u8);
        // Seeded per device (anew at each start-up: the draws repeat, each device's its own).
        let mut jitter = Jitter::new(c.connect_jitter_seed);
        loop {
            let waited = !self.bring_up().await?;
            if waited {
                failures = 0;
            }
            // With `connect_jitter`, the network back after a wait (maybe for every device
            // that lost it) first gets the jittered pause: no attempt, nothing counted.
            let spread = waited && !c.connect_jitter.is_zero();
            let connected = !spread && self.connect().await?;
            // What the attempt leaves to clean up: the connection, or the whole data link.
            let mut cleanup = None;
            if connected {
                self.state.board.report(Report::Connected);
                self.state.set_led(LedState::Connected);
                let loss = self.session().await?;
                self.state.board.report(Report::LinkLost(loss));
                // B10: `Registered` while the IP is up; the URC handler may have seen the
                // cell or the data link go already (`Searching`), maybe in the same read.
                self.at.drain(&mut self.state);
                let led = if loss == LinkLoss::PdpDeact
                    || self.state.led() == Some(LedState::Searching)
                {
                    LedState::Searching
                } else {
                    LedState::Registered
                };
                self.state.set_led(led);
                // A PDP deactivation needs `AT+CIPSHUT` (Luat), a failed send a close; a
                // closed link needs nothing.
                cleanup = match loss {
                    LinkLoss::Closed => None,
                    LinkLoss::PdpDeact => Some(SHUT),
                    LinkLoss::SendFailed | LinkLoss::SendTimeout => Some(CLOSE),
                };
            }
            // (Taken: a failed connect after a session that delivered is no progress.)
            if core::mem::take(&mut self.delivered) {
                // Progress: every rung of the ladder starts again.
                (failures, rounds, self.startups) = (0, 0, 0);
            } else if !spread {
                // A failed connect, or a session that delivered nothing (every send failing,
                // a link that dies at once): B7 counts both.
                failures = failures.saturating_add(1);
                if !connected {
                    self.state.board.report(Report::ConnectFailed { failures });
                }
                if failures >= c.connect_failures_before_shut {
                    failures = 0;
                    rounds += 1;
                    cleanup = Some(SHUT);
                }
            }
            if let Some(command) = cleanup {
                self.cmd(&command).await?;
                if matches!(command, Command::Exec(Name::Cipshut)) {
                    self.state.board.report(Report::DataLinkShut);
                    self.ip_state = None;
                }
            }
            if rounds >= c.connect_rounds_before_startup {
                return Err(RestartReason::NoProgress);
            }
            self.set_phase(Phase::Pausing);
            let end = self.now() + c.connect_pause;
            let end = Instant::from_micros(end.as_micros() + c.jitter_micros(jitter.draw()));
            self.idle(end, Wake::Restart).await?;
            self.check_modem()?;
        }
    }
}
