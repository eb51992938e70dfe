//! The line discipline: from host bytes to executed commands and one reply per line.
//!
//! - A line is echoed (`ATE1`, the power-up default) when the modem takes it up, then its
//!   `;`-chained commands run in order; the first failure ends the line with its error, and
//!   only the last command's final result is written (`AT+CIFSR;E0` gives the IP line and
//!   `OK`). The echo is the line as received up to its `\r` (UNCONFIRMED: a real modem
//!   echoes each byte, so a `\r\n` host would also see its `\n`).
//! - A command's effects happen when it runs; its reply (information lines and final
//!   result) is written in one piece after the command's time (reference §0 "Whole responses
//!   at once"). URCs raised meanwhile follow the reply, as V.250 has a modem hold them.
//! - While a command executes (its time, or a wait for the network like `AT+CIICR`), host
//!   bytes are held, unparsed, and read after it, as a real modem's UART buffer does.
//! - `AT+CIPSEND` prompts `> `; the data follows (fixed length, or up to Ctrl-Z with ESC
//!   cancelling) and is echoed too when echo is on (UNCONFIRMED). Commands chained after a
//!   CIPSEND are dropped: what follows the prompt is data.
//! - Errors: `ERROR`, or with `AT+CMEE=1/2` `+CME ERROR: <n>` / `+CME ERROR: <text>` for
//!   the errors a SIM800 reports that way. Unknown commands and errors of the TCP/IP state
//!   machine are plain `ERROR` in every mode (UNCONFIRMED, but what SIM800 logs show).
//!   Lines without `AT` are noise and ignored; overlong lines get `ERROR`.
//! - Result codes follow `ATV` and `ATQ` (V.250 §6.2.5–§6.2.6): `ATV0` writes them as digits
//!   and a CR (`0\r` for `OK`) and other lines without their leading CRLF, `ATQ1` drops them.
//! - In transparent mode's data mode (`transparent`) the input is the link's data, not
//!   commands.
//! - Commands the core parser does not know are tried as the HTTP and SMS commands
//!   (`protocol::service`). `AT+CMGS` prompts `> ` and reads up to Ctrl-Z as CIPSEND does;
//!   `AT+HTTPDATA` says `DOWNLOAD` and then reads its bytes raw, counted here, not by the
//!   parser (up to 319,488 of them), until they are all there or its time is over.
//! - Auto-bauding (`AT+IPR=0` saved): after power-up the modem only looks for `AT` or `at`
//!   to learn the host's rate; what comes before is lost, and it says nothing until then
//!   (SIM800 AT manual V1.09 §2.2.41.1).

use std::time::Duration;

use protocol::command::{CommandParser, DataMode, ParseError, ParserEvent, Segment};
use protocol::response::Response;
use protocol::service::{ServiceCommand, ServiceResponse};

use super::outcome::{cme, cms, Failure, Input, Outcome, PendingSend, SmsDraft, Wait};
use super::{frame, result_code, Modem};

/// What the command interpreter is doing.
#[derive(Default)]
pub(super) enum Cmd {
    /// Reading commands.
    #[default]
    Idle,
    /// Running a line right now.
    Busy,
    /// The line ran; its reply goes out at [`super::Timer::Reply`].
    Replying { reply: Vec<u8> },
    /// A command of the line waits for the network; the rest of the line follows it.
    Waiting { exec: LineExec, wait: Wait },
    /// `> ` was written: the parser collects the data of a send.
    Data { send: PendingSend },
    /// `> ` was written: the parser collects an SMS's text or PDU (`AT+CMGS`).
    Sms { draft: SmsDraft },
    /// `DOWNLOAD` was written: `AT+HTTPDATA`'s bytes are read raw until there are `size`.
    Download { body: Vec<u8>, size: usize },
}

impl Cmd {
    /// Whether URCs wait for the reply of the executing line.
    pub(super) fn defers_urcs(&self) -> bool {
        matches!(self, Cmd::Busy | Cmd::Replying { .. })
    }

    /// Whether no command runs, waits or collects data.
    pub(super) fn is_idle(&self) -> bool {
        matches!(self, Cmd::Idle)
    }
}

/// A line being executed.
pub(super) struct LineExec {
    /// The line as received, re-parsed for each command (commands borrow from it).
    raw: Vec<u8>,
    /// The index of the next command of the line.
    next: usize,
    /// The reply so far: information lines of the commands that ran.
    reply: Vec<u8>,
    /// When the reply may go out: the sum of its commands' times.
    ready_at: Duration,
    /// `ATV`: verbose result codes; `ATQ`: result codes suppressed (they may change while
    /// the line runs: `ATV0` answers `0`).
    pub verbose: bool,
    pub quiet: bool,
}

