//! The HTTP application (SIM800 AT manual V1.09 §15.2): `AT+HTTPINIT`, `AT+HTTPPARA`,
//! `AT+HTTPDATA`, `AT+HTTPACTION`, `AT+HTTPREAD`, `AT+HTTPSTATUS?`, `AT+HTTPTERM`,
//! `AT+HTTPSSL`.
//!
//! `AT+HTTPACTION` answers `OK` at once; the request goes over the simulated network as one
//! TCP connection on [`HTTP_LINK`] (the same TCP model as `AT+CIPSTART`'s, so losses,
//! blackholes and a lost cell delay or break it), and its end is the URC
//! `+HTTPACTION: <method>,<status>,<len>`. The manual's own status codes (§15.2.5): 600 not
//! HTTP, 601 network error, 602 no memory, 603 DNS error, 604 stack busy; here:
//!
//! | what happens | status |
//! |---|---|
//! | the bearer (`AT+SAPBR=1,<cid>`) is not open, or the context goes during the action | 601 |
//! | the host name does not resolve, or the URL cannot be read | 603 |
//! | no connection (refused, or no answer within the network's connect timeout) | 601 |
//! | the connection ends before the answer does, or `AT+HTTPPARA="TIMEOUT"` (120 s) runs out | 601 (UNCONFIRMED: usim800 also knows a 606 "timeout", which the manual does not list) |
//! | the answer is not HTTP | 600 |
//! | the body exceeds 319,488 bytes (the manual's `AT+HTTPREAD` range) | 602 |
//! | `AT+HTTPACTION` while one runs | 604 |
//!
//! The request carries `User-Agent: SIMCOM_MODULE` (the manual's default `UA`), `Content-Type`
//! and `Content-Length` with a POST's `AT+HTTPDATA` body, and `USERDATA` as header lines:
//! its literal `\r\n` separate them, as usim800 writes several headers (UNCONFIRMED that the
//! modem turns them into line ends). Redirects are not followed (`REDIR` is accepted),
//! `HTTPSSL=1` is refused (no TLS, as `AT+CIPSSL=1`), and a `HEAD`'s `<len>` and
//! `AT+HTTPREAD` are its answer's head (UNCONFIRMED).

use std::time::Duration;

use protocol::response::Response;
use protocol::service::{Param, ServiceCommand, ServiceName, ServiceResponse};
use protocol::types::Transport;

use super::line::{service_bytes, LineExec};
use super::outcome::{Failure, Input, Outcome, PdpUser};
use super::radio::Pdp;
use super::{Modem, ModemEvent, Timer};
use crate::http::{parse_url, write_request, ReadError, RequestParts, ResponseReader};
use crate::net::{ConnectError, NetEvent, NetRequest, HTTP_LINK};

/// The most an answer may carry, bytes (`AT+HTTPREAD`'s range, manual §15.2.7).
const BODY_MAX: usize = 319_488;
/// `AT+HTTPDATA`'s ranges: bytes and milliseconds (manual §15.2.4).
const DATA_SIZE: std::ops::RangeInclusive<u32> = 1..=319_488;
const DATA_TIME: std::ops::RangeInclusive<u32> = 1_000..=120_000;
const METHODS: [&str; 3] = ["GET", "POST", "HEAD"];

/// The HTTP application's state.
#[derive(Debug, Default)]
pub(super) struct Http {
    /// `AT+HTTPINIT` was said (and no `AT+HTTPTERM` since).
    init: bool,
    params: Params,
    /// `AT+HTTPDATA`'s bytes: a POST's body.
    body: Vec<u8>,
    action: Option<Action>,
    /// The last action's answer.
    answer: Option<Answer>,
}

#[derive(Debug, Clone)]
struct Params {
    cid: u32,
    url: String,
    user_agent: String,
    content: String,
    userdata: String,
    /// Seconds (`TIMEOUT`, 30–1000).
    timeout: u32,
}

