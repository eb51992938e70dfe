//! Time as the firmware core sees it: an input, never read from a real clock by the core.

use core::fmt;
use core::future::Future;
use core::ops::{Add, Sub};
use core::time::Duration;

/// A point in time, in microseconds since the device started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant {
    micros: u64,
}

impl Instant {
    pub const ZERO: Instant = Instant { micros: 0 };

    pub const fn from_micros(micros: u64) -> Self {
        Instant { micros }
    }

    pub const fn from_millis(millis: u64) -> Self {
        Instant {
            micros: millis.saturating_mul(1000),
        }
    }

    pub const fn as_micros(self) -> u64 {
        self.micros
    }

    pub const fn as_millis(self) -> u64 {
        self.micros / 1000
    }

    /// Time since `earlier`, zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_micros(self.micros.saturating_sub(earlier.micros))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// Saturating. Out of line and in 64-bit arithmetic: every deadline is computed this way,
    /// and `Duration::as_micros` (128-bit) inlined at each one costs a Cortex-M0+ dearly.
    #[inline(never)]
    fn add(self, d: Duration) -> Instant {
        let micros = d
            .as_secs()
            .saturating_mul(1_000_000)
            .saturating_add(u64::from(d.subsec_micros()));
        Instant {
            micros: self.micros.saturating_add(micros),
        }
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

impl fmt::Display for Instant {
    /// Seconds with millisecond precision, as in `12.345s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:03}s",
            self.micros / 1_000_000,
            self.micros / 1000 % 1000
        )
    }
}

/// The firmware's only source of time. A board implements it with its timer (embassy-time),
/// the host runner with tokio, a replay with virtual time.
pub trait Clock {
    fn now(&self) -> Instant;

    /// Completes once `now() >= deadline`. Must be cancel-safe: it is raced against UART reads.
    fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()>;
}
