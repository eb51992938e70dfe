//! The AT client: owns the UART and the response [`Decoder`], sends one command at a time
//! and waits for its answer or a deadline, and hands every URC to a [`Handler`] as it arrives.
//!
//! # Waiting
//!
//! Every wait is one loop: decode what was read, then `select` between a UART read and the
//! clock's `sleep_until`. `embassy_futures::select` polls its futures in order and the first
//! ready one wins, so the read comes first: bytes that have arrived are decoded before a
//! deadline is declared, and a deadline fires only on a quiet line. A chatty line cannot hold
//! a deadline back either, because the loop checks the clock each time round.
//!
//! A sleep never lasts longer than `Config::watchdog_feed_interval`: each wake calls
//! [`Handler::alive`], which feeds the watchdog. That is what "progress" means here: the
//! core's only wait point keeps returning, and every wait in it has a deadline.
//!
//! The UART's `read` must be cancel-safe (embedded-io-async's recommendation, true of tokio's
//! streams and embassy's buffered UARTs): a read that loses the race to a deadline is dropped
//! and must not lose bytes.
//!
//! # A modem that stops answering
//!
//! When a command gets no final result, its timeout ends the wait ([`Outcome::Timeout`]). The
//! client remembers when the oldest unanswered command was sent; a final result to any command
//! clears that. A timeout at least `Config::at_no_answer_limit` after it (Luat's 120 s AT
//! watchdog) is [`AtError::Unresponsive`], and the layers above power-cycle the modem.
//!
//! Nothing the modem sends can make this layer panic: the decoder reports what it refuses
//! ([`Report::Decode`]) and resynchronises.

use core::time::Duration;

use embassy_futures::select::{select, Either};
use embedded_io_async::{Error as _, ErrorKind, Read, Write};
use protocol::command::Command;
use protocol::response::{Decoder, Event, Location, Response};
use protocol::types::{DateTime, IpState, LinkId, RegStat, SimState};

use crate::config::{Config, COMMAND_BUF, DECODER_BUF, UART_RX_BUF};
use crate::report::Report;
use crate::time::{Clock, Instant};

/// The free text kept from an answer (`ATI`, `AT+CGMR`), in bytes.
pub const TEXT_LEN: usize = 48;

/// What the layers above do with what the modem says unasked.
pub trait Handler {
    /// A URC arrived (or a line that also carries link state, such as `CONNECT OK`). The
    /// answer says whether the current wait should end.
    fn urc(&mut self, now: Instant, urc: &Response<'_>) -> Wake;

    /// The client woke up (bytes or a deadline) and carries on.
    fn alive(&mut self, now: Instant);

    fn report(&mut self, report: Report<'_>);
}

/// Whether a URC ends the current wait. Ordered: `Abort` ends more waits than `Yes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Wake {
    /// Nothing to do now.
    No,
    /// Something to do: ends an idle wait ([`At::wait_until`]).
    Yes,
    /// The link or the modem failed: also ends a data send ([`At::send`]).
    Abort,
}

/// How a command's answer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Outcome {
    /// `OK`, or the final line that means it (`SHUT OK`, `SEND OK`, `STATE:`, the IP, ...).
    Ok,
    /// `ERROR`, `+CME ERROR`, `+CMS ERROR`.
    Error,
    /// `SEND FAIL`.
    SendFail,
    /// The `> ` prompt of `AT+CIPSEND` (the answer goes on after the data).
    Prompt,
    /// No final result before the deadline.
    #[default]
    Timeout,
    /// A URC ended the wait ([`Wake::Abort`]).
    Aborted,
}

/// A command's answer: how it ended, and what its information lines said.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Answer {
    pub outcome: Outcome,
    pub cpin: Option<SimState>,
    pub creg: Option<(RegStat, Option<Location>)>,
    pub cgatt: Option<bool>,
    /// `+CSQ: <rssi>,<ber>`
    pub csq: Option<(u8, u8)>,
    /// `STATE:` of `AT+CIPSTATUS`.
    pub state: Option<IpState>,
    /// The `C:` lines of `AT+CIPSTATUS`.
    pub connections: u8,
    pub ip: Option<[u8; 4]>,
    pub cclk: Option<DateTime>,
    /// The first free-text line, cut to [`TEXT_LEN`] bytes.
    pub text: heapless::Vec<u8, TEXT_LEN>,
}

impl Answer {
    pub fn is_ok(&self) -> bool {
        self.outcome == Outcome::Ok
    }

    fn collect(&mut self, r: &Response<'_>) {
        match *r {
            Response::Cpin(s) => self.cpin = Some(s),
            Response::Creg { stat, location, .. } => self.creg = Some((stat, location)),
            Response::Cgatt(on) => self.cgatt = Some(on),
            Response::Csq { rssi, ber } => self.csq = Some((rssi, ber)),
            Response::State(s) => self.state = Some(s),
            Response::Connection(_) => self.connections = self.connections.saturating_add(1),
            Response::IpAddress(ip) => self.ip = Some(ip),
            Response::Cclk(t) => self.cclk = Some(t),
            Response::Text(t) if self.text.is_empty() => {
                let _ = self.text.extend_from_slice(&t[..t.len().min(TEXT_LEN)]);
            }
            _ => {}
        }
    }
}