impl LineExec {
    /// Adds an information line (or a result code) to the reply, as `ATV` and `ATQ` say.
    pub(super) fn line(&mut self, response: &Response<'_>) {
        if self.quiet && is_result_code(response) {
            return;
        }
        self.reply.extend_from_slice(&frame(response, self.verbose));
    }

    /// Adds information lines already encoded (a service's answer).
    pub(super) fn line_bytes(&mut self, bytes: &[u8]) {
        self.reply.extend_from_slice(bytes);
    }
}

/// The final result codes `ATQ1` suppresses (V.250 §6.2.5): V.250's and the `+CME` / `+CMS`
/// errors. SIM800's own results (`SHUT OK`, `SEND OK`, `CLOSE OK`) are not among them
/// (UNCONFIRMED).
fn is_result_code(response: &Response<'_>) -> bool {
    result_code(response).is_some()
        || matches!(response, Response::CmeError(_) | Response::CmsError(_))
        || matches!(
            response,
            Response::Info {
                name: "CME ERROR",
                ..
            }
        )
}

/// A parser event, copied out of the parser's buffer.
enum Parsed {
    Line(Vec<u8>),
    Data(Vec<u8>),
    Cancelled,
}

impl From<ParserEvent<'_>> for Parsed {
    fn from(event: ParserEvent<'_>) -> Parsed {
        match event {
            ParserEvent::Line(line) => Parsed::Line(line.raw().to_vec()),
            ParserEvent::Data(data) => Parsed::Data(data.to_vec()),
            ParserEvent::DataCancelled => Parsed::Cancelled,
        }
    }
}

impl Modem {
    /// A line to execute, its replies framed as `ATV` and `ATQ` say now.
    fn line_exec(&self, raw: Vec<u8>, now: Duration) -> LineExec {
        LineExec {
            raw,
            next: 0,
            reply: Vec::new(),
            ready_at: now,
            verbose: self.session.verbose,
            quiet: self.session.quiet,
        }
    }

    /// Parses and runs the held input while the interpreter can take it.
    pub(super) fn pump(&mut self, now: Duration) {
        if !self.session.synced && self.listening() {
            self.detect_rate();
            if !self.session.synced {
                return;
            }
        }
        if self.in_data_mode() && self.session.cmd.is_idle() && !self.session.input.is_empty() {
            // Transparent mode: the UART carries a link's data.
            let bytes = std::mem::take(&mut self.session.input);
            self.transparent_input(now, &bytes);
            return;
        }
        while self.listening()
            && matches!(
                self.session.cmd,
                Cmd::Idle | Cmd::Data { .. } | Cmd::Sms { .. } | Cmd::Download { .. }
            )
            && !self.session.input.is_empty()
        {
            if let Cmd::Download { body, size } = &mut self.session.cmd {
                let input = &mut self.session.input;
                let skip = usize::from(body.is_empty() && self.session.parser.owes_lf(input[0]));
                let take = (*size - body.len()).min(input.len() - skip);
                body.extend(input.drain(..skip + take).skip(skip));
                if body.len() == *size {
                    self.download_done(now);
                }
                continue;
            }
            let (used, event) = self.session.parser.feed(&self.session.input);
            let event = event.map(|e| e.map(Parsed::from));
            self.session
                .input
                .drain(..used.min(self.session.input.len()));
            match event {
                Some(event) => self.on_parsed(now, event),
                None if used == 0 => break,
                None => {}
            }
        }
    }

    /// Auto-bauding: waits for `AT` or `at` in the input; what comes before it is lost.
    fn detect_rate(&mut self) {
        let input = &self.session.input;
        let found = input
            .windows(2)
            .position(|pair| pair == b"AT" || pair == b"at");
        // Without `AT` yet, a last `A` / `a` may pair with what comes next.
        let keep_from = found.unwrap_or_else(|| {
            let pending = matches!(input.last(), Some(b'A' | b'a'));
            input.len() - usize::from(pending)
        });
        if keep_from > 0 {
            self.session.input.drain(..keep_from);
            self.ignored(keep_from);
        }
        self.session.synced = found.is_some();
    }

