//! The TCP/IP application: the state machine that `AT+CIPSTATUS` reports (reference §1.2)
//! and the data links (§1.3).
//!
//! The bearer goes IP INITIAL → (`AT+CSTT`) IP START → (`AT+CIICR`) IP CONFIG → (context
//! active) IP GPRSACT → (`AT+CIFSR`) IP STATUS; `AT+CIPSHUT` brings it back to IP INITIAL from
//! anywhere, and losing the context leaves it in PDP DEACT until then. Each command is taken
//! only in the states where a real modem takes it, with `ERROR` otherwise. In single mode the
//! state then follows link 0 (TCP CONNECTING, CONNECT OK, TCP CLOSED, IP CLOSE); in multi
//! mode it is IP STATUS until the first `AT+CIPSTART`, then IP PROCESSING.
//!
//! Links: `AT+CIPSTART` answers `OK` and the result comes when the network answers (or at
//! the profile's maximum); data arrives as `+RECEIVE,<n>,<len>:` (multi mode, with or
//! without `AT+CIPHEAD`: UNCONFIRMED, Luat always sets it), `+IPD,<len>:` (single mode with
//! `AT+CIPHEAD=1`) or raw bytes (single mode), or waits in the link's receive buffer for
//! `AT+CIPRXGET=2/3` in manual mode. The buffer is the TCP receive window: the modem tells
//! the network what the host took ([`NetRequest::Consumed`]), and a host that does not read
//! stalls the peer instead of losing data.
//!
//! The device's TCP settings ([`TcpSettings`]) go with each `AT+CIPSTART`: the profile's,
//! as `AT+CIPCCFG` (the retry count) and Luat's `AT+TCPUSERPARAM` (retry count and the
//! retransmission timeout's cap) changed them.

use std::collections::VecDeque;
use std::time::Duration;

use protocol::command::{Cipccfg, CipccfgRx, DataMode, RxGet};
use protocol::response::{ConnectResult, ConnectionLine, Response, RxGetResponse};
use protocol::types::{ClientState, IpState, LinkId, Transport};

use super::line::LineExec;
use super::outcome::{Failure, Outcome, PdpUser, PendingSend, Wait};
use super::radio::{Pdp, PdpStart};
use super::{Buffer, CloseCause, LinkStatus, Modem, ModemEvent, Timer};
use crate::net::{NetRequest, TcpSettings};
use crate::profile::Profile;

/// The TCP/IP application's state.
pub(super) struct Ip {
    /// `AT+CIPMUX=1`.
    pub multi: bool,
    pub bearer: Bearer,
    /// `AT+CSTT`'s APN, user and password.
    pub apn: String,
    /// Multi mode: a link was started since IP STATUS (IP PROCESSING).
    pub processing: bool,
    /// Single mode: `AT+CIPSTART` from IP INITIAL brings the bearer up first.
    pub auto_start: bool,
    /// `AT+CIPQSEND=1`: `DATA ACCEPT` at once instead of `SEND OK` on acknowledgement.
    pub quick_send: bool,
    /// `AT+CIPHEAD=1`.
    pub head: bool,
    /// `AT+CIPRXGET=1`: received data waits to be read.
    pub manual_rx: bool,
    /// `AT+CIICRMODE=<n>` (Luat): 2 makes `AT+CIICR` answer `OK` at once.
    pub ciicr_mode: u8,
    /// `AT+CDNSCFG`: the name servers (the network resolves names; kept for the read form).
    pub dns: [String; 2],
    /// The device's TCP settings for the next connections.
    pub tcp: TcpSettings,
    /// `AT+CIPCCFG`'s values (its `<NmRetry>` is `tcp.retransmissions`; the transparent
    /// mode's fields are kept for the read form: transparent mode is not simulated).
    pub cipccfg: Cipccfg,
    pub links: Vec<Link>,
}

/// The bearer part of the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Bearer {
    Initial,
    Start,
    Config,
    Gprsact,
    Status,
    Deact,
}

#[derive(Debug, Clone, Default)]
pub(super) struct Link {
    pub state: LinkState,
    pub transport: Option<Transport>,
    pub host: String,
    pub port: u16,
    /// Manual receive mode: bytes waiting.
    pub rx: VecDeque<u8>,
    /// Manual receive mode: `+CIPRXGET: 1` was said and the buffer not emptied since.
    pub rx_notified: bool,
    /// Bytes handed to the network, and acknowledged by the peer.
    pub sent: u64,
    pub delivered: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) enum LinkState {
    #[default]
    Initial,
    Connecting,
    Connected,
    /// `local`: by `AT+CIPCLOSE` (single mode then reads IP CLOSE, not TCP CLOSED).
    Closed {
        local: bool,
    },
}

