//! LongLink on a Raspberry Pi Pico (RP2040): the firmware core with the modem on UART0, its
//! PWRKEY and RESET lines on GPIOs, the network LED on the on-board LED, the hardware watchdog,
//! and a defmt log over RTT (a debug probe; `probe-rs run` prints it).
//!
//! Wiring (3.3 V logic; a SIM800 module's own level shifter or transistors in between):
//!
//! | Pico         | modem                                                         |
//! |--------------|---------------------------------------------------------------|
//! | GP0 UART0 TX | RXD                                                           |
//! | GP1 UART0 RX | TXD                                                           |
//! | GP2          | PWRKEY, through an NPN: GP2 high pulls PWRKEY low ("pressed") |
//! | GP3          | RESET, through an NPN: GP3 high pulls RESET low ("asserted")  |
//! | GND          | GND                                                           |
//!
//! GP25 is the Pico's LED.
//!
//! The modem's UART is embassy-rp's `BufferedUart`, handed to the core as it is. On a receive
//! error its interrupt handler switches reception off, and the next read switches it on again
//! (the read that reports the error): the core reads again at once after an error
//! (`firmware::at`), so the 512-byte ring buffer never fills behind one. Tested with this
//! image on an emulated RP2040 whose UART receives characters with framing errors
//! (`emulator/`, `scenarios/board/pico_uart_errors.json`), and in
//! `firmware/tests/virtual_time.rs` against a mock UART that keeps reception off likewise.
#![no_std]
#![no_main]
// Built with `board-only` (to measure the core's share), the core's settings go unused.
#![cfg_attr(feature = "board-only", allow(dead_code, unused_imports))]

mod report;

use core::future::Future;

use defmt_rtt as _;
use embassy_executor::Spawner;
use embassy_futures::select::{select, Either};
use embassy_rp::bind_interrupts;
use embassy_rp::gpio::{Level, Output};
use embassy_rp::peripherals::UART0;
use embassy_rp::uart::{self, BufferedInterruptHandler, BufferedUart};
use embassy_rp::watchdog::Watchdog;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::signal::Signal;
use embassy_time::{Duration, Timer};
use firmware::{Board, Config, Instant, LedState, Report};
use panic_probe as _;
use static_cell::StaticCell;

bind_interrupts!(struct Irqs {
    UART0_IRQ => BufferedInterruptHandler<UART0>;
});

/// The lab server, over TCP; every other setting is the seed's (`Config::seed`).
const SERVER_HOST: &str = "lab.longlink.test";
const SERVER_PORT: u16 = 6500;

/// The RP2040's watchdog can wait at most 8.3 s; the core feeds it at least every
/// `Config::watchdog_feed_interval` (4 s by default).
const WATCHDOG_TIMEOUT: Duration = Duration::from_secs(8);

/// The firmware's clock: embassy-time (1 MHz ticks on the RP2040, so microseconds one to one).
struct EmbassyClock;

impl firmware::Clock for EmbassyClock {
    fn now(&self) -> Instant {
        Instant::from_micros(embassy_time::Instant::now().as_micros())
    }

    fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()> {
        // A Timer is cancel-safe: dropping it just forgets the wakeup.
        Timer::at(embassy_time::Instant::from_micros(deadline.as_micros()))
    }
}

/// The LED state the firmware asked for last; [`led_task`] blinks it.
static LED: Signal<CriticalSectionRawMutex, LedState> = Signal::new();

struct PicoBoard {
    watchdog: Watchdog,
    power_key: Output<'static>,
    modem_reset: Output<'static>,
}

impl Board for PicoBoard {
    fn set_led(&mut self, state: LedState) {
        LED.signal(state);
    }

    fn feed_watchdog(&mut self) {
        self.watchdog.feed(WATCHDOG_TIMEOUT);
    }

    fn set_power_key(&mut self, pressed: bool) {
        self.power_key.set_level(Level::from(pressed));
    }

    fn set_modem_reset(&mut self, asserted: bool) {
        self.modem_reset.set_level(Level::from(asserted));
    }

    fn report(&mut self, report: Report<'_>) {
        #[cfg(not(feature = "no-log"))]
        report::log(report);
        #[cfg(feature = "no-log")]
        let _ = report;
    }
}

/// How the LED shows a state, as Luat's netLed does: (on, off) in milliseconds; `None` is dark.
fn blink(state: LedState) -> Option<(u64, u64)> {
    match state {
        LedState::Off => None,
        LedState::Searching => Some((300, 3700)),
        LedState::Registered => Some((300, 1700)),
        LedState::Connected => Some((100, 100)),
    }
}

#[embassy_executor::task]
async fn led_task(mut led: Output<'static>) -> ! {
    let mut state = LedState::Off;
    loop {
        // Blink until the state changes; then start the new pattern at once.
        let pattern = async {
            match blink(state) {
                None => led.set_low(),
                Some((on, off)) => loop {
                    led.set_high();
                    Timer::after_millis(on).await;
                    led.set_low();
                    Timer::after_millis(off).await;
                },
            }
            core::future::pending::<()>().await
        };
        if let Either::Second(new) = select(pattern, LED.wait()).await {
            state = new;
        }
    }
}

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let p = embassy_rp::init(Default::default());
    defmt::info!("LongLink on a Raspberry Pi Pico");

    // Started before anything else can hang; the firmware core feeds it as it makes progress.
    let mut watchdog = Watchdog::new(p.WATCHDOG);
    watchdog.start(WATCHDOG_TIMEOUT);

    spawner.spawn(led_task(Output::new(p.PIN_25, Level::Low)).expect("spawned once"));

    static TX_BUF: StaticCell<[u8; 128]> = StaticCell::new();
    static RX_BUF: StaticCell<[u8; 512]> = StaticCell::new();
    let mut config = uart::Config::default();
    config.baudrate = 115_200;
    let modem = BufferedUart::new(
        p.UART0,
        p.PIN_0,
        p.PIN_1,
        Irqs,
        TX_BUF.init([0; 128]),
        RX_BUF.init([0; 512]),
        config,
    );

    let mut board = PicoBoard {
        watchdog,
        power_key: Output::new(p.PIN_2, Level::Low),
        modem_reset: Output::new(p.PIN_3, Level::Low),
    };
    #[cfg(not(feature = "board-only"))]
    {
        let config = Config::seed(SERVER_HOST, SERVER_PORT).expect("the host name fits");
        firmware::run(&config, modem, &EmbassyClock, &mut board).await
    }
    #[cfg(feature = "board-only")]
    at_loop(modem, &mut board).await
}

/// The board's own work without the firmware core, for measuring the core's share of the
/// image: `AT` every second, what comes back shown on the LED, the watchdog fed, and the
/// power lines driven, with values the optimiser cannot see (`black_box`), so that the
/// board's code stays whole. (Its log of the core's reports is measured apart: `no-log`.)
#[cfg(feature = "board-only")]
async fn at_loop(mut modem: BufferedUart, board: &mut PicoBoard) -> ! {
    use core::hint::black_box;
    use embedded_io_async::{Read, Write};
    let mut buf = [0u8; 64];
    loop {
        let _ = modem.write_all(b"AT\r").await;
        board.feed_watchdog();
        if let Either::First(Ok(n)) = select(modem.read(&mut buf), Timer::after_secs(1)).await {
            let seen = buf[..n].windows(2).any(|w| w == b"OK");
            board.set_led(black_box(if seen { LedState::Connected } else { LedState::Off }));
            board.set_power_key(black_box(seen));
            board.set_modem_reset(black_box(!seen));
        }
    }
}
