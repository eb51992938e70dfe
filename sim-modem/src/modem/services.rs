//! The network services a SIM800 offers besides its sockets: a DNS lookup (`AT+CDNSGIP`) and
//! the location of the serving cell (`AT+CIPGSMLOC`, `AT+CLBS`).
//!
//! - `AT+CDNSGIP="<domain>"` needs an active PDP context (`ERROR` without one); it answers
//!   `OK`, then, when the network's DNS answers, `+CDNSGIP: 1,"<domain>","<ip>"` or
//!   `+CDNSGIP: 0,8` (8: "DNS common error"). Sources: SIM800 AT manual `AT+CDNSGIP`; Ircama's
//!   `sim800l` reads `\+CDNSGIP:\s*1,"([^"]+)"(?:,"([^"]+)")?` and `\+CDNSGIP:\s*0,(\d+)`.
//!   One lookup at a time (a second answers `ERROR`: UNCONFIRMED).
//! - `AT+CIPGSMLOC=<1|2>,<cid>` needs the bearer `AT+SAPBR=1,<cid>` opened; after the
//!   profile's `location_delay` it answers `+CIPGSMLOC: 0,<longitude>,<latitude>,<date>,<time>`
//!   (type 1) or `+CIPGSMLOC: 0,<date>,<time>` (type 2), longitude first, the date
//!   `yyyy/MM/dd` and the time `hh:mm:ss` in UTC, then `OK`; without the bearer
//!   `+CIPGSMLOC: 601` (network error) and `OK`. Sources: SIM800 AT manual `AT+CIPGSMLOC`;
//!   Adafruit FONA `getGSMLoc` (`+CIPGSMLOC: 0,-74.007729,40.730160,2015/10/15,19:24:55`, and
//!   its PR #41: "The Sim80X returns longitude before latitude").
//! - `AT+CLBS=<1|3|4>,<cid>` likewise: `+CLBS: 0,<longitude>,<latitude>,<accuracy>` (1), with
//!   `,<yy/MM/dd>,<hh:mm:ss>` after it (4), `+CLBS: 0,<times>` (3: how often it was asked);
//!   without the bearer `+CLBS: 3` (network error), then `OK`. Sources: SIM800 Series LBS
//!   application note; TinyGSM `TinyGsmGSMLocation.tpp` (`+CLBS: <code>`, an `OK` after an
//!   error, the date read as `y/M/d,h:m:s`; it reads latitude first, its issue #792 says the
//!   modem sends longitude first). The two-digit year is UNCONFIRMED.
//!
//! The location is the profile's; the time is the network's clock (the modem's own clock
//! when the network has none).

use std::time::Duration;

use protocol::command::Command;
use protocol::response::Response;
use protocol::types::DateTime;

use super::line::LineExec;
use super::outcome::{cme, Failure, Outcome, PdpUser};
use super::radio::Pdp;
use super::Modem;
use crate::net::NetRequest;

/// The services' state; lost with power.
#[derive(Debug, Default)]
pub(super) struct Services {
    /// The domain `AT+CDNSGIP` waits for.
    pub dns_pending: Option<String>,
    /// `AT+CLBS=3`: how often the location was asked.
    pub lbs_times: u32,
}

impl Modem {
    /// Runs the command if it is one of this file's; `None` otherwise.
    pub(super) fn services(
        &mut self,
        now: Duration,
        exec: &mut LineExec,
        command: Command<'_>,
    ) -> Option<Outcome> {
        Some(match command {
            Command::Cdnsgip(domain) => self.cdnsgip(domain),
            Command::Cipgsmloc { kind, cid } => self.cipgsmloc(now, exec, kind, cid),
            Command::Clbs { kind, cid } => self.clbs(now, exec, kind, cid),
            _ => return None,
        })
    }

