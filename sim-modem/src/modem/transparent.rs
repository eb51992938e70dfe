//! Transparent mode (`AT+CIPMODE=1`) and the TCP/IP application's display options.
//!
//! Transparent mode (SIM800 TCP/IP application note, "Transparent mode"; SIM800 AT manual
//! `AT+CIPMODE`, `AT+CIPCCFG`): in single connection mode only, `AT+CIPSTART` answers `OK`
//! and, once connected, `CONNECT` (not `CONNECT OK`); from then on the UART carries the
//! link's data both ways, raw, with no headers and no echo:
//!
//! - what the host writes is sent in blocks of `AT+CIPCCFG`'s `<SendSz>` bytes, or when the
//!   host has been silent for `<WaitTm>` × 200 ms;
//! - what arrives is written to the host as it comes;
//! - `+++` escapes to command mode when the host was silent for the profile's
//!   `escape_guard` before it, typed its three `+` within that time, and stays silent for it
//!   after (V.250's escape guard time, S12: 1 s; `AT+CIPCCFG`'s `<esc>` 0 turns it off).
//!   The modem answers `OK`; the link stays up. A `+++` that breaks these rules is data;
//! - in command mode data that arrives waits (the TCP window fills), and `ATO` answers
//!   `CONNECT` and goes back to data, with what waited first; without a link `ATO` answers
//!   `NO CARRIER` (V.250 §6.3.7; the SIM800's answer is UNCONFIRMED);
//! - when the link ends (the peer closes, the network drops it, the context is lost) the
//!   modem says `CLOSED` and is in command mode again (application note); the context's
//!   loss then says `+PDP: DEACT` as usual.
//!
//! `AT+CIPMODE=1` is refused (`ERROR`) in multi connection mode, and `AT+CIPMUX=1` and
//! `AT+CIPSEND` in transparent mode; `AT+CIPMODE` changes only while no link is up
//! (UNCONFIRMED: the manual asks for it before `AT+CIPSTART`).
//!
//! Display options: `AT+CIPSRIP=1` writes `RECV FROM:<ip>:<port>` on a line before received
//! data (SIM800 AT manual `AT+CIPSRIP`; the line framing is UNCONFIRMED, and the address is the
//! host as `AT+CIPSTART` named it, as in `C:` lines); `AT+CIPSHOWTP=1` makes single mode's
//! `+IPD,<len>:` into `+IPD,<len>,<TCP|UDP>:` (manual `AT+CIPSHOWTP`, with `AT+CIPHEAD=1`);
//! `AT+CIPSPRT` sets whether `AT+CIPSEND` prompts `> ` and says `SEND OK` (0: no prompt,
//! `SEND OK`; 1: both, the default; 2: neither. Manual `AT+CIPSPRT`).

use std::time::Duration;

use protocol::command::{Command, Name};
use protocol::response::{ConnectResult, Response};
use protocol::types::LinkId;

use super::ip::LinkState;
use super::line::LineExec;
use super::outcome::{cme, Failure, Outcome};
use super::{Buffer, Modem, ModemEvent, Timer};
use crate::net::NetRequest;

/// Transparent mode and the display options; lost with power.
#[derive(Debug)]
pub(super) struct Transparent {
    /// `AT+CIPMODE=1`.
    pub mode: bool,
    /// The UART carries link 0's data.
    pub data_mode: bool,
    /// Host bytes not sent yet.
    pub pending: Vec<u8>,
    /// When the host's last byte arrived (or data mode began).
    pub last_byte: Duration,
    /// `+`s held back: they may be an escape. Since when.
    pub plus: usize,
    pub plus_since: Duration,
    /// Received in command mode: written out at `ATO`.
    pub held: Vec<u8>,
    /// `AT+CIPSRIP`, `AT+CIPSHOWTP`, `AT+CIPSPRT`.
    pub srip: bool,
    pub showtp: bool,
    pub sprt: u8,
}

impl Default for Transparent {
    fn default() -> Self {
        Transparent {
            mode: false,
            data_mode: false,
            pending: Vec::new(),
            last_byte: Duration::ZERO,
            plus: 0,
            plus_since: Duration::ZERO,
            held: Vec::new(),
            srip: false,
            showtp: false,
            sprt: 1,
        }
    }
}

const LINK: LinkId = 0;

