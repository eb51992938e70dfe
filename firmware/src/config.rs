//! Every knob of the firmware, with its unit and its valid range, in one [`Config`]
//! ([`Config::validate`] checks the ranges); and the fixed buffer sizes. A new knob is one
//! field here (with its default and its range in `validate`): the `serde` feature makes it a
//! key of configuration files, scenario files and `longlink-host --set`.
//!
//! The defaults are the seed's values (`shared/seed/luat-socket-tutorial.md`), where it has
//! one, and the SIM800 manual's or the Luat / TinyGSM libraries' otherwise
//! (`shared/reference/sim800-tcpip-at.md`).
//!
//! B8 (a 2 s read timeout, "a timeout is not an error") has no knob: the seed needs it only
//! because its loop can either read or send. Our session loop waits for the earliest of UART
//! bytes and its deadlines (heartbeat, outbox, queries, clock), so nothing waits behind a read
//! and nothing polls every 2 s; a read never "fails" short of the link dropping, which the
//! modem reports (`CLOSED`, `+PDP: DEACT`) and the loop handles at once.

use core::fmt;
use core::time::Duration;

use heapless::String;
use protocol::app::Framing;
use protocol::types::Transport;

use crate::time::Instant;

/// The largest message, in bytes: what one `AT+CIPSEND` may carry (Luat's and attentive's cap,
/// the SIM800's TCP segment). A reply or heartbeat plus its framing terminator must fit.
pub const MAX_MESSAGE: usize = 1460;

/// Bytes read from the UART per call. Small: the decoder keeps what it needs, so this only
/// sets how many bytes one read may hand over.
pub const UART_RX_BUF: usize = 128;

/// The response decoder's buffer, in bytes: one line or one whole `+RECEIVE` payload. A
/// SIM800 delivers at most 1460 bytes per `+RECEIVE` (its TCP segment, [`MAX_MESSAGE`]); the
/// longest line the firmware reads (a `C:` line of `AT+CIPSTATUS`) is about 100 bytes.
pub const DECODER_BUF: usize = MAX_MESSAGE;

/// The outbox's byte storage: messages written and waiting for their acknowledgement (they
/// are written from there, not copied), and those queued behind them: two messages of the
/// largest size. Messages are stored as sent: framing terminator included.
pub const OUTBOX_BYTES: usize = 2 * MAX_MESSAGE;

/// The outbox's message slots (a heartbeat takes a slot and no bytes).
pub const OUTBOX_ENTRIES: usize = 16;

/// The longest newline-framed message received, in bytes: the largest that can be echoed
/// back with its `\n`. Longer messages are dropped (reported), what follows is delivered.
pub const MAX_FRAMED: usize = MAX_MESSAGE - 1;

/// One encoded AT command, in bytes (`AT+CIPSTART=0,"TCP","<64-byte host>",65535\r` fits).
pub const COMMAND_BUF: usize = 128;

/// The server host name or address, in bytes.
pub const HOST_LEN: usize = 64;

/// The APN, user name, password and NTP server name, in bytes each.
pub const NAME_LEN: usize = 32;

/// The watchdog is fed on every wake of the AT client, but [`Report::WatchdogFed`] is reported
/// at most this often (device time; never more often than `Config::watchdog_feed_interval`
/// allows): a report per wake made traces huge. The client wakes at least every
/// `watchdog_feed_interval` after the last report, so the reports still show that bound.
///
/// [`Report::WatchdogFed`]: crate::Report::WatchdogFed
pub const WATCHDOG_REPORT_GAP: Duration = Duration::from_secs(1);

/// The multi-connection link the firmware uses: 0 exists on every profile (0–5 on SIM800,
/// 0–7 on Air202).
pub const LINK: protocol::types::LinkId = 0;

/// A text setting held without a heap.
pub type Text<const N: usize> = String<N>;

/// A text setting did not fit its [`Text`] capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLong;

/// Makes a [`Text`], failing if `s` is longer than `N` bytes.
pub fn text<const N: usize>(s: &str) -> Result<Text<N>, TooLong> {
    Text::try_from(s).map_err(|_| TooLong)
}

/// An optional text setting (the APN user and password): empty means none.
pub(crate) fn non_empty(text: &str) -> Option<&str> {
    (!text.is_empty()).then_some(text)
}

