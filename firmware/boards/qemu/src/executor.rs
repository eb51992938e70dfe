//! A thread-mode embassy executor that sleeps with WFI.
//!
//! embassy's stock Cortex-M executor sleeps with WFE, which QEMU 7.2 treats as a mere yield:
//! the guest never sleeps and a host core spins at 100 %. WFI really halts QEMU's vCPU until an
//! interrupt, so this one idles at next to no host CPU.

use core::sync::atomic::{AtomicBool, Ordering};

use embassy_executor::{raw, Spawner};

/// Set when a task was woken and the executor must poll again.
static WORK: AtomicBool = AtomicBool::new(false);

/// Called by embassy when a task is woken, from a task or an interrupt handler.
#[unsafe(export_name = "__pender")]
fn pender(_context: *mut ()) {
    WORK.store(true, Ordering::Release);
}

pub fn run(init: impl FnOnce(Spawner)) -> ! {
    let executor: &'static raw::Executor =
        cortex_m::singleton!(: raw::Executor = raw::Executor::new(core::ptr::null_mut()))
            .expect("the executor is started once");
    init(executor.spawner());
    loop {
        WORK.store(false, Ordering::Release);
        // SAFETY: polled from this one thread only.
        unsafe { executor.poll() };
        // Sleep unless a wake came in while polling. With interrupts masked, a wake cannot slip
        // in between the check and WFI; WFI still returns on a pending (masked) interrupt, which
        // runs as soon as they are unmasked.
        cortex_m::interrupt::disable();
        if !WORK.load(Ordering::Acquire) {
            cortex_m::asm::wfi();
        }
        // SAFETY: nothing here relies on interrupts staying masked.
        unsafe { cortex_m::interrupt::enable() };
    }
}
