//! Seeded UART corruption: bytes in, bytes out.

use std::time::Duration;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::NoiseRates;

/// What line noise did, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoiseCounts {
    /// Bytes that went through while noise was active.
    pub bytes: u64,
    pub flipped: u64,
    pub dropped: u64,
    pub duplicated: u64,
}

impl NoiseCounts {
    pub fn is_empty(&self) -> bool {
        self.flipped == 0 && self.dropped == 0 && self.duplicated == 0
    }

    fn add(&mut self, other: NoiseCounts) {
        self.bytes += other.bytes;
        self.flipped += other.flipped;
        self.dropped += other.dropped;
        self.duplicated += other.duplicated;
    }
}

/// A UART corruption filter for one direction. Quiet until [`LineNoise::set`]; each byte
/// that passes while active is, independently, dropped, duplicated or has one bit flipped at
/// the configured rates. Random draws happen only while active, so the same seed and the
/// same bytes give the same corruption.
#[derive(Debug, Clone)]
pub struct LineNoise {
    rng: ChaCha8Rng,
    rates: NoiseRates,
    until: Duration,
    totals: NoiseCounts,
}

const PPM: u32 = 1_000_000;

impl LineNoise {
    pub fn new(seed: u64) -> LineNoise {
        LineNoise {
            rng: ChaCha8Rng::seed_from_u64(seed),
            rates: NoiseRates::default(),
            until: Duration::ZERO,
            totals: NoiseCounts::default(),
        }
    }

    /// Corrupt at `rates` until virtual time `until` (replacing earlier settings).
    pub fn set(&mut self, rates: NoiseRates, until: Duration) {
        self.rates = rates;
        self.until = until;
    }

    pub fn is_active(&self, now: Duration) -> bool {
        now < self.until && self.rates != NoiseRates::default()
    }

    /// When the current noise ends, if it is active.
    pub fn until(&self, now: Duration) -> Option<Duration> {
        self.is_active(now).then_some(self.until)
    }

    /// Everything this filter has done so far.
    pub fn totals(&self) -> NoiseCounts {
        self.totals
    }

    /// Pass `input` through the line at `now`, appending what comes out to `out`.
    pub fn apply(&mut self, now: Duration, input: &[u8], out: &mut Vec<u8>) -> NoiseCounts {
        let mut counts = NoiseCounts::default();
        if !self.is_active(now) {
            out.extend_from_slice(input);
            return counts;
        }
        // One draw per byte picks at most one mishap: [0, drop) drop, then duplicate, then flip.
        let drop = self.rates.drop_ppm.min(PPM);
        let duplicate = drop.saturating_add(self.rates.duplicate_ppm).min(PPM);
        let flip = duplicate.saturating_add(self.rates.bit_flip_ppm).min(PPM);
        for &byte in input {
            counts.bytes += 1;
            let draw = self.rng.random_range(0..PPM);
            if draw < drop {
                counts.dropped += 1;
            } else if draw < duplicate {
                counts.duplicated += 1;
                out.extend_from_slice(&[byte, byte]);
            } else if draw < flip {
                counts.flipped += 1;
                out.push(byte ^ (1 << self.rng.random_range(0..8u32)));
            } else {
                out.push(byte);
            }
        }
        self.totals.add(counts);
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    fn noisy(seed: u64, rates: NoiseRates) -> (Vec<u8>, NoiseCounts) {
        let mut noise = LineNoise::new(seed);
        noise.set(rates, SECOND);
        let input = vec![0x55u8; 100_000];
        let mut out = Vec::new();
        let counts = noise.apply(Duration::ZERO, &input, &mut out);
        (out, counts)
    }

    #[test]
    fn quiet_when_inactive_or_expired() {
        let mut noise = LineNoise::new(1);
        let mut out = Vec::new();
        noise.apply(Duration::ZERO, b"AT\r", &mut out);
        noise.set(
            NoiseRates {
                drop_ppm: PPM,
                ..Default::default()
            },
            SECOND,
        );
        noise.apply(SECOND, b"OK\r\n", &mut out);
        assert_eq!(out, b"AT\rOK\r\n");
    }

    #[test]
    fn rates_are_met_and_seeded() {
        let rates = NoiseRates {
            bit_flip_ppm: 10_000,
            drop_ppm: 5_000,
            duplicate_ppm: 1_000,
        };
        let (out, counts) = noisy(7, rates);
        // 100,000 bytes at 1 %, 0.5 %, 0.1 %: within a few standard deviations.
        assert!((800..1200).contains(&counts.flipped), "{counts:?}");
        assert!((380..620).contains(&counts.dropped), "{counts:?}");
        assert!((60..140).contains(&counts.duplicated), "{counts:?}");
        assert_eq!(
            out.len() as u64,
            100_000 - counts.dropped + counts.duplicated
        );
        assert_eq!(
            out.iter().filter(|&&b| b != 0x55).count() as u64,
            counts.flipped
        );
        assert_eq!(noisy(7, rates), (out, counts));
        assert_ne!(noisy(8, rates).1, counts);
    }
}