impl Ip {
    pub(super) fn new(profile: &Profile) -> Ip {
        Ip {
            multi: false,
            bearer: Bearer::Initial,
            apn: String::new(),
            processing: false,
            auto_start: false,
            quick_send: false,
            head: false,
            manual_rx: false,
            ciicr_mode: 0,
            dns: ["8.8.8.8".into(), "8.8.4.4".into()],
            tcp: profile.tcp_settings(),
            // The manual's defaults for the transparent-mode fields.
            cipccfg: Cipccfg {
                retries: profile.tcp_retransmissions,
                wait_tm: 2,
                send_size: 1024,
                esc: true,
                rx: Some(CipccfgRx {
                    mode: false,
                    size: 1460,
                    timer: 50,
                }),
            },
            links: vec![Link::default(); usize::from(profile.link_count.max(1))],
        }
    }

    /// Whether the bearer is on its way up or up.
    pub(super) fn bearer_up(&self) -> bool {
        matches!(
            self.bearer,
            Bearer::Config | Bearer::Gprsact | Bearer::Status
        )
    }
}

impl Modem {
    /// What `STATE:` says.
    pub(super) fn ip_state(&self) -> IpState {
        let ip = &self.session.ip;
        let link = &ip.links[0];
        let transport = link.transport.unwrap_or(Transport::Tcp);
        if !ip.multi && ip.auto_start && link.state == LinkState::Connecting {
            return IpState::Connecting(transport);
        }
        match ip.bearer {
            Bearer::Initial => IpState::IpInitial,
            Bearer::Start => IpState::IpStart,
            Bearer::Config => IpState::IpConfig,
            Bearer::Gprsact => IpState::IpGprsact,
            Bearer::Deact => IpState::PdpDeact,
            Bearer::Status if ip.multi && ip.processing => IpState::IpProcessing,
            Bearer::Status if ip.multi => IpState::IpStatus,
            Bearer::Status => match link.state {
                LinkState::Initial => IpState::IpStatus,
                LinkState::Connecting => IpState::Connecting(transport),
                LinkState::Connected => IpState::ConnectOk,
                LinkState::Closed { local: true } => IpState::IpClose,
                LinkState::Closed { local: false } => IpState::Closed(transport),
            },
        }
    }

    pub(super) fn link_statuses(&self) -> Vec<LinkStatus> {
        (0..self.session.ip.links.len())
            .map(|n| {
                let (transport, host, _, state) = self.connection_fields(n);
                let l = &self.session.ip.links[n];
                LinkStatus {
                    link: n as LinkId,
                    state,
                    transport,
                    host,
                    port: l.port,
                    rx_waiting: l.rx.len(),
                }
            })
            .collect()
    }

    /// The link a command names: link 0 in single mode, `<n>` below the profile's count in
    /// multi mode.
    fn link_index(&self, link: Option<LinkId>) -> Option<usize> {
        match (self.session.ip.multi, link) {
            (false, None) => Some(0),
            (true, Some(n)) if n < self.profile.link_count => Some(usize::from(n)),
            _ => None,
        }
    }

    /// How results name link `n`: `<n>, ` in multi mode, nothing in single mode.
    fn tag(&self, n: usize) -> Option<LinkId> {
        self.session.ip.multi.then_some(n as LinkId)
    }

    // --- Commands. ---

    /// `AT+CIPMUX=<n>`: only in IP INITIAL.
    pub(super) fn cipmux(&mut self, multi: bool) -> Outcome {
        if self.session.ip.bearer != Bearer::Initial || self.session.ip.auto_start {
            return Outcome::Fail(Failure::Error);
        }
        self.session.ip.multi = multi;
        self.ok()
    }

    /// `AT+CSTT=...`: only in IP INITIAL, to IP START.
    pub(super) fn cstt(&mut self, apn: &str) -> Outcome {
        if self.session.ip.bearer != Bearer::Initial || self.session.ip.auto_start {
            return Outcome::Fail(Failure::Error);
        }
        self.session.ip.apn = apn.into();
        self.session.ip.bearer = Bearer::Start;
        self.ok()
    }

