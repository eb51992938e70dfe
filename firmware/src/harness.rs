//! A deterministic virtual-time harness for the firmware core (the `std` feature): a virtual
//! [`Clock`], an in-memory UART, and the loop that polls the firmware until it waits, lets
//! the other end of the UART (a [`Peer`]: a simulated or scripted modem) answer, and jumps
//! to the earliest deadline, as the crate documentation's "Driving it in virtual time"
//! describes. Scenarios' replay and the firmware's own tests drive the core with it.
//!
//! Time is a [`Duration`] since the start; the firmware sees it as an [`Instant`] (whole
//! microseconds). Nothing waits on the wall clock: a quiet hour costs nothing, and the same
//! inputs always give the same run.
//!
//! The UART can fail a read, as a real one does on a framing or overrun error
//! ([`Wire::deliver_error`]): the bytes before the error are read first, then one read
//! returns `Err(ErrorKind::Other)` (what embassy-rp's `BufferedUart` reports for each of
//! them), then reading goes on.

use std::boxed::Box;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use std::vec::Vec;

use embedded_io_async::ErrorKind;

use crate::time::{Clock, Instant};

/// What the firmware drove, in order: UART bytes and the modem's power lines (which a board
/// passes on with [`Wire::drove`], so that they keep their place among the bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Uart(Vec<u8>),
    PowerKey(bool),
    Reset(bool),
}

#[derive(Default)]
struct Shared {
    now: Cell<Duration>,
    /// The earliest deadline the firmware waited for during the last poll.
    wake: Cell<Option<Instant>>,
    /// Modem to firmware.
    rx: RefCell<VecDeque<u8>>,
    /// Line errors among them: each after the first `n` bytes of `rx` (ascending).
    rx_errors: RefCell<VecDeque<usize>>,
    /// Line errors delivered so far (so that [`Harness::settle`] sees one move).
    errors_delivered: Cell<u64>,
    /// Firmware to modem, and its pins.
    out: RefCell<Vec<Output>>,
}

/// What the firmware's clock, UART and board share with the harness. Cheap to clone.
#[derive(Clone, Default)]
pub struct Wire(Rc<Shared>);

impl Wire {
    /// The firmware's clock.
    pub fn clock(&self) -> VirtualClock {
        VirtualClock(self.clone())
    }

    /// The firmware's UART.
    pub fn uart(&self) -> VirtualUart {
        VirtualUart(self.clone())
    }

    /// Virtual time since the start.
    pub fn now(&self) -> Duration {
        self.0.now.get()
    }

    /// The firmware drove a power line (a board's `set_power_key` / `set_modem_reset`).
    pub fn drove(&self, output: Output) {
        self.0.out.borrow_mut().push(output);
    }

    /// The firmware's UART receives `bytes` now (the peer's exchange hands bytes over the
    /// same way; this is for a peer that also delivers line errors, in order with them).
    pub fn deliver(&self, bytes: &[u8]) {
        self.0.rx.borrow_mut().extend(bytes);
    }

    /// The firmware's UART sees a line error now, after the bytes delivered so far: its read
    /// returns those bytes first, then `Err(ErrorKind::Other)` once. Errors with no byte
    /// between them are one error to the reader, as a UART's error flags are until read.
    pub fn deliver_error(&self) {
        let at = self.0.rx.borrow().len();
        let mut errors = self.0.rx_errors.borrow_mut();
        if errors.back() != Some(&at) {
            errors.push_back(at);
        }
        self.0
            .errors_delivered
            .set(self.0.errors_delivered.get() + 1);
    }
}

/// The firmware's clock in virtual time: `sleep_until` is ready once the harness has moved
/// time to its deadline, and otherwise records the deadline (the earliest of a poll is
/// [`Harness::deadline`]).
pub struct VirtualClock(Wire);

impl Clock for VirtualClock {
    fn now(&self) -> Instant {
        instant(self.0.now())
    }

    fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()> {
        poll_fn(move |_| {
            if self.now() >= deadline {
                return Poll::Ready(());
            }
            let wake = &self.0 .0.wake;
            wake.set(Some(wake.get().map_or(deadline, |w| w.min(deadline))));
            Poll::Pending
        })
    }
}

/// The firmware's UART in memory: reads what the [`Peer`] wrote (and the line errors a peer
/// delivers, [`Wire::deliver_error`]), writes into the harness's [`Output`]s.
pub struct VirtualUart(Wire);

