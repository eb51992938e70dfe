//! What a fleet run measured ([`Metrics`], one per shard, added up with
//! [`Metrics::merge`]) and what it comes to ([`Summary`]: percentiles, the peak connect
//! rate, written as JSON and as a table).
//!
//! Samples whose percentiles are wanted (heartbeat lateness, reply latency, reconnects) are
//! kept as a [`Histogram`], which shards add up exactly; the summary of a `--shard` run
//! carries its [`Metrics`] ([`ShardPart`]) so that `cargo xtask fleet --merge` can add the
//! shards up (`fleet::merge`).

use std::fmt::{self, Write as _};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::fleet::spec::FleetSpec;

/// The raw figures of a run, or of one shard of it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub devices: u32,
    pub duration: Duration,
    /// How often `connected` was sampled.
    pub sample: Duration,
    /// Devices connected (as their firmware says) at each sample, from time 0.
    pub connected: Vec<u32>,
    /// Connects that reached the server, accepted and refused, by whole second.
    pub attempts: Vec<u32>,
    pub accepted: Vec<u32>,
    pub refused: Vec<u32>,
    /// Each heartbeat's lateness at the server: the gap since the device's previous one
    /// beyond the heartbeat interval, milliseconds.
    pub lateness_ms: Histogram,
    /// Each answered request's latency: from the server's send to the reply's arrival, ms.
    pub reply_ms: Histogram,
    /// Requests planned, sent (the device had an open connection at the server), answered.
    pub requests_planned: u64,
    pub requests_sent: u64,
    pub heartbeats: u64,
    /// Connections the server accepted beyond each device's first, one sample per device.
    pub reconnects: Histogram,
    /// Messages the devices' outboxes dropped or did not take.
    pub dropped: u64,
    /// Connections the server closed as idle.
    pub idle_closed: u64,
    /// When the first cell or server fault begins, if any.
    pub first_fault: Option<Duration>,
}

impl Metrics {
    /// Adds another shard's figures (the same duration and sampling).
    pub fn merge(&mut self, other: Metrics) {
        fn add(a: &mut Vec<u32>, b: &[u32]) {
            if a.len() < b.len() {
                a.resize(b.len(), 0);
            }
            a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
        }
        self.devices += other.devices;
        self.duration = self.duration.max(other.duration);
        self.sample = self.sample.max(other.sample);
        add(&mut self.connected, &other.connected);
        add(&mut self.attempts, &other.attempts);
        add(&mut self.accepted, &other.accepted);
        add(&mut self.refused, &other.refused);
        self.lateness_ms.add(&other.lateness_ms);
        self.reply_ms.add(&other.reply_ms);
        self.requests_planned += other.requests_planned;
        self.requests_sent += other.requests_sent;
        self.heartbeats += other.heartbeats;
        self.reconnects.add(&other.reconnects);
        self.dropped += other.dropped;
        self.idle_closed += other.idle_closed;
        self.first_fault = self.first_fault.or(other.first_fault);
    }

    /// What the figures come to.
    pub fn summary(&self, name: &str, cells: u32, shards: u32) -> Summary {
        let (peak_per_s, peak_at) = busiest(&self.attempts, 0);
        let storm = self.first_fault.map(|from| {
            let (peak_per_s, peak_at_s) = busiest(&self.attempts, from.as_secs() as usize);
            Storm {
                from_s: from.as_secs(),
                peak_per_s,
                peak_at_s,
            }
        });
        let total = self.reconnects.sum();
        Summary {
            name: name.to_string(),
            devices: self.devices,
            cells,
            shards,
            duration_s: self.duration.as_secs_f64(),
            connected: Connected {
                every_s: self.sample.as_secs_f64(),
                min_after_fault: self.first_fault.map(|from| {
                    let first = (from.as_nanos() / self.sample.as_nanos().max(1)) as usize;
                    let after = self.connected.iter().skip(first);
                    after.copied().min().unwrap_or(0)
                }),
                at_end: self.connected.last().copied().unwrap_or(0),
                samples: self.connected.clone(),
            },
            connects: Connects {
                attempts: self.attempts.iter().map(|&n| u64::from(n)).sum(),
                accepted: self.accepted.iter().map(|&n| u64::from(n)).sum(),
                refused: self.refused.iter().map(|&n| u64::from(n)).sum(),
                peak_per_s,
                peak_at_s: peak_at,
                per_s: self.attempts.clone(),
            },
            storm,
            heartbeat_lateness_ms: Percentiles::of(&self.lateness_ms),
            heartbeats: self.heartbeats,
            replies: Replies {
                planned: self.requests_planned,
                sent: self.requests_sent,
                answered: self.reply_ms.len(),
                latency_ms: Percentiles::of(&self.reply_ms),
            },
            reconnects_per_device: Reconnects {
                mean: total as f64 / f64::from(self.devices.max(1)),
                total,
                percentiles: Percentiles::of(&self.reconnects),
            },
            messages_dropped: self.dropped,
            idle_closed: self.idle_closed,
            shard: None,
        }
    }
}