    fn on_parsed(&mut self, now: Duration, event: Result<Parsed, ParseError>) {
        let in_data = matches!(self.session.cmd, Cmd::Data { .. } | Cmd::Sms { .. });
        match event {
            Ok(Parsed::Line(raw)) if !in_data => {
                if self.session.echo {
                    self.write_out(&raw);
                }
                self.session.cmd = Cmd::Busy;
                let exec = self.line_exec(raw, now);
                self.drive(now, exec, None);
            }
            Ok(Parsed::Data(data)) if in_data => self.on_data(now, &data),
            // ESC: nothing is sent. UNCONFIRMED: the manual names no result; `OK` lets a
            // host that waits for a final result go on.
            Ok(Parsed::Cancelled) if in_data => self.finish_data(
                now,
                Outcome::Done {
                    result: Some(Response::Ok),
                    takes: self.profile.command,
                },
            ),
            Err(ParseError::DataTooLong) if in_data => {
                self.finish_data(now, Outcome::Fail(Failure::Error))
            }
            Err(ParseError::Noise) => {}
            Err(_) if !in_data => {
                self.session.cmd = Cmd::Busy;
                let exec = self.line_exec(Vec::new(), now);
                self.drive(now, exec, Some(Outcome::Fail(Failure::Error)));
            }
            _ => {}
        }
    }

    fn on_data(&mut self, now: Duration, data: &[u8]) {
        let cmd = std::mem::take(&mut self.session.cmd);
        if self.session.echo {
            self.write_out(data);
        }
        self.session.cmd = Cmd::Busy;
        let outcome = match cmd {
            Cmd::Data { send } => match self.stuck_send(send.link) {
                Some(outcome) => outcome,
                None => self.send_data(now, send, data),
            },
            Cmd::Sms { draft } => self.sms_input(now, draft, data),
            _ => return,
        };
        let exec = self.line_exec(Vec::new(), now);
        self.drive(now, exec, Some(outcome));
    }

    /// The data phase of a send ended without sending.
    fn finish_data(&mut self, now: Duration, outcome: Outcome) {
        self.session.cmd = Cmd::Busy;
        let exec = self.line_exec(Vec::new(), now);
        self.drive(now, exec, Some(outcome));
    }

