//! The modem's application services (HTTP, SMS, time) on one page: which of them runs a
//! command (HTTP or SMS), which gets a network event (the links [`HTTP_LINK`] and
//! [`NTP_LINK`], the service centre's answers and messages), and what losing the PDP context
//! does to them.

use std::time::Duration;

use protocol::response::Response;
use protocol::service::ServiceCommand;

use super::line::LineExec;
use super::outcome::Outcome;
use super::Modem;
use crate::net::{NetEvent, HTTP_LINK, NTP_LINK};

impl Modem {
    /// Runs one HTTP or SMS command.
    pub(super) fn execute_service(
        &mut self,
        now: Duration,
        exec: &mut LineExec,
        command: ServiceCommand<'_>,
    ) -> Outcome {
        if command.name().is_sms() {
            self.execute_sms(now, exec, command)
        } else {
            self.execute_http(now, exec, command)
        }
    }

    /// Whether `event` is for a service: the service centre's, or about a service's link.
    pub(super) fn is_service_event(event: &NetEvent) -> bool {
        let link = match event {
            NetEvent::SmsSent { .. } | NetEvent::SmsReceived { .. } => return true,
            NetEvent::Connected { link }
            | NetEvent::ConnectFailed { link, .. }
            | NetEvent::Received { link, .. }
            | NetEvent::Delivered { link, .. }
            | NetEvent::Closed { link } => *link,
            _ => return false,
        };
        link == HTTP_LINK || link == NTP_LINK
    }

    /// Hands a service's event to it.
    pub(super) fn on_service_net(&mut self, now: Duration, event: NetEvent) {
        match event {
            NetEvent::SmsSent { result } => self.on_sms_sent(now, result),
            NetEvent::SmsReceived { pdu } => self.on_sms_received(pdu),
            NetEvent::Connected { link: NTP_LINK }
            | NetEvent::ConnectFailed { link: NTP_LINK, .. }
            | NetEvent::Received { link: NTP_LINK, .. }
            | NetEvent::Delivered { link: NTP_LINK, .. }
            | NetEvent::Closed { link: NTP_LINK } => self.on_ntp_net(now, event),
            event => self.on_http_net(event),
        }
    }

    /// The PDP context is gone: an HTTP action ends (601, network error), a time request
    /// too (`+CNTP: 61`), and an open bearer says so: `+SAPBR <cid>: DEACT` (SIM800 manual
    /// `AT+SAPBR`, its URC; UNCONFIRMED whether it also comes when the host let go with
    /// `AT+CGATT=0` or `AT+CFUN=0`).
    pub(super) fn services_pdp_lost(&mut self, bearer_held: bool) {
        self.http_fail(601);
        self.cntp_done(61);
        if bearer_held {
            self.urc(&Response::Text(b"+SAPBR 1: DEACT"));
        }
    }
}