/// Every setting of the firmware. `Config::default()` is the seed's configuration.
///
/// Each knob's valid range is on its field and in [`Config::validate`], the one place that
/// checks them. With the `serde` feature, a `Config` is read from (and written to) a file or
/// a flag by its field names, durations as text (`"10s"`, `"1500ms"`; see `units`), what is
/// absent keeping its default, an unknown name refused:
/// `{"heartbeat_interval": "30s", "transport": "udp"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema),
    serde(default, deny_unknown_fields)
)]
pub struct Config {
    // ---- The server and the application protocol (B1–B5) ----
    /// The server's host name or IPv4 address.
    /// Valid: 1 to 64 bytes (`HOST_LEN`).
    #[cfg_attr(feature = "serde", schemars(with = "str", length(max = HOST_LEN)))]
    pub server_host: Text<HOST_LEN>,
    /// The server's port.
    /// Valid: 1 to 65535.
    pub server_port: u16,
    /// TCP (the seed's) or UDP: B5's one switch.
    pub transport: Transport,
    /// How messages are delimited on the link (see `protocol::app`): `raw` (the seed's) and
    /// `newline` deliver at least once, `acked` (numbered, checksummed, acknowledged frames)
    /// exactly once.
    pub framing: Framing,
    /// B1: a heartbeat is queued this often while connected, the first right after connecting.
    /// Valid: 1 ms to a day.
    #[cfg_attr(feature = "serde", serde(with = "units::HumanDuration"))]
    pub heartbeat_interval: Duration,

    // ---- The data bearer ----
    /// The APN for `AT+CSTT` (Luat's default, `CMIOT`).
    /// Valid: 0 to 32 bytes (`NAME_LEN`).
    #[cfg_attr(feature = "serde", schemars(with = "str", length(max = NAME_LEN)))]
    pub apn: Text<NAME_LEN>,
    /// The APN user name; empty for none.
    /// Valid: 0 to 32 bytes (`NAME_LEN`).
    #[cfg_attr(feature = "serde", schemars(with = "str", length(max = NAME_LEN)))]
    pub user: Text<NAME_LEN>,
    /// The APN password; empty for none.
    /// Valid: 0 to 32 bytes (`NAME_LEN`).
    #[cfg_attr(feature = "serde", schemars(with = "str", length(max = NAME_LEN)))]
    pub password: Text<NAME_LEN>,

    // ---- Bring-up and reconnects (B6, B7) ----
    /// How often registration, attach and the IP state are polled while the IP is not ready
    /// (Luat's 2 s).
    /// Valid: 1 ms to a day.
    #[cfg_attr(feature = "serde", serde(with = "units::HumanDuration"))]
    pub poll_interval: Duration,
    /// B6: how long to wait for the IP to be ready before flight mode.
    /// Valid: 1 ms to a day.
    #[cfg_attr(feature = "serde", serde(with = "units::HumanDuration"))]
    pub ip_wait: Duration,
    /// B6: how long flight mode (`AT+CFUN=0`) lasts before `AT+CFUN=1`.
    /// Valid: 1 ms to a day.
    #[cfg_attr(feature = "serde", serde(with = "units::HumanDuration"))]
    pub flight_mode: Duration,
    /// B7: failed connects in a row before the data link is shut (`AT+CIPSHUT`).
    /// Valid: 1 to 255.
    pub connect_failures_before_shut: u8,
    /// The ladder above B7: rounds of connect failures in a row (each ended by
    /// `AT+CIPSHUT`, a session that delivered nothing counting as a failure) before start-up
    /// is run again (`ModemRestart { reason: NoProgress }`).
    /// Valid: 1 to 255.
    pub connect_rounds_before_startup: u8,
    /// The ladder's last step: start-ups it ran in a row, nothing delivered in between,
    /// before the modem is power-cycled (RESET, then the power key, alternately).
    /// Valid: 1 to 255.
    pub startups_before_power_cycle: u8,
    /// B7: the pause after a failed connect, and after a lost connection, before the next try.
    /// Valid: 1 ms to a day.
    #[cfg_attr(feature = "serde", serde(with = "units::HumanDuration"))]
    pub connect_pause: Duration,
    /// B7 for fleets: a random extra pause, from 0 up to this, added to every pause; and,
    /// when set, the network back after a wait gets a pause before the connect too, so that
    /// devices that lost the network together (a tower outage) do not all come back in the
    /// same second. `0s` (the default): neither, as the seed.
    /// Valid: 0 s to a day.
    #[cfg_attr(feature = "serde", serde(with = "units::HumanDuration"))]
    pub connect_jitter: Duration,
    /// Seeds the jitter: give each device its own (its serial number, say).
    pub connect_jitter_seed: u32,
    /// How long a connect may take, to its `CONNECT OK` (the manual's maximum in multi-IP
    /// mode, 75 s).
    /// Valid: 1 ms to a day.
    #[cfg_attr(feature = "serde", serde(with = "units::HumanDuration"))]
    pub connect_timeout: Duration,