    /// `AT+CIICR`: only in IP START; IP CONFIG until the context is active, then IP GPRSACT.
    pub(super) fn ciicr(&mut self, now: Duration) -> Outcome {
        if self.session.ip.bearer != Bearer::Start {
            return Outcome::Fail(Failure::Error);
        }
        let apn = self.session.ip.apn.clone();
        match self.request_pdp(now, PdpUser::Cip, &apn) {
            PdpStart::NoService => {
                self.session.ip.bearer = Bearer::Deact;
                Outcome::Fail(Failure::Error)
            }
            PdpStart::Active(_) => {
                self.session.ip.bearer = Bearer::Gprsact;
                Outcome::Done {
                    result: Some(Response::Ok),
                    takes: self.profile.ciicr,
                }
            }
            PdpStart::Pending => {
                self.session.ip.bearer = Bearer::Config;
                if self.session.ip.ciicr_mode == 2 {
                    // Luat's asynchronous CIICR: `OK` now, the host polls CIPSTATUS.
                    self.ok()
                } else {
                    Outcome::Wait(Wait::Pdp {
                        user: PdpUser::Cip,
                        until: now + self.profile.ciicr,
                        failure: Failure::Error,
                    })
                }
            }
        }
    }

    /// `AT+CIFSR`: the bare IP line, no `OK`; IP GPRSACT becomes IP STATUS.
    pub(super) fn cifsr(&mut self, exec: &mut LineExec) -> Outcome {
        let Pdp::Active(addr) = self.session.radio.pdp else {
            return Outcome::Fail(Failure::Error);
        };
        match self.session.ip.bearer {
            Bearer::Gprsact => self.session.ip.bearer = Bearer::Status,
            Bearer::Status => {}
            _ => return Outcome::Fail(Failure::Error),
        }
        exec.line(&Response::IpAddress(addr));
        Outcome::Done {
            result: None,
            takes: self.profile.command,
        }
    }

    /// `AT+CIPSTATUS`: `OK` first, then `STATE:` and, in multi mode, a `C:` line per link.
    pub(super) fn cipstatus(&mut self, exec: &mut LineExec) -> Outcome {
        exec.line(&Response::Ok);
        exec.line(&Response::State(self.ip_state()));
        if self.session.ip.multi {
            for n in 0..self.session.ip.links.len() {
                let (transport, ip, port, state) = self.connection_fields(n);
                exec.line(&Response::Connection(ConnectionLine {
                    link: n as LinkId,
                    bearer: 0,
                    transport,
                    ip: &ip,
                    port: &port,
                    state,
                }));
            }
        }
        Outcome::Done {
            result: None,
            takes: self.profile.command,
        }
    }

    /// `AT+CIPSTATUS=<n>` (multi mode).
    pub(super) fn cipstatus_link(&mut self, exec: &mut LineExec, link: LinkId) -> Outcome {
        let Some(n) = self.link_index(Some(link)) else {
            return Outcome::Fail(Failure::Error);
        };
        let (transport, ip, port, state) = self.connection_fields(n);
        exec.line(&Response::LinkStatus(ConnectionLine {
            link,
            bearer: 0,
            transport,
            ip: &ip,
            port: &port,
            state,
        }));
        self.ok()
    }

    /// `AT+CIPACK` (single mode) / `AT+CIPACK=<n>` (multi mode): the bytes the link's
    /// connection sent, the bytes the peer acknowledged, and the difference:
    /// `+CIPACK: <txlen>,<acklen>,<nacklen>` (SIM800 Series TCP/IP Application Note,
    /// `AT+CIPACK`). The counts start at 0 with each `AT+CIPSTART` and stay readable after the
    /// connection ends; a link never started answers `ERROR`. UDP counts a datagram as
    /// acknowledged once it left the radio.
    pub(super) fn cipack(&mut self, exec: &mut LineExec, link: Option<LinkId>) -> Outcome {
        let Some(n) = self.link_index(link) else {
            return Outcome::Fail(Failure::Error);
        };
        let l = &self.session.ip.links[n];
        if l.state == LinkState::Initial {
            return Outcome::Fail(Failure::Error);
        }
        let count = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        exec.line(&Response::Cipack {
            txlen: count(l.sent),
            acklen: count(l.delivered),
            nacklen: count(l.sent - l.delivered),
        });
        self.ok()
    }

