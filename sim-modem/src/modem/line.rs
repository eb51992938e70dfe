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

use std::time::Duration;

use protocol::command::{CommandParser, DataMode, ParseError, ParserEvent, Segment};
use protocol::response::Response;
use protocol::types::LinkId;

use super::{encode, Modem};

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
}

impl Cmd {
    /// Whether URCs wait for the reply of the executing line.
    pub(super) fn defers_urcs(&self) -> bool {
        matches!(self, Cmd::Busy | Cmd::Replying { .. })
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
}

impl LineExec {
    fn new(raw: Vec<u8>, now: Duration) -> LineExec {
        LineExec {
            raw,
            next: 0,
            reply: Vec::new(),
            ready_at: now,
        }
    }

    /// Adds an information line to the reply.
    pub(super) fn line(&mut self, response: &Response<'_>) {
        self.reply.extend_from_slice(&encode(response));
    }
}

/// How one command ended (or did not yet).
pub(super) enum Step {
    /// Done after `takes`; `result` is its final result code, `None` for the commands that
    /// have none (`AT+CIFSR`, `AT&K0`) or write it themselves (`AT+CIPSTATUS`).
    Done {
        result: Option<Response<'static>>,
        takes: Duration,
    },
    Fail(Failure),
    /// Waits for the network; resumed by [`Modem::resume`].
    Wait(Wait),
    /// Prompt `> ` and read the data of a send.
    Prompt {
        mode: DataMode,
        send: PendingSend,
    },
}

/// An error result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Failure {
    /// `ERROR` whatever `AT+CMEE` says.
    Error,
    /// `+CME ERROR: <n>` (or its text, or `ERROR`, per `AT+CMEE`).
    Cme(u16),
}

/// SIM800 `+CME ERROR` codes (3GPP TS 27.007 §9.2 and the SIM800 manual's table) and the
/// texts `AT+CMEE=2` shows.
pub(super) mod cme {
    pub const NOT_ALLOWED: u16 = 3;
    pub const SIM_NOT_INSERTED: u16 = 10;
    pub const SIM_BUSY: u16 = 14;
    pub const NO_NETWORK: u16 = 30;
    pub const BAD_PARAMETERS: u16 = 50;
    pub const GPRS_UNSPECIFIED: u16 = 148;

    pub fn text(code: u16) -> &'static str {
        match code {
            NOT_ALLOWED => "operation not allowed",
            SIM_NOT_INSERTED => "SIM not inserted",
            SIM_BUSY => "SIM busy",
            NO_NETWORK => "no network service",
            BAD_PARAMETERS => "Incorrect parameters",
            GPRS_UNSPECIFIED => "unspecified GPRS error",
            _ => "unknown",
        }
    }
}

/// What a suspended command waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wait {
    /// The PDP context (`AT+CIICR`, `AT+CGACT=1`, `AT+SAPBR=1`): `OK` no earlier than
    /// `until`, or `failure`.
    Pdp {
        user: super::radio::PdpUser,
        until: Duration,
        failure: Failure,
    },
    /// Packet-domain attach (`AT+CGATT=1`).
    Attach,
    /// The peer's acknowledgement of everything sent on `link` up to byte `target`
    /// (`AT+CIPSEND` with `AT+CIPQSEND=0`).
    Delivered { link: LinkId, target: u64 },
}

