//! The fleet loop: every device a [`World`] of its own (firmware core, modem, its path
//! through the network, its seed), all stepped in one virtual time against the shared
//! [`Server`]: one loop always steps the device whose next wake-up is earliest (ties by
//! device number), so when a connect reaches the server, everything before it, on every
//! device, has happened. Same fleet, seed and shards, same figures.
//!
//! Devices are split into shards by range ([`Options`]): each shard is a loop of its own
//! with its own server (holding its share of the limits), run on its own thread, sharing
//! nothing but the seed. A device's seed and cell depend only on the seed and its number,
//! so a shard simulates its devices exactly as an unsharded run would, up to the server's
//! decisions.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::ops::Range;
use std::time::Duration;

use protocol::app::{Framing, HEARTBEAT};
use sim_modem::fault::Fault;
use sim_modem::lab::{ClientId, LabEvent, LabEventKind};

use crate::fleet::server::Server;
use crate::fleet::spec::{Fleet, FleetFault};
use crate::fleet::summary::Metrics;
use crate::replay::{device_config, plan, sim_config};
use crate::world::{Action, Step, World, WorldConfig};

/// Which devices to run, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Only shard `k` of `n` of the devices (`--shard k/n`, from 1), else all.
    pub shard: Option<(u32, u32)>,
    /// Threads: the devices (of the shard) are split into this many shards more.
    pub jobs: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            shard: None,
            jobs: 1,
        }
    }
}

/// Where a running shard is, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// The shard (thread), from 0.
    pub shard: usize,
    /// Its virtual time.
    pub now: Duration,
}

