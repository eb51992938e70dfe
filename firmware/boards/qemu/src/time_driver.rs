//! embassy-time on the AN385: SysTick is the clock, the CMSDK Timer0 the alarm.
//!
//! SysTick runs free over its full 24 bits at 25 MHz (a wrap, counted by its interrupt, every
//! 671 ms); Timer0 is armed for the next due timer only. So an idle board wakes QEMU about
//! 1.5 times a second, where a 1 kHz tick cost ~5 % of a host core and a 100 Hz one ~1 %.

use core::cell::RefCell;
use core::ptr::write_volatile;
use core::task::Waker;

use cortex_m::peripheral::{syst::SystClkSource, NVIC, SCB, SYST};
use cortex_m_rt::exception;
use critical_section::{CriticalSection, Mutex};
use embassy_time_driver::Driver;
use embassy_time_queue_utils::Queue;

/// Both SysTick and Timer0 count the AN385's 25 MHz clock.
const CYCLES_PER_MICRO: u64 = 25;
/// SysTick's reload: it counts 2^24 cycles from wrap to wrap.
const SYSTICK_MAX: u32 = (1 << 24) - 1;

/// CMSDK APB Timer0: a 32-bit down counter that interrupts (IRQ 8) when it reaches zero.
const TIMER0: usize = 0x4000_0000;
const TIMER_CTRL: usize = 0x00;
const TIMER_RELOAD: usize = 0x08; // writing it also sets the count
const TIMER_INTCLEAR: usize = 0x0C;
const TIMER_CTRL_ENABLE: u32 = 1 << 0;
const TIMER_CTRL_IRQ_ENABLE: u32 = 1 << 3;

#[derive(Clone, Copy)]
struct Timer0Irq;

// SAFETY: 8 is Timer0's interrupt number on the AN385.
unsafe impl cortex_m::interrupt::InterruptNumber for Timer0Irq {
    fn number(self) -> u16 {
        8
    }
}

fn timer0_write(offset: usize, value: u32) {
    // SAFETY: a Timer0 register; only this module touches Timer0.
    unsafe { write_volatile((TIMER0 + offset) as *mut u32, value) }
}

struct State {
    /// SysTick wraps so far.
    wraps: u64,
    queue: Queue,
}

struct TimeDriver {
    state: Mutex<RefCell<State>>,
}

embassy_time_driver::time_driver_impl!(static DRIVER: TimeDriver = TimeDriver {
    state: Mutex::new(RefCell::new(State { wraps: 0, queue: Queue::new() })),
});

/// Starts the clock. Call once, before anything reads the time.
pub fn init(mut syst: SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(SYSTICK_MAX);
    syst.clear_current();
    syst.enable_counter();
    // The counter starts at 0 and loads the reload value on its first tick, which QEMU can
    // take a while to get to and then counts as a wrap: time would start at 671 ms. So wait
    // for the load before the wrap interrupt is enabled.
    while SYST::get_current() == 0 {}
    syst.enable_interrupt();
    // SAFETY: the handler only touches the driver state, which is ready.
    unsafe { NVIC::unmask(Timer0Irq) };
}

impl TimeDriver {
    /// Microseconds since `init` (embassy-time's ticks are 1 MHz).
    fn now_in(&self, cs: CriticalSection<'_>) -> u64 {
        let mut wraps = self.state.borrow(cs).borrow().wraps;
        let mut count = SYST::get_current();
        // The counter wrapped but its interrupt has not run (interrupts are masked here):
        // read the counter again, now surely after the wrap, and count the wrap.
        if SCB::is_pendst_pending() {
            count = SYST::get_current();
            wraps += 1;
        }
        let cycles = wraps * (u64::from(SYSTICK_MAX) + 1) + u64::from(SYSTICK_MAX - count);
        cycles / CYCLES_PER_MICRO
    }

    /// Wakes the timers that are due and arms Timer0 for the next one.
    fn wake_due(&self, cs: CriticalSection<'_>) {
        let now = self.now_in(cs);
        let next = self.state.borrow_ref_mut(cs).queue.next_expiration(now);
        timer0_write(TIMER_CTRL, 0);
        timer0_write(TIMER_INTCLEAR, 1);
        if next != u64::MAX {
            // One microsecond late rather than early; a far alarm fires early (after at most
            // 171 s, the counter's range) and is simply armed again.
            let micros = next.saturating_sub(now).saturating_add(1);
            let cycles = micros.min(u64::from(u32::MAX) / CYCLES_PER_MICRO) * CYCLES_PER_MICRO;
            timer0_write(TIMER_RELOAD, cycles as u32);
            timer0_write(TIMER_CTRL, TIMER_CTRL_ENABLE | TIMER_CTRL_IRQ_ENABLE);
        }
    }
}

impl Driver for TimeDriver {
    fn now(&self) -> u64 {
        critical_section::with(|cs| self.now_in(cs))
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        critical_section::with(|cs| {
            if self.state.borrow_ref_mut(cs).queue.schedule_wake(at, waker) {
                self.wake_due(cs);
            }
        });
    }
}

#[exception]
fn SysTick() {
    critical_section::with(|cs| DRIVER.state.borrow_ref_mut(cs).wraps += 1);
}

/// Timer0's interrupt handler, IRQ 8 in the vector table (src/uart.rs).
pub extern "C" fn timer0_interrupt() {
    critical_section::with(|cs| DRIVER.wake_due(cs));
}