    /// The fields of a `C:` line. The address is the host as the host gave it (the network
    /// resolves names, so a real modem would show the resolved address).
    fn connection_fields(&self, n: usize) -> (Option<Transport>, String, String, ClientState) {
        let l = &self.session.ip.links[n];
        let state = match l.state {
            LinkState::Initial => {
                return (None, String::new(), String::new(), ClientState::Initial)
            }
            LinkState::Connecting => ClientState::Connecting,
            LinkState::Connected => ClientState::Connected,
            LinkState::Closed { .. } => ClientState::Closed,
        };
        (l.transport, l.host.clone(), l.port.to_string(), state)
    }

    /// `AT+CIPSTART`: `OK`, then the result when the network answers. Single mode: from
    /// IP INITIAL (bringing the bearer up with the default APN), IP STATUS, IP CLOSE or TCP
    /// CLOSED; multi mode: IP STATUS / IP PROCESSING only. A link that is connecting or
    /// connected answers `OK` then `ALREADY CONNECT` (the manual's order; UNCONFIRMED, some
    /// logs show `ERROR` first).
    pub(super) fn cipstart(
        &mut self,
        now: Duration,
        link: Option<LinkId>,
        transport: Transport,
        host: &str,
        port: u16,
    ) -> Outcome {
        let Some(n) = self.link_index(link) else {
            return Outcome::Fail(Failure::Error);
        };
        let ip = &self.session.ip;
        if matches!(
            ip.links[n].state,
            LinkState::Connecting | LinkState::Connected
        ) {
            self.urc(&Response::Connect {
                link: self.tag(n),
                result: ConnectResult::AlreadyConnected,
            });
            return self.ok();
        }
        let auto = !ip.multi && ip.bearer == Bearer::Initial;
        if ip.bearer != Bearer::Status && !auto {
            return Outcome::Fail(Failure::Error);
        }
        let ip = &mut self.session.ip;
        ip.links[n] = Link {
            state: LinkState::Connecting,
            transport: Some(transport),
            host: host.into(),
            port,
            ..Link::default()
        };
        ip.processing |= ip.multi;
        let max = if ip.multi {
            self.profile.cipstart_max_multi
        } else {
            self.profile.cipstart_max_single
        };
        self.timers
            .set(now + max, Timer::ConnectDeadline(n as LinkId));
        if !auto {
            self.connect(n);
            return self.ok();
        }
        self.session.ip.auto_start = true;
        self.session.ip.apn = self.profile.default_apn.clone();
        let apn = self.session.ip.apn.clone();
        match self.request_pdp(now, PdpUser::Cip, &apn) {
            PdpStart::Active(_) => self.ip_pdp_up(),
            PdpStart::Pending => self.session.ip.bearer = Bearer::Config,
            PdpStart::NoService => {
                self.session.ip.auto_start = false;
                self.close_link(n, false, CloseCause::ConnectFailed);
                self.connect_failed_urcs(n);
            }
        }
        self.ok()
    }

    fn connect(&mut self, n: usize) {
        let l = &self.session.ip.links[n];
        let request = NetRequest::Connect {
            link: n as LinkId,
            transport: l.transport.unwrap_or(Transport::Tcp),
            host: l.host.clone(),
            port: l.port,
            tcp: self.session.ip.tcp,
        };
        self.request(request);
    }

    /// `AT+CIPSEND`: the `> ` prompt on a connected link; `len: None` is the Ctrl-Z form.
    pub(super) fn cipsend(&mut self, link: Option<LinkId>, len: Option<u16>) -> Outcome {
        let Some(n) = self.link_index(link) else {
            return Outcome::Fail(Failure::Error);
        };
        if self.session.ip.bearer == Bearer::Deact {
            // The context is gone: the answer is `+PDP: DEACT` (reference §2).
            return Outcome::Done {
                result: Some(Response::PdpDeact),
                takes: self.profile.command,
            };
        }
        let l = &self.session.ip.links[n];
        if l.state != LinkState::Connected {
            return Outcome::Fail(Failure::Error);
        }
        let max = self.profile.max_send;
        let mode = match len {
            Some(len) if len == 0 || len > max => return Outcome::Fail(Failure::Error),
            Some(len) => DataMode::Fixed(len),
            None => DataMode::CtrlZ { max },
        };
        // Quick send: the send buffer must hold all of it (Luat: `ERROR` when full).
        if len.unwrap_or(max) > self.send_room(n) {
            return Outcome::Fail(Failure::Error);
        }
        Outcome::Prompt {
            mode,
            send: PendingSend { link: n as LinkId },
        }
    }