/// Why a command could not be carried out at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtError {
    /// No final result for `Config::at_no_answer_limit`.
    Unresponsive,
    /// Writing to the UART failed, or took longer than `Config::uart_write_timeout`.
    Uart(ErrorKind),
    /// The command does not fit [`COMMAND_BUF`] (cannot happen with `Config`'s text limits).
    TooLong,
}

/// Why [`At::pump`] returned.
enum Stop {
    Deadline,
    Final,
    Wake(Wake),
}

/// The AT client over a UART `U`, timed by a clock `C`.
pub struct At<'c, U, C> {
    uart: U,
    clock: &'c C,
    decoder: Decoder<DECODER_BUF>,
    rx: [u8; UART_RX_BUF],
    /// `rx[start..end]` is read and not yet decoded.
    start: usize,
    end: usize,
    /// When the oldest command still without a final result was sent.
    unanswered_since: Option<Instant>,
    no_answer_limit: Duration,
    feed_interval: Duration,
    write_timeout: Duration,
}

impl<'c, U: Read + Write, C: Clock> At<'c, U, C> {
    pub fn new(uart: U, clock: &'c C, config: &Config) -> Self {
        At {
            uart,
            clock,
            decoder: Decoder::new(),
            rx: [0; UART_RX_BUF],
            start: 0,
            end: 0,
            unanswered_since: None,
            no_answer_limit: config.at_no_answer_limit,
            // Never zero: a zero would make every wait a busy loop.
            feed_interval: config.watchdog_feed_interval.max(Duration::from_millis(1)),
            write_timeout: config.uart_write_timeout,
        }
    }

    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// The `C:` lines that follow `STATE:` in multi mode (the profile's link count).
    pub fn set_connection_lines(&mut self, count: u8) {
        self.decoder.set_connection_lines(count);
    }

    /// Forgets everything about the modem's output, as after it was restarted.
    pub fn reset(&mut self) {
        self.decoder.reset();
        self.decoder.set_connection_lines(0);
        self.start = self.end;
        self.unanswered_since = None;
    }

    /// Sends `command` and waits up to `timeout` for its answer.
    pub async fn command<H: Handler>(
        &mut self,
        command: &Command<'_>,
        timeout: Duration,
        handler: &mut H,
    ) -> Result<Answer, AtError> {
        let deadline = self.send_command(command).await? + timeout;
        self.finish(command, deadline, None, handler).await
    }

    /// Sends `data` on `link` (`AT+CIPSEND=<link>,<len>`, the `> ` prompt, the bytes) and
    /// waits up to `timeout` in all for `SEND OK`. A [`Wake::Abort`] URC (`CLOSED`,
    /// `+PDP: DEACT`, which may come instead of the answer) ends the wait at once.
    pub async fn send<H: Handler>(
        &mut self,
        link: LinkId,
        data: &[u8],
        timeout: Duration,
        handler: &mut H,
    ) -> Result<Answer, AtError> {
        let len = u16::try_from(data.len()).map_err(|_| AtError::TooLong)?;
        let command = Command::Cipsend {
            link: Some(link),
            len: Some(len),
        };
        let deadline = self.send_command(&command).await? + timeout;
        let answer = self
            .finish(&command, deadline, Some(Wake::Abort), handler)
            .await?;
        if answer.outcome != Outcome::Prompt {
            return Ok(answer);
        }
        write_all(&mut self.uart, self.clock, self.write_timeout, data).await?;
        self.finish(&command, deadline, Some(Wake::Abort), handler)
            .await
    }

    /// Handles URCs until `deadline`, or until one asks for attention ([`Wake::Yes`] or
    /// more), which is returned.
    pub async fn wait_until<H: Handler>(&mut self, deadline: Instant, handler: &mut H) -> Wake {
        match self.pump(deadline, Some(Wake::Yes), None, handler).await {
            Stop::Wake(wake) => wake,
            Stop::Deadline | Stop::Final => Wake::No,
        }
    }

    /// Handles URCs until `deadline`, whatever they are: a pause that still listens.
    pub async fn sleep_until<H: Handler>(&mut self, deadline: Instant, handler: &mut H) {
        self.pump(deadline, None, None, handler).await;
    }

    /// Encodes and writes `command`; its answer is pending from now on. Returns when it was
    /// sent.
    async fn send_command(&mut self, command: &Command<'_>) -> Result<Instant, AtError> {
        let mut buf = [0u8; COMMAND_BUF];
        let len = command.encode(&mut buf).map_err(|_| AtError::TooLong)?;
        let now = self.clock.now();
        self.decoder.start(command);
        self.unanswered_since.get_or_insert(now);
        write_all(&mut self.uart, self.clock, self.write_timeout, &buf[..len]).await?;
        Ok(now)
    }