/// The send a `> ` prompt collects data for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PendingSend {
    pub link: LinkId,
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
    /// Parses and runs the held input while the interpreter can take it.
    pub(super) fn pump(&mut self, now: Duration) {
        while self.listening()
            && matches!(self.s.cmd, Cmd::Idle | Cmd::Data { .. })
            && !self.s.input.is_empty()
        {
            let (used, event) = self.s.parser.feed(&self.s.input);
            let event = event.map(|e| e.map(Parsed::from));
            self.s.input.drain(..used.min(self.s.input.len()));
            match event {
                Some(event) => self.on_parsed(now, event),
                None if used == 0 => break,
                None => {}
            }
        }
    }

    fn on_parsed(&mut self, now: Duration, event: Result<Parsed, ParseError>) {
        let in_data = matches!(self.s.cmd, Cmd::Data { .. });
        match event {
            Ok(Parsed::Line(raw)) if !in_data => {
                if self.s.echo {
                    self.write_out(&raw);
                }
                self.s.cmd = Cmd::Busy;
                self.drive(now, LineExec::new(raw, now), None);
            }
            Ok(Parsed::Data(data)) if in_data => self.on_data(now, &data),
            // ESC: nothing is sent. UNCONFIRMED: the manual names no result; `OK` lets a
            // host that waits for a final result go on.
            Ok(Parsed::Cancelled) if in_data => self.finish_data(
                now,
                Step::Done {
                    result: Some(Response::Ok),
                    takes: self.profile.command,
                },
            ),
            Err(ParseError::DataTooLong) if in_data => {
                self.finish_data(now, Step::Fail(Failure::Error))
            }
            Err(ParseError::Noise) => {}
            Err(_) if !in_data => {
                self.s.cmd = Cmd::Busy;
                self.drive(
                    now,
                    LineExec::new(Vec::new(), now),
                    Some(Step::Fail(Failure::Error)),
                );
            }
            _ => {}
        }
    }

    fn on_data(&mut self, now: Duration, data: &[u8]) {
        let Cmd::Data { send } = std::mem::take(&mut self.s.cmd) else {
            return;
        };
        if self.s.echo {
            self.write_out(data);
        }
        self.s.cmd = Cmd::Busy;
        let step = self.send_data(now, send, data);
        self.drive(now, LineExec::new(Vec::new(), now), Some(step));
    }

    /// The data phase of a send ended without sending.
    fn finish_data(&mut self, now: Duration, step: Step) {
        self.s.cmd = Cmd::Busy;
        self.drive(now, LineExec::new(Vec::new(), now), Some(step));
    }

    /// Runs the line's commands from `exec.next`; `step` is the outcome of the command
    /// before it, when resuming one.
    fn drive(&mut self, now: Duration, mut exec: LineExec, mut step: Option<Step>) {
        let raw = std::mem::take(&mut exec.raw);
        let mut scratch = CommandParser::<LINE_MAX>::new();
        let segments: Vec<Segment<'_>> = match scratch.feed(&raw).1 {
            Some(Ok(ParserEvent::Line(line))) => line.segments().collect(),
            _ => Vec::new(),
        };
        loop {
            let outcome = match step.take() {
                Some(outcome) => outcome,
                None => {
                    let Some(segment) = segments.get(exec.next) else {
                        self.release(now, exec);
                        return;
                    };
                    exec.next += 1;
                    match segment.parse(self.s.ip.multi) {
                        Ok(command) => self.execute(now, &mut exec, command),
                        Err(ParseError::BadParameters) => {
                            Step::Fail(Failure::Cme(cme::BAD_PARAMETERS))
                        }
                        Err(_) => Step::Fail(Failure::Error),
                    }
                }
            };
            let last = exec.next >= segments.len();
            match outcome {
                Step::Done { result, takes } => {
                    exec.ready_at = exec.ready_at.max(now) + takes;
                    if last {
                        if let Some(result) = result {
                            exec.line(&result);
                        }
                        self.release(now, exec);
                        return;
                    }
                }
                Step::Fail(failure) => {
                    exec.ready_at = exec.ready_at.max(now) + self.profile.command;
                    exec.line(&self.failure_response(failure));
                    self.release(now, exec);
                    return;
                }
                Step::Wait(wait) => {
                    exec.raw = raw;
                    self.s.cmd = Cmd::Waiting { exec, wait };
                    return;
                }
                Step::Prompt { mode, send } => {
                    self.s.cmd = Cmd::Idle;
                    self.write_out(&exec.reply);
                    self.flush_deferred();
                    self.write_out(&encode(&Response::Prompt));
                    self.s.parser.expect_data(mode);
                    self.s.cmd = Cmd::Data { send };
                    return;
                }
            }
        }
    }

    /// The line is done: its reply goes out now or at its time.
    fn release(&mut self, now: Duration, exec: LineExec) {
        if exec.ready_at <= now {
            self.s.cmd = Cmd::Idle;
            self.write_out(&exec.reply);
            self.flush_deferred();
        } else {
            self.s.cmd = Cmd::Replying { reply: exec.reply };
            self.timers.set(exec.ready_at, super::Timer::Reply);
        }
    }

    pub(super) fn on_reply_due(&mut self) {
        if let Cmd::Replying { reply } = std::mem::take(&mut self.s.cmd) {
            self.write_out(&reply);
            self.flush_deferred();
        }
    }

    fn flush_deferred(&mut self) {
        let deferred = std::mem::take(&mut self.s.deferred);
        self.write_out(&deferred);
    }

    /// The waiting command is done: `step` is its outcome; the rest of its line runs.
    pub(super) fn resume(&mut self, now: Duration, step: Step) {
        if let Cmd::Waiting { exec, .. } = std::mem::take(&mut self.s.cmd) {
            self.s.cmd = Cmd::Busy;
            self.drive(now, exec, Some(step));
        }
    }

    /// What the executing command waits for, if one does.
    pub(super) fn waiting(&self) -> Option<Wait> {
        match self.s.cmd {
            Cmd::Waiting { wait, .. } => Some(wait),
            _ => None,
        }
    }

    fn failure_response(&self, failure: Failure) -> Response<'static> {
        match (failure, self.s.cmee) {
            (Failure::Error, _) | (Failure::Cme(_), 0) => Response::Error,
            (Failure::Cme(code), 1) => Response::CmeError(code),
            (Failure::Cme(code), _) => Response::Info {
                name: "CME ERROR",
                params: cme::text(code),
            },
        }
    }
}

/// The longest line the modem takes, terminator included (the parser's default buffer).
const LINE_MAX: usize = 1600;