    /// The most one `AT+CIPSEND` on link `n` may carry now (`AT+CIPSEND?`): 0 when it is
    /// not connected; in quick send mode no more than the send buffer has room for (what
    /// was sent and not yet acknowledged fills it).
    pub(super) fn send_room(&self, n: usize) -> u16 {
        let Some(l) = self.session.ip.links.get(n) else {
            return 0;
        };
        if l.state != LinkState::Connected {
            return 0;
        }
        let max = self.profile.max_send;
        if !self.session.ip.quick_send {
            return max;
        }
        let free = (self.profile.quick_send_buffer as u64).saturating_sub(l.sent - l.delivered);
        max.min(u16::try_from(free).unwrap_or(u16::MAX))
    }

    /// `AT+CIPCCFG=<NmRetry>,<WaitTm>,<SendSz>,<esc>[,<Rxmode>,<RxSize>,<Rxtimer>]`: the retry
    /// count for the connections opened from now on; the rest is kept for the read form.
    /// Ranges as `AT+CIPCCFG=?` gives them (SIM800 manual; UNCONFIRMED, the page was not
    /// reached: SIM800/SIM900 drivers write `3-8` for `<NmRetry>`). UNCONFIRMED too that
    /// `<NmRetry>` governs links outside transparent mode: the model takes it to.
    pub(super) fn cipccfg(&mut self, set: Cipccfg) -> Outcome {
        let rx_ok = set
            .rx
            .is_none_or(|rx| (50..=1460).contains(&rx.size) && (20..=1000).contains(&rx.timer));
        if !(3..=8).contains(&set.retries)
            || !(1..=10).contains(&set.wait_tm)
            || !(1..=1460).contains(&set.send_size)
            || !rx_ok
        {
            return Outcome::Fail(Failure::Error);
        }
        let ip = &mut self.session.ip;
        ip.cipccfg = Cipccfg {
            rx: set.rx.or(ip.cipccfg.rx),
            ..set
        };
        ip.tcp.retransmissions = set.retries;
        self.ok()
    }

    /// `AT+CIPCCFG?`'s parameters: the retry count in force, then the rest as last set.
    pub(super) fn cipccfg_params(&self) -> String {
        let c = &self.session.ip.cipccfg;
        let rx = c.rx.unwrap_or(CipccfgRx {
            mode: false,
            size: 1460,
            timer: 50,
        });
        format!(
            "{},{},{},{},{},{},{}",
            self.session.ip.tcp.retransmissions,
            c.wait_tm,
            c.send_size,
            u8::from(c.esc),
            u8::from(rx.mode),
            rx.size,
            rx.timer
        )
    }

    /// `AT+TCPUSERPARAM=<a>,<retries>,<c>,<max RTO s>` (Luat `socket.setTcpResendPara`, which
    /// sends `=6,<retryCnt>,7200,<retryMaxTimeout>`): the retry count (0–12) and the
    /// retransmission timeout's cap (1–16 s) for the connections opened from now on, the
    /// ranges Luat documents. UNCONFIRMED: `<a>` and `<c>` (probably the SYN retries and the
    /// keepalive time, Linux's defaults 6 and 7200 s) are accepted and not modelled.
    pub(super) fn tcpuserparam(&mut self, [_, retries, _, rto_max]: [u32; 4]) -> Outcome {
        let (Ok(retries @ 0..=12), 1..=16) = (u8::try_from(retries), rto_max) else {
            return Outcome::Fail(Failure::Error);
        };
        let tcp = &mut self.session.ip.tcp;
        tcp.retransmissions = retries;
        tcp.rto_max = Duration::from_secs(rto_max.into());
        self.ok()
    }

