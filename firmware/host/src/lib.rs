//! The LongLink firmware core on a host, under tokio: what a board gives the core, for a
//! host. `longlink-host` (`src/main.rs`) runs the core with them against a serial device;
//! tests run it against scenarios' real-time runner.
//!
//! - [`TokioClock`]: the core's [`Clock`], on tokio's clock;
//! - [`TokioUart`]: its UART, over any tokio byte stream (a serial port, a pty, a TCP
//!   socket), telling when the modem closed the line;
//! - [`TracingBoard`]: its board outputs (LED, watchdog, power lines) and reports, as
//!   tracing log lines;
//! - [`LogBoard`]: the same as a board log, one stamped line each, as a QEMU board writes it
//!   and scenarios' real-time runner reads it.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // the host runner is an edge: a real clock, a real serial port (clippy.toml)

use std::future::Future;
use std::time::Duration;

use embedded_io_adapters::tokio_1::FromTokio;
use firmware::{Board, Clock, Instant, LedState, Report};
use protocol::text::Escaped;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::oneshot;
use tracing::{debug, info, trace, warn};

/// The firmware's clock: microseconds since `start`, on tokio's clock (so tokio's paused
/// test time works too).
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    start: tokio::time::Instant,
}

impl TokioClock {
    /// A clock whose zero is now: the device starts.
    pub fn starting_now() -> Self {
        TokioClock {
            start: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Instant {
        Instant::from_micros(u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX))
    }

    fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()> {
        tokio::time::sleep_until(self.start + Duration::from_micros(deadline.as_micros()))
    }
}

/// Resolves when the modem closed the line ([`TokioUart::new`]).
pub type LineClosed = oneshot::Receiver<()>;

/// The firmware's UART: a tokio byte stream. Its end of file (the modem went away) is
/// signalled through [`LineClosed`], and the read then waits for ever, instead of handing the
/// core an endless run of empty reads.
pub struct TokioUart<T> {
    io: FromTokio<T>,
    closed: Option<oneshot::Sender<()>>,
}

impl<T: AsyncRead + AsyncWrite + Unpin> TokioUart<T> {
    /// The UART over `io`, and what resolves when the modem closes the line.
    pub fn new(io: T) -> (Self, LineClosed) {
        let (closed, line_closed) = oneshot::channel();
        let uart = TokioUart {
            io: FromTokio::new(io),
            closed: Some(closed),
        };
        (uart, line_closed)
    }
}

impl<T> embedded_io_async::ErrorType for TokioUart<T> {
    type Error = std::io::Error;
}

impl<T: AsyncRead + Unpin> embedded_io_async::Read for TokioUart<T> {
    /// Cancel-safe, as tokio's `poll_read` is: a dropped read has taken no bytes.
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, std::io::Error> {
        let n = embedded_io_async::Read::read(&mut self.io, buf).await?;
        if n == 0 && !buf.is_empty() {
            if let Some(closed) = self.closed.take() {
                let _ = closed.send(());
            }
            std::future::pending::<()>().await;
        }
        Ok(n)
    }
}

impl<T: AsyncWrite + Unpin> embedded_io_async::Write for TokioUart<T> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, std::io::Error> {
        trace!(bytes = %Escaped(buf), "uart tx");
        embedded_io_async::Write::write(&mut self.io, buf).await
    }

    async fn flush(&mut self) -> Result<(), std::io::Error> {
        embedded_io_async::Write::flush(&mut self.io).await
    }
}

/// A host has no LED, watchdog or modem power lines: they are tracing log lines, and so are
/// the reports, in their trace form, at a level by kind.
#[derive(Debug, Default)]
pub struct TracingBoard;

impl Board for TracingBoard {
    fn set_led(&mut self, state: LedState) {
        info!(?state, "LED");
    }

    fn feed_watchdog(&mut self) {
        trace!("watchdog fed");
    }

    fn set_power_key(&mut self, pressed: bool) {
        info!(pressed, "PWRKEY (not wired on a host)");
    }

    fn set_modem_reset(&mut self, asserted: bool) {
        info!(asserted, "RESET line (not wired on a host)");
    }

    fn report(&mut self, report: Report<'_>) {
        match report {
            // Logged by the board calls above.
            Report::WatchdogFed | Report::Led(_) => {}
            Report::Outbox { .. } | Report::Queued { .. } => debug!("{report}"),
            Report::AtTimeout(_)
            | Report::AtRejected(_)
            | Report::Decode(_)
            | Report::UartError(_)
            | Report::Dropped { .. }
            | Report::ConnectFailed { .. }
            | Report::LinkLost(_)
            | Report::ClockSyncFailed { .. }
            | Report::ModemRestart { .. } => warn!("{report}"),
            _ => info!("{report}"),
        }
    }
}

/// A board log on `log`: one line per report (its trace form) or power-line change, stamped
/// with the device's time: `12.345s Phase(Connecting)`, `3.000s power key down`. That is
/// what a QEMU board writes on its UART1, and what scenarios' real-time runner reads as an
/// external device's log. Write errors are ignored: a log must not stop the firmware.
pub struct LogBoard<W> {
    clock: TokioClock,
    log: W,
}

impl<W: std::io::Write> LogBoard<W> {
    /// Stamps lines with `clock`'s time (the firmware's).
    pub fn new(clock: TokioClock, log: W) -> Self {
        LogBoard { clock, log }
    }

    fn line(&mut self, text: &dyn std::fmt::Display) {
        let _ = writeln!(self.log, "{} {text}", self.clock.now());
    }
}

impl<W: std::io::Write> Board for LogBoard<W> {
    // In the reports (`Led`, `WatchdogFed`).
    fn set_led(&mut self, _: LedState) {}

    fn feed_watchdog(&mut self) {}

    fn set_power_key(&mut self, pressed: bool) {
        self.line(&if pressed {
            "power key down"
        } else {
            "power key up"
        });
    }

    fn set_modem_reset(&mut self, asserted: bool) {
        self.line(&if asserted {
            "modem reset on"
        } else {
            "modem reset off"
        });
    }

    fn report(&mut self, report: Report<'_>) {
        self.line(&report);
    }
}
