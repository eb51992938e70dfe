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
//! Each wake calls [`Handler::alive`], which feeds the watchdog, as long as the device made
//! progress within `Config::progress_timeout`: a command answered (any final result), a
//! phase changed or a message delivered ([`At::progressed`]). [`Report::WatchdogFed`] goes
//! out (when fed) at most every [`WATCHDOG_REPORT_GAP`], and a sleep never lasts beyond
//! `Config::watchdog_feed_interval` after the last such report. So the core's only wait
//! point keeps returning, every wait in it has a deadline, and a loop that goes round without
//! progress (a livelock) stops feeding the watchdog, which then resets the MCU.
//!
//! The UART's `read` must be cancel-safe (embedded-io-async's recommendation, true of tokio's
//! streams and embassy's buffered UARTs): a read that loses the race to a deadline is dropped
//! and must not lose bytes.
//!
//! A read error (framing, parity, overrun, break: line noise, a modem powering up) is
//! reported ([`Report::UartError`]) and the read is tried again at once: a driver may keep
//! its reception off until the next read (embassy-rp's `BufferedUart` switches its receive
//! interrupt off on an error and on again in the read that reports it), and what arrives
//! while nobody reads is lost once the driver's buffer is full. Only end of file (`Ok(0)`),
//! or more than `UART_ERRORS_IN_A_ROW` errors with no byte read between them (a broken
//! UART), waits: the rest of the watchdog slice, so that the loop does not spin.
//!
//! # Resynchronising after a timeout
//!
//! A command that timed out may still be answered, and its late `OK` or `ERROR` must not be
//! taken for the next command's answer. So after a timeout the client is out of step, and
//! before its next command it probes with `AT` (each probe waits `Config::at_timeout`) until
//! one is answered: a modem answers in order, so the old command is over by then. It then
//! lets the line go quiet for `Config::resync_quiet`, taking what comes as URCs: the old
//! answer, if the probe took the old answer for its own, or the answers of probes the modem
//! held while it was busy. Only then is the next command sent ([`Report::AtResync`]). An `AT`
//! the layers above send is itself the probe (the start-up probing works that way).
//!
//! # Sending: the data is always written
//!
//! After `AT+CIPSEND=<link>,<len>` the client writes the data once the `> ` prompt came,
//! and otherwise (no prompt in `at_timeout`, a garbled one, an error, a URC that ended the
//! wait) `FILLER_LEN` bytes of filler, line ends. A SIM800 in fixed-length data mode takes
//! every byte for data, ESC included (ESC cancels only the Ctrl-Z form, which cannot carry
//! binary data), and reads the host's bytes in order: a prompt that came late or garbled
//! takes the filler, never a command, and what it does not take is empty lines, which a
//! modem in command mode skips. So no command byte reaches the server as data.
//! The client is then out of step (the send's answer, or the filler's, may still come).
//!
//! The same holds after the data: when its `DATA ACCEPT` does not come in time, line noise
//! may have eaten some of its bytes on the way to the modem, or changed `<len>` into a
//! larger one (`AT+CIPSEND=0,10` read as `0,100`), and the modem waits for more bytes and
//! would take the next command's for them. So filler goes first, as much as any send can
//! ask for: the modem takes what it lacks of it as data (its late `DATA ACCEPT` tells the
//! session the data was padded, and the message goes again), and skips the rest. The
//! server gets empty lines, which ask for nothing.
//!
//! # A modem that stops answering
//!
//! When a command gets no final result, its timeout ends the wait ([`Outcome::Timeout`]). The
//! client remembers when the oldest unanswered command was sent; a final result to any command
//! clears that. A timeout at least `Config::at_no_answer_limit` after it (Luat's 120 s AT
//! watchdog) is [`AtError::Unresponsive`], and the layers above power-cycle the modem. The
//! probes of a resynchronisation count as commands, so a modem that never answers again ends
//! that way too.
//!
//! Nothing the modem sends can make this layer panic: the decoder reports what it refuses
//! ([`Report::Decode`]) and resynchronises.