impl embedded_io_async::ErrorType for VirtualUart {
    type Error = ErrorKind;
}

impl embedded_io_async::Read for VirtualUart {
    /// Ready with what the modem wrote, pending while it wrote nothing. A line error comes
    /// once the bytes before it are read. Dropping a pending read loses nothing: the bytes
    /// stay queued.
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        poll_fn(|_| {
            let shared = &self.0 .0;
            let mut rx = shared.rx.borrow_mut();
            let mut errors = shared.rx_errors.borrow_mut();
            if errors.front() == Some(&0) {
                errors.pop_front();
                return Poll::Ready(Err(ErrorKind::Other));
            }
            if rx.is_empty() || buf.is_empty() {
                return Poll::Pending;
            }
            let before_error = errors.front().copied().unwrap_or(usize::MAX);
            let n = buf.len().min(rx.len()).min(before_error);
            for (dst, src) in buf.iter_mut().zip(rx.drain(..n)) {
                *dst = src;
            }
            for at in errors.iter_mut() {
                *at -= n;
            }
            Poll::Ready(Ok(n))
        })
        .await
    }
}

impl embedded_io_async::Write for VirtualUart {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        let mut out = self.0 .0.out.borrow_mut();
        match out.last_mut() {
            Some(Output::Uart(bytes)) => bytes.extend_from_slice(buf),
            _ => out.push(Output::Uart(buf.to_vec())),
        }
        Ok(buf.len())
    }

    async fn flush(&mut self) -> Result<(), ErrorKind> {
        Ok(())
    }
}

/// The other end of the UART: a simulated or scripted modem (and whatever is behind it).
pub trait Peer {
    /// At `now`: what the firmware drove since the last call, in order (maybe nothing), and
    /// the bytes the peer has for the firmware now go into `to_firmware`.
    fn exchange(&mut self, now: Duration, drove: Vec<Output>, to_firmware: &mut Vec<u8>);

    /// When the peer next acts by itself (a timer), if it will.
    fn next_event(&self) -> Option<Duration>;

    /// Time has moved to `now`: does what is due.
    fn advance(&mut self, now: Duration);
}

/// More exchanges than this at one instant means the firmware and the peer keep waking each
/// other up without time passing.
const MAX_ROUNDS: usize = 1_000_000;

/// The firmware (or none: a device outside the process) on a [`Wire`], driven in virtual
/// time against a [`Peer`].
pub struct Harness<'a> {
    wire: Wire,
    device: Option<Pin<Box<dyn Future<Output = ()> + 'a>>>,
}

impl<'a> Harness<'a> {
    /// `device` is the firmware's future ([`crate::run`]) over `wire`'s clock and UART.
    pub fn new(wire: Wire, device: impl Future<Output = ()> + 'a) -> Self {
        Harness {
            wire,
            device: Some(Box::pin(device)),
        }
    }

    /// No firmware in the process: what a device outside writes goes in with
    /// [`Harness::device_wrote`], what the peer writes for it comes out of
    /// [`Harness::take_device_bound`].
    pub fn without_device(wire: Wire) -> Self {
        Harness { wire, device: None }
    }

    pub fn wire(&self) -> &Wire {
        &self.wire
    }

    /// Virtual time since the start.
    pub fn now(&self) -> Duration {
        self.wire.now()
    }

    /// The earliest deadline the firmware waited for during the last poll.
    pub fn deadline(&self) -> Option<Duration> {
        self.wire.0.wake.get().map(duration)
    }

    /// A device outside the process wrote `bytes`, now (settle to hand them on).
    pub fn device_wrote(&mut self, bytes: &[u8]) {
        self.wire.drove(Output::Uart(bytes.to_vec()));
    }

    /// What the peer wrote for a device outside the process since the last call (with the
    /// firmware in the process, it reads them itself: nothing).
    pub fn take_device_bound(&mut self) -> Vec<u8> {
        if self.device.is_some() {
            return Vec::new();
        }
        // A device outside reads its own UART's errors; the bytes they hit are just missing.
        self.wire.0.rx_errors.borrow_mut().clear();
        self.wire.0.rx.borrow_mut().drain(..).collect()
    }