    // ---- Sending (B9) ----
    /// How long written bytes may wait for the server's TCP acknowledgement (`AT+CIPACK`'s
    /// acknowledged count not moving on) before the link is taken for dead, closed and
    /// connected again: what notices a silently dead link (see `Config::dead_link_bound`).
    /// Valid: 1 ms to a day.
    #[cfg_attr(feature = "serde", serde(with = "units::HumanDuration"))]
    pub send_timeout: Duration,
    /// How often `AT+CIPACK` is asked while written bytes wait for their acknowledgement.
    /// Valid: 1 ms to a day.
    #[cfg_attr(feature = "serde", serde(with = "units::HumanDuration"))]
    pub ack_poll_interval: Duration,
    /// Acknowledged framing: how long numbered frames the server's TCP has may wait for the
    /// server's own acknowledgement (`A<n>`) before they are written again, on the same
    /// connection (line noise on the UART garbled one, say; the server drops a copy it has).
    /// The wait starts again at each acknowledgement, of TCP or of the server. Valid: 1 ms to
    /// a day.
    #[cfg_attr(feature = "serde", serde(with = "units::HumanDuration"))]
    pub resend_timeout: Duration,

    // ---- Queries and the watchdog (B10) ----
    /// How often signal (`AT+CSQ`) and cell (`AT+CREG?`) are queried (the seed's 60 s).
    /// Valid: 1 ms to a day.
    #[cfg_attr(feature = "serde", serde(with = "units::HumanDuration"))]
    pub query_interval: Duration,
    /// The longest the core goes without feeding the watchdog while it is working; the
    /// hardware watchdog's timeout must be longer (twice this is comfortable).
    /// Valid: 1 ms to a minute.
    #[cfg_attr(feature = "serde", serde(with = "units::HumanDuration"))]
    pub watchdog_feed_interval: Duration,
    /// The watchdog is fed only while the device makes progress (a command answered, a phase
    /// changed, a message delivered) within this: a livelock stops feeding it, and the MCU is
    /// reset. Longer than any wait without progress the device makes on purpose: a hung
    /// modem is power-cycled within `hung_modem_bound` (205 s by default).
    /// Valid: 1 ms to a day.
    #[cfg_attr(feature = "serde", serde(with = "units::HumanDuration"))]
    pub progress_timeout: Duration,

    // ---- AT commands and modem power ----
    /// How long an ordinary command may take to its final result.
    /// Valid: 1 ms to a day.
    #[cfg_attr(feature = "serde", serde(with = "units::HumanDuration"))]
    pub at_timeout: Duration,
    /// How long `AT+CIICR` may take (85 s in the manual, as attentive cites it); also
    /// `AT+SAPBR=1,1`, the same PDP activation for the clock's bearer (TinyGSM's 85 s).
    /// Valid: 1 ms to a day.
    #[cfg_attr(feature = "serde", serde(with = "units::HumanDuration"))]
    pub ciicr_timeout: Duration,
    /// How long `AT+CIPSHUT` may take (65 s; the manual page was not reached, TinyGSM uses 60 s).
    /// Valid: 1 ms to a day.
    #[cfg_attr(feature = "serde", serde(with = "units::HumanDuration"))]
    pub cipshut_timeout: Duration,
    /// How long `AT+CFUN=<n>` may take (TinyGSM's 10 s).
    /// Valid: 1 ms to a day.
    #[cfg_attr(feature = "serde", serde(with = "units::HumanDuration"))]
    pub cfun_timeout: Duration,
    /// How long a write to the UART may take before the modem is taken for hung.
    /// Valid: 1 ms to a day.
    #[cfg_attr(feature = "serde", serde(with = "units::HumanDuration"))]
    pub uart_write_timeout: Duration,
    /// Luat's AT watchdog: when no command has had a final result for this long while
    /// commands were pending, the modem is power-cycled.
    /// Valid: 1 ms to a day.
    #[cfg_attr(feature = "serde", serde(with = "units::HumanDuration"))]
    pub at_no_answer_limit: Duration,
    /// After power-up or a restart, how long the modem is probed with `AT` before it is
    /// power-cycled (TinyGSM's 10 s).
    /// Valid: 1 ms to a day.
    #[cfg_attr(feature = "serde", serde(with = "units::HumanDuration"))]
    pub boot_timeout: Duration,
    /// The pause between two `AT` probes.
    /// Valid: 1 ms to a day.
    #[cfg_attr(feature = "serde", serde(with = "units::HumanDuration"))]
    pub probe_interval: Duration,
    /// After a command timed out, how long the line must stay quiet, once an `AT` probe is
    /// answered, before the next command is sent: the old command's late answer, or the
    /// answers of probes the modem held, are taken in that time (see `at`'s
    /// "Resynchronising"). A modem answers `AT` within milliseconds.
    /// Valid: 0 (no wait) to a minute.
    #[cfg_attr(feature = "serde", serde(with = "units::HumanDuration"))]
    pub resync_quiet: Duration,
    /// How long the SIM may take to be ready (TinyGSM's 10 s) before the modem is restarted.
    /// Valid: 1 ms to a day.
    #[cfg_attr(feature = "serde", serde(with = "units::HumanDuration"))]
    pub sim_timeout: Duration,
    /// How long the RESET line is held (SIM800: more than 105 ms).
    /// Valid: 1 ms to a minute.
    #[cfg_attr(feature = "serde", serde(with = "units::HumanDuration"))]
    pub reset_pulse: Duration,
    /// How long the power key is held to switch the modem on or off (SIM800: at least 1 s).
    /// Valid: 1 ms to a minute.
    #[cfg_attr(feature = "serde", serde(with = "units::HumanDuration"))]
    pub power_key_press: Duration,

