//! Modem personalities: what a simulated modem says about itself, how big its buffers are and
//! how long it takes, by name (`sim800`, `air202`).
//!
//! Every knob carries its unit. In scenario files (serde) durations are written as in every
//! other file, `250ms`, `10s`, `5m`; a missing key takes the SIM800 value, so a file can
//! override only what it cares about.
//!
//! The reference is `shared/reference/sim800-tcpip-at.md`. Values marked UNCONFIRMED have no
//! source: they are plausible choices, kept here so that a scenario can change them.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::net::TcpSettings;

/// One modem personality. [`Profile::by_name`] gives the built-in ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Profile {
    /// The profile's name, as [`Profile::by_name`] knows it.
    pub name: String,

    // --- Identification. All UNCONFIRMED (reference §6: no real strings were found) except
    // the Luat IMEI example. ---
    /// `AT+CGMI`: manufacturer line.
    pub manufacturer: String,
    /// `AT+CGMM`: model line.
    pub model: String,
    /// `ATI`: product identification line.
    pub info: String,
    /// `AT+CGMR`: firmware revision line.
    pub revision: String,
    /// `AT+CGSN` / `AT+GSN`: IMEI, 15 digits.
    pub imei: String,
    /// `AT+CCID`: the SIM's ICCID, 20 digits.
    pub iccid: String,
    /// `AT+CIMI`: the SIM's IMSI, 15 digits.
    pub imsi: String,
    /// Mobile country and network code of the serving cell, for `AT+CENG?`.
    pub mcc: u16,
    pub mnc: u16,
    /// The Luat AT extensions: `AT+VER` (answering `version`), `AT+CIICRMODE`,
    /// `AT+TCPUSERPARAM`, `AT+ATWMFT`, `AT+WISN?`, `AT+MUID?`. A SIMCom SIM800 answers them
    /// `ERROR`.
    pub luat_extensions: bool,
    /// `AT+VER`'s line, Luat style (`Luat_V<nnnn>_<chip>`), when `luat_extensions` is on.
    pub version: String,
    /// `AT+WISN?` (Luat): the module's serial number line.
    pub serial: String,
    /// `AT+MUID?` (Luat): the module's unique id, answered `+MUID: "<id>"` (`misc.lua`).
    /// UNCONFIRMED value.
    pub muid: String,

    // --- What housekeeping commands report (issue 13; sources in `modem/housekeeping.rs`).
    /// The operators `AT+COPS=?` and `AT+COPN` list; the one whose numeric name is
    /// `mcc`/`mnc` is the SIM's home network, the one the modem registers on.
    pub operators: Vec<Operator>,
    /// `AT+CNUM`: the SIM's own number; empty: the SIM stores none (`OK` alone).
    /// UNCONFIRMED value.
    pub msisdn: String,
    /// `AT+CBC`: the battery, until a `battery` fault changes it. UNCONFIRMED values.
    pub battery: BatteryReading,
    /// `AT+CMTE?`: the module's temperature, tenths of a degree Celsius. UNCONFIRMED.
    pub temperature_decicelsius: i16,
    /// The time zone the network sends with its time (`AT+CLTS=1`), quarter-hours (`+32`:
    /// UTC+8, China, the home networks' country).
    #[serde(deserialize_with = "time_zone")]
    #[schemars(range(min = -47, max = 48))]
    pub network_time_zone: i8,
    /// `AT+CIPGSMLOC` / `AT+CLBS`: where the network's location service places the cell.
    /// UNCONFIRMED (Shanghai).
    pub location: GsmLocation,

    // --- Hardware and firmware capacities. ---
    /// Multi-connection link ids are `0..link_count`: 6 on SIM800, 8 on Air202 (reference §1.3).
    pub link_count: u8,
    /// Largest `AT+CIPSEND` block, bytes (1460: Luat and attentive cap sends there).
    pub max_send: u16,
    /// With `AT+CIPQSEND=1`: bytes sent but not yet acknowledged by the peer beyond which
    /// `AT+CIPSEND` answers `ERROR` (Luat: 1460 × 7 = 10220; Luat says `ERROR`, the SIM800
    /// manual allows `SEND FAIL` too). The peer's acknowledgements drain it.
    #[serde(with = "crate::knob::Range::<1, 1073741824>")]
    pub quick_send_buffer: usize,
    /// Per-link receive buffer, bytes: what the device's TCP window advertises. In manual
    /// receive mode (`AT+CIPRXGET=1`) bytes wait in it until the host reads them; when it is
    /// full the window is zero and the peer stops sending (nothing is dropped).
    /// UNCONFIRMED (TinyGSM issue #111 saw 2871 bytes waiting, so it is at least that).
    #[serde(with = "crate::knob::Range::<1, 1073741824>")]
    pub rx_buffer: usize,
    /// Largest block in one `+RECEIVE` / `+IPD` / raw delivery, bytes (1..=65507); bigger
    /// arrivals are split (a SIM800 delivers one TCP segment at a time). It also decides what
    /// becomes of a UDP datagram larger than 1460 bytes, which no source describes
    /// (UNCONFIRMED): the SIM800 caps a send and an `AT+CIPRXGET` read at 1460 (manual), Luat
    /// takes each `+RECEIVE` of a UDP socket for one datagram (LuaTask `socket.lua`), and a
    /// 1500-byte GPRS MTU lets datagrams of up to 1472 bytes arrive unfragmented. 1460 splits
    /// such a datagram in two `+RECEIVE`s; 1472 delivers it whole, in one `+RECEIVE` longer
    /// than 1460 (`scenarios/faults/udp_oversize.json`).
    #[serde(with = "crate::knob::Range::<1, 65_507>")]
    pub rx_chunk: usize,
    /// The maximum number of bytes one `AT+CIPRXGET=2/3` may ask for.
    pub max_rx_read: u16,
    /// The UART's receive buffer, bytes (1..=16 MiB): host bytes that arrived and are not
    /// read yet, which they are not while a command executes (the modem reads them after
    /// it). What arrives when it is full is lost (`uart_overflow` in the trace). UNCONFIRMED:
    /// SIMCom publishes no size; the only related figure is the 556-character command line
    /// (SIM800 AT manual V1.09 §1.4.4).
    #[serde(with = "crate::knob::Range::<1, 16_777_216>")]
    pub input_buffer: usize,
    /// The UART's transmit buffer, bytes (1..=16 MiB): what the modem wrote that is not on
    /// the wire yet (bytes take 10 bit times each at the baud rate). A response that does not
    /// fit is lost whole (`uart_overflow` in the trace), as without flow control. UNCONFIRMED
    /// size.
    #[serde(with = "crate::knob::Range::<1, 16_777_216>")]
    pub output_buffer: usize,

    // --- Behaviour switches. ---
    /// `AT+IPR` after power-up: the baud rate (one of [`BAUD_RATES`]), 0 for auto-bauding.
    /// Bytes take 10 bit times each on the UART at this rate (115,200 when auto-bauding).
    /// With auto-bauding a restarted modem says nothing (no `RDY`, `+CFUN: 1`, `+CPIN:
    /// READY` ...) and reads nothing until the host's first `AT` or `at` (SIM800 AT manual
    /// V1.09 §2.2.41.1), which stalls Luat: both profiles assume a board whose rate was set
    /// and saved once (`AT+IPR=115200;&W`).
    #[serde(deserialize_with = "ipr")]
    pub ipr: u32,
    /// Whether boot prints `+CFUN: 1` after `RDY` (newer SIM800 firmware). UNCONFIRMED.
    pub cfun_urc: bool,
    /// Whether a SIM is in the holder. Without one: `+CPIN: NOT INSERTED`, no registration.
    pub sim_inserted: bool,
    /// When the PDP context is lost, whether each open link also reports `<n>, CLOSED`
    /// before `+PDP: DEACT`. UNCONFIRMED: Luat treats `+PDP: DEACT` alone as closing every
    /// socket; TinyGSM only notices `CLOSED`.
    pub closed_on_pdp_deact: bool,
    /// The APN used when `AT+CIPSTART` in single mode brings the bearer up by itself from
    /// IP INITIAL, or for a bare `AT+CSTT`.
    pub default_apn: String,
    /// The real-time clock after power-up (it has no backup battery), Unix seconds, UTC.
    /// UNCONFIRMED: SIM800 logs show `+CCLK: "04/01/01,00:00:..+00"`, i.e. 2004-01-01.
    pub rtc_at_boot: u64,

    // --- Timing, from power-up. ---
    /// Power-up (power key or reset release) to `RDY`; before it the UART ignores input.
    #[serde(with = "units::HumanDuration")]
    pub rdy_after: Duration,
    /// Power-up to `+CPIN: READY` (the SIM is read). Also: `AT+CFUN=1` from `AT+CFUN=0`
    /// to `+CPIN: READY` is `sim_ready_after - rdy_after`.
    #[serde(with = "units::HumanDuration")]
    pub sim_ready_after: Duration,
    /// Power-up to `Call Ready`.
    #[serde(with = "units::HumanDuration")]
    pub call_ready_after: Duration,
    /// Power-up to `SMS Ready`.
    #[serde(with = "units::HumanDuration")]
    pub sms_ready_after: Duration,

    // --- Timing: pins and power. ---
    /// How long PWRKEY must be held to switch the modem on (SIM800: ≥ 1 s).
    #[serde(with = "units::HumanDuration")]
    pub power_key_on: Duration,
    /// How long PWRKEY must be held to switch the modem off (SIM800: ≥ 1 s; UNCONFIRMED).
    #[serde(with = "units::HumanDuration")]
    pub power_key_off: Duration,
    /// `NORMAL POWER DOWN` to off, ms: the modem ignores the host meanwhile. UNCONFIRMED.
    #[serde(with = "units::HumanDuration")]
    pub power_down: Duration,
    /// `UNDER-VOLTAGE WARNNING` to `UNDER-VOLTAGE POWER DOWN` in a brown-out. UNCONFIRMED.
    #[serde(with = "units::HumanDuration")]
    pub brown_out: Duration,
    /// `AT+CFUN=1,1`'s `OK` to the reboot. UNCONFIRMED.
    #[serde(with = "units::HumanDuration")]
    pub reset: Duration,

    // --- Timing: commands. ---
    /// A simple command's line end to its final result.
    #[serde(with = "units::HumanDuration")]
    pub command: Duration,
    /// `AT+CFUN=<n>` to its `OK`. UNCONFIRMED (TinyGSM allows 10 s).
    #[serde(with = "units::HumanDuration")]
    pub cfun: Duration,
    /// The least time `AT+CIICR` takes, even when the network answers at once.
    #[serde(with = "units::HumanDuration")]
    pub ciicr: Duration,
    /// PDP activation (`AT+CIICR`, `AT+CGACT`, `AT+SAPBR=1`) gives up after this when the
    /// network never answers (85 s: attentive, citing the manual).
    #[serde(with = "units::HumanDuration")]
    pub ciicr_max: Duration,
    /// `AT+CIPSTART` in multi mode: `CONNECT FAIL` after this without an answer (75 s,
    /// manual p.223).
    #[serde(with = "units::HumanDuration")]
    pub cipstart_max_multi: Duration,
    /// `AT+CIPSTART` in single mode (160 s from IP INITIAL, manual p.223; used for every
    /// single-mode start).
    #[serde(with = "units::HumanDuration")]
    pub cipstart_max_single: Duration,
    /// `AT+CIPSHUT` to `SHUT OK`. UNCONFIRMED (the manual's 65 s is a maximum).
    #[serde(with = "units::HumanDuration")]
    pub cipshut: Duration,
    /// With `AT+CIPQSEND=0`: without the peer's acknowledgement the link is reported
    /// `CLOSED` after this (645 s, manual), as the send's answer.
    #[serde(with = "crate::knob::NonZeroDuration")]
    pub send_ack_max: Duration,
    /// Registration: usable coverage (or `AT+CFUN=1`, or the SIM becoming ready) to
    /// `+CREG: 1`.
    #[serde(with = "units::HumanDuration")]
    pub registration: Duration,
    /// Registration to packet-domain attach (`+CGATT: 1`).
    #[serde(with = "units::HumanDuration")]
    pub attach: Duration,
    /// `AT+CNTP`: `+CNTP: 65` (timeout) when the network never answers. UNCONFIRMED.
    #[serde(with = "units::HumanDuration")]
    pub cntp_max: Duration,
    /// `AT+COPS=?`: the network scan before the list. UNCONFIRMED (the manual allows 120 s).
    #[serde(with = "units::HumanDuration")]
    pub cops_scan: Duration,
    /// `AT+CIPGSMLOC` / `AT+CLBS`: the location service's answer time. UNCONFIRMED.
    #[serde(with = "units::HumanDuration")]
    pub location_delay: Duration,
    /// `AT+CSCLK=2`: UART silence before the modem sleeps (5 s: raviyp.com, "SIM900/SIM800
    /// sleep mode AT commands").
    #[serde(with = "crate::knob::NonZeroDuration")]
    pub sleep_idle: Duration,
    /// `AT+CSCLK=1`: DTR low to a listening UART (TinyGSM: "pull the DTR-pin ... LOW for at
    /// least 50ms"); bytes before are lost.
    #[serde(with = "units::HumanDuration")]
    pub dtr_wake: Duration,
    /// Transparent mode: the silence before and after `+++` for it to escape, and the most
    /// between its `+`s (V.250's escape guard time S12, 1 s; the SIM800's own values are
    /// UNCONFIRMED).
    #[serde(with = "crate::knob::NonZeroDuration")]
    pub escape_guard: Duration,

    // --- The device's TCP: the network's TCP model runs the modem's end with these
    // (`network::tcp`, RFC 6298). ---
    /// The retransmission timeout's floor (RFC 6298 §2.4: 1 s). UNCONFIRMED for both modems.
    #[serde(with = "crate::knob::NonZeroDuration")]
    pub tcp_rto_min: Duration,
    /// The retransmission timeout's cap. UNCONFIRMED: 120 s is Linux's `TCP_RTO_MAX` (RFC
    /// 6298 §2.5 allows any cap of at least 60 s). `AT+TCPUSERPARAM`'s 4th parameter sets it
    /// (Luat: 1–16 s).
    #[serde(with = "crate::knob::NonZeroDuration")]
    pub tcp_rto_max: Duration,
    /// Timeouts in a row a connection survives before it is given up. UNCONFIRMED: 12 is
    /// BSD's `TCP_MAXRXTSHIFT`; with the other defaults `tcp_give_up` ends a dead connection
    /// first. `AT+CIPCCFG`'s `<NmRetry>` (3–8) and `AT+TCPUSERPARAM`'s 2nd parameter (Luat:
    /// 0–12) set it for the connections opened afterwards.
    pub tcp_retransmissions: u8,
    /// The longest data waits unacknowledged before the connection is given up (`CLOSED`):
    /// 645 s, the SIM800 manual's `CLOSE` after an unacknowledged send.
    #[serde(with = "crate::knob::NonZeroDuration")]
    pub tcp_give_up: Duration,

    // --- The PDP context through a lost cell. ---
    /// A loss of the cell (`+CREG: 2`) shorter than this keeps the PDP context: data stalls,
    /// then flows again, and no `+PDP: DEACT` is said. 0 releases it with the cell.
    /// UNCONFIRMED, no SIM800 source: the network side keeps a context far longer (TS 23.060
    /// §6.2: the mobile reachable timer runs 4 min beyond the periodic routing area update
    /// timer, 54 min by default on common SGSNs, before an implicit detach), so a shorter
    /// hold is the modem's own; 60 s keeps the short losses a device meets in a lift or a
    /// tunnel and drops the long ones.
    #[serde(with = "units::HumanDuration")]
    pub pdp_hold: Duration,
    /// When the cell stays lost beyond `pdp_hold`, the context is gone, and the modem says so
    /// (`+PDP: DEACT`, state `PDP DEACT`) when the cell returns, or this much after the hold
    /// ran out, whichever comes first. UNCONFIRMED.
    #[serde(with = "units::HumanDuration")]
    pub pdp_deact_delay: Duration,
}

