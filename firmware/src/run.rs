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
//! | connects keep failing | connect | `AT+CIPSHUT` after the 5th (B7) |
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
use crate::time::Clock;
use crate::values::{LedState, LinkLoss, Phase, RestartReason};

/// Runs the firmware: brings the modem up, keeps the connection to the server alive, and
/// never returns. Every wait races UART bytes against `clock.sleep_until`; see the crate
/// documentation for how to drive it in virtual time.
///
/// The core is generic only over the UART and the clock, whose futures it holds; the board
/// is used as `&mut dyn Board`, and the URC handler as `&mut dyn Handler`.
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

impl<'a, U: Read + Write, C: Clock> Device<'a, U, C> {
    /// Brings the modem up and keeps the connection alive until the modem must be restarted.
    async fn serve(&mut self) -> Result<Infallible, RestartReason> {
        self.start_modem().await?;
        let mut failures = 0u8;
        let c = self.config;
        // Seeded per device (anew at each start-up: the draws repeat, each device's its own).
        let mut jitter = Jitter::new(c.connect_jitter_seed);
        loop {
            let waited = !self.bring_up().await?;
            if waited {
                failures = 0;
            }
            // What the attempt leaves to clean up: the connection, or the whole data link.
            // With `connect_jitter`, the network back after a wait (maybe for every device
            // that lost it) first gets the jittered pause: no attempt, nothing to clean up.
            let cleanup = if waited && !c.connect_jitter.is_zero() {
                None
            } else if self.connect().await? {
                failures = 0;
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
                match loss {
                    LinkLoss::Closed => None,
                    LinkLoss::PdpDeact => Some(SHUT),
                    LinkLoss::SendFailed | LinkLoss::SendTimeout => Some(CLOSE),
                }
            } else {
                failures = failures.saturating_add(1);
                self.state.board.report(Report::ConnectFailed { failures });
                let shut = failures >= self.config.connect_failures_before_shut;
                if shut {
                    failures = 0;
                }
                shut.then_some(SHUT)
            };
            if let Some(command) = cleanup {
                self.cmd(&command).await?;
                if matches!(command, Command::Exec(Name::Cipshut)) {
                    self.state.board.report(Report::DataLinkShut);
                    self.ip_state = None;
                }
            }
            self.set_phase(Phase::Pausing);
            let end = self.now() + c.connect_pause + c.jitter(jitter.draw());
            self.idle(end, Wake::Restart).await?;
            self.check_modem()?;
        }
    }
}