    /// The data of a send arrived.
    pub(super) fn send_data(&mut self, now: Duration, send: PendingSend, data: &[u8]) -> Outcome {
        let n = usize::from(send.link);
        let tag = self.tag(n);
        let takes = self.profile.command;
        let done = |result| Outcome::Done {
            result: Some(result),
            takes,
        };
        if self.session.ip.bearer == Bearer::Deact {
            return done(Response::PdpDeact);
        }
        if self.session.ip.links[n].state != LinkState::Connected {
            return done(Response::SendFail(tag));
        }
        if data.is_empty() {
            return Outcome::Fail(Failure::Error);
        }
        if self.send_failures > 0 {
            self.send_failures -= 1;
            self.event(ModemEvent::SendFailInjected { link: send.link });
            return done(Response::SendFail(tag));
        }
        let l = &mut self.session.ip.links[n];
        l.sent += data.len() as u64;
        let target = l.sent;
        self.request(NetRequest::Send {
            link: send.link,
            data: data.to_vec(),
        });
        if self.session.ip.quick_send {
            let len = u16::try_from(data.len()).unwrap_or(u16::MAX);
            return done(Response::DataAccept { link: tag, len });
        }
        self.timers
            .set(now + self.profile.send_ack_max, Timer::SendDeadline);
        Outcome::Wait(Wait::Delivered {
            link: send.link,
            target,
        })
    }

    /// `AT+CIPCLOSE`: only a connecting or connected link.
    pub(super) fn cipclose(&mut self, link: Option<LinkId>) -> Outcome {
        let Some(n) = self.link_index(link) else {
            return Outcome::Fail(Failure::Error);
        };
        if !matches!(
            self.session.ip.links[n].state,
            LinkState::Connecting | LinkState::Connected
        ) {
            return Outcome::Fail(Failure::Error);
        }
        self.request(NetRequest::Close { link: n as LinkId });
        self.close_link(n, true, CloseCause::Local);
        Outcome::Done {
            result: Some(Response::CloseOk(self.tag(n))),
            takes: self.profile.command,
        }
    }

    /// `AT+CIPSHUT`: from any state, closes every link, releases the context, IP INITIAL.
    pub(super) fn cipshut(&mut self) -> Outcome {
        for n in 0..self.session.ip.links.len() {
            if matches!(
                self.session.ip.links[n].state,
                LinkState::Connecting | LinkState::Connected
            ) {
                self.request(NetRequest::Close { link: n as LinkId });
                self.event(ModemEvent::LinkClosed {
                    link: n as LinkId,
                    cause: CloseCause::Shut,
                });
            }
            self.timers.cancel(Timer::ConnectDeadline(n as LinkId));
            self.session.ip.links[n] = Link::default();
        }
        let ip = &mut self.session.ip;
        ip.bearer = Bearer::Initial;
        ip.processing = false;
        ip.auto_start = false;
        ip.apn.clear();
        self.release_pdp(PdpUser::Cip);
        Outcome::Done {
            result: Some(Response::ShutOk),
            takes: self.profile.cipshut,
        }
    }

    /// `AT+CIPRXGET=...`: manual receive.
    pub(super) fn ciprxget(&mut self, exec: &mut LineExec, rx: RxGet) -> Outcome {
        let (link, read) = match rx {
            RxGet::Manual(on) => {
                self.session.ip.manual_rx = on;
                return self.ok();
            }
            RxGet::Read { link, len, hex } => (link, Some((len, hex))),
            RxGet::Available { link } => (link, None),
        };
        let Some(n) = self.link_index(link).filter(|_| self.session.ip.manual_rx) else {
            return Outcome::Fail(Failure::Error);
        };
        if self.session.ip.links[n].state == LinkState::Initial {
            return Outcome::Fail(Failure::Error);
        }
        let tag = self.tag(n);
        let max_read = self.profile.max_rx_read;
        let l = &mut self.session.ip.links[n];
        let Some((len, hex)) = read else {
            let len = u16::try_from(l.rx.len()).unwrap_or(u16::MAX);
            exec.line(&Response::RxGet(RxGetResponse::Available {
                link: tag,
                len,
            }));
            return self.ok();
        };
        if len == 0 || len > max_read {
            return Outcome::Fail(Failure::Error);
        }
        let take = usize::from(len).min(l.rx.len());
        let data: Vec<u8> = l.rx.drain(..take).collect();
        if l.rx.is_empty() {
            // The next arrival is announced again.
            l.rx_notified = false;
        }
        // TinyGSM: the 4th field is what remains, not what was confirmed.
        let remaining = u16::try_from(l.rx.len()).unwrap_or(u16::MAX);
        if take > 0 {
            self.request(NetRequest::Consumed {
                link: n as LinkId,
                len: take,
            });
        }
        let data = if hex { hex_upper(&data) } else { data };
        exec.line(&Response::RxGet(RxGetResponse::Data {
            link: tag,
            hex,
            remaining,
            data: &data,
        }));
        self.ok()
    }