    /// Runs the line's commands from `exec.next`; `resumed` is the outcome of the command
    /// before it, when resuming one.
    fn drive(&mut self, now: Duration, mut exec: LineExec, mut resumed: Option<Outcome>) {
        let raw = std::mem::take(&mut exec.raw);
        let mut scratch = CommandParser::<LINE_MAX>::new();
        let segments: Vec<Segment<'_>> = match scratch.feed(&raw).1 {
            Some(Ok(ParserEvent::Line(line))) => line.segments().collect(),
            _ => Vec::new(),
        };
        loop {
            let outcome = match resumed.take() {
                Some(outcome) => outcome,
                None => {
                    let Some(segment) = segments.get(exec.next) else {
                        self.release(now, exec);
                        return;
                    };
                    exec.next += 1;
                    let parsed = segment.parse(self.session.ip.multi);
                    let service = match parsed {
                        Err(ParseError::UnknownCommand) => {
                            Some(ServiceCommand::parse(segment.as_bytes()))
                        }
                        _ => None,
                    };
                    match (parsed, service) {
                        (_, Some(Ok(command))) => self.execute_service(now, &mut exec, command),
                        (Ok(command), _) => self.execute(now, &mut exec, command),
                        (Err(ParseError::BadParameters), _)
                        | (_, Some(Err(ParseError::BadParameters))) => {
                            Outcome::Fail(Failure::Cme(cme::BAD_PARAMETERS))
                        }
                        (Err(_), _) => Outcome::Fail(Failure::Error),
                    }
                }
            };
            let last = exec.next >= segments.len();
            match outcome {
                Outcome::Done { result, takes } => {
                    exec.ready_at = exec.ready_at.max(now) + takes;
                    if last {
                        if let Some(result) = result.filter(|r| self.send_result_shown(r)) {
                            exec.line(&result);
                        }
                        self.release(now, exec);
                        return;
                    }
                }
                Outcome::Fail(failure) => {
                    exec.ready_at = exec.ready_at.max(now) + self.profile.command;
                    exec.line(&self.failure_response(failure));
                    self.release(now, exec);
                    return;
                }
                Outcome::Wait(wait) => {
                    exec.raw = raw;
                    self.session.cmd = Cmd::Waiting { exec, wait };
                    return;
                }
                Outcome::Prompt { mode, send } => {
                    let prompt = if self.send_prompt_shown() {
                        frame(&Response::Prompt, exec.verbose)
                    } else {
                        Vec::new()
                    };
                    self.prompt(&exec, &prompt);
                    self.session.parser.expect_data(mode);
                    self.session.cmd = Cmd::Data { send };
                    return;
                }
                Outcome::Input(Input::Sms(draft)) => {
                    self.prompt(&exec, &frame(&Response::Prompt, exec.verbose));
                    let max = SMS_INPUT_MAX;
                    self.session.parser.expect_data(DataMode::CtrlZ { max });
                    self.session.cmd = Cmd::Sms { draft };
                    return;
                }
                Outcome::Input(Input::HttpBody { size, time }) => {
                    self.prompt(&exec, &service_bytes(&ServiceResponse::Download));
                    self.timers.set(now + time, super::Timer::HttpDataDeadline);
                    self.session.cmd = Cmd::Download {
                        body: Vec::new(),
                        size,
                    };
                    return;
                }
            }
        }
    }

    /// What the line said so far, then a prompt: the modem waits for the host's input.
    fn prompt(&mut self, exec: &LineExec, prompt: &[u8]) {
        self.session.cmd = Cmd::Idle;
        self.write_out(&exec.reply);
        self.flush_deferred();
        self.write_out(prompt);
    }

    /// `AT+HTTPDATA`'s bytes are all there, or its time is over: it ends with `OK`.
    pub(super) fn download_done(&mut self, now: Duration) {
        let Cmd::Download { body, .. } = std::mem::take(&mut self.session.cmd) else {
            return;
        };
        self.timers.cancel(super::Timer::HttpDataDeadline);
        self.http_body(body);
        self.finish_data(
            now,
            Outcome::Done {
                result: Some(Response::Ok),
                takes: self.profile.command,
            },
        );
    }

    /// Adds an information line to the reply of the command that waits (`+CMGS: <mr>`
    /// before its `OK`).
    pub(super) fn waiting_line(&mut self, bytes: &[u8]) {
        if let Cmd::Waiting { exec, .. } = &mut self.session.cmd {
            exec.reply.extend_from_slice(bytes);
        }
    }

    /// The line is done: its reply goes out now or at its time.
    fn release(&mut self, now: Duration, exec: LineExec) {
        if exec.ready_at <= now {
            self.session.cmd = Cmd::Idle;
            self.write_out(&exec.reply);
            self.flush_deferred();
            self.arm_sleep(now);
        } else {
            self.session.cmd = Cmd::Replying { reply: exec.reply };
            self.timers.set(exec.ready_at, super::Timer::Reply);
        }
    }

    pub(super) fn on_reply_due(&mut self, now: Duration) {
        if let Cmd::Replying { reply } = std::mem::take(&mut self.session.cmd) {
            self.write_out(&reply);
            self.flush_deferred();
            // The line is done: `AT+CSCLK` may let the modem sleep now.
            self.arm_sleep(now);
        }
    }

    fn flush_deferred(&mut self) {
        let deferred = std::mem::take(&mut self.session.deferred);
        self.write_out(&deferred);
    }

    /// The waiting command is done: `outcome` is how it ended; the rest of its line runs.
    pub(super) fn resume(&mut self, now: Duration, outcome: Outcome) {
        if let Cmd::Waiting { exec, .. } = std::mem::take(&mut self.session.cmd) {
            self.session.cmd = Cmd::Busy;
            self.drive(now, exec, Some(outcome));
        }
    }

    /// What the executing command waits for, if one does.
    pub(super) fn waiting(&self) -> Option<Wait> {
        match self.session.cmd {
            Cmd::Waiting { wait, .. } => Some(wait),
            _ => None,
        }
    }

    fn failure_response(&self, failure: Failure) -> Response<'static> {
        match (failure, self.session.cmee) {
            (Failure::Error, _) | (Failure::Cme(_) | Failure::Cms(_), 0) => Response::Error,
            (Failure::Cme(code), 1) => Response::CmeError(code),
            (Failure::Cme(code), _) => Response::Info {
                name: "CME ERROR",
                params: cme::text(code),
            },
            (Failure::Cms(code), 1) => Response::CmsError(code),
            (Failure::Cms(code), _) => Response::Info {
                name: "CMS ERROR",
                params: cms::text(code),
            },
        }
    }
}

/// The most bytes `AT+CMGS` takes before Ctrl-Z: a 160-character text as UCS2 hex (640
/// digits), or a PDU's hex (at most 2 × 176). UNCONFIRMED.
const SMS_INPUT_MAX: u16 = 700;

/// A service answer's bytes as the modem writes them.
pub(super) fn service_bytes(response: &ServiceResponse<'_>) -> Vec<u8> {
    let mut buf = vec![0; 64];
    loop {
        if let Ok(len) = response.encode(&mut buf) {
            buf.truncate(len);
            return buf;
        }
        let size = buf.len() * 4;
        if size > 1 << 22 {
            return Vec::new();
        }
        buf.resize(size, 0);
    }
}

/// The longest line the modem takes, terminator included (the parser's default buffer).
const LINE_MAX: usize = 1600;
