//! The knobs of the simulated network, each with its unit.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use protocol::types::RegStat;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::net::Coverage;

/// What registration the network grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Registration {
    /// Registered on the home network (`+CREG: 1`).
    Home,
    /// Registered on a visited network (`+CREG: 5`); data works.
    Roaming,
    /// Registration refused (`+CREG: 3`).
    Denied,
    /// No cell at all: the modem keeps searching (`+CREG: 2`).
    NoService,
}

impl Registration {
    pub fn reg_stat(self) -> RegStat {
        match self {
            Registration::Home => RegStat::Home,
            Registration::Roaming => RegStat::Roaming,
            Registration::Denied => RegStat::Denied,
            Registration::NoService => RegStat::NotRegistered,
        }
    }
}

/// The simulated cellular network and internet. Every field has a default, so a scenario
/// file names only what it changes. Durations are strings such as `"250ms"` or `"5m"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkConfig {
    /// Registration offered from the start.
    pub registration: Registration,
    /// Signal quality as `+CSQ` reports it: 0..=31, 99 = unknown.
    pub rssi: u8,
    /// Location area code and cell id of the serving cell (`+CREG` with `AT+CREG=2`).
    pub lac: u16,
    pub ci: u32,
    /// Whether the packet domain serves data (attach, PDP activation).
    pub data: bool,

    /// Time for the network to answer a PDP activation (`AT+CIICR`).
    #[serde(with = "units::HumanDuration")]
    pub pdp_activation: Duration,
    /// APNs the network accepts; empty accepts any APN.
    pub apns: Vec<String>,
    /// The IPv4 address the network assigns to the device (`AT+CIFSR`).
    pub device_ip: Ipv4Addr,

    /// One-way latency between the device and any internet host.
    #[serde(with = "units::HumanDuration")]
    pub latency: Duration,
    /// Radio uplink bandwidth in bytes per second, shared by all connections; 0 = unlimited.
    pub uplink_bytes_per_s: u32,
    /// Radio downlink bandwidth in bytes per second, shared by all connections; 0 = unlimited.
    pub downlink_bytes_per_s: u32,
    /// UDP datagram loss, in per-mille (10 = 1 %), each direction.
    pub udp_loss_permille: u16,
    /// TCP segment loss, in per-mille. TCP hides loss: each lost segment is retransmitted
    /// after the retransmission timeout (doubling each time), so loss shows as delay, and as
    /// a closed connection when retransmissions exceed `tcp_give_up`.
    pub tcp_loss_permille: u16,
    /// First TCP retransmission timeout; it doubles on each further loss.
    #[serde(with = "units::HumanDuration")]
    pub tcp_rto: Duration,
    /// How long TCP keeps retransmitting unacknowledged data before it gives up and the
    /// connection closes (SIM800 manual: `CLOSED` 645 s after an unacknowledged send).
    #[serde(with = "units::HumanDuration")]
    pub tcp_give_up: Duration,
    /// How long a TCP connect waits for an answer before `CONNECT FAIL` (SIM800: 75 s).
    #[serde(with = "units::HumanDuration")]
    pub connect_timeout: Duration,

    /// Time for a DNS lookup (dotted addresses need none).
    #[serde(with = "units::HumanDuration")]
    pub dns_delay: Duration,
    /// Names the network's DNS resolves (case-insensitive). The lab server's name is added by
    /// the simulation; other names fail with a DNS error.
    pub dns: BTreeMap<String, Ipv4Addr>,
    /// Names missing from `dns` are passed to the internet side to resolve (live mode, where
    /// the OS resolves them) instead of failing.
    pub dns_passthrough: bool,

    /// Unix time (seconds) at virtual time 0, for network time (`AT+CNTP`, NTP).
    pub unix_time_at_start: u64,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            registration: Registration::Home,
            rssi: 24,
            lac: 0x18be,
            ci: 0x93e1,
            data: true,
            pdp_activation: Duration::from_secs(2),
            apns: Vec::new(),
            device_ip: Ipv4Addr::new(10, 68, 27, 49),
            latency: Duration::from_millis(150),
            uplink_bytes_per_s: 5_000,
            downlink_bytes_per_s: 10_000,
            udp_loss_permille: 0,
            tcp_loss_permille: 0,
            tcp_rto: Duration::from_secs(1),
            tcp_give_up: Duration::from_secs(645),
            connect_timeout: Duration::from_secs(75),
            dns_delay: Duration::from_millis(300),
            dns: BTreeMap::new(),
            dns_passthrough: false,
            // 2024-01-01T00:00:00Z
            unix_time_at_start: 1_704_067_200,
        }
    }
}

impl NetworkConfig {
    /// The radio conditions this configuration starts with.
    pub fn coverage(&self) -> Coverage {
        Coverage {
            registration: self.registration.reg_stat(),
            rssi: self.rssi,
            data: self.data,
            lac: self.lac,
            ci: self.ci,
        }
    }
}
