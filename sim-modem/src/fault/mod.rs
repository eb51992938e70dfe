//! The faults that can be injected into a simulation, each with its units, and [`LineNoise`],
//! the seeded UART corruption filter.
//!
//! A fault is applied at a virtual time (by [`crate::sim::Sim::inject`], a scenario, or
//! `sim-modem --fault` in live mode). Faults with a `duration` undo themselves when it ends;
//! the others are one-off events. In JSON a fault is an object tagged by `kind`:
//!
//! ```json
//! { "kind": "registration_lost", "duration": "2m" }
//! { "kind": "blackhole", "duration": "30s" }
//! { "kind": "line_noise", "direction": "both", "duration": "10s", "bit_flip_ppm": 1000 }
//! ```

mod noise;

use std::time::Duration;

use protocol::types::LinkId;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use noise::{LineNoise, NoiseCounts};

/// Something going wrong, in the network, at the server or in the modem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// The cell is lost for `duration`: the modem searches (`+CREG: 2`) and nothing gets
    /// through. A loss shorter than the modem profile's `pdp_hold` keeps the PDP context and
    /// the connections (data stalls, then flows); a longer one loses them, said (`CLOSED`,
    /// `+PDP: DEACT`) when the cell is back or `pdp_deact_delay` after the hold. Afterwards
    /// the cell is back (`+CREG: 1`); a lost context must be activated again (`AT+CIICR`).
    RegistrationLost {
        #[serde(with = "units::HumanDuration")]
        duration: Duration,
    },
    /// The network rejects the modem for `duration` (`+CREG: 3`); PDP and connections are lost
    /// as with [`Fault::RegistrationLost`].
    RegistrationDenied {
        #[serde(with = "units::HumanDuration")]
        duration: Duration,
    },
    /// The modem is registered on a visited network for `duration` (`+CREG: 5`). Data keeps
    /// working; only the registration status changes.
    Roaming {
        #[serde(with = "units::HumanDuration")]
        duration: Duration,
    },
    /// Registered, but the packet domain gives no service for `duration`: the PDP context is
    /// released (`+PDP: DEACT`), attach and `AT+CIICR` fail until it ends.
    DataServiceLost {
        #[serde(with = "units::HumanDuration")]
        duration: Duration,
    },
    /// The signal quality changes to `rssi` (as `+CSQ` reports it: 0..=31, 99 = unknown) and
    /// stays so.
    Signal { rssi: u8 },
    /// The network releases the PDP context now (`+PDP: DEACT`; a `AT+CIPSEND` that follows
    /// is answered with `+PDP: DEACT` too). Connections are lost.
    PdpDeact,
    /// The server closes the connection on modem link `link` (all links when absent): the
    /// modem reports `<n>, CLOSED` one latency later.
    PeerClose {
        #[serde(default)]
        link: Option<LinkId>,
    },
    /// The server resets the connection on `link` (all links when absent). The modem reports
    /// it as `<n>, CLOSED` as well.
    PeerReset {
        #[serde(default)]
        link: Option<LinkId>,
    },
    /// For `duration`, nothing flows in either direction, yet connections look up. What
    /// departs is lost: TCP data gets through at the first retransmission after it ends
    /// (RTO doubling, RFC 6298), unless the sender gives up first (the modem then says
    /// `CLOSED`); UDP datagrams are lost; new connections wait for a SYN retransmission or
    /// time out.
    Blackhole {
        #[serde(with = "units::HumanDuration")]
        duration: Duration,
    },
    /// `extra` one-way latency is added to everything that departs during `duration`.
    LatencySpike {
        #[serde(with = "units::HumanDuration")]
        extra: Duration,
        #[serde(with = "units::HumanDuration")]
        duration: Duration,
    },
    /// For `duration`, each UDP datagram (either direction) is lost with probability
    /// `permille` / 1000, instead of the configured loss.
    UdpLoss {
        permille: u16,
        #[serde(with = "units::HumanDuration")]
        duration: Duration,
    },
    /// The next `count` `AT+CIPSEND`s are answered `SEND FAIL`.
    SendFail { count: u32 },
    /// The modem restarts: all its state is lost and it says `RDY` again (state `IP INITIAL`).
    /// The network forgets its PDP context and connections.
    Reboot,
    /// The supply sags: `UNDER-VOLTAGE WARNNING`, then `UNDER-VOLTAGE POWER DOWN`, and the
    /// modem is off until its power key is pressed.
    BrownOut,
    /// The modem stops answering anything on its UART until it is reset (reset line or power
    /// key). Its network state stays as it was.
    Hang,
    /// For `duration`, bytes on the UART are corrupted in `direction`. Rates are per byte in
    /// parts per million (1000 ppm = 0.1 %): a byte is dropped, sent twice, or has one random
    /// bit flipped.
    LineNoise {
        direction: Direction,
        #[serde(with = "units::HumanDuration")]
        duration: Duration,
        #[serde(default)]
        bit_flip_ppm: u32,
        #[serde(default)]
        drop_ppm: u32,
        #[serde(default)]
        duplicate_ppm: u32,
    },
}

