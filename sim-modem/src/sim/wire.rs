//! The UART between the host and the modem, one direction per [`Line`]: bytes cross at the
//! configured baud rate, 10 bit times each (8N1: a start bit, 8 data bits, a stop bit), one
//! after the other.
//!
//! A line carries one [`Run`] at a time: what waited when the line became free goes out
//! together, back to back, and the run arrives whole when its last byte does. So a quiet line
//! costs nothing, and a response of any length costs one wake-up, not one per byte; what a
//! receiver sees is exact at the end of each run and early bytes of a run are late by at
//! most the run's length (a 1,460-byte `+RECEIVE` at 115,200 baud: 127 ms). Live mode can
//! take a run's bytes as they arrive ([`Line::take_arrived`]) to pace a real endpoint.
//!
//! A line error (framing, overrun: [`Line::error_at`]) hits the byte crossing at that moment:
//! the receiver loses it and its UART reports an error in its place.

use std::time::Duration;

/// Bits on the wire per byte: start, 8 data bits, stop (8N1).
pub const BITS_PER_BYTE: u64 = 10;

/// How long `bytes` bytes take on the wire at `baud` bits per second (0: no time at all),
/// rounded up to the microsecond: a run never arrives before its last stop bit, and times
/// stay on the firmware clock's grid (whole microseconds), so that the same span measured
/// from two runs is the same.
pub fn wire_time(bytes: usize, baud: u32) -> Duration {
    if baud == 0 {
        return Duration::ZERO;
    }
    let bits = bytes as u128 * u128::from(BITS_PER_BYTE);
    let micros = (bits * 1_000_000).div_ceil(u128::from(baud));
    Duration::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
}

/// Bytes crossing together, back to back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Run {
    bytes: Vec<u8>,
    /// When the first bit leaves, the rate, and when the last byte has arrived.
    start: Duration,
    baud: u32,
    end: Duration,
    /// The bytes lost to a line error (indexes into `bytes`, ascending): the receiver's UART
    /// reports an error in their place.
    lost: Vec<usize>,
    /// Bytes already handed to the receiver ([`Line::take_arrived`]).
    taken: usize,
}

impl Run {
    /// How many bytes have fully arrived by `now`.
    fn arrived(&self, now: Duration) -> usize {
        if now >= self.end {
            return self.bytes.len();
        }
        let Some(elapsed) = now.checked_sub(self.start) else {
            return 0;
        };
        let bits = elapsed.as_nanos() * u128::from(self.baud) / 1_000_000_000;
        usize::try_from(bits / u128::from(BITS_PER_BYTE))
            .unwrap_or(usize::MAX)
            .min(self.bytes.len())
    }

    /// Hands bytes `self.taken..upto` to the receiver: the bytes into `out`, and into
    /// `errors` the position in `out` of each line error among them.
    fn hand_over(&mut self, upto: usize, out: &mut Vec<u8>, errors: &mut Vec<usize>) {
        if self.lost.is_empty() {
            out.extend_from_slice(&self.bytes[self.taken.min(upto)..upto]);
            self.taken = self.taken.max(upto);
            return;
        }
        for i in self.taken..upto {
            if self.lost.binary_search(&i).is_ok() {
                errors.push(out.len());
            } else {
                out.push(self.bytes[i]);
            }
        }
        self.taken = self.taken.max(upto);
    }
}

/// One direction of the UART. See the module documentation.
#[derive(Debug, Default)]
pub struct Line {
    /// The run on the line, when `busy` (its buffers are kept for the next one).
    run: Run,
    busy: bool,
    /// When line errors hit while nothing crossed, not yet handed over.
    idle_errors: Vec<Duration>,
}

impl Line {
    /// Whether a run is on the line.
    pub fn is_busy(&self) -> bool {
        self.busy
    }

    /// The run on the line.
    fn on_line(&mut self) -> Option<&mut Run> {
        self.busy.then_some(&mut self.run)
    }

    /// When the run on the line arrives, or an error on an idle line is due.
    pub fn next_arrival(&self) -> Option<Duration> {
        let run = self.busy.then_some(self.run.end);
        if self.idle_errors.is_empty() {
            return run;
        }
        run.into_iter()
            .chain(self.idle_errors.iter().copied())
            .min()
    }

    /// Puts `bytes` on the free line at `now`, at `baud`.
    pub fn start(&mut self, now: Duration, bytes: &[u8], baud: u32) {
        debug_assert!(!self.busy, "one run at a time");
        let run = &mut self.run;
        run.bytes.clear();
        run.bytes.extend_from_slice(bytes);
        run.lost.clear();
        (run.start, run.baud, run.taken) = (now, baud, 0);
        run.end = now + wire_time(bytes.len(), baud);
        self.busy = true;
    }