    fn cdnsgip(&mut self, domain: &str) -> Outcome {
        let active = matches!(self.session.radio.pdp, Pdp::Active(_));
        if !active || self.session.services.dns_pending.is_some() || domain.is_empty() {
            return Outcome::Fail(Failure::Error);
        }
        self.session.services.dns_pending = Some(domain.into());
        self.request(NetRequest::Resolve {
            name: domain.into(),
        });
        self.ok()
    }

    /// The network's DNS answered.
    pub(super) fn on_resolved(&mut self, name: &str, ip: Option<[u8; 4]>) {
        if self.session.services.dns_pending.as_deref() != Some(name) {
            return;
        }
        self.session.services.dns_pending = None;
        let params = match ip {
            Some([a, b, c, d]) => format!("1,\"{name}\",\"{a}.{b}.{c}.{d}\""),
            None => "0,8".to_string(),
        };
        self.urc(&Response::Info {
            name: "CDNSGIP",
            params: &params,
        });
    }

    /// Whether the bearer `cid` is open, as the location service needs.
    fn bearer_open(&self, cid: u8) -> bool {
        cid == 1
            && self.holds_pdp(PdpUser::Bearer)
            && matches!(self.session.radio.pdp, Pdp::Active(_))
    }

    /// The time the location service gives: the network's, UTC.
    fn service_time(&self, now: Duration) -> DateTime {
        match self.network_clock {
            Some(at_zero) => DateTime::from_unix(at_zero + now.as_secs(), 0),
            None => self.session.rtc.read(now),
        }
    }

    /// `<longitude>,<latitude>`, six decimals.
    fn position(&self) -> String {
        let l = self.profile.location;
        format!(
            "{},{}",
            degrees(l.longitude_microdegrees),
            degrees(l.latitude_microdegrees)
        )
    }

    fn cipgsmloc(&mut self, now: Duration, exec: &mut LineExec, kind: u8, cid: u8) -> Outcome {
        if !matches!(kind, 1 | 2) {
            return Outcome::Fail(Failure::Cme(cme::BAD_PARAMETERS));
        }
        let params = if self.bearer_open(cid) {
            let t = self.service_time(now + self.profile.location_delay);
            let when = format!(
                "{}/{:02}/{:02},{:02}:{:02}:{:02}",
                2000 + u32::from(t.year),
                t.month,
                t.day,
                t.hour,
                t.minute,
                t.second
            );
            match kind {
                1 => format!("0,{},{when}", self.position()),
                _ => format!("0,{when}"),
            }
        } else {
            "601".to_string()
        };
        self.located(exec, "CIPGSMLOC", &params)
    }

    fn clbs(&mut self, now: Duration, exec: &mut LineExec, kind: u8, cid: u8) -> Outcome {
        if !matches!(kind, 1 | 3 | 4) {
            return Outcome::Fail(Failure::Cme(cme::BAD_PARAMETERS));
        }
        let params = if !self.bearer_open(cid) {
            "3".to_string()
        } else if kind == 3 {
            format!("0,{}", self.session.services.lbs_times)
        } else {
            self.session.services.lbs_times += 1;
            let position = format!("0,{},{}", self.position(), self.profile.location.accuracy_m);
            match kind {
                1 => position,
                _ => {
                    let t = self.service_time(now + self.profile.location_delay);
                    format!(
                        "{position},{:02}/{:02}/{:02},{:02}:{:02}:{:02}",
                        t.year, t.month, t.day, t.hour, t.minute, t.second
                    )
                }
            }
        };
        self.located(exec, "CLBS", &params)
    }

    /// The location service's answer line and `OK`, after its time.
    fn located(&mut self, exec: &mut LineExec, name: &str, params: &str) -> Outcome {
        exec.line(&Response::Info { name, params });
        Outcome::Done {
            result: Some(Response::Ok),
            takes: self.profile.location_delay,
        }
    }
}

/// Millionths of a degree as degrees with six decimals.
fn degrees(micro: i32) -> String {
    let sign = if micro < 0 { "-" } else { "" };
    let abs = micro.unsigned_abs();
    format!("{sign}{}.{:06}", abs / 1_000_000, abs % 1_000_000)
}