/// An operator as `AT+COPS` names it: long and short alphanumeric, numeric (MCC and MNC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Operator {
    pub long: String,
    pub short: String,
    pub numeric: String,
}

impl Operator {
    /// The name in `AT+COPS`'s `<format>`: 0 long, 1 short, 2 numeric.
    pub fn name(&self, format: u8) -> &str {
        match format {
            0 => &self.long,
            1 => &self.short,
            _ => &self.numeric,
        }
    }
}

/// What `AT+CBC` reports: `+CBC: <charge>,<percent>,<millivolts>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatteryReading {
    /// 0 not charging, 1 charging, 2 charging finished.
    #[serde(with = "crate::knob::Range::<0, 2>")]
    pub charge: u8,
    /// 1..=100 %.
    #[serde(with = "crate::knob::Range::<1, 100>")]
    pub percent: u8,
    /// The supply voltage, millivolts (the SIM800 runs on 3400..=4400 mV).
    #[serde(with = "crate::knob::Range::<1, 10_000>")]
    pub millivolts: u16,
}

/// A position, in millionths of a degree (east and north positive), and its accuracy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GsmLocation {
    pub longitude_microdegrees: i32,
    pub latitude_microdegrees: i32,
    /// `AT+CLBS`'s `<acc>`, metres.
    pub accuracy_m: u32,
}

