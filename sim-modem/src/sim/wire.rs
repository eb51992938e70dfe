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
//!
//! When the two ends' rates differ ([`resample`]) the receiver reads what its UART makes of
//! the sender's waveform: garbage, as on a real line after `AT+IPR` changed one end only.

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

/// What a UART at `to_baud` reads from `bytes` sent back to back at `from_baud`, both 8N1:
/// it waits for a falling edge (a start bit), samples each of the 8 data bits (least
/// significant first) and the stop bit in the middle of its own bit times, and starts looking
/// for the next edge at the stop bit's sample; the line is high (idle) outside the bytes. A
/// byte whose stop bit samples low (a framing error) is read all the same (what a UART flags
/// is not modelled). The same rates give the same bytes.
pub fn resample(bytes: &[u8], from_baud: u32, to_baud: u32) -> Vec<u8> {
    if from_baud == to_baud || from_baud == 0 || to_baud == 0 {
        return bytes.to_vec();
    }
    // Time in units of 1 / (2 · from · to) s: a sent bit is 2·to units, a read one 2·from.
    let sent_bit = 2 * u128::from(to_baud);
    let read_bit = 2 * u128::from(from_baud);
    let bits = bytes.len() as u128 * u128::from(BITS_PER_BYTE);
    let level = |bit: u128| -> bool {
        if bit >= bits {
            return true;
        }
        let byte = bytes[(bit / 10) as usize];
        match bit % 10 {
            0 => false,
            9 => true,
            j => byte >> (j - 1) & 1 == 1,
        }
    };
    let level_at = |t: u128| level(t / sent_bit);
    let mut out = Vec::new();
    let mut t = 0u128;
    loop {
        // The next falling edge at a sent bit's boundary, at or after `t`.
        let Some(edge_bit) =
            (t.div_ceil(sent_bit)..bits).find(|&k| !level(k) && (k == 0 || level(k - 1)))
        else {
            return out;
        };
        let edge = edge_bit * sent_bit;
        let mut byte = 0u8;
        for j in 0..8 {
            // The middle of data bit j: 1.5 + j bit times after the edge.
            if level_at(edge + read_bit * (2 * j + 3) / 2) {
                byte |= 1 << j;
            }
        }
        out.push(byte);
        t = edge + read_bit * 19 / 2;
    }
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
    #[cfg(test)]
    pub fn start(&mut self, now: Duration, bytes: &[u8], baud: u32) {
        self.start_read_as(now, bytes.len(), bytes, baud);
    }

    /// Puts `sent` bytes on the free line at `now`, at `baud`, which the receiver reads as
    /// `read` (a receiver at another rate: [`resample`]).
    pub fn start_read_as(&mut self, now: Duration, sent: usize, read: &[u8], baud: u32) {
        debug_assert!(!self.busy, "one run at a time");
        let run = &mut self.run;
        run.bytes.clear();
        run.bytes.extend_from_slice(read);
        run.lost.clear();
        (run.start, run.baud, run.taken) = (now, baud, 0);
        run.end = now + wire_time(sent, baud);
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

    /// A rate mismatch garbles; the same rates, or a receiver that follows, do not.
    #[test]
    fn a_receiver_at_another_rate_reads_garbage() {
        assert_eq!(resample(b"AT\r", 115_200, 115_200), b"AT\r");
        for (from, to) in [(115_200, 9600), (9600, 115_200), (57_600, 115_200)] {
            let read = resample(b"AT+CSQ\r", from, to);
            assert_ne!(read, b"AT+CSQ\r", "{from} -> {to}");
            // The same waveform reads the same every time.
            assert_eq!(read, resample(b"AT+CSQ\r", from, to));
        }
        // Worked example: at 8x the rate a receiver reads each sent bit 8 times; `A`'s start
        // bit (low) then its first data bit (1) read as a byte of 0x80 (7 low bits, a high).
        assert_eq!(resample(b"A", 9600, 76_800).first(), Some(&0x80));
        // A slow receiver (1/12 of the rate) sees one start edge in the whole of "U".
        assert_eq!(resample(b"U", 115_200, 9600).len(), 1);
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
