//! LongLink on QEMU's mps2-an385 (Cortex-M3): the firmware core with the modem on UART0 and a
//! text log on UART1. See README.md for how to run it against the simulated modem.
#![no_std]
#![no_main]

mod executor;
mod log;
mod time_driver;
mod uart;
mod vectors;

use core::future::Future;

use cortex_m_rt::entry;
use embassy_time::Timer;
use firmware::{Board, Config, Instant, LedState, Report};

use crate::log::log;

/// The lab server, over TCP; every other setting is the seed's (`Config::seed`).
const SERVER_HOST: &str = "lab.longlink.test";
const SERVER_PORT: u16 = 6500;

/// The firmware's clock: embassy-time (1 MHz ticks, so microseconds map one to one).
struct EmbassyClock;

impl firmware::Clock for EmbassyClock {
    fn now(&self) -> Instant {
        log::now()
    }

    fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()> {
        // A Timer is cancel-safe: dropping it just forgets the wakeup.
        Timer::at(embassy_time::Instant::from_micros(deadline.as_micros()))
    }
}

/// No LED, watchdog or modem lines on an emulated board: what the firmware drives is logged
/// (the LED through its `Report::Led`).
struct QemuBoard;

impl Board for QemuBoard {
    fn set_led(&mut self, _state: LedState) {}

    fn feed_watchdog(&mut self) {}

    fn set_power_key(&mut self, pressed: bool) {
        log!("power key {}", if pressed { "down" } else { "up" });
    }

    fn set_modem_reset(&mut self, asserted: bool) {
        log!("modem reset {}", if asserted { "on" } else { "off" });
    }

    /// Every report in its trace form (its `Display`: `Sent(Heartbeat, "heart beat")`), so
    /// that a scenario run against this board (`cargo xtask flash --board qemu`) checks its
    /// expectations on reports against these lines.
    fn report(&mut self, report: Report<'_>) {
        log!("{}", report);
    }
}

#[embassy_executor::task]
async fn firmware_task(uart: uart::ModemUart) -> ! {
    let config = Config::seed(SERVER_HOST, SERVER_PORT).expect("the host name fits");
    firmware::run(&config, uart, &EmbassyClock, &mut QemuBoard).await
}

#[entry]
fn main() -> ! {
    let core = cortex_m::Peripherals::take().expect("taken once");
    uart::log_init();
    time_driver::init(core.SYST);
    log!("LongLink on QEMU mps2-an385");
    let modem = uart::ModemUart::init();
    executor::run(|spawner| spawner.spawn(firmware_task(modem).expect("spawned once")))
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    log!("panic: {}", info);
    loop {
        cortex_m::asm::wfi();
    }
}