    /// A line error at `now`: the byte crossing then is lost (returns true), or, on an idle
    /// line, the error stands alone (returns false).
    pub fn error_at(&mut self, now: Duration) -> bool {
        let Some(run) = self.on_line() else {
            self.idle_errors.push(now);
            return false;
        };
        // The byte whose bits are on the wire at `now`.
        let crossing = run.arrived(now);
        if crossing >= run.bytes.len() || crossing < run.taken {
            self.idle_errors.push(now);
            return false;
        }
        if let Err(at) = run.lost.binary_search(&crossing) {
            run.lost.insert(at, crossing);
        }
        true
    }

    /// If the run on the line has arrived by `now`, hands it over (see [`Run::hand_over`])
    /// and frees the line; errors on an idle line are handed over too. Returns whether
    /// anything was handed over.
    pub fn take_done(&mut self, now: Duration, out: &mut Vec<u8>, errors: &mut Vec<usize>) -> bool {
        if self.idle_errors.is_empty() && !(self.busy && self.run.end <= now) {
            return false;
        }
        let before = self.idle_errors.len();
        self.idle_errors.retain(|&at| at > now);
        let idle = before - self.idle_errors.len();
        errors.extend(std::iter::repeat_n(out.len(), idle));
        match self.on_line() {
            Some(run) if run.end <= now => {
                let len = run.bytes.len();
                run.hand_over(len, out, errors);
                self.busy = false;
                true
            }
            _ => idle > 0,
        }
    }

    /// Live pacing: hands over what of the run on the line has arrived by `now`, without
    /// freeing the line.
    pub fn take_arrived(&mut self, now: Duration, out: &mut Vec<u8>, errors: &mut Vec<usize>) {
        if let Some(run) = self.on_line() {
            let upto = run.arrived(now);
            run.hand_over(upto, out, errors);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn wire_time_is_ten_bits_a_byte() {
        for (bytes, baud, micros) in [
            (1, 115_200, 87),
            (1460, 115_200, 126_737),
            (1460, 9600, 1_520_834),
            (3, 9600, 3125),
            (0, 9600, 0),
            (100, 0, 0),
        ] {
            assert_eq!(
                wire_time(bytes, baud),
                Duration::from_micros(micros),
                "{bytes} bytes at {baud}"
            );
        }
    }

    #[test]
    fn a_run_arrives_whole_at_its_last_byte() {
        let mut line = Line::default();
        line.start(ms(10), b"OK\r\n", 9600);
        let end = ms(10) + wire_time(4, 9600);
        assert_eq!(line.next_arrival(), Some(end));
        let (mut out, mut errors) = (Vec::new(), Vec::new());
        assert!(!line.take_done(end - Duration::from_nanos(1), &mut out, &mut errors));
        assert!(out.is_empty() && line.is_busy());
        assert!(line.take_done(end, &mut out, &mut errors));
        assert_eq!(
            (out.as_slice(), errors.as_slice()),
            (&b"OK\r\n"[..], &[][..])
        );
        assert!(!line.is_busy());
    }

    #[test]
    fn a_line_error_loses_the_byte_crossing() {
        let mut line = Line::default();
        // 9600 baud: a byte every 1.0417 ms; at 2.5 ms the third byte is on the wire.
        line.start(Duration::ZERO, b"ABCD", 9600);
        assert!(line.error_at(Duration::from_micros(2500)));
        let (mut out, mut errors) = (Vec::new(), Vec::new());
        line.take_done(ms(10), &mut out, &mut errors);
        assert_eq!((out.as_slice(), errors.as_slice()), (&b"ABD"[..], &[2][..]));
        // On an idle line the error stands alone, due at once.
        assert!(!line.error_at(ms(20)));
        assert_eq!(line.next_arrival(), Some(ms(20)));
        let (mut out, mut errors) = (b"xy".to_vec(), Vec::new());
        assert!(line.take_done(ms(20), &mut out, &mut errors));
        assert_eq!((out.as_slice(), errors.as_slice()), (&b"xy"[..], &[2][..]));
    }

    #[test]
    fn live_pacing_takes_bytes_as_they_arrive() {
        let mut line = Line::default();
        line.start(Duration::ZERO, b"ABCD", 9600);
        let (mut out, mut errors) = (Vec::new(), Vec::new());
        line.take_arrived(Duration::from_micros(2100), &mut out, &mut errors);
        assert_eq!(out, b"AB");
        line.take_done(ms(10), &mut out, &mut errors);
        assert_eq!(out, b"ABCD");
    }
}