    // ---- The network clock (B4) ----
    /// The NTP server for `AT+CNTP`.
    /// Valid: 1 to 32 bytes (`NAME_LEN`).
    #[cfg_attr(feature = "serde", schemars(with = "str", length(max = NAME_LEN)))]
    pub ntp_server: Text<NAME_LEN>,
    /// How long `AT+CNTP` may take to report `+CNTP: <code>`.
    /// Valid: 1 ms to a day.
    #[cfg_attr(feature = "serde", serde(with = "units::HumanDuration"))]
    pub ntp_timeout: Duration,
    /// The pause before another sync after a failed one.
    /// Valid: 1 ms to a day.
    #[cfg_attr(feature = "serde", serde(with = "units::HumanDuration"))]
    pub ntp_retry: Duration,
    /// How often the clock is synced again after a success.
    /// Valid: 1 ms to a day.
    #[cfg_attr(feature = "serde", serde(with = "units::HumanDuration"))]
    pub ntp_resync: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            // The seed's test server.
            server_host: fixed("180.97.81.180"),
            server_port: 50798,
            transport: Transport::Tcp,
            framing: Framing::Raw,
            heartbeat_interval: secs(10),
            apn: fixed("CMIOT"),
            user: Text::new(),
            password: Text::new(),
            poll_interval: secs(2),
            ip_wait: secs(5 * 60),
            flight_mode: secs(20),
            connect_failures_before_shut: 5,
            connect_rounds_before_startup: 3,
            startups_before_power_cycle: 2,
            connect_pause: secs(5),
            connect_jitter: Duration::ZERO,
            connect_jitter_seed: 0,
            connect_timeout: secs(75),
            send_timeout: secs(30),
            ack_poll_interval: Duration::from_millis(250),
            resend_timeout: secs(5),
            query_interval: secs(60),
            watchdog_feed_interval: secs(4),
            progress_timeout: secs(300),
            at_timeout: secs(5),
            ciicr_timeout: secs(85),
            cipshut_timeout: secs(65),
            cfun_timeout: secs(10),
            uart_write_timeout: secs(2),
            at_no_answer_limit: secs(120),
            boot_timeout: secs(10),
            probe_interval: Duration::from_millis(500),
            resync_quiet: Duration::from_millis(200),
            sim_timeout: secs(10),
            reset_pulse: Duration::from_millis(200),
            power_key_press: Duration::from_millis(1500),
            ntp_server: fixed("pool.ntp.org"),
            ntp_timeout: secs(15),
            ntp_retry: secs(60),
            ntp_resync: secs(6 * 3600),
        }
    }
}

impl Config {
    /// The seed's configuration with another server.
    pub fn seed(host: &str, port: u16) -> Result<Self, TooLong> {
        Ok(Config {
            server_host: text(host)?,
            server_port: port,
            ..Config::default()
        })
    }

