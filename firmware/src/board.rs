//! What the firmware core drives besides the UART: the network LED, the hardware watchdog,
//! the modem's power key and reset lines, and a log of what it does.

use crate::report::Report;
use crate::values::LedState;

/// The board outputs. Calls are quick and never block.
pub trait Board {
    fn set_led(&mut self, state: LedState);

    /// Feeds the hardware watchdog; the core calls it only while its main loop makes progress
    /// (`Config::progress_timeout`).
    fn feed_watchdog(&mut self);

    /// Drives the modem's PWRKEY line: `true` holds the key down.
    fn set_power_key(&mut self, pressed: bool);

    /// Drives the modem's RESET line: `true` holds the modem in reset.
    fn set_modem_reset(&mut self, asserted: bool);

    /// What the firmware did, for a log or a trace (defmt on a board, tracing on a host).
    fn report(&mut self, report: Report<'_>);
}