/// The operators both profiles know (China's two GSM networks).
fn chinese_operators() -> Vec<Operator> {
    let op = |long: &str, short: &str, numeric: &str| Operator {
        long: long.into(),
        short: short.into(),
        numeric: numeric.into(),
    };
    vec![
        op("CHINA MOBILE", "CMCC", "46000"),
        op("CHN-UNICOM", "UNICOM", "46001"),
    ]
}

/// The rates `AT+IPR` takes, bits per second (0: auto-bauding).
pub const BAUD_RATES: [u32; 12] = [
    0, 1200, 2400, 4800, 9600, 19_200, 38_400, 57_600, 115_200, 230_400, 460_800, 921_600,
];

fn ipr<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let rate = u32::deserialize(d)?;
    if !BAUD_RATES.contains(&rate) {
        return Err(serde::de::Error::custom(format_args!(
            "ipr {rate}: not a rate AT+IPR takes ({BAUD_RATES:?}; 0 is auto-bauding)"
        )));
    }
    Ok(rate)
}

fn time_zone<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i8, D::Error> {
    let tz = i8::deserialize(d)?;
    if !(-47..=48).contains(&tz) {
        return Err(serde::de::Error::custom(format_args!(
            "network_time_zone {tz}: quarter-hours from -47 to 48 (+32 is UTC+8)"
        )));
    }
    Ok(tz)
}

