//! Every knob of the firmware, with its unit, in one [`Config`]; and the fixed buffer sizes.
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

use core::time::Duration;

use heapless::String;
use protocol::app::Framing;
use protocol::types::Transport;

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

/// The outbox's byte storage: the message being sent, which stays at the head until its
/// `SEND OK` (it is sent from there, not copied), and one more message of the largest size
/// queued behind it meanwhile. Messages are stored as sent: framing terminator included.
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    // ---- The server and the application protocol (B1–B5) ----
    /// The server's host name or IPv4 address.
    pub server_host: Text<HOST_LEN>,
    /// The server's port.
    pub server_port: u16,
    /// TCP (the seed's) or UDP: B5's one switch.
    pub transport: Transport,
    /// How messages are delimited on the link (see `protocol::app`).
    pub framing: Framing,
    /// B1: a heartbeat is queued this often while connected, the first right after connecting.
    pub heartbeat_interval: Duration,

    // ---- The data bearer ----
    /// The APN for `AT+CSTT` (Luat's default, `CMIOT`).
    pub apn: Text<NAME_LEN>,
    /// The APN user name; empty for none.
    pub user: Text<NAME_LEN>,
    /// The APN password; empty for none.
    pub password: Text<NAME_LEN>,

    // ---- Bring-up and reconnects (B6, B7) ----
    /// How often registration, attach and the IP state are polled while the IP is not ready
    /// (Luat's 2 s).
    pub poll_interval: Duration,
    /// B6: how long to wait for the IP to be ready before flight mode.
    pub ip_wait: Duration,
    /// B6: how long flight mode (`AT+CFUN=0`) lasts before `AT+CFUN=1`.
    pub flight_mode: Duration,
    /// B7: failed connects in a row before the data link is shut (`AT+CIPSHUT`).
    pub connect_failures_before_shut: u8,
    /// B7: the pause after a failed connect, and after a lost connection, before the next try.
    pub connect_pause: Duration,
    /// How long a connect may take, to its `CONNECT OK` (the manual's maximum in multi-IP
    /// mode, 75 s).
    pub connect_timeout: Duration,

    // ---- Sending (B9) ----
    /// How long a send may take, from `AT+CIPSEND` to `SEND OK`. With `AT+CIPQSEND=0`,
    /// `SEND OK` means the server's TCP stack acknowledged the data, so this is also what
    /// notices a silently dead link (see `Config::dead_link_bound`).
    pub send_timeout: Duration,

    // ---- Queries and the watchdog (B10) ----
    /// How often signal (`AT+CSQ`) and cell (`AT+CREG?`) are queried (the seed's 60 s).
    pub query_interval: Duration,
    /// The longest the core goes without feeding the watchdog while it is working; the
    /// hardware watchdog's timeout must be longer (twice this is comfortable).
    pub watchdog_feed_interval: Duration,

    // ---- AT commands and modem power ----
    /// How long an ordinary command may take to its final result.
    pub at_timeout: Duration,
    /// How long `AT+CIICR` may take (85 s in the manual, as attentive cites it); also
    /// `AT+SAPBR=1,1`, the same PDP activation for the clock's bearer (TinyGSM's 85 s).
    pub ciicr_timeout: Duration,
    /// How long `AT+CIPSHUT` may take (65 s; the manual page was not reached, TinyGSM uses 60 s).
    pub cipshut_timeout: Duration,
    /// How long `AT+CFUN=<n>` may take (TinyGSM's 10 s).
    pub cfun_timeout: Duration,
    /// How long a write to the UART may take before the modem is taken for hung.
    pub uart_write_timeout: Duration,
    /// Luat's AT watchdog: when no command has had a final result for this long while
    /// commands were pending, the modem is power-cycled.
    pub at_no_answer_limit: Duration,
    /// After power-up or a restart, how long the modem is probed with `AT` before it is
    /// power-cycled (TinyGSM's 10 s).
    pub boot_timeout: Duration,
    /// The pause between two `AT` probes.
    pub probe_interval: Duration,
    /// After a command timed out, how long the line must stay quiet, once an `AT` probe is
    /// answered, before the next command is sent: the old command's late answer, or the
    /// answers of probes the modem held, are taken in that time (see `at`'s
    /// "Resynchronising"). A modem answers `AT` within milliseconds.
    pub resync_quiet: Duration,
    /// How long the SIM may take to be ready (TinyGSM's 10 s) before the modem is restarted.
    pub sim_timeout: Duration,
    /// How long the RESET line is held (SIM800: more than 105 ms).
    pub reset_pulse: Duration,
    /// How long the power key is held to switch the modem on or off (SIM800: at least 1 s).
    pub power_key_press: Duration,

    // ---- The network clock (B4) ----
    /// The NTP server for `AT+CNTP`.
    pub ntp_server: Text<NAME_LEN>,
    /// How long `AT+CNTP` may take to report `+CNTP: <code>`.
    pub ntp_timeout: Duration,
    /// The pause before another sync after a failed one.
    pub ntp_retry: Duration,
    /// How often the clock is synced again after a success.
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
            connect_pause: secs(5),
            connect_timeout: secs(75),
            send_timeout: secs(30),
            query_interval: secs(60),
            watchdog_feed_interval: secs(4),
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
    /// is at most one interval away and its `SEND OK` must come within the send timeout.
    /// (Plus the answer time of a query in progress, milliseconds on a live modem.)
    pub fn dead_link_bound(&self) -> Duration {
        self.heartbeat_interval + self.send_timeout
    }

    /// The longest one round of B7 takes before the data link is shut: every attempt waits
    /// at most the connect timeout and then pauses.
    pub fn connect_round_bound(&self) -> Duration {
        (self.connect_timeout + self.connect_pause) * u32::from(self.connect_failures_before_shut)
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

/// A default that fits by construction.
fn fixed<const N: usize>(s: &str) -> Text<N> {
    text(s).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(c.dead_link_bound(), secs(40));
        assert_eq!(c.connect_round_bound(), secs(400));
        // The watchdog is fed well within a Pico's 8.3 s maximum.
        assert!(c.watchdog_feed_interval * 2 <= Duration::from_millis(8300));
    }

    #[test]
    fn text_settings_are_bounded() {
        assert!(Config::seed("example.com", 7).is_ok());
        let long = [b'x'; HOST_LEN + 1];
        let long = core::str::from_utf8(&long).unwrap();
        assert_eq!(Config::seed(long, 7), Err(TooLong));
    }
}