    /// Polls the firmware once, with a no-op waker: it runs until it waits for bytes or a
    /// deadline ([`Harness::deadline`]).
    pub fn poll(&mut self) {
        self.wire.0.wake.set(None);
        if let Some(device) = &mut self.device {
            let mut cx = Context::from_waker(Waker::noop());
            // `run` never returns; a pending poll means it waits.
            let _ = device.as_mut().poll(&mut cx);
        }
    }

    /// Polls the firmware and exchanges with `peer` until neither has more to say at this
    /// instant.
    ///
    /// # Panics
    ///
    /// When they keep exchanging without time passing (a bug in one of them).
    pub fn settle(&mut self, peer: &mut impl Peer) {
        let mut to_firmware = Vec::new();
        for _ in 0..MAX_ROUNDS {
            self.poll();
            let drove = std::mem::take(&mut *self.wire.0.out.borrow_mut());
            let errors = self.wire.0.errors_delivered.get();
            let moved = !drove.is_empty();
            peer.exchange(self.now(), drove, &mut to_firmware);
            // A peer may hand over line errors, and the bytes around them, itself.
            let errored = self.wire.0.errors_delivered.get() != errors;
            if to_firmware.is_empty() && !moved && !errored {
                return;
            }
            self.wire.0.rx.borrow_mut().extend(to_firmware.drain(..));
        }
        panic!(
            "harness: the firmware and the modem kept exchanging at {:?} without time passing",
            self.now()
        );
    }

    /// When something next happens by itself, once the current instant has settled: the
    /// firmware's deadline or the peer's next event.
    pub fn next_wakeup(&self, peer: &impl Peer) -> Option<Duration> {
        [self.deadline(), peer.next_event()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Settles the current instant, then moves to the next wake-up and settles that.
    /// Returns the new time, or `None` when nothing is left to happen.
    pub fn step(&mut self, peer: &mut impl Peer) -> Option<Duration> {
        self.settle(peer);
        let next = self.next_wakeup(peer)?;
        self.advance(peer, next);
        self.settle(peer);
        Some(self.now())
    }

    /// Runs until `until`: every wake-up up to it, each at its own time, settled. On return
    /// the time is `until`.
    pub fn run_until(&mut self, peer: &mut impl Peer, until: Duration) {
        self.settle(peer);
        while let Some(next) = self.next_wakeup(peer).filter(|&next| next <= until) {
            self.advance(peer, next);
            self.settle(peer);
        }
        self.wire.0.now.set(self.now().max(until));
    }

    /// Jumps to `at` (never back) and lets the peer do what is due there.
    fn advance(&mut self, peer: &mut impl Peer, at: Duration) {
        let now = self.now().max(at);
        self.wire.0.now.set(now);
        peer.advance(now);
    }
}

fn instant(at: Duration) -> Instant {
    Instant::from_micros(u64::try_from(at.as_micros()).unwrap_or(u64::MAX))
}

fn duration(at: Instant) -> Duration {
    Duration::from_micros(at.as_micros())
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_io_async::Read;
    use std::vec;

    /// One read, polled once: `None` while it would wait.
    fn read_now(uart: &mut VirtualUart) -> Option<Result<Vec<u8>, ErrorKind>> {
        let mut buf = [0u8; 16];
        let polled = {
            let mut read = core::pin::pin!(uart.read(&mut buf));
            let mut cx = Context::from_waker(Waker::noop());
            read.as_mut().poll(&mut cx)
        };
        match polled {
            Poll::Ready(Ok(n)) => Some(Ok(buf[..n].to_vec())),
            Poll::Ready(Err(e)) => Some(Err(e)),
            Poll::Pending => None,
        }
    }

    #[test]
    fn line_errors_come_in_order_with_the_bytes() {
        let wire = Wire::default();
        let mut uart = wire.uart();
        wire.deliver(b"ab");
        wire.deliver_error();
        // No byte between them: one error to the reader.
        wire.deliver_error();
        wire.deliver(b"cd");
        wire.deliver_error();
        let reads: Vec<_> = std::iter::from_fn(|| read_now(&mut uart)).collect();
        let expected: Vec<Result<Vec<u8>, ErrorKind>> = vec![
            Ok(b"ab".to_vec()),
            Err(ErrorKind::Other),
            Ok(b"cd".to_vec()),
            Err(ErrorKind::Other),
        ];
        assert_eq!(reads, expected);
    }
}