impl Fault {
    /// How long the fault lasts, for faults that end by themselves.
    pub fn duration(&self) -> Option<Duration> {
        match *self {
            Fault::RegistrationLost { duration }
            | Fault::RegistrationDenied { duration }
            | Fault::Roaming { duration }
            | Fault::DataServiceLost { duration }
            | Fault::Blackhole { duration }
            | Fault::LatencySpike { duration, .. }
            | Fault::UdpLoss { duration, .. }
            | Fault::LineNoise { duration, .. } => Some(duration),
            _ => None,
        }
    }

    /// The fault as one line of JSON, for logs and traces.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a fault always serializes")
    }
}

/// Which way across the UART.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the host (the firmware) to the modem: commands and payloads.
    ToModem,
    /// From the modem to the host: responses and URCs.
    FromModem,
    Both,
}

impl Direction {
    pub fn includes(self, other: Direction) -> bool {
        self == Direction::Both || self == other
    }
}

/// How often line noise hits a byte, in parts per million of bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoiseRates {
    pub bit_flip_ppm: u32,
    pub drop_ppm: u32,
    pub duplicate_ppm: u32,
}

/// A fault to apply at a virtual time, as a configuration or the command line lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduledFault {
    /// When, in virtual time since the start.
    #[serde(with = "units::HumanDuration")]
    pub at: Duration,
    pub fault: Fault,
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn json_round_trip() {
        let cases = [
            (
                r#"{"kind":"registration_lost","duration":"2m"}"#,
                Fault::RegistrationLost {
                    duration: Duration::from_secs(120),
                },
            ),
            (r#"{"kind":"reboot"}"#, Fault::Reboot),
            (
                r#"{"kind":"peer_close","link":0}"#,
                Fault::PeerClose { link: Some(0) },
            ),
            (
                r#"{"kind":"latency_spike","extra":"2s","duration":"1m"}"#,
                Fault::LatencySpike {
                    extra: Duration::from_secs(2),
                    duration: Duration::from_secs(60),
                },
            ),
            (
                r#"{"kind":"line_noise","direction":"both","duration":"10s","bit_flip_ppm":1000,"drop_ppm":0,"duplicate_ppm":0}"#,
                Fault::LineNoise {
                    direction: Direction::Both,
                    duration: Duration::from_secs(10),
                    bit_flip_ppm: 1000,
                    drop_ppm: 0,
                    duplicate_ppm: 0,
                },
            ),
        ];
        for (json, fault) in cases {
            assert_eq!(serde_json::from_str::<Fault>(json).unwrap(), fault);
            assert_eq!(fault.to_json(), json);
        }
    }

    #[test]
    fn rejects_unknown_fields_and_bad_durations() {
        for (json, message) in [
            (
                r#"{"kind":"blackhole","duration":"30s","extra":1}"#,
                "unknown field `extra`",
            ),
            (r#"{"kind":"blackhole","duration":"30"}"#, "missing unit"),
            (r#"{"kind":"meteor"}"#, "unknown variant `meteor`"),
            (r#"{"kind":"blackhole"}"#, "missing field `duration`"),
        ] {
            let error = serde_json::from_str::<Fault>(json).unwrap_err().to_string();
            assert!(error.contains(message), "{json}: {error}");
        }
    }
}