impl Profile {
    /// The built-in profiles' names.
    pub const NAMES: &'static [&'static str] = &["sim800", "air202"];

    /// A built-in profile: `sim800` (SIMCom SIM800, links 0–5) or `air202` (Luat Air202 AT
    /// firmware, links 0–7, Luat extensions).
    pub fn by_name(name: &str) -> Option<Profile> {
        match name {
            "sim800" => Some(Profile::sim800()),
            "air202" => Some(Profile::air202()),
            _ => None,
        }
    }

    /// A SIMCom SIM800 whose baud rate was fixed once.
    pub fn sim800() -> Profile {
        Profile {
            name: "sim800".into(),
            manufacturer: "SIMCOM_Ltd".into(),
            model: "SIMCOM_SIM800".into(),
            info: "SIM800 R14.18".into(),
            revision: "Revision:1418B04SIM800C24".into(),
            imei: "866104025123456".into(),
            iccid: "89860012345678901234".into(),
            imsi: "460001234567890".into(),
            mcc: 460,
            mnc: 0,
            luat_extensions: false,
            version: String::new(),
            serial: String::new(),
            muid: String::new(),
            operators: chinese_operators(),
            msisdn: String::new(),
            battery: BatteryReading {
                charge: 0,
                percent: 85,
                millivolts: 4100,
            },
            temperature_decicelsius: 270,
            network_time_zone: 32,
            location: GsmLocation {
                longitude_microdegrees: 121_473_700,
                latitude_microdegrees: 31_230_400,
                accuracy_m: 550,
            },
            link_count: 6,
            max_send: 1460,
            quick_send_buffer: 10220,
            rx_buffer: 10220,
            rx_chunk: 1460,
            max_rx_read: 1460,
            input_buffer: 4096,
            output_buffer: 64 * 1024,
            ipr: 115_200,
            cfun_urc: true,
            sim_inserted: true,
            closed_on_pdp_deact: true,
            default_apn: "CMNET".into(),
            rtc_at_boot: 1_072_915_200, // 2004-01-01 00:00:00 UTC
            rdy_after: ms(3000),
            sim_ready_after: ms(3500),
            call_ready_after: ms(7000),
            sms_ready_after: ms(7500),
            power_key_on: ms(1000),
            power_key_off: ms(1500),
            power_down: ms(100),
            brown_out: ms(2000),
            reset: ms(200),
            command: ms(10),
            cfun: ms(500),
            ciicr: ms(1500),
            ciicr_max: ms(85_000),
            cipstart_max_multi: ms(75_000),
            cipstart_max_single: ms(160_000),
            cipshut: ms(300),
            send_ack_max: ms(645_000),
            registration: ms(4000),
            attach: ms(1000),
            cntp_max: ms(5000),
            cops_scan: ms(3000),
            location_delay: ms(1500),
            sleep_idle: ms(5000),
            dtr_wake: ms(50),
            escape_guard: ms(1000),
            tcp_rto_min: ms(1000),
            tcp_rto_max: ms(120_000),
            tcp_retransmissions: 12,
            tcp_give_up: ms(645_000),
            pdp_hold: ms(60_000),
            pdp_deact_delay: ms(60_000),
        }
    }

    /// A Luat Air202 (RDA8955) with its AT firmware. Identification strings UNCONFIRMED; the
    /// `AT+VER` form follows what Luat's `misc.lua` parses (`Luat_V(%d+)_`).
    pub fn air202() -> Profile {
        Profile {
            name: "air202".into(),
            manufacturer: "AirM2M".into(),
            model: "Air202".into(),
            info: "AirM2M_Air202".into(),
            revision: "Luat_V0032_8955".into(),
            imei: "862991527986589".into(), // the example in Luat's ril.lua
            iccid: "89860117810000000000".into(),
            imsi: "460011234567890".into(),
            mcc: 460,
            mnc: 1,
            luat_extensions: true,
            version: "Luat_V0032_8955".into(),
            serial: "A1B2C3D4E5F6A7B8C9D0".into(),
            muid: "0x3901b2c3d4e5f6a7".into(),
            link_count: 8,
            cfun_urc: false,
            default_apn: "UNINET".into(),
            rdy_after: ms(2500),
            sim_ready_after: ms(3000),
            call_ready_after: ms(6000),
            sms_ready_after: ms(6500),
            registration: ms(5000),
            ..Profile::sim800()
        }
    }
}