impl Default for Params {
    /// The manual's defaults: CID 1, UA `SIMCOM_MODULE`, TIMEOUT 120 s.
    fn default() -> Params {
        Params {
            cid: 1,
            url: String::new(),
            user_agent: "SIMCOM_MODULE".into(),
            content: String::new(),
            userdata: String::new(),
            timeout: 120,
        }
    }
}

#[derive(Debug)]
struct Action {
    method: u8,
    request: Vec<u8>,
    /// Request bytes the server has.
    sent: usize,
    reader: ResponseReader,
    connected: bool,
}

#[derive(Debug)]
struct Answer {
    method: u8,
    /// What `AT+HTTPREAD` reads: the body, or a `HEAD`'s head.
    data: Vec<u8>,
}

impl Modem {
    /// Runs one HTTP command.
    pub(super) fn execute_http(
        &mut self,
        now: Duration,
        exec: &mut LineExec,
        command: ServiceCommand<'_>,
    ) -> Outcome {
        use ServiceCommand as C;
        let init = self.session.http.init;
        match command {
            C::Exec(ServiceName::Httpinit) if !init => {
                self.session.http = Http {
                    init: true,
                    ..Http::default()
                };
                self.ok()
            }
            C::Exec(ServiceName::Httpterm) if init => {
                self.end_action();
                self.session.http = Http::default();
                self.ok()
            }
            C::Test(name) => self.http_test(exec, name),
            C::Read(ServiceName::Httpssl) => self.http_info(exec, "HTTPSSL", "0".into()),
            C::Httpssl(false) => self.ok(),
            _ if !init => Outcome::Fail(Failure::Error),
            C::Httppara { tag, value } => self.httppara(tag, value),
            C::Read(ServiceName::Httppara) => {
                let p = self.session.http.params.clone();
                for line in [
                    format!("\"CID\",{}", p.cid),
                    format!("\"URL\",\"{}\"", p.url),
                    format!("\"UA\",\"{}\"", p.user_agent),
                    format!("\"CONTENT\",\"{}\"", p.content),
                    format!("\"USERDATA\",\"{}\"", p.userdata),
                    format!("\"TIMEOUT\",{}", p.timeout),
                ] {
                    exec.line(&Response::Info {
                        name: "HTTPPARA",
                        params: &line,
                    });
                }
                self.ok()
            }
            C::Read(ServiceName::Httpstatus) => {
                let status = self.http_status();
                exec.line_bytes(&service_bytes(&status));
                self.ok()
            }
            C::Httpdata { size, time_ms }
                if DATA_SIZE.contains(&size)
                    && DATA_TIME.contains(&time_ms)
                    && self.session.http.action.is_none() =>
            {
                Outcome::Input(Input::HttpBody {
                    size: size as usize,
                    time: Duration::from_millis(time_ms.into()),
                })
            }
            C::Httpaction(method @ 0..=2) if !self.session.http.params.url.is_empty() => {
                self.httpaction(now, method);
                self.ok()
            }
            C::Exec(ServiceName::Httpread) => self.httpread(exec, 0, u32::MAX),
            C::Httpread { start, size } => self.httpread(exec, start, size),
            _ => Outcome::Fail(Failure::Error),
        }
    }

    fn http_info(&mut self, exec: &mut LineExec, name: &str, params: String) -> Outcome {
        exec.line(&Response::Info {
            name,
            params: &params,
        });
        self.ok()
    }

    fn http_test(&mut self, exec: &mut LineExec, name: ServiceName) -> Outcome {
        let params = match name {
            ServiceName::Httppara => "\"HTTPParamTag\",\"HTTPParamValue\"".to_string(),
            ServiceName::Httpdata => format!(
                "({}-{}),({}-{})",
                DATA_SIZE.start(),
                DATA_SIZE.end(),
                DATA_TIME.start(),
                DATA_TIME.end()
            ),
            ServiceName::Httpaction => "(0-2)".into(),
            ServiceName::Httpread => format!("(0-{BODY_MAX}),(1-{BODY_MAX})"),
            ServiceName::Httpssl => "(0,1)".into(),
            _ => return self.ok(),
        };
        self.http_info(exec, name.as_str(), params)
    }