    // --- The network's answers. ---

    pub(super) fn on_connected(&mut self, now: Duration, link: LinkId) {
        let n = usize::from(link);
        match self.session.ip.links.get(n).map(|l| l.state) {
            Some(LinkState::Connecting) => {}
            // Stale (closed or shut meanwhile): let the network forget it.
            Some(LinkState::Initial | LinkState::Closed { .. }) => {
                return self.request(NetRequest::Close { link })
            }
            _ => return,
        }
        let l = &mut self.session.ip.links[n];
        l.state = LinkState::Connected;
        let event = ModemEvent::LinkOpened {
            link,
            transport: l.transport.unwrap_or(Transport::Tcp),
            host: l.host.clone(),
            port: l.port,
        };
        self.timers.cancel(Timer::ConnectDeadline(link));
        self.event(event);
        if self.transparent_connected(now, link) {
            return;
        }
        self.urc(&Response::Connect {
            link: self.tag(n),
            result: ConnectResult::Ok,
        });
    }

    pub(super) fn on_connect_failed(&mut self, link: LinkId) {
        let n = usize::from(link);
        if self.session.ip.links.get(n).map(|l| l.state) == Some(LinkState::Connecting) {
            self.close_link(n, false, CloseCause::ConnectFailed);
            self.connect_failed_urcs(n);
        }
    }

    pub(super) fn on_connect_deadline(&mut self, link: LinkId) {
        let n = usize::from(link);
        if self.session.ip.links.get(n).map(|l| l.state) != Some(LinkState::Connecting) {
            return;
        }
        self.request(NetRequest::Close { link });
        if std::mem::take(&mut self.session.ip.auto_start) {
            self.release_pdp(PdpUser::Cip);
            self.session.ip.bearer = Bearer::Deact;
        }
        self.close_link(n, false, CloseCause::Timeout);
        self.connect_failed_urcs(n);
    }

    /// Data from the peer: written out at once, or (manual receive) kept for the host. What
    /// is written out is consumed at once; what is kept, when the host reads it. The
    /// network sends no more than the window (the receive buffer) allows, so nothing is
    /// dropped here.
    pub(super) fn on_received(&mut self, link: LinkId, data: &[u8]) {
        let n = usize::from(link);
        if self.session.ip.links.get(n).map(|l| l.state) != Some(LinkState::Connected) {
            self.dropped(Buffer::Receive(link), data.len());
            return;
        }
        let tag = self.tag(n);
        if self.session.ip.manual_rx {
            let l = &mut self.session.ip.links[n];
            l.rx.extend(data);
            let announce = !l.rx_notified && !l.rx.is_empty();
            l.rx_notified |= announce;
            if announce {
                self.urc(&Response::RxGet(RxGetResponse::DataReady(tag)));
            }
            return;
        }
        // Headers, display options and transparent mode are `transparent`'s.
        self.deliver_received(link, data);
    }

    /// The peer acknowledged `len` more bytes: a slow send may be done.
    pub(super) fn on_delivered(&mut self, now: Duration, link: LinkId, len: usize) {
        let Some(l) = self.session.ip.links.get_mut(usize::from(link)) else {
            return;
        };
        l.delivered = (l.delivered + len as u64).min(l.sent);
        let delivered = l.delivered;
        if let Some(Wait::Delivered { link: w, target }) = self.waiting() {
            if w == link && delivered >= target {
                self.timers.cancel(Timer::SendDeadline);
                let tag = self.tag(usize::from(link));
                self.resume(
                    now,
                    Outcome::Done {
                        result: Some(Response::SendOk(tag)),
                        takes: Duration::ZERO,
                    },
                );
            }
        }
    }