impl Modem {
    /// Runs the command if it is one of this file's, or one transparent mode refuses;
    /// `None` otherwise.
    pub(super) fn transparent(
        &mut self,
        exec: &mut LineExec,
        command: Command<'_>,
    ) -> Option<Outcome> {
        use Command as C;
        let link_up = self.link_up();
        let multi = self.session.ip.multi;
        let t = &mut self.session.transparent;
        let flag = |on: bool| u8::from(on).to_string();
        let error = Outcome::Fail(Failure::Error);
        Some(match command {
            C::Cipmode(on) => {
                if on && multi || link_up {
                    return Some(error);
                }
                t.mode = on;
                self.ok()
            }
            C::Cipmux(true) if t.mode => error,
            C::Cipsend { .. } | C::Exec(Name::Cipsend) if t.mode => error,
            C::Online => self.online(),
            C::Cipsrip(on) => {
                t.srip = on;
                self.ok()
            }
            C::Cipshowtp(on) => {
                t.showtp = on;
                self.ok()
            }
            C::Cipsprt(n @ 0..=2) => {
                t.sprt = n;
                self.ok()
            }
            C::Cipsprt(_) => Outcome::Fail(Failure::Cme(cme::BAD_PARAMETERS)),
            C::Read(name @ (Name::Cipmode | Name::Cipsrip | Name::Cipshowtp | Name::Cipsprt)) => {
                let value = match name {
                    Name::Cipmode => flag(t.mode),
                    Name::Cipsrip => flag(t.srip),
                    Name::Cipshowtp => flag(t.showtp),
                    _ => t.sprt.to_string(),
                };
                self.info_line(exec, name, value)
            }
            C::Test(name @ (Name::Cipmode | Name::Cipsrip | Name::Cipshowtp | Name::Cipsprt)) => {
                let range = if name == Name::Cipsprt {
                    "(0-2)"
                } else {
                    "(0,1)"
                };
                self.info_line(exec, name, range.into())
            }
            _ => return None,
        })
    }

    /// Whether link 0 is connecting or connected.
    fn link_up(&self) -> bool {
        self.session
            .ip
            .links
            .first()
            .is_some_and(|l| matches!(l.state, LinkState::Connecting | LinkState::Connected))
    }

    /// Whether the UART carries link 0's data.
    pub(super) fn in_data_mode(&self) -> bool {
        self.session.transparent.data_mode
    }

    /// `ATO`: back to the link's data.
    fn online(&mut self) -> Outcome {
        let connected =
            self.session.ip.links.first().map(|l| l.state) == Some(LinkState::Connected);
        if !(self.session.transparent.mode && connected) {
            return Outcome::Done {
                result: Some(Response::NoCarrier),
                takes: self.profile.command,
            };
        }
        self.enter_data_mode();
        Outcome::Done {
            result: Some(Response::Connect {
                link: None,
                result: ConnectResult::DataMode,
            }),
            takes: self.profile.command,
        }
    }

    fn enter_data_mode(&mut self) {
        let t = &mut self.session.transparent;
        t.data_mode = true;
        t.plus = 0;
        let held = std::mem::take(&mut t.held);
        self.event(ModemEvent::DataMode(true));
        if !held.is_empty() {
            // After the `CONNECT` that says so (`urc_bytes` follows a pending reply).
            self.urc_bytes(&held);
            self.request(NetRequest::Consumed {
                link: LINK,
                len: held.len(),
            });
        }
    }

    fn leave_data_mode(&mut self) {
        let t = &mut self.session.transparent;
        if std::mem::take(&mut t.data_mode) {
            t.plus = 0;
            t.pending.clear();
            self.timers.cancel(Timer::TransparentSend);
            self.timers.cancel(Timer::Escape);
            self.event(ModemEvent::DataMode(false));
        }
    }

    /// Link 0 connected: in transparent mode `CONNECT` and data mode, and `true`.
    pub(super) fn transparent_connected(&mut self, now: Duration, link: LinkId) -> bool {
        if !(self.session.transparent.mode && link == LINK && !self.session.ip.multi) {
            return false;
        }
        self.urc(&Response::Connect {
            link: None,
            result: ConnectResult::DataMode,
        });
        self.session.transparent.last_byte = now;
        self.enter_data_mode();
        true
    }

    /// A link closed: the data of link 0 ends with it.
    pub(super) fn transparent_link_closed(&mut self, n: usize) {
        if n == usize::from(LINK) {
            self.leave_data_mode();
            self.session.transparent.held.clear();
        }
    }