    /// The longest a silently dead TCP link goes unnoticed while connected: the next heartbeat
    /// is at most one interval away, its bytes wait at most the send timeout for their
    /// acknowledgement, and that is seen at the next `AT+CIPACK`. (Plus the answer time of a
    /// command in progress, milliseconds on a live modem.)
    pub fn dead_link_bound(&self) -> Duration {
        self.heartbeat_interval + self.send_timeout + self.ack_poll_interval
    }

    /// The longest one round of B7 takes before the data link is shut: every attempt waits
    /// at most the connect timeout and then pauses.
    pub fn connect_round_bound(&self) -> Duration {
        (self.connect_timeout + self.longest_connect_pause())
            * u32::from(self.connect_failures_before_shut)
    }

    /// The longest pause between two connect attempts: the pause and all of the jitter.
    pub fn longest_connect_pause(&self) -> Duration {
        self.connect_pause + self.connect_jitter
    }

    /// A share of `connect_jitter`, in µs: about `draw` / 2^32 of it, in the fewest
    /// instructions (the core is at its flash budget: no `Duration` from micros, whose 64-bit
    /// division a Cortex-M0+ pays for): the knob in units of 2^16 µs (a day is under 2^21)
    /// times the draw's high 10 bits, one 32-bit multiply, so the share is in 1/1024 steps
    /// and at most 65.5 ms short of them.
    pub fn jitter_micros(&self, draw: u32) -> u64 {
        let units = ((Instant::ZERO + self.connect_jitter).as_micros() >> 16) as u32;
        u64::from(units.wrapping_mul(draw >> 22)) << 6
    }

    /// The longest the ladder climbs from one rung to the next while nothing is delivered:
    /// `connect_rounds_before_startup` connect rounds (plus their `AT+CIPSHUT`) before
    /// start-up runs again, and `startups_before_power_cycle` of those before a power
    /// cycle. (Bring-up's own bound, B6's flight mode, comes on top while the IP is not
    /// ready.)
    pub fn ladder_rung_bound(&self) -> Duration {
        (self.connect_round_bound() + self.cipshut_timeout)
            * u32::from(self.connect_rounds_before_startup)
    }

    /// The longest a hung modem goes unnoticed, from the first command it leaves unanswered:
    /// the no-answer limit is checked when a command times out, and the longest command
    /// timeout is `AT+CIICR`'s.
    pub fn hung_modem_bound(&self) -> Duration {
        self.at_no_answer_limit + self.ciicr_timeout
    }
}

const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// The shortest interval or timeout: a zero would make a loop spin without time passing.
const MIN_DURATION: Duration = Duration::from_millis(1);
const MINUTE: Duration = secs(60);
/// The longest interval or timeout: longer is a mistake, not a setting.
const DAY: Duration = secs(24 * 3600);