use core::future::Future;
use core::time::Duration;

use embassy_futures::select::{select, Either};
use embedded_io_async::{Error as _, ErrorKind, Read, Write};
use protocol::command::{Command, Name};
use protocol::response::{DecodeError, Decoder, Event, Location, Response, RxGetResponse};
use protocol::types::{DateTime, IpState, LinkId, RegStat, SimState};

use crate::config::{Config, COMMAND_BUF, DECODER_BUF, UART_RX_BUF, WATCHDOG_REPORT_GAP};
use crate::report::Report;
use crate::time::{Clock, Instant};
use crate::values::ModemKind;

/// What is written, [`FILLER_LEN`] bytes of it, where the modem may wait for a send's data
/// it did not get (see "Sending"): line ends. Taken as data, the server gets empty lines,
/// which ask for nothing; taken as commands, they are empty lines, which a modem skips.
const FILLER: [u8; 16] = [b'\n'; 16];

/// Filler bytes written: the most data any `AT+CIPSEND` takes (a SIM800's 1460 bytes,
/// `AT+CIPSEND?`), so however line noise changed `<len>`, the modem's data mode ends in it.
const FILLER_LEN: usize = crate::config::MAX_MESSAGE;

/// UART read errors in a row, with no byte read, that are retried at once; past them the
/// client waits a slice, as for end of file, rather than spin on a broken UART.
const UART_ERRORS_IN_A_ROW: u8 = 8;

/// The shortest wake interval, whatever `Config::watchdog_feed_interval` says.
const MIN_FEED_INTERVAL: Duration = Duration::from_millis(1);