    /// The peer closed the link (or the network dropped it).
    pub(super) fn on_peer_closed(&mut self, now: Duration, link: LinkId) {
        let n = usize::from(link);
        match self.session.ip.links.get(n).map(|l| l.state) {
            Some(LinkState::Connecting) => {
                self.close_link(n, false, CloseCause::ConnectFailed);
                self.connect_failed_urcs(n);
            }
            Some(LinkState::Connected) => {
                self.close_link(n, false, CloseCause::Peer);
                let tag = self.tag(n);
                if let Some(Wait::Delivered { link: w, .. }) = self.waiting() {
                    if w == link {
                        self.timers.cancel(Timer::SendDeadline);
                        self.resume(
                            now,
                            Outcome::Done {
                                result: Some(Response::SendFail(tag)),
                                takes: Duration::ZERO,
                            },
                        );
                    }
                }
                self.urc(&Response::Closed(tag));
            }
            _ => {}
        }
    }

    /// A slow send was never acknowledged: the link is reported closed (manual: "CLOSE" is
    /// reported after 645 s), which ends the send.
    pub(super) fn on_send_deadline(&mut self, now: Duration) {
        let Some(Wait::Delivered { link, .. }) = self.waiting() else {
            return;
        };
        let n = usize::from(link);
        self.request(NetRequest::Close { link });
        self.close_link(n, false, CloseCause::Timeout);
        let tag = self.tag(n);
        self.resume(
            now,
            Outcome::Done {
                result: Some(Response::Closed(tag)),
                takes: Duration::ZERO,
            },
        );
    }

    // --- The context, as the TCP/IP application sees it. ---

    /// The context became active.
    pub(super) fn ip_pdp_up(&mut self) {
        let ip = &mut self.session.ip;
        if !matches!(ip.bearer, Bearer::Config | Bearer::Initial) {
            return;
        }
        if std::mem::take(&mut ip.auto_start) {
            ip.bearer = Bearer::Status;
            // Unless `AT+CIPCLOSE` gave up on it meanwhile.
            if ip.links[0].state == LinkState::Connecting {
                self.connect(0);
            }
        } else if ip.bearer == Bearer::Config {
            ip.bearer = Bearer::Gprsact;
        }
    }

    /// Activation failed; `sync_ciicr`: an `AT+CIICR` waits and reports it as `ERROR`.
    pub(super) fn ip_pdp_failed(&mut self, sync_ciicr: bool) {
        if self.session.ip.bearer != Bearer::Config {
            return;
        }
        self.session.ip.bearer = Bearer::Deact;
        if std::mem::take(&mut self.session.ip.auto_start) {
            self.close_link(0, false, CloseCause::ConnectFailed);
            self.connect_failed_urcs(0);
        } else if !sync_ciicr {
            self.urc(&Response::PdpDeact);
        }
    }

    /// The context is gone: every link closes, the bearer is in PDP DEACT.
    pub(super) fn ip_pdp_lost(&mut self) {
        self.session.ip.auto_start = false;
        for n in 0..self.session.ip.links.len() {
            let tag = self.tag(n);
            match self.session.ip.links[n].state {
                LinkState::Connecting => {
                    self.close_link(n, false, CloseCause::PdpLost);
                    self.urc(&Response::Connect {
                        link: tag,
                        result: ConnectResult::Fail,
                    });
                }
                LinkState::Connected => {
                    self.close_link(n, false, CloseCause::PdpLost);
                    if self.profile.closed_on_pdp_deact {
                        self.urc(&Response::Closed(tag));
                    }
                }
                _ => {}
            }
        }
        if self.session.ip.bearer_up() {
            self.session.ip.bearer = Bearer::Deact;
        }
    }

    fn close_link(&mut self, n: usize, local: bool, cause: CloseCause) {
        self.transparent_link_closed(n);
        self.session.ip.links[n].state = LinkState::Closed { local };
        self.timers.cancel(Timer::ConnectDeadline(n as LinkId));
        self.event(ModemEvent::LinkClosed {
            link: n as LinkId,
            cause,
        });
    }

    /// `<n>, CONNECT FAIL`; in single mode `STATE: <state>` then `CONNECT FAIL` (manual).
    fn connect_failed_urcs(&mut self, n: usize) {
        if !self.session.ip.multi {
            self.urc(&Response::State(self.ip_state()));
        }
        self.urc(&Response::Connect {
            link: self.tag(n),
            result: ConnectResult::Fail,
        });
    }
}

/// `AT+CIPRXGET=3`: two upper-case hex digits a byte. UNCONFIRMED case.
fn hex_upper(data: &[u8]) -> Vec<u8> {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    data.iter()
        .flat_map(|&b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]])
        .collect()
}
