//! The AN385's CMSDK APB UARTs as QEMU 7.2 emulates them.
//!
//! UART0 carries the modem's AT traffic and nothing else: received bytes go from its RX interrupt
//! into a ring buffer, and [`ModemUart`] reads them from there (embedded-io-async). UART1 is the log,
//! written by polling.

use core::convert::Infallible;
use core::ptr::{read_volatile, write_volatile};

use cortex_m::peripheral::NVIC;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::pipe::Pipe;

/// The UART's input clock: the AN385's 25 MHz system clock.
const UART_CLOCK_HZ: u32 = 25_000_000;
const BAUD: u32 = 115_200;

// Register offsets and bits (ARM CMSDK APB UART).
const DATA: usize = 0x00;
const STATE: usize = 0x04;
const CTRL: usize = 0x08;
const INTCLEAR: usize = 0x0C; // INTSTATUS when read
const BAUDDIV: usize = 0x10;
const STATE_TX_FULL: u32 = 1 << 0;
const STATE_RX_FULL: u32 = 1 << 1;
const CTRL_TX_EN: u32 = 1 << 0;
const CTRL_RX_EN: u32 = 1 << 1;
const CTRL_RX_INT_EN: u32 = 1 << 3;
const INT_RX: u32 = 1 << 1;

#[derive(Clone, Copy)]
struct Uart(usize);

const UART0: Uart = Uart(0x4000_4000);
const UART1: Uart = Uart(0x4000_5000);

impl Uart {
    fn read(self, offset: usize) -> u32 {
        // SAFETY: a register of a UART that exists at this address on the AN385.
        unsafe { read_volatile((self.0 + offset) as *const u32) }
    }

    fn write(self, offset: usize, value: u32) {
        // SAFETY: as in `read`.
        unsafe { write_volatile((self.0 + offset) as *mut u32, value) }
    }

    fn enable(self, ctrl: u32) {
        self.write(BAUDDIV, UART_CLOCK_HZ / BAUD);
        self.write(CTRL, ctrl);
    }

    fn tx_full(self) -> bool {
        self.read(STATE) & STATE_TX_FULL != 0
    }
}

// ---- UART0: the modem ----

/// What UART0 received and the firmware has not read yet. Bursts (a +RECEIVE with a segment of
/// data) fit; if it does fill up, QEMU holds the rest back, see [`take_received_bytes`].
static RX: Pipe<CriticalSectionRawMutex, 1024> = Pipe::new();

/// UART0's RX interrupt is IRQ 0 on the AN385.
#[derive(Clone, Copy)]
struct Uart0Rx;

// SAFETY: 0 is UART0's RX interrupt number on the AN385.
unsafe impl cortex_m::interrupt::InterruptNumber for Uart0Rx {
    fn number(self) -> u16 {
        0
    }
}

/// UART0 as the firmware core sees it: an embedded-io-async byte stream to the modem.
pub struct ModemUart {
    _private: (),
}

impl ModemUart {
    /// Enables UART0 and its RX interrupt. Call once.
    pub fn init() -> Self {
        UART0.enable(CTRL_TX_EN | CTRL_RX_EN | CTRL_RX_INT_EN);
        // QEMU stops watching the host side while RX is disabled, as it is at reset, and enabling
        // it does not tell QEMU to look again: the first reply would wait for some unrelated
        // event (up to 671 ms here). Reading DATA does tell it.
        let _ = UART0.read(DATA);
        // SAFETY: the handler only touches RX and UART0, both ready now.
        unsafe { NVIC::unmask(Uart0Rx) };
        ModemUart { _private: () }
    }
}

/// Moves received bytes from UART0 into [`RX`].
///
/// The AN385 UART holds one byte. Its RX interrupt status is cleared *before* DATA is read:
/// reading DATA lets QEMU deliver the next byte, which sets the status again, and clearing it
/// after that would drop that byte's interrupt and stall RX for good.
///
/// When `RX` is full the byte stays in the UART, and QEMU delivers nothing more until it is read
/// (flow control for free); [`ModemUart::read`] calls this again once it has made room.
fn take_received_bytes() {
    loop {
        UART0.write(INTCLEAR, INT_RX);
        if UART0.read(STATE) & STATE_RX_FULL == 0 || RX.is_full() {
            return;
        }
        let byte = UART0.read(DATA) as u8;
        let _ = RX.try_write(&[byte]); // cannot fail: not full, and only we write
    }
}

/// UART0's RX interrupt handler, IRQ 0 in the vector table (src/vectors.rs).
pub extern "C" fn uart0_rx_interrupt() {
    take_received_bytes();
}

impl embedded_io_async::ErrorType for ModemUart {
    type Error = Infallible;
}

impl embedded_io_async::Read for ModemUart {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = RX.read(buf).await;
        // Room again: take what the interrupt had to leave in the UART.
        critical_section::with(|_| take_received_bytes());
        Ok(n)
    }
}

impl embedded_io_async::Write for ModemUart {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        for &byte in buf {
            // QEMU sends at once unless the host side is not reading; then let other tasks run.
            while UART0.tx_full() {
                embassy_futures::yield_now().await;
            }
            UART0.write(DATA, byte as u32);
        }
        Ok(buf.len())
    }

    async fn flush(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

// ---- UART1: the log ----

/// Enables UART1 (transmit only) for the log.
pub fn log_init() {
    UART1.enable(CTRL_TX_EN);
}

/// The log UART, written by polling: it is QEMU's second `-serial`.
pub struct LogUart;

impl core::fmt::Write for LogUart {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for byte in s.bytes() {
            while UART1.tx_full() {}
            UART1.write(DATA, byte as u32);
        }
        Ok(())
    }
}
