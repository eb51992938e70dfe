//! The lab's phone: the other end of the device's SMS.
//!
//! Every SMS the device sends reaches it (whatever number the device wrote: the lab is the
//! only phone on the simulated network) and is recorded, decoded ([`Sms`]); it sends SMS to
//! the device from its number ([`SmsConfig::number`]), which the network's service centre
//! stamps and delivers.

use std::collections::VecDeque;
use std::time::Duration;

use protocol::pdu::{gsm7, Alphabet, Submit};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The lab's phone. Every field has a default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SmsConfig {
    /// The number the lab's messages come from (a fictitious one, 555-01xx).
    pub number: String,
}

impl Default for SmsConfig {
    fn default() -> Self {
        SmsConfig {
            number: "+15550100".into(),
        }
    }
}

/// Which way an SMS went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsDirection {
    /// The device sent it to the lab.
    FromDevice,
    /// The lab sent it to the device (handed to the service centre).
    ToDevice,
}

/// An SMS the lab got or sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sms {
    pub at: Duration,
    pub direction: SmsDirection,
    /// The other party: the number the device wrote, or the lab's own.
    pub number: String,
    pub text: String,
    /// The alphabet the device chose (`None` for the lab's own: the network chooses).
    pub alphabet: Option<Alphabet>,
}

/// The lab's phone: its log, and what waits for the service centre.
#[derive(Debug, Clone, Default)]
pub(super) struct Phone {
    pub config: SmsConfig,
    pub log: Vec<Sms>,
    outbox: VecDeque<(String, String)>,
}

impl Phone {
    pub(super) fn new(config: SmsConfig) -> Phone {
        Phone {
            config,
            ..Phone::default()
        }
    }

    /// The service centre hands over a message of the device: an SMS-SUBMIT TPDU. One
    /// that does not decode is recorded with its hex as its text.
    pub(super) fn received(&mut self, now: Duration, tpdu: &[u8]) -> &Sms {
        let (number, text, alphabet) = match Submit::decode_tpdu(tpdu) {
            Ok(s) => (
                s.destination.chars().collect(),
                s.user_data.chars().collect(),
                Some(s.user_data.alphabet),
            ),
            Err(e) => (String::new(), format!("undecodable PDU ({e})"), None),
        };
        self.log.push(Sms {
            at: now,
            direction: SmsDirection::FromDevice,
            number,
            text,
            alphabet,
        });
        &self.log[self.log.len() - 1]
    }

    /// The lab sends `text` to the device, if it fits one SMS: 160 characters of the GSM
    /// 7-bit alphabet (extension characters count twice), else 70 UCS2 ones (TS 23.038).
    pub(super) fn send(&mut self, now: Duration, text: &str) -> Result<(), String> {
        let septets: Option<usize> = text
            .chars()
            .map(|c| gsm7::from_char(c).map(gsm7::Septets::count))
            .sum();
        let fits = match septets {
            Some(n) => n <= 160,
            None => text.encode_utf16().count() <= 70,
        };
        if !fits {
            return Err(format!(
                "{} characters do not fit one SMS (160 GSM 7-bit, or 70 UCS2)",
                text.chars().count()
            ));
        }
        let number = self.config.number.clone();
        self.log.push(Sms {
            at: now,
            direction: SmsDirection::ToDevice,
            number: number.clone(),
            text: text.into(),
            alphabet: None,
        });
        self.outbox.push_back((number, text.into()));
        Ok(())
    }

    /// The next message for the service centre: the sender and the text.
    pub(super) fn poll_outgoing(&mut self) -> Option<(String, String)> {
        self.outbox.pop_front()
    }
}
