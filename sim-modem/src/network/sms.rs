//! The service centre: SMS to and from the device.
//!
//! SMS travels over the circuit-switched side of the cell, not the packet domain: it needs
//! registration (home or roaming), not a PDP context, and a blackhole on the data path does
//! not touch it. A submit takes `sms_delay` to be acknowledged; registration lost meanwhile
//! fails it (`+CMS ERROR: 332`, network timeout), no registration at all fails it at once
//! (331, no network service) (TS 27.005 §3.2.5's codes). A message for the device is stored
//! and forwarded: it is delivered `sms_delay` after it was handed in, or as soon as the
//! device is registered again (a service centre retries, TS 23.040 §3.2.5). UNCONFIRMED:
//! the delay (a few seconds on live networks; a knob).

use std::collections::VecDeque;

/// Messages for the device that wait for it to be registered.
#[derive(Debug, Default)]
pub(super) struct Centre {
    waiting: VecDeque<Vec<u8>>,
}

impl Centre {
    /// Keeps a message (an SMS-DELIVER PDU) until it can be delivered.
    pub(super) fn hold(&mut self, pdu: Vec<u8>) {
        self.waiting.push_back(pdu);
    }

    /// The messages to deliver now that the device is reachable.
    pub(super) fn release(&mut self) -> Vec<Vec<u8>> {
        self.waiting.drain(..).collect()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }
}