impl Config {
    /// Checks every knob against its valid range (documented on each field): `Err` names the
    /// first knob outside it. Every entry point that builds a `Config` from outside (a file,
    /// flags, a scenario) calls this before running the firmware.
    pub fn validate(&self) -> Result<(), ConfigError> {
        use KnobValue::{Bytes, Duration as D, Number};
        let c = self;
        let (ms, minute, day) = (D(MIN_DURATION), D(MINUTE), D(DAY));
        let checks = [
            (
                "server_host",
                Bytes(c.server_host.len()),
                Bytes(1),
                Bytes(HOST_LEN),
            ),
            (
                "server_port",
                Number(c.server_port.into()),
                Number(1),
                Number(65535),
            ),
            ("heartbeat_interval", D(c.heartbeat_interval), ms, day),
            ("apn", Bytes(c.apn.len()), Bytes(0), Bytes(NAME_LEN)),
            ("user", Bytes(c.user.len()), Bytes(0), Bytes(NAME_LEN)),
            (
                "password",
                Bytes(c.password.len()),
                Bytes(0),
                Bytes(NAME_LEN),
            ),
            ("poll_interval", D(c.poll_interval), ms, day),
            ("ip_wait", D(c.ip_wait), ms, day),
            ("flight_mode", D(c.flight_mode), ms, day),
            (
                "connect_failures_before_shut",
                Number(c.connect_failures_before_shut.into()),
                Number(1),
                Number(255),
            ),
            (
                "connect_rounds_before_startup",
                Number(c.connect_rounds_before_startup.into()),
                Number(1),
                Number(255),
            ),
            (
                "startups_before_power_cycle",
                Number(c.startups_before_power_cycle.into()),
                Number(1),
                Number(255),
            ),
            ("connect_pause", D(c.connect_pause), ms, day),
            (
                "connect_jitter",
                D(c.connect_jitter),
                D(Duration::ZERO),
                day,
            ),
            ("connect_timeout", D(c.connect_timeout), ms, day),
            ("send_timeout", D(c.send_timeout), ms, day),
            ("ack_poll_interval", D(c.ack_poll_interval), ms, day),
            ("resend_timeout", D(c.resend_timeout), ms, day),
            ("query_interval", D(c.query_interval), ms, day),
            (
                "watchdog_feed_interval",
                D(c.watchdog_feed_interval),
                ms,
                minute,
            ),
            ("progress_timeout", D(c.progress_timeout), ms, day),
            ("at_timeout", D(c.at_timeout), ms, day),
            ("ciicr_timeout", D(c.ciicr_timeout), ms, day),
            ("cipshut_timeout", D(c.cipshut_timeout), ms, day),
            ("cfun_timeout", D(c.cfun_timeout), ms, day),
            ("uart_write_timeout", D(c.uart_write_timeout), ms, day),
            ("at_no_answer_limit", D(c.at_no_answer_limit), ms, day),
            ("boot_timeout", D(c.boot_timeout), ms, day),
            ("probe_interval", D(c.probe_interval), ms, day),
            ("resync_quiet", D(c.resync_quiet), D(Duration::ZERO), minute),
            ("sim_timeout", D(c.sim_timeout), ms, day),
            ("reset_pulse", D(c.reset_pulse), ms, minute),
            ("power_key_press", D(c.power_key_press), ms, minute),
            (
                "ntp_server",
                Bytes(c.ntp_server.len()),
                Bytes(1),
                Bytes(NAME_LEN),
            ),
            ("ntp_timeout", D(c.ntp_timeout), ms, day),
            ("ntp_retry", D(c.ntp_retry), ms, day),
            ("ntp_resync", D(c.ntp_resync), ms, day),
        ];
        for (knob, value, min, max) in checks {
            if value < min || value > max {
                return Err(ConfigError {
                    knob,
                    value,
                    min,
                    max,
                });
            }
        }
        Ok(())
    }
}

/// The jitter's random numbers ([`Config::connect_jitter`]), seeded per device: a linear
/// congruential generator (Marsaglia's multiplier 69069 and increment 1, full period mod 2^32;
/// one multiply and an immediate add on a Cortex-M0+, the fewest bytes), whose high bits
/// [`Config::jitter_micros`] uses.
#[derive(Debug, Clone, Copy)]
pub struct Jitter(u32);

impl Jitter {
    pub fn new(seed: u32) -> Jitter {
        Jitter(seed)
    }

    pub fn draw(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(69_069).wrapping_add(1);
        self.0
    }
}

/// A knob outside its valid range ([`Config::validate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigError {
    /// The knob, as [`Config`] (and a configuration file) names it.
    pub knob: &'static str,
    /// Its value.
    pub value: KnobValue,
    /// The range it must be in, both ends included.
    pub min: KnobValue,
    pub max: KnobValue,
}

/// A knob's value, or a bound of its range, in [`ConfigError`]. The values of one knob are of
/// one kind, so they compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum KnobValue {
    Duration(Duration),
    Number(u64),
    /// A text setting's length, in bytes.
    Bytes(usize),
}

impl fmt::Display for KnobValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KnobValue::Duration(d) if d.is_zero() => f.write_str("0s"),
            // `Duration`'s own text (`10s`, `1.5s`, `86400s`): it reads back as a duration.
            KnobValue::Duration(d) => write!(f, "{d:?}"),
            KnobValue::Number(n) => write!(f, "{n}"),
            KnobValue::Bytes(n) => write!(f, "{n} bytes"),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ConfigError {
            knob,
            value,
            min,
            max,
        } = self;
        match (value, min, max) {
            (KnobValue::Bytes(n), KnobValue::Bytes(min), KnobValue::Bytes(max)) => {
                write!(
                    f,
                    "{knob} is {n} bytes long: it must be {min} to {max} bytes long"
                )
            }
            _ => write!(f, "{knob} is {value}: it must be from {min} to {max}"),
        }
    }
}

