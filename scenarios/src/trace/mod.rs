//! The replay trace: everything that happened, one [`Record`] per event, written as JSON
//! Lines.
//!
//! # Format
//!
//! One JSON object per line. `"t"` is the virtual time in seconds with exactly six decimals
//! (microseconds), as a string so that it never changes with float formatting: `"12.345678"`.
//! `"ev"` names the event; the other keys depend on it:
//!
//! | `ev` | keys | what |
//! |---|---|---|
//! | `uart` | `dir`, `data` | one run of bytes on the UART (`to_modem` / `from_modem`) |
//! | `at` | `dir`, `line` | one line of that run, split on CR / LF (a payload is a line too) |
//! | `fw` | `report` | a firmware report (its text form): phase, LED, watchdog, outbox depth, sent, received ... |
//! | `pin` | `pin`, `level` | the firmware drove the modem's `power_key` or `reset` line |
//! | `modem` | `event` | the simulated modem's state changed (sim-modem's `ModemEvent`, typed in memory, written in its `Debug` form) |
//! | `net` | `dir`, `event` | a request from the modem to the network (`to_net`) or an event back (`to_modem`) |
//! | `lab_accepted` | `client`, `transport`, `peer` | the lab server accepted a device |
//! | `lab_received` / `lab_sent` | `client`, `data` | bytes the lab server received from / sent to a client |
//! | `lab_closed` | `client`, `reason` | a client's connection ended |
//! | `fault` / `fault_end` | `fault` | a fault was applied / a fault with a duration ended (sim-modem's JSON) |
//! | `noise` | `dir`, `flipped`, `dropped`, `duplicated` | line noise corrupted bytes |
//! | `uart_overflow` | `dir`, `lost` | a UART buffer of the modem was full: bytes from the host (`to_modem`) or for it (`from_modem`) are lost |
//! | `step` | `id`, `action`, `error` | the scenario's timeline did something |
//! | `lab_sms` | `dir`, `number`, `text` | the lab's phone got an SMS from the device (`from_device`) or sent one (`to_device`) |
//! | `client` | `step`, `action`, `got`, `error` | the scripted client (`client.steps[step]`) did a step: `got` the line an `expect` matched; `error` why it failed |
//!
//! Bytes (`data`, `line`) are written one character per byte (Latin-1), so the text is
//! readable, control bytes show as JSON escapes (`\r`, `\u0011`) and nothing is lost.
//! Same scenario, same seed: the same bytes.
//!
//! In memory a `fw` record also holds the report's typed form ([`fw`]): checks and
//! invariants judge that, and the JSON Lines write only the text.

pub mod fw;

use std::fmt::Write as _;
use std::io::{self, Write};
use std::time::Duration;

use serde::{Serialize, Serializer};
use sim_modem::fault::Fault;
use sim_modem::modem::ModemEvent;

pub use fw::{FwReport, Reported};

/// One event at a virtual time.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub at: Duration,
    pub event: Event,
}

/// Bytes, written one character per byte.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bytes(pub Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&latin1(&self.0))
    }
}

/// Bytes as text, one character per byte.
pub fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

/// Which way across the UART.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dir {
    ToModem,
    FromModem,
}

/// Which way between the modem and the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NetDir {
    ToNet,
    ToModem,
}

/// A modem line driven by the firmware.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pin {
    PowerKey,
    Reset,
}

/// What happened. See the module documentation for the keys.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "ev", rename_all = "snake_case")]
pub enum Event {
    Uart {
        dir: Dir,
        data: Bytes,
    },
    At {
        dir: Dir,
        line: Bytes,
    },
    Fw {
        report: Reported,
    },
    Pin {
        pin: Pin,
        level: bool,
    },
    Modem {
        #[serde(serialize_with = "debug")]
        event: ModemEvent,
    },
    Net {
        dir: NetDir,
        event: String,
    },
    LabAccepted {
        client: u32,
        transport: &'static str,
        peer: String,
    },
    LabReceived {
        client: u32,
        data: Bytes,
    },
    LabSent {
        client: u32,
        data: Bytes,
    },
    LabClosed {
        client: u32,
        reason: String,
    },
    Fault {
        fault: Fault,
    },
    FaultEnd {
        fault: Fault,
    },
    Noise {
        dir: Dir,
        flipped: u64,
        dropped: u64,
        duplicated: u64,
    },
    UartOverflow {
        dir: Dir,
        lost: u64,
    },
    Step {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        action: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    LabSms {
        dir: SmsDir,
        number: String,
        text: String,
    },
    Client {
        step: usize,
        action: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        got: Option<Bytes>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
}

/// Which way an SMS went, seen from the lab's phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SmsDir {
    FromDevice,
    ToDevice,
}

/// A value by its `Debug` form: how the trace writes the simulated modem's events
/// (`Registration(Home)`, `PoweredOff(ResetLine)`).
fn debug<T: std::fmt::Debug, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("{value:?}"))
}

/// Virtual time as the trace writes it: seconds with six decimals.
pub fn time(at: Duration) -> String {
    format!("{}.{:06}", at.as_secs(), at.subsec_micros())
}

/// Virtual time as reports show it: `12.345678s`.
pub fn secs(at: Duration) -> String {
    format!("{}s", time(at))
}

impl Record {
    /// The record as one JSON line, without the newline.
    pub fn to_json(&self) -> String {
        let mut line = String::with_capacity(96);
        let _ = write!(line, "{{\"t\":\"{}\",", time(self.at));
        let event = serde_json::to_string(&self.event).expect("events always serialize");
        // The event is an object: splice its fields in after "t".
        line.push_str(&event[1..]);
        line
    }
}

/// Writes records as JSON Lines.
pub fn write_jsonl(records: &[Record], out: &mut impl Write) -> io::Result<()> {
    for record in records {
        out.write_all(record.to_json().as_bytes())?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Records as JSON Lines, in memory.
pub fn to_jsonl(records: &[Record]) -> Vec<u8> {
    let mut out = Vec::with_capacity(records.len() * 80);
    write_jsonl(records, &mut out).expect("writing to memory cannot fail");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_have_fixed_time_and_readable_bytes() {
        let check = |at: Duration, event: Event, json: &str| {
            assert_eq!(Record { at, event }.to_json(), json);
        };
        check(
            Duration::from_micros(12_345_678),
            Event::Uart {
                dir: Dir::ToModem,
                data: Bytes(b"AT\r".to_vec()),
            },
            r#"{"t":"12.345678","ev":"uart","dir":"to_modem","data":"AT\r"}"#,
        );
        check(
            Duration::from_secs(3),
            Event::LabSent {
                client: 1,
                data: Bytes(vec![0x11, 0x22, 0x33, 0xff]),
            },
            "{\"t\":\"3.000000\",\"ev\":\"lab_sent\",\"client\":1,\"data\":\"\\u0011\\\"3\u{ff}\"}",
        );
        check(
            Duration::ZERO,
            Event::Fault {
                fault: Fault::Reboot,
            },
            r#"{"t":"0.000000","ev":"fault","fault":{"kind":"reboot"}}"#,
        );
    }
}
