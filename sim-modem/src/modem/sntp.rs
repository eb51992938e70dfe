//! `AT+CNTP`'s exchange with its time server: one SNTP request over UDP on [`NTP_LINK`]
//! (RFC 4330, `crate::sntp`), through the simulated network like any datagram, and the
//! `+CNTP: <code>` that ends it (TinyGSM `TinyGsmNTP.tpp`'s codes): 1 the clock is set,
//! 61 no context (network error), 62 the name does not resolve, 63 no connection,
//! 64 an answer that is no time, 65 no answer within the profile's `cntp_max`.

use std::time::Duration;

use protocol::response::Response;
use protocol::types::Transport;

use super::{Modem, Rtc, Timer};
use crate::net::{ConnectError, NetEvent, NetRequest, NTP_LINK};
use crate::sntp;

impl Modem {
    /// Asks `server` for the time; `+CNTP` follows.
    pub(super) fn cntp_start(&mut self, now: Duration, server: String) {
        self.session.cntp.pending = true;
        self.request(NetRequest::Connect {
            link: NTP_LINK,
            transport: Transport::Udp,
            host: server,
            port: sntp::PORT,
            tcp: self.session.ip.tcp,
        });
        self.timers
            .set(now + self.profile.cntp_max, Timer::CntpDeadline);
    }

    /// The network about the time server's socket.
    pub(super) fn on_ntp_net(&mut self, now: Duration, event: NetEvent) {
        if !self.session.cntp.pending {
            if let NetEvent::Connected { .. } = event {
                self.request(NetRequest::Close { link: NTP_LINK });
            }
            return;
        }
        let code = match event {
            NetEvent::Connected { .. } => {
                let data = sntp::request().to_vec();
                return self.request(NetRequest::Send {
                    link: NTP_LINK,
                    data,
                });
            }
            NetEvent::Received { data, .. } => {
                let len = data.len();
                self.request(NetRequest::Consumed {
                    link: NTP_LINK,
                    len,
                });
                match sntp::transmit_time(&data) {
                    Some(unix) => {
                        self.session.rtc = Rtc {
                            unix: unix.as_secs(),
                            at: now,
                            tz: self.session.cntp.tz,
                        };
                        1
                    }
                    None => 64,
                }
            }
            NetEvent::ConnectFailed {
                error: ConnectError::Dns,
                ..
            } => 62,
            NetEvent::ConnectFailed { .. } | NetEvent::Closed { .. } => 63,
            _ => return,
        };
        self.cntp_done(code);
    }

    /// The exchange ends with `code`, if one runs.
    pub(super) fn cntp_done(&mut self, code: u8) {
        if std::mem::take(&mut self.session.cntp.pending) {
            self.timers.cancel(Timer::CntpDeadline);
            self.request(NetRequest::Close { link: NTP_LINK });
            self.urc(&Response::Cntp(code));
        }
    }
}