impl Profile {
    /// The device's TCP settings this profile starts with.
    pub fn tcp_settings(&self) -> TcpSettings {
        TcpSettings {
            rto_min: self.tcp_rto_min,
            rto_max: self.tcp_rto_max,
            retransmissions: self.tcp_retransmissions,
            give_up: self.tcp_give_up,
            receive_window: u32::try_from(self.rx_buffer).unwrap_or(u32::MAX),
        }
    }
}

impl Default for Profile {
    fn default() -> Self {
        Profile::sim800()
    }
}

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_gives_its_profile() {
        for name in Profile::NAMES {
            assert_eq!(
                Profile::by_name(name).map(|p| p.name),
                Some(name.to_string())
            );
        }
        assert_eq!(Profile::by_name("sim900"), None);
    }

    /// Knobs a model cannot run with are refused, saying what is wanted.
    #[test]
    fn refuses_bad_knobs() {
        let cases = [
            (
                r#"{"tcp_rto_min": "0s"}"#,
                "expected a duration of more than 0s",
            ),
            (
                r#"{"tcp_rto_max": "0ms"}"#,
                "expected a duration of more than 0s",
            ),
            (
                r#"{"tcp_give_up": "0s"}"#,
                "expected a duration of more than 0s",
            ),
            (
                r#"{"send_ack_max": "0s"}"#,
                "expected a duration of more than 0s",
            ),
            (
                r#"{"tcp_retransmissions": -1}"#,
                "invalid value: integer `-1`",
            ),
            (
                r#"{"tcp_retransmissions": 256}"#,
                "invalid value: integer `256`",
            ),
            (r#"{"pdp_hold": "-5s"}"#, "invalid duration"),
            (r#"{"pdp_deact_delay": "soon"}"#, "invalid duration"),
            (
                r#"{"rx_buffer": 0}"#,
                "expected a whole number from 1 to 1073741824",
            ),
            (
                r#"{"rx_buffer": 2147483648}"#,
                "expected a whole number from 1 to 1073741824",
            ),
            (
                r#"{"quick_send_buffer": 0}"#,
                "expected a whole number from 1 to 1073741824",
            ),
            (
                r#"{"rx_chunk": 0}"#,
                "expected a whole number from 1 to 65507",
            ),
        ];
        for (json, message) in cases {
            let error = serde_json::from_str::<Profile>(json)
                .unwrap_err()
                .to_string();
            assert!(error.contains(message), "{json}: {error}");
        }
        // Zero is a hold: the context goes with the cell.
        let p: Profile = serde_json::from_str(r#"{"pdp_hold": "0s"}"#).unwrap();
        assert_eq!(p.pdp_hold, Duration::ZERO);
    }

    #[test]
    fn scenario_files_override_single_knobs() {
        let p: Profile = serde_json::from_str(r#"{"cipstart_max_multi": "5s"}"#).unwrap();
        assert_eq!(p.cipstart_max_multi, ms(5000));
        assert_eq!(p.link_count, 6);
        let text = serde_json::to_string(&Profile::air202()).unwrap();
        assert_eq!(
            serde_json::from_str::<Profile>(&text).unwrap(),
            Profile::air202()
        );
    }
}