/// A default that fits by construction.
fn fixed<const N: usize>(s: &str) -> Text<N> {
    text(s).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    #[test]
    fn defaults_are_the_seeds() {
        let c = Config::default();
        assert_eq!(c.server_host.as_str(), "180.97.81.180");
        assert_eq!(c.server_port, 50798);
        assert_eq!(c.transport, Transport::Tcp);
        assert_eq!(c.framing, Framing::Raw);
        assert_eq!(c.heartbeat_interval, secs(10)); // B1
        assert_eq!(c.ip_wait, secs(300)); // B6
        assert_eq!(c.flight_mode, secs(20)); // B6
        assert_eq!(c.connect_failures_before_shut, 5); // B7
        assert_eq!(c.connect_pause, secs(5)); // B7
        assert_eq!(c.query_interval, secs(60)); // B10
        assert_eq!(c.at_no_answer_limit, secs(120)); // Luat's AT watchdog
        assert_eq!(c.apn.as_str(), "CMIOT");
    }

    #[test]
    fn bounds() {
        let c = Config::default();
        assert_eq!(c.dead_link_bound(), Duration::from_millis(40_250));
        assert_eq!(c.connect_round_bound(), secs(400));
        // The watchdog is fed well within a Pico's 8.3 s maximum.
        assert!(c.watchdog_feed_interval * 2 <= Duration::from_millis(8300));
    }

    /// A change to the default configuration.
    type Change = fn(&mut Config);

    /// Changes the default configuration with `change` and validates it: `Ok`, or the
    /// error's text.
    fn check(change: Change, expected: Result<(), &str>) {
        let mut c = Config::default();
        change(&mut c);
        let got = c.validate().map_err(|e| e.to_string());
        assert_eq!(got, expected.map_err(str::to_string));
    }

    #[test]
    fn knobs_outside_their_range_are_refused() {
        let cases: [(Change, Result<(), &str>); 16] = [
            (|_| {}, Ok(())),
            (
                |c| c.heartbeat_interval = Duration::ZERO,
                Err("heartbeat_interval is 0s: it must be from 1ms to 86400s"),
            ),
            (|c| c.heartbeat_interval = Duration::from_millis(1), Ok(())),
            (|c| c.heartbeat_interval = DAY, Ok(())),
            (
                |c| c.ntp_resync = DAY + Duration::from_nanos(1),
                Err("ntp_resync is 86400.000000001s: it must be from 1ms to 86400s"),
            ),
            (
                |c| c.poll_interval = Duration::from_micros(999),
                Err("poll_interval is 999µs: it must be from 1ms to 86400s"),
            ),
            (
                |c| c.watchdog_feed_interval = secs(61),
                Err("watchdog_feed_interval is 61s: it must be from 1ms to 60s"),
            ),
            (|c| c.resync_quiet = Duration::ZERO, Ok(())),
            (
                |c| c.reset_pulse = Duration::ZERO,
                Err("reset_pulse is 0s: it must be from 1ms to 60s"),
            ),
            (
                |c| c.server_port = 0,
                Err("server_port is 0: it must be from 1 to 65535"),
            ),
            (
                |c| c.connect_failures_before_shut = 0,
                Err("connect_failures_before_shut is 0: it must be from 1 to 255"),
            ),
            (
                |c| c.server_host.clear(),
                Err("server_host is 0 bytes long: it must be 1 to 64 bytes long"),
            ),
            (
                |c| c.ntp_server.clear(),
                Err("ntp_server is 0 bytes long: it must be 1 to 32 bytes long"),
            ),
            (|c| c.apn.clear(), Ok(())),
            // The first knob out of range, in field order, is named.
            (
                |c| {
                    c.ntp_retry = Duration::ZERO;
                    c.at_timeout = Duration::ZERO;
                },
                Err("at_timeout is 0s: it must be from 1ms to 86400s"),
            ),
            (
                |c| c.send_timeout = secs(u64::MAX),
                Err("send_timeout is 18446744073709551615s: it must be from 1ms to 86400s"),
            ),
        ];
        for (change, expected) in cases {
            check(change, expected);
        }
    }

    /// The jitter: (jitter s, draw) -> ms, never more than the knob, the draw's share in
    /// 1/1024 steps of it (each at most 65.5 ms short).
    #[test]
    fn the_jitter_is_the_draws_share_of_the_knob() {
        let cases: [((u64, u32), u64); 5] = [
            // The seed's fixed pause: no jitter, whatever the draw.
            ((0, u32::MAX), 0),
            ((30, 0), 0),
            // 30 s is 457 units of 65.536 ms (and 50.2 ms); the draw counts in 1/1024.
            ((30, 1 << 31), 14_974),
            ((30, 1 << 30), 7_487),
            ((30, u32::MAX), 29_920),
        ];
        for ((jitter, draw), want) in cases {
            let c = Config {
                connect_jitter: secs(jitter),
                ..Config::default()
            };
            let got = c.jitter_micros(draw) / 1000;
            assert_eq!(got, want, "{jitter} s, draw {draw}");
            let pause = c.connect_pause + Duration::from_micros(c.jitter_micros(draw));
            assert!(pause <= c.longest_connect_pause());
        }
        // Seeded: the same seed draws the same, another seed otherwise.
        let draws = |seed| {
            let mut j = Jitter::new(seed);
            [j.draw(), j.draw(), j.draw()]
        };
        assert_eq!(draws(7), draws(7));
        assert_ne!(draws(7), draws(8));
    }

    #[test]
    fn text_settings_are_bounded() {
        assert!(Config::seed("example.com", 7).is_ok());
        let long = [b'x'; HOST_LEN + 1];
        let long = core::str::from_utf8(&long).unwrap();
        assert_eq!(Config::seed(long, 7), Err(TooLong));
    }
}