/// What the layers above do with what the modem says unasked. A type parameter, not a
/// `dyn`: the firmware has one handler (`state::State`, whatever the board), so the decoding
/// loop is still compiled once, and the handler inlines into it (490 bytes of flash less on
/// the Pico than through a vtable).
pub trait Handler {
    /// A URC arrived (or a line that also carries link state, such as `CONNECT OK`). The
    /// answer says whether the current wait should end.
    fn urc(&mut self, now: Instant, urc: &Response<'_>) -> Wake;

    /// The client woke up (bytes or a deadline) and carries on: feed the watchdog.
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
    /// The link or the modem failed: also ends the wait of a send (`AT+CIPSEND`).
    Abort,
    /// The modem restarted or switched off (`RDY`, `+CPIN: NOT READY`, a power-down): ends
    /// every wait, a pending command's too, and [`At::sleep_until`]'s. (While the modem is
    /// being started, these URCs are expected, and the handler answers [`Wake::Abort`].)
    Restart,
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

/// What the information lines of the last command's answer said ([`At::answer`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Answer {
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
    /// `+CIPACK: <txlen>,<acklen>,<nacklen>`: bytes written on the link and acknowledged.
    pub cipack: Option<(u32, u32)>,
    /// `DATA ACCEPT:<n>,<len>`: the bytes a send handed to the modem.
    pub accepted: Option<u16>,
    /// `+CIPMUX: <n>` (`AT+CIPMUX?`): multi-link mode on.
    pub multi: Option<bool>,
    /// A free-text line (`ATI`, `AT+CGMR`) named a Luat modem ([`ModemKind::identify`]).
    pub luat: bool,
}

impl Answer {
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
            Response::Cipack { txlen, acklen, .. } => self.cipack = Some((txlen, acklen)),
            Response::DataAccept { len, .. } => self.accepted = Some(len),
            Response::Info {
                name: "CIPMUX",
                params,
            } => self.multi = Some(params == "1"),
            Response::Text(t) => self.luat |= ModemKind::identify(&[t]) == ModemKind::AIR202,
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

/// Why a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Its deadline came.
    Deadline,
    /// The pending answer ended; how.
    Answered(Outcome),
    /// A URC asked for attention.
    Wake(Wake),
}

/// The receive side: the bytes read, the decoder, and what the pending answer said so far.
/// Nothing here depends on the UART, the clock or the board.
// `repr(C)`, the buffers last: see `Device`.
#[repr(C)]
struct Rx {
    /// `buf[start..end]` is read and not yet decoded.
    start: usize,
    end: usize,
    /// When the last bytes were read.
    last_read: Instant,
    /// When the oldest command still without a final result was sent.
    unanswered_since: Option<Instant>,
    /// UART read errors since the last bytes were read.
    errors: u8,
    /// A command was echoed (see [`At::take_echoed`]).
    echoed: bool,
    /// When the device last made progress: an answer, or what [`At::progressed`] was told.
    progress: Instant,
    answer: Answer,
    decoder: Decoder<DECODER_BUF>,
    buf: [u8; UART_RX_BUF],
}

impl Rx {
    /// Decodes what was read and dispatches it, until the bytes are used up (`None`) or the
    /// wait ends: at the pending answer's end, or at a URC whose [`Wake`] reaches `stop_on`.
    fn decode(
        &mut self,
        now: Instant,
        stop_on: Option<Wake>,
        handler: &mut (impl Handler + ?Sized),
    ) -> Option<Stop> {
        while self.start < self.end {
            let (used, event) = self.decoder.feed(&self.buf[self.start..self.end]);
            // The decoder always takes bytes; never spin if it did not.
            self.start = if used == 0 {
                self.end
            } else {
                self.start + used
            };
            let event = match event {
                None => continue,
                Some(Err(e)) => {
                    handler.report(Report::Decode(e));
                    continue;
                }
                Some(Ok(event)) => event,
            };
            let (r, is_final) = match event {
                Event::Echo(_) => {
                    self.echoed = true;
                    continue;
                }
                Event::Urc(r) => {
                    let wake = handler.urc(now, &r);
                    if stop_on.is_some_and(|s| wake >= s) {
                        return Some(Stop::Wake(wake));
                    }
                    continue;
                }
                Event::Info(r) => (r, false),
                Event::Final(r) => (r, true),
            };
            // Lines that carry link state are the handler's too, whoever they answer.
            if matches!(
                r,
                Response::Connect { .. }
                    | Response::Closed(_)
                    | Response::PdpDeact
                    | Response::Cntp(_)
                    | Response::RxGet(RxGetResponse::Data { .. })
            ) {
                handler.urc(now, &r);
            }
            self.answer.collect(&r);
            if is_final {
                self.unanswered_since = None;
                self.progress = now;
                return Some(Stop::Answered(match r {
                    r if r.is_error() => Outcome::Error,
                    Response::SendFail(_) => Outcome::SendFail,
                    _ => Outcome::Ok,
                }));
            }
            if r == Response::Prompt {
                return Some(Stop::Answered(Outcome::Prompt));
            }
        }
        None
    }
}

/// The AT client over a UART `U`, timed by a clock `C`.
// `repr(C)`, the buffers last: see `Device`.
#[repr(C)]
pub struct At<'c, U, C> {
    clock: &'c C,
    /// A command timed out and the client has not resynchronised since.
    out_of_step: bool,
    /// When [`Report::WatchdogFed`] was last reported.
    fed_reported: Instant,
    /// The deadline of the pending answer.
    deadline: Instant,
    config: &'c Config,
    uart: U,
    rx: Rx,
}

impl<'c, U: Read + Write, C: Clock> At<'c, U, C> {
    pub fn new(uart: U, clock: &'c C, config: &'c Config) -> Self {
        At {
            uart,
            clock,
            rx: Rx {
                decoder: Decoder::new(),
                buf: [0; UART_RX_BUF],
                start: 0,
                end: 0,
                last_read: Instant::ZERO,
                answer: Answer::default(),
                unanswered_since: None,
                errors: 0,
                echoed: false,
                progress: Instant::ZERO,
            },
            out_of_step: false,
            fed_reported: Instant::ZERO,
            deadline: Instant::ZERO,
            config,
        }
    }

    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// What the information lines of the last command's answer said.
    pub fn answer(&self) -> &Answer {
        &self.rx.answer
    }

