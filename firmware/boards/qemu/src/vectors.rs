//! The AN385's part of the vector table: its 32 external interrupts, of which we use two.

use crate::{time_driver, uart};

#[repr(C)]
#[derive(Clone, Copy)]
pub union Vector {
    handler: unsafe extern "C" fn(),
    reserved: usize,
}

unsafe extern "C" {
    /// cortex-m-rt's default handler.
    fn DefaultHandler();
}

#[unsafe(link_section = ".vector_table.interrupts")]
#[unsafe(no_mangle)]
pub static __INTERRUPTS: [Vector; 32] = {
    let mut table = [Vector {
        handler: DefaultHandler,
    }; 32];
    table[0] = Vector {
        handler: uart::uart0_rx_interrupt,
    };
    table[8] = Vector {
        handler: time_driver::timer0_interrupt,
    };
    table
};
