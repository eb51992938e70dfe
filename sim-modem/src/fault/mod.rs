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
    Signal {
        /// 0..=31, or 99 (unknown).
        #[serde(deserialize_with = "rssi")]
        rssi: u8,
    },
    /// The network releases the PDP context now (`+PDP: DEACT`; a `AT+CIPSEND` that follows
    /// is answered with `+PDP: DEACT` too). Connections are lost.
    PdpDeact,
    /// The server closes the connection on modem link `link` (all links when absent): the
    /// modem reports `<n>, CLOSED` one latency later.
    PeerClose {
        /// The link (0..=7); every link when absent.
        #[serde(default, deserialize_with = "link_id")]
        #[schemars(range(max = 7))]
        link: Option<LinkId>,
    },
    /// The server resets the connection on `link` (all links when absent). The modem reports
    /// it as `<n>, CLOSED` as well.
    PeerReset {
        /// The link (0..=7); every link when absent.
        #[serde(default, deserialize_with = "link_id")]
        #[schemars(range(max = 7))]
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
        /// Per 1000 datagrams, 0..=1000.
        #[serde(with = "crate::knob::Range::<0, 1000>")]
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
        /// Per million bytes, 0..=1000000.
        #[serde(default, with = "crate::knob::Range::<0, 1_000_000>")]
        bit_flip_ppm: u32,
        /// Per million bytes, 0..=1000000.
        #[serde(default, with = "crate::knob::Range::<0, 1_000_000>")]
        drop_ppm: u32,
        /// Per million bytes, 0..=1000000.
        #[serde(default, with = "crate::knob::Range::<0, 1_000_000>")]
        duplicate_ppm: u32,
    },

    // --- The SIM800's field misbehaviours, each with where it was seen. ---
    /// A send-fail loop: from now on every `AT+CIPSEND` on `link` (every link when absent)
    /// takes its data and answers `SEND FAIL`; nothing reaches the network, yet `AT+CIPSTATUS`
    /// keeps saying `CONNECTED` and data from the peer still arrives. It lasts until the link
    /// is started again (`AT+CIPSTART`, after `AT+CIPCLOSE`, `AT+CIPSHUT` or a restart).
    /// Seen: TinyGSM issue #111 (SIM800: `1, SEND FAIL` to every `AT+CIPSEND=1,<n>` on a link
    /// the modem still reports open, with data waiting to be read).
    SendFailLoop {
        /// The link (0..=7); every link when absent.
        #[serde(default, deserialize_with = "link_id")]
        #[schemars(range(max = 7))]
        link: Option<LinkId>,
    },
    /// The server is gone and nothing says so: its host crashed, or a NAT or firewall on the
    /// way forgot the connection, so no FIN or RST ever reaches the modem. On `link` (every
    /// link when absent) nothing arrives any more, what the modem sends goes nowhere and is
    /// never acknowledged, and `CLOSED` never comes: `AT+CIPSTATUS` keeps saying `CONNECTED`,
    /// quick sends (`AT+CIPQSEND=1`) get `DATA ACCEPT` until the send buffer is full, a slow
    /// send waits for a `SEND OK` that never comes (until the modem's `send_ack_max`, 645 s).
    /// Seen: TinyGSM issue #648 (SIM800L: `+CIPSTATUS: 0,0,"TCP",...,"CONNECTED"` and
    /// nothing to read for more than 30 hours, until the host gave up by itself).
    PeerVanish {
        /// The link (0..=7); every link when absent.
        #[serde(default, deserialize_with = "link_id")]
        #[schemars(range(max = 7))]
        link: Option<LinkId>,
    },
    /// The network drops the PDP context and the modem never notices: no `+PDP: DEACT`, no
    /// `CLOSED`; `AT+CIPSTATUS` keeps saying `CONNECTED` and `AT+CGATT?` 1, sends go nowhere
    /// and are never acknowledged, a new `AT+CIPSTART` fails, until the host shuts the bearer
    /// (`AT+CIPSHUT`) and activates it again. Seen: TinyGSM issue #315 (SIM800L:
    /// `isGprsConnected()` stayed true after the operator had cut data).
    SilentPdpLoss,
    /// After `uptime` of work the modem's firmware stops answering: nothing on its UART, no
    /// URC, until its power is cut (PWRKEY held to switch it off, then on). Counted from each
    /// power-up, so it comes back `uptime` after every restart. Seen: TinyGSM issues #197 (a
    /// SIM808 "after 12 hours working fine" froze and needed a hard reset), #145 (stops
    /// responding after 4-5 hours) and #265. Whether the RESET line brings such a modem back
    /// is UNCONFIRMED (the reports cut the power): `reset_line_recovers`.
    HangAfter {
        /// Time since power-up before the hang; more than 0s.
        #[serde(with = "crate::knob::NonZeroDuration")]
        uptime: Duration,
        /// Whether pulsing the RESET line also brings it back (default: only a power cycle).
        #[serde(default)]
        reset_line_recovers: bool,
    },
    /// The modem restarts (as `reboot`), and the `RDY` of that boot is `garbled` (its
    /// letters arrive as bytes with the top bit set, as bytes sampled at the wrong rate often
    /// do) or `missing`; the URCs after it come as usual. Seen: TinyGSM issue #60 (garbage
    /// bytes after `+CPIN: NOT READY` on `AT+CFUN=1,1`) and #284 (an unreadable byte where
    /// the restart's first output should be). The exact bytes are UNCONFIRMED.
    RebootBadRdy { rdy: BadRdy },
    /// A burst of UART line errors (framing, overrun) on the way to the host: `count` errors
    /// spread evenly over `duration`, the first at once. The host's UART reports each as an
    /// error from its read; the byte crossing at that moment, if any, is lost. Seen on the
    /// host side: embassy-rp's `BufferedUart` returns `Overrun` / `Break` / `Parity` /
    /// `Framing` from `read` (review of 2026-12-06, F6: common while a modem powers up);
    /// TinyGSM issue #21 (an error loop on a noisy 9600-baud line).
    UartErrors {
        /// How long the burst lasts; more than 0s.
        #[serde(with = "crate::knob::NonZeroDuration")]
        duration: Duration,
        /// How many errors, 1..=100000.
        #[serde(with = "crate::knob::Range::<1, 100_000>")]
        count: u32,
    },
    /// From now on `AT+CFUN=1` resets the SIM: its `OK` is followed by `+CPIN: NOT READY`,
    /// then the SIM is read again (`+CPIN: READY`, `Call Ready`, `SMS Ready`) and the modem
    /// registers anew. Seen: TinyGSM issue #60 (`+CPIN: NOT READY` right after the `OK` to
    /// `AT+CFUN=1,1`) and #381 (after `AT+CFUN=0`); after a plain `AT+CFUN=1` it is
    /// UNCONFIRMED.
    CfunSimReset,
    /// The battery now reads `percent` and `millivolts` (and `charging`): what `AT+CBC`
    /// reports from now on (`+CBC: <charging>,<percent>,<millivolts>`), e.g. a battery that
    /// drains. It changes nothing else: the supply's alarms are `brown_out`'s.
    Battery {
        /// 1..=100.
        #[serde(with = "crate::knob::Range::<1, 100>")]
        percent: u8,
        /// 1..=10000.
        #[serde(with = "crate::knob::Range::<1, 10_000>")]
        millivolts: u16,
        #[serde(default)]
        charging: bool,
    },
}

/// What becomes of the `RDY` in [`Fault::RebootBadRdy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BadRdy {
    /// `RDY`'s letters arrive with the top bit set (`\xd2\xc4\xd9`).
    Garbled,
    /// No `RDY` at all.
    Missing,
}

/// Link ids go up to 7 (the Air202 has 8 links; the SIM800 6).
const MAX_LINK: LinkId = 7;

fn link_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<LinkId>, D::Error> {
    use serde::de::Error;
    match Option::<LinkId>::deserialize(d)? {
        Some(link) if link > MAX_LINK => Err(D::Error::custom(format_args!(
            "link {link} does not exist: link ids are 0..={MAX_LINK}"
        ))),
        link => Ok(link),
    }
}

fn rssi<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
    use serde::de::Error;
    match u8::deserialize(d)? {
        rssi @ (0..=31 | 99) => Ok(rssi),
        rssi => Err(D::Error::custom(format_args!(
            "rssi {rssi}: +CSQ reports 0..=31, or 99 for unknown"
        ))),
    }
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
            | Fault::LineNoise { duration, .. }
            | Fault::UartErrors { duration, .. } => Some(duration),
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
