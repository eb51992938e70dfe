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
    #[serde(with = "crate::knob::Range::<0, 1000>")]
    pub udp_loss_permille: u16,
    /// TCP segment and acknowledgement loss, in per-mille. TCP hides loss: a lost segment is
    /// sent again when its retransmission timeout expires, so loss shows as delay, and as a
    /// closed connection when one end runs out of retransmissions.
    #[serde(with = "crate::knob::Range::<0, 1000>")]
    pub tcp_loss_permille: u16,
    /// Largest TCP segment payload, bytes: what a 1500-byte IPv4 path leaves after 40 bytes
    /// of IP and TCP headers (RFC 879, RFC 6691; the SIM800's `AT+CIPSEND` maximum is the
    /// same 1460). Cellular cores that clamp it lower (1360–1400) can be set here.
    #[serde(with = "crate::knob::Range::<1, 65495>")]
    pub tcp_mss_bytes: u16,
    /// The device's stack hands what arrived in order to the modem in batches: each batch
    /// waits a random time up to this (seeded) for more, so server writes that arrive close
    /// together can come out as one `+RECEIVE`. 0 hands each segment over at once.
    /// UNCONFIRMED: no SIM800 source; the 50 ms is `AT+CIPCCFG`'s default `<Rxtimer>`.
    #[serde(with = "units::HumanDuration")]
    pub receive_coalescing_max: Duration,
    /// The servers' TCP (a Linux host's): the retransmission timeout's floor (Linux
    /// `TCP_RTO_MIN`, 200 ms).
    #[serde(with = "crate::knob::NonZeroDuration")]
    pub host_tcp_rto_min: Duration,
    /// The servers' retransmission timeout's cap (Linux `TCP_RTO_MAX`, 120 s).
    #[serde(with = "crate::knob::NonZeroDuration")]
    pub host_tcp_rto_max: Duration,
    /// Timeouts in a row a server's connection survives (Linux `tcp_retries2`, 15).
    pub host_tcp_retransmissions: u8,
    /// How long a server's unacknowledged data waits before it gives up (Linux: 15
    /// retries "yield a hypothetical timeout of 924.6 seconds", ip-sysctl.rst).
    #[serde(with = "crate::knob::NonZeroDuration")]
    pub host_tcp_give_up: Duration,
    /// A server's receive window, bytes (64 KiB, no window scaling).
    #[serde(with = "crate::knob::Range::<1, 1073741824>")]
    pub host_receive_window_bytes: u32,
    /// How long a TCP connect waits for an answer before `CONNECT FAIL` (SIM800: 75 s).
    #[serde(with = "crate::knob::NonZeroDuration")]
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
    /// A time server answers SNTP (RFC 4330) on UDP port 123 at every address, and any
    /// name resolves for UDP port 123, with the network's time. Live mode turns it off (the
    /// real internet's servers answer) unless `sim-modem --sim-ntp`.
    pub ntp_server: bool,
    /// How long the service centre takes to take an SMS from the device, and to deliver one
    /// to it. UNCONFIRMED: a few seconds on live networks.
    #[serde(with = "units::HumanDuration")]
    pub sms_delay: Duration,
    /// The service centre's number, as SMS delivered to the device carry it.
    pub sms_centre: String,
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
            tcp_mss_bytes: 1460,
            receive_coalescing_max: Duration::from_millis(50),
            host_tcp_rto_min: Duration::from_millis(200),
            host_tcp_rto_max: Duration::from_secs(120),
            host_tcp_retransmissions: 15,
            host_tcp_give_up: Duration::from_millis(924_600),
            host_receive_window_bytes: 65_535,
            connect_timeout: Duration::from_secs(75),
            dns_delay: Duration::from_millis(300),
            dns: BTreeMap::new(),
            dns_passthrough: false,
            // 2024-01-01T00:00:00Z
            unix_time_at_start: 1_704_067_200,
            ntp_server: true,
            sms_delay: Duration::from_secs(3),
            // A fictitious number (555-01xx).
            sms_centre: "+15550199".to_string(),
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