    /// The device made progress (a phase changed, a message was delivered): the watchdog is
    /// fed for another `Config::progress_timeout`.
    pub fn progressed(&mut self) {
        self.rx.progress = self.clock.now();
    }

    /// Whether the modem echoed a command since the last call: after `ATE0`, a sign that it
    /// restarted and lost its settings.
    pub fn take_echoed(&mut self) -> bool {
        core::mem::take(&mut self.rx.echoed)
    }

    /// The `C:` lines that follow `STATE:` in multi mode (the profile's link count).
    pub fn set_connection_lines(&mut self, count: u8) {
        self.rx.decoder.set_connection_lines(count);
    }

    /// Forgets everything about the modem's output, as after it was restarted.
    pub fn reset(&mut self) {
        self.rx.decoder.reset();
        self.rx.decoder.set_connection_lines(0);
        self.rx.start = self.rx.end;
        self.rx.unanswered_since = None;
        self.out_of_step = false;
    }

    /// How long `command` may take to its final result.
    pub fn timeout(&self, command: &Command<'_>) -> Duration {
        let c = self.config;
        match command {
            Command::Exec(Name::Ciicr) | Command::Sapbr { cmd: 1, .. } => c.ciicr_timeout,
            Command::Exec(Name::Cipshut) => c.cipshut_timeout,
            Command::Cfun { .. } => c.cfun_timeout,
            // Until the prompt; the data's answer has its own ([`At::send_result`]).
            Command::Cipsend { .. } => c.at_timeout,
            // Only start-up sends it: the probe.
            Command::At => c.probe_interval,
            _ => c.at_timeout,
        }
    }

    /// Sends `command` and waits for its answer, as long as [`At::timeout`] says; what its
    /// information lines said is in [`At::answer`] afterwards. Out of step, it first probes
    /// with `AT` until in step again (see the module documentation); an `AT` is its own probe.
    ///
    /// `AT+CIPSEND=<link>,<len>` waits `at_timeout` for the `> ` prompt ([`Outcome::Prompt`]):
    /// then the modem waits for exactly `len` bytes; [`At::write`] them at once and wait for
    /// the `DATA ACCEPT` with [`At::send_result`]. A [`Wake::Abort`] URC (`CLOSED`, `+PDP: DEACT`,
    /// which may come instead of the answer) ends a send's wait at once. Without the prompt,
    /// filler is written before this returns (see "Sending").
    pub async fn command(
        &mut self,
        command: &Command<'_>,
        handler: &mut (impl Handler + ?Sized),
    ) -> Result<Outcome, AtError> {
        loop {
            let probe = self.out_of_step && !matches!(command, Command::At);
            let (this, timeout) = if probe {
                (&Command::At, self.config.at_timeout)
            } else {
                (command, self.timeout(command))
            };
            let mut buf = [0u8; COMMAND_BUF];
            let len = this.encode(&mut buf).map_err(|_| AtError::TooLong)?;
            let now = self.clock.now();
            self.rx.decoder.start(this);
            self.rx.answer = Answer::default();
            self.rx.unanswered_since.get_or_insert(now);
            self.deadline = now + timeout;
            self.write(&buf[..len]).await?;
            let outcome = self.finish(this, handler).await?;
            if probe {
                continue;
            }
            if let (Command::Cipsend { len: Some(_), .. }, false) =
                (command, outcome == Outcome::Prompt)
            {
                self.write_filler().await?;
                // Its answer may still come, or the prompt's.
                self.out_of_step = true;
            }
            return Ok(outcome);
        }
    }