/// The busiest second of `per_s` from second `from` on: its count and the second.
fn busiest(per_s: &[u32], from: usize) -> (u32, u64) {
    let seconds = per_s.iter().enumerate().skip(from);
    seconds.fold((0, from as u64), |best, (at, &n)| {
        if n > best.0 {
            (n, at as u64)
        } else {
            best
        }
    })
}

/// Whole-number samples (milliseconds, counts) as an HDR histogram of 3 significant
/// digits, which shards add up exactly. Values below 2048 are kept exactly; a larger one is
/// counted in a bucket 1/1024 of its size wide and read back as the top of its bucket, so a
/// percentile read from it is never low and at most 0.1 % high. The exact sum is kept too
/// (for a mean). As JSON: the sum and `[value, count]` pairs, one per non-empty bucket.
#[derive(Debug, Clone)]
pub struct Histogram {
    counts: hdrhistogram::Histogram<u64>,
    sum: u64,
}

/// [`Histogram`] as it is written.
#[derive(Serialize, Deserialize)]
struct HistogramJson {
    sum: u64,
    counts: Vec<(u64, u64)>,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            // Every u32, so recording never clamps (about 190 kB of counts).
            counts: hdrhistogram::Histogram::new_with_max(u32::MAX.into(), 3)
                .expect("3 significant digits up to u32::MAX are valid"),
            sum: 0,
        }
    }
}

impl Histogram {
    pub fn record(&mut self, value: u32) {
        self.counts.saturating_record(value.into());
        self.sum += u64::from(value);
    }

    pub fn add(&mut self, other: &Histogram) {
        // Both have the same bounds, so every value of one fits in the other.
        self.counts
            .add(&other.counts)
            .expect("histograms of the same bounds add");
        self.sum += other.sum;
    }

    /// How many samples.
    pub fn len(&self) -> u64 {
        self.counts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn sum(&self) -> u64 {
        self.sum
    }

    /// The non-empty buckets in order: each one's (top value, count).
    fn buckets(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        let buckets = self.counts.iter_recorded();
        buckets.map(|b| (b.value_iterated_to(), b.count_at_value()))
    }
}

impl PartialEq for Histogram {
    fn eq(&self, other: &Histogram) -> bool {
        self.sum == other.sum && self.buckets().eq(other.buckets())
    }
}

impl Serialize for Histogram {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let json = HistogramJson {
            sum: self.sum,
            counts: self.buckets().collect(),
        };
        json.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Histogram {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = HistogramJson::deserialize(deserializer)?;
        let mut histogram = Histogram {
            sum: json.sum,
            ..Histogram::default()
        };
        for (value, count) in json.counts {
            histogram
                .counts
                .record_n(value, count)
                .map_err(serde::de::Error::custom)?;
        }
        Ok(histogram)
    }
}

/// A fleet run summed up. Written as JSON; `Display` is the table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub name: String,
    pub devices: u32,
    pub cells: u32,
    /// Shards the devices were split into (1: one server saw every connect; more: each
    /// shard's server held its share of the limits, see README "Fleets").
    pub shards: u32,
    pub duration_s: f64,
    pub connected: Connected,
    pub connects: Connects,
    /// The connect storm after the first cell or server fault: the busiest second from its
    /// start on.
    pub storm: Option<Storm>,
    pub heartbeats: u64,
    pub heartbeat_lateness_ms: Percentiles,
    pub replies: Replies,
    pub reconnects_per_device: Reconnects,
    pub messages_dropped: u64,
    pub idle_closed: u64,
    /// For one shard of a `--shard` run: what adding the shards up needs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardPart>,
}