/// A `Config` read from text (the `serde` feature), as a file or a flag gives it.
#[cfg(all(test, feature = "serde"))]
mod serde_tests {
    extern crate std;
    use super::*;
    use std::string::{String, ToString};
    use std::vec::Vec;

    fn read(json: &str) -> Result<Config, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn a_partial_config_keeps_the_defaults() {
        let c = read(r#"{"heartbeat_interval": "30s", "transport": "udp", "framing": "newline"}"#);
        let expected = Config {
            heartbeat_interval: secs(30),
            transport: Transport::Udp,
            framing: Framing::Newline,
            ..Config::default()
        };
        assert_eq!(c, Ok(expected));
        assert_eq!(read("{}"), Ok(Config::default()));
    }

    #[test]
    fn a_config_reads_back_what_it_writes() {
        let c = Config {
            apn: fixed("internet"),
            probe_interval: Duration::from_millis(1500),
            ..Config::default()
        };
        let text = serde_json::to_string(&c).unwrap();
        assert!(text.contains(r#""probe_interval":"1500ms""#), "{text}");
        assert!(text.contains(r#""ntp_resync":"6h""#), "{text}");
        assert_eq!(read(&text), Ok(c));
    }

    #[test]
    fn bad_text_is_refused_with_the_reason() {
        for (json, error) in [
            (r#"{"heartbeat": "10s"}"#, "unknown field `heartbeat`"),
            (r#"{"heartbeat_interval": "10"}"#, "missing unit"),
            (
                r#"{"heartbeat_interval": 10}"#,
                "invalid type: integer `10`",
            ),
            (r#"{"transport": "sctp"}"#, "unknown variant `sctp`"),
            (
                r#"{"server_port": 70000}"#,
                "invalid value: integer `70000`",
            ),
            (
                r#"{"apn": "an-apn-name-longer-than-thirty-two-bytes"}"#,
                "expected a string no more than 32 bytes long",
            ),
        ] {
            let got = read(json);
            assert!(
                got.as_ref().is_err_and(|e| e.contains(error)),
                "{json}: {got:?}"
            );
        }
    }

    /// Every duration knob (as the file names it) is checked by `validate`, under its own
    /// name: zero is refused (but where it means "no wait"), and so is more than a day.
    #[test]
    fn validate_names_every_duration_knob() {
        let defaults = serde_json::to_value(Config::default()).unwrap();
        let durations = defaults
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, v)| v.as_str().is_some_and(|v| units::parse_duration(v).is_ok()));
        let mut knobs = Vec::new();
        for (knob, _) in durations {
            knobs.push(knob.as_str());
            // Zero means "none" for these.
            let zero_ok = ["resync_quiet", "connect_jitter"];
            for (value, refused) in [("0s", !zero_ok.contains(&knob.as_str())), ("2d", true)] {
                let c = read(&std::format!(r#"{{"{knob}": "{value}"}}"#)).unwrap();
                let got = c.validate().map_err(|e| e.knob);
                assert_eq!(got, if refused { Err(knob.as_str()) } else { Ok(()) });
            }
        }
        // The filter found the duration knobs (these two among them), not nothing.
        assert!(knobs.contains(&"heartbeat_interval") && knobs.contains(&"resync_quiet"));
    }
}