    /// Waits for the result of a send whose data was written (`DATA ACCEPT`, in quick send
    /// mode at once), at most `Config::at_timeout`. A wait that a URC ends leaves the client
    /// out of step: the send's answer may still come.
    pub async fn send_result(
        &mut self,
        link: LinkId,
        len: usize,
        handler: &mut (impl Handler + ?Sized),
    ) -> Result<Outcome, AtError> {
        let command = Command::Cipsend {
            link: Some(link),
            len: u16::try_from(len).ok(),
        };
        self.deadline = self.clock.now() + self.config.at_timeout;
        let outcome = self.finish(&command, handler).await?;
        if outcome == Outcome::Timeout {
            // Line noise may have eaten data bytes: the modem then waits for more, and would
            // take the next command's for them. Filler goes first (see "Sending").
            self.write_filler().await?;
        }
        self.out_of_step |= outcome == Outcome::Aborted;
        Ok(outcome)
    }

    /// Dispatches what was read and not yet decoded, without waiting: the URCs that came in
    /// the same read as the one that ended a wait (`0, CLOSED` then `+PDP: DEACT`).
    pub fn drain(&mut self, handler: &mut (impl Handler + ?Sized)) {
        self.rx.decode(self.clock.now(), None, handler);
    }

    /// Handles URCs until `deadline`, or until one asks for attention ([`Wake::Yes`] or
    /// more).
    pub fn wait_until<'s, H: Handler + ?Sized>(
        &'s mut self,
        deadline: Instant,
        handler: &'s mut H,
    ) -> impl Future<Output = Stop> + use<'s, 'c, U, C, H> {
        self.pump(deadline, Some(Wake::Yes), handler)
    }

    /// Handles URCs until `deadline`, whatever they are, unless one says the modem restarted
    /// ([`Wake::Restart`]): a pause that still listens.
    pub fn sleep_until<'s, H: Handler + ?Sized>(
        &'s mut self,
        deadline: Instant,
        handler: &'s mut H,
    ) -> impl Future<Output = Stop> + use<'s, 'c, U, C, H> {
        self.pump(deadline, Some(Wake::Restart), handler)
    }

    /// Waits for the pending answer until `self.deadline`; a send's also ends at a
    /// [`Wake::Abort`] URC, any command's at a [`Wake::Restart`] one ([`Outcome::Aborted`]). Out of step and answered, it then waits for `resync_quiet` of
    /// silence (at most `at_timeout` in all, for a line that never goes quiet), handling what
    /// comes as URCs.
    async fn finish(
        &mut self,
        // By reference: a copy into the future is a `memmove` (see `outbox`).
        command: &Command<'_>,
        handler: &mut (impl Handler + ?Sized),
    ) -> Result<Outcome, AtError> {
        let stop_on = if matches!(command, Command::Cipsend { .. }) {
            Wake::Abort
        } else {
            Wake::Restart
        };
        let stop_on = Some(stop_on);
        match self.pump(self.deadline, stop_on, handler).await {
            Stop::Answered(outcome) => {
                if self.out_of_step && outcome != Outcome::Prompt {
                    let limit = self.clock.now() + self.config.at_timeout;
                    loop {
                        let quiet = (self.rx.last_read + self.config.resync_quiet).min(limit);
                        if self.clock.now() >= quiet {
                            break;
                        }
                        self.pump(quiet, None, handler).await;
                    }
                    self.out_of_step = false;
                    handler.report(Report::AtResync);
                }
                Ok(outcome)
            }
            Stop::Wake(_) => {
                self.rx.decoder.cancel();
                Ok(Outcome::Aborted)
            }
            Stop::Deadline => {
                self.rx.decoder.cancel();
                self.out_of_step = true;
                handler.report(Report::AtTimeout(*command));
                // Noise in a header's length would take every answer after it for payload,
                // and a healthy modem for dead: a payload unfinished on a quiet line is given
                // up (issue 11 point 8; the swarm's seed 12693).
                if self.clock.now() >= self.rx.last_read + self.config.resync_quiet
                    && self.rx.decoder.abandon_payload()
                {
                    handler.report(Report::Decode(DecodeError::Malformed));
                }
                let since = self.rx.unanswered_since.unwrap_or(self.deadline);
                if self.clock.now() >= since + self.config.at_no_answer_limit {
                    return Err(AtError::Unresponsive);
                }
                Ok(Outcome::Timeout)
            }
        }
    }

    /// `Config::watchdog_feed_interval`, never zero: a zero would make every wait a busy
    /// loop.
    fn feed_interval(&self) -> Duration {
        self.config.watchdog_feed_interval.max(MIN_FEED_INTERVAL)
    }

    /// The one wait loop: decodes, dispatches, reads, sleeps. Returns at `deadline`, at the
    /// pending answer's end, or at a URC whose [`Wake`] reaches `stop_on`.
    pub(crate) async fn pump(
        &mut self,
        deadline: Instant,
        stop_on: Option<Wake>,
        handler: &mut (impl Handler + ?Sized),
    ) -> Stop {
        loop {
            if let Some(stop) = self.rx.decode(self.clock.now(), stop_on, handler) {
                return stop;
            }
            let now = self.clock.now();
            if now >= deadline {
                return Stop::Deadline;
            }
            let feed_by = self.fed_reported + self.feed_interval();
            match select(
                self.uart.read(&mut self.rx.buf),
                self.clock.sleep_until(deadline.min(feed_by)),
            )
            .await
            {
                Either::First(Ok(n)) if n > 0 => {
                    self.rx.errors = 0;
                    self.rx.start = 0;
                    self.rx.end = n.min(UART_RX_BUF);
                    self.rx.last_read = self.clock.now();
                }
                Either::First(Err(e)) => {
                    // Read again at once: a driver may keep reception off until the next
                    // read, and what arrives meanwhile is lost. Only an error at every try
                    // (a broken UART) waits, as end of file does.
                    handler.report(Report::UartError(e.kind()));
                    self.rx.errors = self.rx.errors.saturating_add(1);
                    if self.rx.errors > UART_ERRORS_IN_A_ROW {
                        self.rx.errors = 0;
                        self.clock
                            .sleep_until(deadline.min(now + self.feed_interval()))
                            .await;
                    }
                }
                Either::First(Ok(_)) => {
                    // End of file: wait out the slice rather than spin on it.
                    self.clock
                        .sleep_until(deadline.min(now + self.feed_interval()))
                        .await;
                }
                Either::Second(()) => {}
            }
            let now = self.clock.now();
            // Fed only while the loop makes progress (see "Waiting"): a livelock stops it.
            let gap = WATCHDOG_REPORT_GAP.min(self.feed_interval());
            if now < self.rx.progress + self.config.progress_timeout {
                handler.alive(now);
                if now >= self.fed_reported + gap {
                    self.fed_reported = now;
                    handler.report(Report::WatchdogFed);
                }
            } else if now >= self.fed_reported + gap {
                // Not fed: the slice goes on all the same (the next wake is a slice away).
                self.fed_reported = now;
            }
        }
    }

    /// Writes [`FILLER`] until at least [`FILLER_LEN`] bytes went (see "Sending").
    async fn write_filler(&mut self) -> Result<(), AtError> {
        for _ in 0..FILLER_LEN.div_ceil(FILLER.len()) {
            self.write(&FILLER).await?;
        }
        Ok(())
    }

    /// Writes all of `bytes` and flushes, within `Config::uart_write_timeout`: a command, or
    /// the data of a send once its prompt came.
    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), AtError> {
        let deadline = self.clock.now() + self.config.uart_write_timeout;
        let uart = &mut self.uart;
        let write = async {
            uart.write_all(bytes).await?;
            uart.flush().await
        };
        match select(write, self.clock.sleep_until(deadline)).await {
            Either::First(Ok(())) => Ok(()),
            Either::First(Err(e)) => Err(AtError::Uart(e.kind())),
            Either::Second(()) => Err(AtError::Uart(ErrorKind::TimedOut)),
        }
    }
}