    /// Waits for the pending answer until `deadline`.
    async fn finish<H: Handler>(
        &mut self,
        command: &Command<'_>,
        deadline: Instant,
        stop_on: Option<Wake>,
        handler: &mut H,
    ) -> Result<Answer, AtError> {
        let mut answer = Answer::default();
        match self
            .pump(deadline, stop_on, Some(&mut answer), handler)
            .await
        {
            Stop::Final => {}
            Stop::Wake(_) => {
                self.decoder.cancel();
                answer.outcome = Outcome::Aborted;
            }
            Stop::Deadline => {
                self.decoder.cancel();
                answer.outcome = Outcome::Timeout;
                handler.report(Report::AtTimeout(*command));
                let since = self.unanswered_since.unwrap_or(deadline);
                if self.clock.now() - since >= self.no_answer_limit {
                    return Err(AtError::Unresponsive);
                }
            }
        }
        Ok(answer)
    }

    /// The one wait loop: decodes, dispatches, reads, sleeps. Returns at `deadline`, at the
    /// pending answer's end (when `answer` is given), or at a URC whose [`Wake`] reaches
    /// `stop_on`.
    async fn pump<H: Handler>(
        &mut self,
        deadline: Instant,
        stop_on: Option<Wake>,
        mut answer: Option<&mut Answer>,
        handler: &mut H,
    ) -> Stop {
        loop {
            while self.start < self.end {
                let now = self.clock.now();
                let (used, event) = self.decoder.feed(&self.rx[self.start..self.end]);
                self.start += used;
                let stop = match event {
                    None if used == 0 => {
                        // The decoder always takes bytes; never spin if it did not.
                        self.start = self.end;
                        None
                    }
                    None => None,
                    Some(Err(e)) => {
                        handler.report(Report::Decode(e));
                        None
                    }
                    Some(Ok(event)) => dispatch(
                        event,
                        now,
                        stop_on,
                        answer.as_deref_mut(),
                        &mut self.unanswered_since,
                        handler,
                    ),
                };
                if let Some(stop) = stop {
                    return stop;
                }
            }
            let now = self.clock.now();
            if now >= deadline {
                return Stop::Deadline;
            }
            let wake_at = deadline.min(now + self.feed_interval);
            match select(
                self.uart.read(&mut self.rx),
                self.clock.sleep_until(wake_at),
            )
            .await
            {
                Either::First(Ok(n)) if n > 0 => {
                    self.start = 0;
                    self.end = n.min(self.rx.len());
                }
                Either::First(result) => {
                    // An error, or end of file: wait out the slice rather than spin on it.
                    let kind = result.err().map_or(ErrorKind::Other, |e| e.kind());
                    handler.report(Report::UartError(kind));
                    self.clock.sleep_until(wake_at).await;
                }
                Either::Second(()) => {}
            }
            handler.alive(self.clock.now());
        }
    }
}

/// What one decoded event means for the current wait.
fn dispatch<H: Handler>(
    event: Event<'_>,
    now: Instant,
    stop_on: Option<Wake>,
    answer: Option<&mut Answer>,
    unanswered_since: &mut Option<Instant>,
    handler: &mut H,
) -> Option<Stop> {
    match event {
        Event::Echo(_) => None,
        Event::Urc(r) => {
            let wake = handler.urc(now, &r);
            stop_on.filter(|&s| wake >= s).map(|_| Stop::Wake(wake))
        }
        Event::Info(r) | Event::Final(r) => {
            let is_final = matches!(event, Event::Final(_));
            // Lines that carry link state are the handler's too, whoever they answer.
            if matches!(
                r,
                Response::Connect { .. }
                    | Response::Closed(_)
                    | Response::PdpDeact
                    | Response::Cntp(_)
            ) {
                handler.urc(now, &r);
            }
            if is_final {
                *unanswered_since = None;
            }
            let answer = answer?;
            answer.collect(&r);
            if is_final {
                answer.outcome = match r {
                    r if r.is_error() => Outcome::Error,
                    Response::SendFail(_) => Outcome::SendFail,
                    _ => Outcome::Ok,
                };
                Some(Stop::Final)
            } else if r == Response::Prompt {
                answer.outcome = Outcome::Prompt;
                Some(Stop::Final)
            } else {
                None
            }
        }
    }
}

/// Writes all of `bytes` and flushes, within `timeout`.
async fn write_all<U: Write, C: Clock>(
    uart: &mut U,
    clock: &C,
    timeout: Duration,
    bytes: &[u8],
) -> Result<(), AtError> {
    let deadline = clock.now() + timeout;
    let write = async {
        uart.write_all(bytes).await?;
        uart.flush().await
    };
    match select(write, clock.sleep_until(deadline)).await {
        Either::First(Ok(())) => Ok(()),
        Either::First(Err(e)) => Err(AtError::Uart(e.kind())),
        Either::Second(()) => Err(AtError::Uart(ErrorKind::TimedOut)),
    }
}