    /// `AT+HTTPPARA="<tag>",<value>`: the tags of the manual; those not modelled (`REDIR`,
    /// `BREAK`, `BREAKEND`, `PROIP`, `PROPORT`) are taken and have no effect.
    fn httppara(&mut self, tag: &str, value: Param<'_>) -> Outcome {
        let text = match value {
            Param::Text(text) => text.to_string(),
            Param::Number(n) => n.to_string(),
        };
        let number = text.parse::<u32>().ok();
        let p = &mut self.session.http.params;
        match (tag.to_ascii_uppercase().as_str(), number) {
            ("CID", Some(cid)) => p.cid = cid,
            ("URL", _) if matches!(value, Param::Text(_)) => p.url = text,
            ("UA", _) => p.user_agent = text,
            ("CONTENT", _) => p.content = text,
            ("USERDATA", _) => p.userdata = text.replace("\\r\\n", "\r\n"),
            ("TIMEOUT", Some(s @ 30..=1000)) => p.timeout = s,
            ("REDIR", Some(0 | 1)) | ("BREAK" | "BREAKEND" | "PROPORT", Some(_)) | ("PROIP", _) => {
            }
            _ => return Outcome::Fail(Failure::Error),
        }
        self.ok()
    }

    /// `AT+HTTPDATA`'s bytes came (or its time ran out with these).
    pub(super) fn http_body(&mut self, body: Vec<u8>) {
        self.session.http.body = body;
    }

    /// Starts an action; its end is a URC.
    fn httpaction(&mut self, now: Duration, method: u8) {
        let h = &mut self.session.http;
        if h.action.is_some() {
            return self.http_urc(method, 604, 0);
        }
        h.answer = None;
        let bearer =
            self.holds_pdp(PdpUser::Bearer) && matches!(self.session.radio.pdp, Pdp::Active(_));
        if !bearer {
            return self.http_urc(method, 601, 0);
        }
        let p = &self.session.http.params;
        let Some(url) = parse_url(&p.url) else {
            return self.http_urc(method, 603, 0);
        };
        let name = METHODS[usize::from(method)];
        let parts = RequestParts {
            user_agent: &p.user_agent,
            content_type: &p.content,
            extra_headers: &p.userdata,
            body: &self.session.http.body,
        };
        let request = write_request(name, &url, &parts);
        let timeout = Duration::from_secs(p.timeout.into());
        self.session.http.action = Some(Action {
            method,
            request,
            sent: 0,
            reader: ResponseReader::new(method == 2),
            connected: false,
        });
        self.request(NetRequest::Connect {
            link: HTTP_LINK,
            transport: Transport::Tcp,
            host: url.host,
            port: url.port,
            tcp: self.session.ip.tcp,
        });
        self.timers.set(now + timeout, Timer::HttpTimeout);
    }

