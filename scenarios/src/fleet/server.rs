//! The shared server and the cells, as a fleet sees them: every device's connect to the lab
//! server comes here (sim-modem's gated connects), and is accepted, late or at once, or
//! refused, by what the server's limits and the cells' and the server's faults say at the
//! moment its SYN arrives. It counts the connects of every second.
//!
//! Sharded ([`Server::new`]'s `shards`), each shard's server holds its share of the limits:
//! a rate limit of R a second is R/n per shard (rounded up). That is the approximation a
//! shard makes; nothing else in here depends on the other devices.

use std::time::Duration;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::fleet::spec::{FleetFault, FleetSpec, ServerConfig};

/// A server or cell fault, with its window.
#[derive(Debug, Clone)]
struct Window {
    from: Duration,
    to: Duration,
    fault: FleetFault,
}

impl Window {
    fn active(&self, at: Duration) -> bool {
        self.from <= at && at < self.to
    }
}

/// The server's answer to a connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// When the answer leaves the server.
    pub at: Duration,
    pub accept: bool,
}

/// The shared server and the cells' congestion. See the module documentation.
#[derive(Debug)]
pub struct Server {
    config: ServerConfig,
    windows: Vec<Window>,
    shards: u32,
    rng: ChaCha8Rng,
    /// Connects that reached the server, accepted and refused, by whole second.
    pub attempts: Vec<u32>,
    pub accepted: Vec<u32>,
    pub refused: Vec<u32>,
}

impl Server {
    /// The server of `spec`, for one of `shards` shards.
    pub fn new(spec: &FleetSpec, shards: u32, seed: u64) -> Server {
        let seconds = spec.duration.as_secs() as usize + 1;
        let windows = spec
            .timeline
            .iter()
            .filter(|s| {
                !matches!(
                    s.fault,
                    FleetFault::TowerOutage { .. } | FleetFault::Device { .. }
                )
            })
            .map(|s| Window {
                from: s.at,
                to: s.at + s.fault.duration(),
                fault: s.fault.clone(),
            })
            .collect();
        Server {
            config: spec.server.clone(),
            windows,
            shards: shards.max(1),
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5e4e_e45e_4e45_0001),
            attempts: vec![0; seconds],
            accepted: vec![0; seconds],
            refused: vec![0; seconds],
        }
    }

    /// A connect from a device on `cell` whose SYN arrived at `at`.
    pub fn connect(&mut self, at: Duration, cell: u32) -> Answer {
        let second = (at.as_secs() as usize).min(self.attempts.len() - 1);
        self.attempts[second] += 1;
        let mut delay = self.config.accept_delay;
        let mut limit = self.config.max_connects_per_s;
        let mut refuse = false;
        for window in self.windows.iter().filter(|w| w.active(at)) {
            match window.fault {
                FleetFault::Congestion {
                    cell: c,
                    refuse_percent,
                    delay: late,
                    ..
                } if c == cell => {
                    refuse |= self.rng.random_range(0..100u8) < refuse_percent;
                    delay += late;
                }
                FleetFault::SlowAccept { delay: late, .. } => delay += late,
                FleetFault::Overload {
                    max_connects_per_s, ..
                } => limit = Some(limit.map_or(max_connects_per_s, |l| l.min(max_connects_per_s))),
                _ => {}
            }
        }
        let share = limit.map(|l| l.div_ceil(self.shards));
        if share.is_some_and(|share| self.accepted[second] >= share) {
            refuse = true;
        }
        if refuse {
            self.refused[second] += 1;
            return Answer { at, accept: false };
        }
        self.accepted[second] += 1;
        Answer {
            at: at + delay,
            accept: true,
        }
    }

    /// How long a connection may stay idle at `at` before the server closes it, if it
    /// closes idle ones then.
    pub fn idle_limit(&self, at: Duration) -> Option<Duration> {
        let faults = self.windows.iter().filter(|w| w.active(at));
        let idle = faults.filter_map(|w| match w.fault {
            FleetFault::DropIdle { idle, .. } => Some(idle),
            _ => None,
        });
        idle.chain(self.config.idle_timeout).min()
    }

    /// The first time at or after `at` when an idle limit holds (for the server's sweeps).
    pub fn next_idle_check(&self, at: Duration) -> Option<Duration> {
        if self.config.idle_timeout.is_some() {
            return Some(at);
        }
        self.windows
            .iter()
            .filter(|w| matches!(w.fault, FleetFault::DropIdle { .. }) && w.to > at)
            .map(|w| w.from.max(at))
            .min()
    }
}