/// The part of a shard's summary that `cargo xtask fleet --merge` reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardPart {
    /// Shard `k` of `n`, from 1.
    pub k: u32,
    pub n: u32,
    /// The threads it ran on (each a shard with its own server, see [`Summary::shards`]).
    pub threads: u32,
    /// The fleet as it ran (after the command line's changes); every shard of one run has
    /// the same.
    pub spec: FleetSpec,
    pub metrics: Metrics,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Connected {
    pub every_s: f64,
    /// The fewest connected from the first cell or server fault on.
    pub min_after_fault: Option<u32>,
    pub at_end: u32,
    pub samples: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Connects {
    pub attempts: u64,
    pub accepted: u64,
    pub refused: u64,
    /// The most connects that reached the server in one second, and that second.
    pub peak_per_s: u32,
    pub peak_at_s: u64,
    pub per_s: Vec<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Storm {
    pub from_s: u64,
    pub peak_per_s: u32,
    pub peak_at_s: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Replies {
    pub planned: u64,
    pub sent: u64,
    pub answered: u64,
    pub latency_ms: Percentiles,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reconnects {
    pub mean: f64,
    pub total: u64,
    #[serde(flatten)]
    pub percentiles: Percentiles,
}

/// Nearest-rank percentiles of a sample (0 for none), read from its [`Histogram`] (exact
/// below 2048, else at most 0.1 % high).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub p50: u32,
    pub p99: u32,
    pub max: u32,
}

impl Percentiles {
    pub fn of(histogram: &Histogram) -> Percentiles {
        let n = histogram.len();
        // The value of the sample of rank ceil(n p / 100), from 1.
        let rank = |p: u64| {
            let rank = (n * p).div_ceil(100).max(1);
            let mut below = 0;
            let mut buckets = histogram.buckets();
            let top = buckets.find(|&(_, count)| {
                below += count;
                below >= rank
            });
            top.map_or(0, |(value, _)| value.min(u32::MAX.into()) as u32)
        };
        Percentiles {
            count: n,
            p50: rank(50),
            p99: rank(99),
            max: rank(100),
        }
    }
}

impl fmt::Display for Percentiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p50 {}  p99 {}  max {}", self.p50, self.p99, self.max)
    }
}

impl Summary {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a summary serializes")
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self;
        let mut text = String::new();
        let _ = writeln!(
            text,
            "fleet {}: {} devices on {} cells, {} simulated{}",
            s.name,
            s.devices,
            s.cells,
            units::format_duration(Duration::from_secs_f64(s.duration_s)),
            if s.shards > 1 {
                format!(", {} shards", s.shards)
            } else {
                String::new()
            }
        );
        let c = &s.connected;
        let fewest = c.min_after_fault.map_or(String::new(), |n| {
            format!(", fewest {n} after the first fault")
        });
        let _ = writeln!(
            text,
            "  connected devices   at the end {}{fewest} (sampled every {} s)",
            c.at_end, c.every_s
        );
        let k = &s.connects;
        let _ = writeln!(
            text,
            "  connects at server  peak {}/s at {}, {} in all: {} accepted, {} refused",
            k.peak_per_s,
            units::format_duration(Duration::from_secs(k.peak_at_s)),
            k.attempts,
            k.accepted,
            k.refused
        );
        if let Some(storm) = &s.storm {
            let _ = writeln!(
                text,
                "  after the fault     peak {}/s at {} (the first fault began at {})",
                storm.peak_per_s,
                units::format_duration(Duration::from_secs(storm.peak_at_s)),
                units::format_duration(Duration::from_secs(storm.from_s)),
            );
        }
        let _ = writeln!(
            text,
            "  heartbeat lateness  {} ms ({} heartbeats)",
            s.heartbeat_lateness_ms, s.heartbeats
        );
        let r = &s.replies;
        let _ = writeln!(
            text,
            "  replies             {} of {} requests answered ({} sent to an open connection); latency {} ms",
            r.answered, r.planned, r.sent, r.latency_ms
        );
        let n = &s.reconnects_per_device;
        let _ = writeln!(
            text,
            "  reconnects/device   mean {:.2}  {}  ({} in all)",
            n.mean, n.percentiles, n.total
        );
        let _ = write!(
            text,
            "  messages dropped    {}; idle connections closed by the server {}",
            s.messages_dropped, s.idle_closed
        );
        f.write_str(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `values`' percentiles are `[count, p50, p99, max]`.
    fn check(values: &[u32], want: [u32; 4]) {
        let mut histogram = Histogram::default();
        values.iter().for_each(|&v| histogram.record(v));
        let got = Percentiles::of(&histogram);
        let [count, p50, p99, max] = want;
        let want = Percentiles {
            count: u64::from(count),
            p50,
            p99,
            max,
        };
        assert_eq!(got, want, "{values:?}");
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let hundred: Vec<u32> = (1..=100).collect();
        // 100,000 is counted in the bucket 99,968..=100,031 (64 wide: 1/1024 of 65,536, the
        // power of two below it) and read back as its top.
        let large = [5, 100_000, 100_000];
        let cases: [(&[u32], [u32; 4]); 7] = [
            (&[], [0, 0, 0, 0]),
            (&[2047], [1, 2047, 2047, 2047]),
            (&large, [3, 100_031, 100_031, 100_031]),
            (&[7], [1, 7, 7, 7]),
            (&[4, 1, 3, 2], [4, 2, 4, 4]),
            (&[5; 200], [200, 5, 5, 5]),
            (&hundred, [100, 50, 99, 100]),
        ];
        for (values, want) in cases {
            check(values, want);
        }
    }
}