    /// The network about the action's connection.
    pub(super) fn on_http_net(&mut self, event: NetEvent) {
        let Some(action) = self.session.http.action.as_mut() else {
            // A late word about an action that ended: let the network forget it.
            if let NetEvent::Connected { .. } | NetEvent::Received { .. } = event {
                self.request(NetRequest::Close { link: HTTP_LINK });
            }
            return;
        };
        let method = action.method;
        let result = match event {
            NetEvent::Connected { .. } => {
                action.connected = true;
                let data = action.request.clone();
                self.request(NetRequest::Send {
                    link: HTTP_LINK,
                    data,
                });
                return;
            }
            NetEvent::Delivered { len, .. } => {
                action.sent += len;
                return;
            }
            NetEvent::ConnectFailed { error, .. } => Err(match error {
                ConnectError::Dns => 603,
                _ => 601,
            }),
            NetEvent::Received { data, .. } => {
                let len = data.len();
                let read = action.reader.feed(&data);
                let too_big = action.reader.progress().0 > BODY_MAX;
                self.request(NetRequest::Consumed {
                    link: HTTP_LINK,
                    len,
                });
                match read {
                    _ if too_big => Err(602),
                    Ok(None) => return,
                    Ok(Some(answer)) => Ok(answer),
                    Err(e) => Err(read_status(e)),
                }
            }
            NetEvent::Closed { .. } => match action.reader.close() {
                Ok(Some(answer)) => Ok(answer),
                Ok(None) => return,
                Err(e) => Err(read_status(e)),
            },
            _ => return,
        };
        self.end_action();
        match result {
            Ok(answer) => {
                let data = if method == 2 {
                    answer.head
                } else {
                    answer.body
                };
                let len = data.len() as u32;
                self.session.http.answer = Some(Answer { method, data });
                self.http_urc(method, answer.status, len);
            }
            Err(status) => self.http_urc(method, status, 0),
        }
    }

    /// `AT+HTTPPARA="TIMEOUT"` ran out.
    pub(super) fn on_http_timeout(&mut self) {
        self.http_fail(601);
    }

    /// The action ends with `status` (no answer), if one runs.
    pub(super) fn http_fail(&mut self, status: u16) {
        if let Some(action) = &self.session.http.action {
            let method = action.method;
            self.end_action();
            self.http_urc(method, status, 0);
        }
    }

    /// Forgets the running action and its connection.
    fn end_action(&mut self) {
        if self.session.http.action.take().is_some() {
            self.timers.cancel(Timer::HttpTimeout);
            self.request(NetRequest::Close { link: HTTP_LINK });
        }
    }

    fn http_urc(&mut self, method: u8, status: u16, len: u32) {
        self.event(ModemEvent::HttpAction {
            method,
            status,
            len,
        });
        let urc = ServiceResponse::HttpAction {
            method,
            status,
            len,
        };
        self.urc_bytes(&service_bytes(&urc));
    }

    /// `+HTTPSTATUS: <method>,<state>,<finish>,<remain>`: sending while the request goes
    /// out, receiving while the answer comes.
    fn http_status(&self) -> ServiceResponse<'static> {
        let h = &self.session.http;
        let Some(a) = &h.action else {
            let method = h.answer.as_ref().map_or(0, |a| a.method);
            return ServiceResponse::HttpStatus {
                method,
                state: 0,
                finish: 0,
                remain: 0,
            };
        };
        let (state, finish, remain) = if a.sent < a.request.len() {
            (2, a.sent, a.request.len() - a.sent)
        } else {
            let (got, total) = a.reader.progress();
            (1, got, total.saturating_sub(got))
        };
        ServiceResponse::HttpStatus {
            method: a.method,
            state,
            finish: finish as u32,
            remain: remain as u32,
        }
    }

    /// `AT+HTTPREAD[=<start>,<size>]`: the answer's data from `start`, at most `size` bytes.
    fn httpread(&mut self, exec: &mut LineExec, start: u32, size: u32) -> Outcome {
        let h = &self.session.http;
        let Some(answer) = h.answer.as_ref().filter(|_| h.action.is_none()) else {
            return Outcome::Fail(Failure::Error);
        };
        let start = (start as usize).min(answer.data.len());
        let end = start.saturating_add(size as usize).min(answer.data.len());
        let data = &answer.data[start..end];
        exec.line_bytes(&service_bytes(&ServiceResponse::HttpRead(data)));
        self.ok()
    }
}

/// The status an unreadable answer ends with.
fn read_status(error: ReadError) -> u16 {
    match error {
        ReadError::NotHttp => 600,
        ReadError::Cut => 601,
    }
}