    /// Host bytes in data mode: data, or the escape.
    pub(super) fn transparent_input(&mut self, now: Duration, bytes: &[u8]) {
        let guard = self.profile.escape_guard;
        let escape_on = self.session.ip.cipccfg.esc;
        for &b in bytes {
            let t = &mut self.session.transparent;
            let quiet_before = now.saturating_sub(t.last_byte) >= guard;
            let in_time = now.saturating_sub(t.plus_since) < guard;
            if escape_on
                && b == b'+'
                && t.plus < 3
                && (if t.plus == 0 { quiet_before } else { in_time })
            {
                if t.plus == 0 {
                    t.plus_since = now;
                }
                t.plus += 1;
            } else {
                // Held `+`s were data after all.
                let plus = std::mem::take(&mut t.plus);
                t.pending.extend(std::iter::repeat_n(b'+', plus));
                t.pending.push(b);
            }
            t.last_byte = now;
        }
        let t = &self.session.transparent;
        if t.plus == 3 {
            self.timers.set(now + guard, Timer::Escape);
        } else {
            self.timers.cancel(Timer::Escape);
        }
        self.transparent_send(now, false);
    }

    /// Sends what waits: whole blocks of `<SendSz>` now, the rest when the host has been
    /// silent for `<WaitTm>` (`all`).
    fn transparent_send(&mut self, now: Duration, all: bool) {
        let size = usize::from(
            self.session
                .ip
                .cipccfg
                .send_size
                .clamp(1, self.profile.max_send),
        );
        let wait = Duration::from_millis(200 * u64::from(self.session.ip.cipccfg.wait_tm));
        loop {
            let t = &mut self.session.transparent;
            let take = match t.pending.len() {
                0 => break,
                len if len >= size => size,
                len if all => len,
                _ => {
                    self.timers
                        .set(t.last_byte.max(now) + wait, Timer::TransparentSend);
                    return;
                }
            };
            let data: Vec<u8> = t.pending.drain(..take).collect();
            let l = &mut self.session.ip.links[usize::from(LINK)];
            if l.state != LinkState::Connected {
                self.dropped(Buffer::Transparent, data.len());
                continue;
            }
            l.sent += data.len() as u64;
            self.request(NetRequest::Send { link: LINK, data });
        }
        self.timers.cancel(Timer::TransparentSend);
    }

    pub(super) fn on_transparent_send_due(&mut self, now: Duration) {
        self.transparent_send(now, true);
    }

    /// The silence after `+++` held: command mode, `OK`.
    pub(super) fn on_escape_due(&mut self, now: Duration) {
        if self.session.transparent.plus != 3 || !self.in_data_mode() {
            return;
        }
        self.transparent_send(now, true);
        self.leave_data_mode();
        self.urc(&Response::Ok);
    }

    /// Data arrived on a connected `link`: written out, with the display options, or held
    /// while a transparent link is in command mode. What is written out is consumed.
    pub(super) fn deliver_received(&mut self, link: LinkId, data: &[u8]) {
        let t = &self.session.transparent;
        if t.mode && link == LINK && !self.session.ip.multi {
            if t.data_mode {
                self.urc_bytes(data);
                self.request(NetRequest::Consumed {
                    link,
                    len: data.len(),
                });
            } else {
                self.session.transparent.held.extend_from_slice(data);
            }
            return;
        }
        let n = usize::from(link);
        let (srip, showtp) = (t.srip, t.showtp);
        let l = &self.session.ip.links[n];
        let from = format!("RECV FROM:{}:{}", l.host, l.port);
        let transport = l.transport.unwrap_or(protocol::types::Transport::Tcp);
        for chunk in data.chunks(self.profile.rx_chunk.max(1)) {
            if srip {
                self.urc(&Response::Text(from.as_bytes()));
            }
            if self.session.ip.multi {
                self.urc(&Response::Receive { link, data: chunk });
            } else if self.session.ip.head && showtp {
                self.urc(&Response::IpdTransport {
                    transport,
                    data: chunk,
                });
            } else if self.session.ip.head {
                self.urc(&Response::Ipd(chunk));
            } else {
                self.urc_bytes(chunk);
            }
        }
        self.request(NetRequest::Consumed {
            link,
            len: data.len(),
        });
    }

    /// `AT+CIPSPRT`: whether `AT+CIPSEND` prompts `> ` (1 only).
    pub(super) fn send_prompt_shown(&self) -> bool {
        self.session.transparent.sprt == 1
    }

    /// `AT+CIPSPRT=2` drops a send's `SEND OK`.
    pub(super) fn send_result_shown(&self, result: &Response<'_>) -> bool {
        !(self.session.transparent.sprt == 2 && matches!(result, Response::SendOk(_)))
    }
}
