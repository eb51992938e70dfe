//! What a fleet run measured ([`Metrics`], one per shard, added up with
//! [`Metrics::merge`]) and what it comes to ([`Summary`]: percentiles, the peak connect
//! rate, written as JSON and as a table).

use std::fmt::{self, Write as _};
use std::time::Duration;

use serde::Serialize;

/// The raw figures of a run, or of one shard of it.
#[derive(Debug, Clone, Default, PartialEq)]
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
    pub lateness_ms: Vec<u32>,
    /// Each answered request's latency: from the server's send to the reply's arrival, ms.
    pub reply_ms: Vec<u32>,
    /// Requests planned, sent (the device had an open connection at the server), answered.
    pub requests_planned: u64,
    pub requests_sent: u64,
    pub heartbeats: u64,
    /// Connections the server accepted beyond each device's first, per device.
    pub reconnects: Vec<u32>,
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
        self.lateness_ms.extend(other.lateness_ms);
        self.reply_ms.extend(other.reply_ms);
        self.requests_planned += other.requests_planned;
        self.requests_sent += other.requests_sent;
        self.heartbeats += other.heartbeats;
        self.reconnects.extend(other.reconnects);
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
        let mut reconnects = self.reconnects.clone();
        let total: u64 = reconnects.iter().map(|&n| u64::from(n)).sum();
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
            heartbeat_lateness_ms: Percentiles::of(&mut self.lateness_ms.clone()),
            heartbeats: self.heartbeats,
            replies: Replies {
                planned: self.requests_planned,
                sent: self.requests_sent,
                answered: self.reply_ms.len() as u64,
                latency_ms: Percentiles::of(&mut self.reply_ms.clone()),
            },
            reconnects_per_device: Reconnects {
                mean: total as f64 / f64::from(self.devices.max(1)),
                total,
                percentiles: Percentiles::of(&mut reconnects),
            },
            messages_dropped: self.dropped,
            idle_closed: self.idle_closed,
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

/// Nearest-rank percentiles of a sample (0 for none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub p50: u32,
    pub p99: u32,
    pub max: u32,
}

impl Percentiles {
    pub fn of(values: &mut [u32]) -> Percentiles {
        values.sort_unstable();
        let rank = |p: usize| {
            let n = values.len();
            if n == 0 {
                0
            } else {
                values[(n * p).div_ceil(100).clamp(1, n) - 1]
            }
        };
        Percentiles {
            count: values.len() as u64,
            p50: rank(50),
            p99: rank(99),
            max: values.last().copied().unwrap_or(0),
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
        let got = Percentiles::of(&mut values.to_vec());
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
        let cases: [(&[u32], [u32; 4]); 5] = [
            (&[], [0, 0, 0, 0]),
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
