//! Text log lines on UART1, each stamped with the time since boot: `12.345s led Connected`.

use core::fmt::{Arguments, Write};

use crate::uart::LogUart;

pub fn now() -> firmware::Instant {
    firmware::Instant::from_micros(embassy_time::Instant::now().as_micros())
}

pub fn line(args: Arguments<'_>) {
    // One line at a time, even when an interrupt handler (or a panic) logs too.
    critical_section::with(|_| {
        let _ = writeln!(LogUart, "{} {}", now(), args);
    });
}

macro_rules! log {
    ($($arg:tt)*) => { $crate::log::line(format_args!($($arg)*)) };
}
pub(crate) use log;