/// A device's seed: from the fleet's seed and its number alone (splitmix64).
pub fn device_seed(seed: u64, device: u32) -> u64 {
    let mut z = seed ^ u64::from(device).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The cell a device is camped on.
pub fn cell_of(seed: u64, device: u32, cells: u32) -> u32 {
    (device_seed(seed ^ 0xce11, device) % u64::from(cells.max(1))) as u32
}

/// The device ranges of each thread: the fleet's `devices` split into `shard`'s part, then
/// into `jobs` parts.
pub fn ranges(devices: u32, options: &Options) -> Vec<Range<u32>> {
    let split = |range: Range<u32>, k: u32, n: u32| {
        let len = range.end - range.start;
        let at = |i: u32| range.start + (u64::from(len) * u64::from(i) / u64::from(n)) as u32;
        at(k)..at(k + 1)
    };
    let mine = match options.shard {
        Some((k, n)) => split(0..devices, k - 1, n),
        None => 0..devices,
    };
    let jobs = options.jobs.clamp(1, (mine.end - mine.start).max(1));
    (0..jobs).map(|j| split(mine.clone(), j, jobs)).collect()
}

/// Runs the fleet: every shard on its own thread. Returns the figures, added up.
pub fn run(
    fleet: &Fleet,
    options: &Options,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Metrics, String> {
    let ranges = ranges(fleet.spec.devices, options);
    let shards = ranges.len() as u32 * options.shard.map_or(1, |(_, n)| n);
    let results: Vec<Result<Metrics, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = ranges
            .into_iter()
            .enumerate()
            .map(|(i, range)| {
                scope.spawn(move || {
                    let mut shard = Shard::new(fleet, range, shards)?;
                    shard.run(&|now| progress(Progress { shard: i, now }));
                    Ok(shard.metrics)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a fleet shard panicked".into()))
            })
            .collect()
    });
    let mut total = Metrics::default();
    for metrics in results {
        total.merge(metrics?);
    }
    Ok(total)
}

/// What the fleet knows of one device, from the lab server's side and its reports.
struct Device {
    world: World,
    cell: u32,
    /// Its open connection at the server, newest first.
    client: Option<ClientId>,
    last_heartbeat: Option<Duration>,
    last_rx: Duration,
    /// Requests sent and not answered: the bytes and when.
    pending: Vec<(Vec<u8>, Duration)>,
    accepts: u32,
    connected: bool,
    /// Bumped when the device's next wake-up moves; older queue entries are stale.
    generation: u32,
}

/// One loop of devices against one server.
struct Shard<'a> {
    fleet: &'a Fleet,
    devices: Vec<Device>,
    server: Server,
    queue: BinaryHeap<Reverse<(Duration, u32, u32)>>,
    metrics: Metrics,
    heartbeat_interval: Duration,
    connected: u32,
    events: Vec<LabEvent>,
}

impl<'a> Shard<'a> {
    fn new(fleet: &'a Fleet, range: Range<u32>, shards: u32) -> Result<Shard<'a>, String> {
        let spec = &fleet.spec;
        let scenario = &fleet.scenario;
        let base = device_config(scenario)?;
        let newline = base.framing == Framing::Newline;
        let mut devices = Vec::with_capacity(range.len());
        let mut planned = 0;
        for number in range.clone() {
            let seed = device_seed(spec.seed, number);
            let mut config = base.clone();
            config.connect_jitter_seed = seed as u32;
            let mut world = World::new(WorldConfig {
                device: config,
                sim: sim_config(scenario, seed),
                profile: Some(scenario.modem.profile.clone()),
                trace: false,
            })
            .map_err(|e| e.to_string())?;
            world.keep_lab_events();
            world.with_sim(|sim, _| sim.gate_connects());
            for p in plan(scenario, seed) {
                world.schedule(p.at, p.step);
            }
            let cell = cell_of(spec.seed, number, spec.cells);
            for step in &spec.timeline {
                let fault = match &step.fault {
                    FleetFault::TowerOutage { cell: c, duration } if *c == cell => {
                        Fault::RegistrationLost {
                            duration: *duration,
                        }
                    }
                    FleetFault::Device { device, fault } if *device == number => fault.clone(),
                    _ => continue,
                };
                world.schedule(
                    step.at,
                    Step {
                        id: None,
                        action: Action::Fault(fault),
                    },
                );
            }
            if let Some(every) = spec.requests {
                // Each device at its own offset in the interval, so the requests spread.
                let offset = Duration::from_millis(seed % every.as_millis().max(1) as u64);
                let mut at = offset;
                let mut n = 0u32;
                while at < spec.duration {
                    n += 1;
                    // The final `.` keeps `back 1.1` from matching the reply to `back 1.10`.
                    let mut data = format!("back {number}.{n}.").into_bytes();
                    if newline {
                        data.push(b'\n');
                    }
                    let action = Action::LabSend { client: None, data };
                    world.schedule(at, Step { id: None, action });
                    at += every;
                    planned += 1;
                }
            }
            devices.push(Device {
                world,
                cell,
                client: None,
                last_heartbeat: None,
                last_rx: Duration::ZERO,
                pending: Vec::new(),
                accepts: 0,
                connected: false,
                generation: 0,
            });
        }
        let sample = (spec.duration / 720).max(Duration::from_secs(1));
        let sample = Duration::from_secs(sample.as_secs());
        let server = Server::new(spec, shards, spec.seed);
        Ok(Shard {
            fleet,
            server,
            queue: BinaryHeap::with_capacity(devices.len() * 2),
            metrics: Metrics {
                devices: range.len() as u32,
                duration: spec.duration,
                sample,
                requests_planned: planned,
                first_fault: spec
                    .timeline
                    .iter()
                    .filter(|s| !matches!(s.fault, FleetFault::Device { .. }))
                    .map(|s| s.at)
                    .min(),
                ..Metrics::default()
            },
            heartbeat_interval: base.heartbeat_interval,
            connected: 0,
            events: Vec::new(),
            devices,
        })
    }

    fn run(&mut self, progress: &dyn Fn(Duration)) {
        let end = self.fleet.spec.duration;
        for i in 0..self.devices.len() {
            self.devices[i].world.run_until(Duration::ZERO);
            self.settle(i);
        }
        let mut next_sample = Duration::ZERO;
        let mut next_sweep = self.server.next_idle_check(Duration::ZERO);
        let mut next_progress = Duration::ZERO;
        loop {
            let device = self.queue.peek().map(|Reverse((at, ..))| *at);
            let at = [device, next_sweep, Some(next_sample)]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(end);
            if at > end {
                break;
            }
            if at >= next_progress {
                progress(at);
                next_progress = at + end / 100;
            }
            if at == next_sample {
                self.metrics.connected.push(self.connected);
                next_sample += self.metrics.sample;
                if next_sample > end {
                    next_sample = end + Duration::from_secs(1);
                }
                continue;
            }
            if Some(at) == next_sweep {
                self.sweep(at);
                next_sweep = self.server.next_idle_check(at + Duration::from_secs(1));
                continue;
            }
            let Some(Reverse((at, i, generation))) = self.queue.pop() else {
                break;
            };
            let i = i as usize;
            if self.devices[i].generation != generation {
                continue;
            }
            self.devices[i].world.run_until(at);
            self.settle(i);
        }
        progress(end);
        for d in &self.devices {
            self.metrics.reconnects.record(d.accepts.saturating_sub(1));
            self.metrics.dropped += u64::from(d.world.stats().dropped);
        }
        let server = &mut self.server;
        self.metrics.attempts = std::mem::take(&mut server.attempts);
        self.metrics.accepted = std::mem::take(&mut server.accepted);
        self.metrics.refused = std::mem::take(&mut server.refused);
    }

    /// After device `i` moved: the server answers its connects, reads its lab events, and
    /// the device goes back in the queue at its next wake-up.
    fn settle(&mut self, i: usize) {
        let server = &mut self.server;
        let d = &mut self.devices[i];
        let cell = d.cell;
        if d.world.sim().connects_waiting() {
            d.world.with_sim(|sim, now| {
                while let Some(request) = sim.poll_connect() {
                    let answer = server.connect(request.at, cell);
                    sim.admit(now, answer.at, request, answer.accept);
                }
            });
        }
        let mut events = std::mem::take(&mut self.events);
        d.world.take_lab_events(&mut events);
        for event in events.drain(..) {
            self.lab_event(i, event);
        }
        self.events = events;
        let d = &mut self.devices[i];
        let connected = d.world.stats().connected;
        if connected != d.connected {
            d.connected = connected;
            if connected {
                self.connected += 1;
            } else {
                self.connected -= 1;
            }
        }
        d.generation = d.generation.wrapping_add(1);
        if let Some(next) = d.world.next_wakeup() {
            self.queue.push(Reverse((next, i as u32, d.generation)));
        }
    }

    fn lab_event(&mut self, i: usize, event: LabEvent) {
        let d = &mut self.devices[i];
        let m = &mut self.metrics;
        match event.kind {
            LabEventKind::Accepted { .. } => {
                d.client = Some(event.client);
                d.accepts += 1;
                d.last_rx = event.at;
            }
            LabEventKind::Received(data) => {
                d.last_rx = event.at;
                let beats = count(&data, HEARTBEAT);
                for _ in 0..beats {
                    if let Some(last) = d.last_heartbeat {
                        let late = (event.at - last).saturating_sub(self.heartbeat_interval);
                        m.lateness_ms
                            .record(late.as_millis().min(u32::MAX.into()) as u32);
                    }
                    d.last_heartbeat = Some(event.at);
                    m.heartbeats += 1;
                }
                d.pending.retain(|(request, sent)| {
                    let text = request.strip_suffix(b"\n").unwrap_or(request);
                    if count(&data, text) == 0 {
                        return true;
                    }
                    let latency = event.at - *sent;
                    m.reply_ms
                        .record(latency.as_millis().min(u32::MAX.into()) as u32);
                    false
                });
            }
            LabEventKind::Sent(data) => {
                m.requests_sent += 1;
                d.pending.push((data, event.at));
            }
            LabEventKind::Closed(_) => {
                if d.client == Some(event.client) {
                    d.client = None;
                }
            }
        }
    }

    /// The server closes the connections idle for longer than it allows now.
    fn sweep(&mut self, at: Duration) {
        let Some(idle) = self.server.idle_limit(at) else {
            return;
        };
        for i in 0..self.devices.len() {
            let d = &mut self.devices[i];
            let Some(client) = d.client.filter(|_| d.last_rx + idle <= at) else {
                continue;
            };
            // Nothing of the device's is due before `at` (the queue is in time order).
            d.world.run_until(at);
            d.world.with_sim(|sim, now| sim.lab_close(now, client).ok());
            self.metrics.idle_closed += 1;
            self.settle(i);
        }
    }
}

/// How often `needle` occurs in `haystack`, without overlaps.
fn count(haystack: &[u8], needle: &[u8]) -> usize {
    if needle.is_empty() {
        return 0;
    }
    let (mut n, mut at) = (0, 0);
    while at + needle.len() <= haystack.len() {
        if &haystack[at..at + needle.len()] == needle {
            n += 1;
            at += needle.len();
        } else {
            at += 1;
        }
    }
    n
}
