//! The transmission model: what becomes of bytes put on the air between the device and the
//! internet hosts (see the module documentation of [`super`], "Transmission", "Loss" and
//! "Blackhole").
//!
//! A shared radio link per direction serializes at `*_bytes_per_s`; then one-way `latency`,
//! plus any latency spike. A datagram or segment that departs in a blackhole is lost, and so
//! is one the loss rate picks (UDP: `udp_loss_permille`; TCP segments and acknowledgements:
//! `tcp_loss_permille`); TCP's retransmissions are the TCP model's (`super::tcp`).
//! Acknowledgements and other control segments take no time on the radio link. The random
//! draws (loss, and the delivery batching of `super`) come from the network's seed, in the
//! order things happen.

use std::time::Duration;

use protocol::types::Transport;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::NetworkConfig;

/// A time window `[start, end)` during which a fault holds.
#[derive(Debug, Clone, Copy)]
pub(super) struct Window {
    pub start: Duration,
    pub end: Duration,
}

impl Window {
    fn contains(&self, t: Duration) -> bool {
        self.start <= t && t < self.end
    }
}

/// What happens to bytes put on the air.
pub(super) enum Fate {
    /// They leave the radio at `sent` and reach the other end at `at`.
    Arrives {
        sent: Duration,
        at: Duration,
    },
    Lost {
        sent: Duration,
    },
}

/// The radio link each way, the path behind it, and the faults on them.
#[derive(Debug)]
pub(super) struct Transmission {
    latency: Duration,
    uplink_bytes_per_s: u32,
    downlink_bytes_per_s: u32,
    udp_loss_permille: u16,
    tcp_loss_permille: u16,
    rng: ChaCha8Rng,
    /// When each direction's radio link is free again.
    up_busy: Duration,
    down_busy: Duration,
    blackholes: Vec<Window>,
    spikes: Vec<(Window, Duration)>,
    udp_losses: Vec<(Window, u16)>,
}

impl Transmission {
    /// The model `config` describes, its losses drawn from `seed`.
    pub fn new(config: &NetworkConfig, seed: u64) -> Transmission {
        Transmission {
            latency: config.latency,
            uplink_bytes_per_s: config.uplink_bytes_per_s,
            downlink_bytes_per_s: config.downlink_bytes_per_s,
            udp_loss_permille: config.udp_loss_permille,
            tcp_loss_permille: config.tcp_loss_permille,
            rng: ChaCha8Rng::seed_from_u64(seed),
            up_busy: Duration::ZERO,
            down_busy: Duration::ZERO,
            blackholes: Vec::new(),
            spikes: Vec::new(),
            udp_losses: Vec::new(),
        }
    }

    /// Forgets the faults that ended by `now`.
    pub fn expire(&mut self, now: Duration) {
        self.blackholes.retain(|w| w.end > now);
        self.spikes.retain(|(w, _)| w.end > now);
        self.udp_losses.retain(|(w, _)| w.end > now);
    }

    /// Nothing departs during `window`.
    pub fn blackhole(&mut self, window: Window) {
        self.blackholes.push(window);
    }

    /// `extra` one-way latency for what departs during `window`.
    pub fn latency_spike(&mut self, window: Window, extra: Duration) {
        self.spikes.push((window, extra));
    }

    /// UDP datagrams that depart during `window` are lost with `permille`.
    pub fn udp_loss(&mut self, window: Window, permille: u16) {
        self.udp_losses.push((window, permille));
    }

    /// Puts a datagram or segment of `len` bytes on the radio link now and says what becomes
    /// of it.
    pub fn transmit(
        &mut self,
        now: Duration,
        uplink: bool,
        transport: Transport,
        len: usize,
    ) -> Fate {
        let (busy, bytes_per_s) = if uplink {
            (&mut self.up_busy, self.uplink_bytes_per_s)
        } else {
            (&mut self.down_busy, self.downlink_bytes_per_s)
        };
        let start = now.max(*busy);
        let sent = start + transmission_time(len, bytes_per_s);
        *busy = sent;
        let loss = match transport {
            Transport::Udp => self
                .udp_losses
                .iter()
                .rev()
                .find(|(w, _)| w.contains(start))
                .map_or(self.udp_loss_permille, |&(_, permille)| permille),
            Transport::Tcp => self.tcp_loss_permille,
        };
        if self.blackhole_end(start).is_some() || self.lose(loss) {
            Fate::Lost { sent }
        } else {
            Fate::Arrives {
                sent,
                at: sent + self.latency_at(start),
            }
        }
    }

    /// A TCP control segment (an acknowledgement, SYN, RST, a window probe) leaving now: when
    /// it arrives, unless it is lost.
    pub fn control(&mut self, now: Duration) -> Option<Duration> {
        if self.blackhole_end(now).is_some() || self.lose(self.tcp_loss_permille) {
            return None;
        }
        Some(now + self.latency_at(now))
    }

    /// A random delay in `[0, max]`, microsecond steps (no draw when `max` is 0).
    pub fn delay_up_to(&mut self, max: Duration) -> Duration {
        let micros = u64::try_from(max.as_micros()).unwrap_or(u64::MAX);
        if micros == 0 {
            return Duration::ZERO;
        }
        Duration::from_micros(self.rng.random_range(0..=micros))
    }

    fn lose(&mut self, permille: u16) -> bool {
        permille > 0 && self.rng.random_range(0..1000u16) < permille
    }

    /// If `t` falls in a blackhole, when the blackhole (and any it runs into) ends.
    pub fn blackhole_end(&self, t: Duration) -> Option<Duration> {
        let mut end = t;
        while let Some(w) = self.blackholes.iter().find(|w| w.contains(end)) {
            end = w.end;
        }
        (end != t).then_some(end)
    }

    /// The one-way latency of what departs at `t`.
    pub fn latency_at(&self, t: Duration) -> Duration {
        let extra: Duration = self
            .spikes
            .iter()
            .filter(|(w, _)| w.contains(t))
            .map(|&(_, extra)| extra)
            .sum();
        self.latency + extra
    }
}

/// How long `len` bytes take on a link of `bytes_per_s` (0 = unlimited).
fn transmission_time(len: usize, bytes_per_s: u32) -> Duration {
    if bytes_per_s == 0 {
        return Duration::ZERO;
    }
    Duration::from_nanos((len as u64).saturating_mul(1_000_000_000) / u64::from(bytes_per_s))
}
