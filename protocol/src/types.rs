//! Small value types shared by commands and responses.

/// A multi-connection link id (`<n>` in the manual): 0–5 on SIM800, 0–7 on Air202.
pub type LinkId = u8;

/// The transport of a connection, as written in `AT+CIPSTART` and `C:` lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub enum Transport {
    /// TCP: a connection, acknowledged data.
    Tcp,
    /// UDP: datagrams, nothing acknowledged.
    Udp,
}

impl Transport {
    pub const fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "TCP",
            Transport::Udp => "UDP",
        }
    }

    pub fn from_text(text: &[u8]) -> Option<Self> {
        if text.eq_ignore_ascii_case(b"TCP") {
            Some(Transport::Tcp)
        } else if text.eq_ignore_ascii_case(b"UDP") {
            Some(Transport::Udp)
        } else {
            None
        }
    }
}

/// The TCP/IP application state reported by `AT+CIPSTATUS` as `STATE: <state>` (manual p.223).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpState {
    IpInitial,
    IpStart,
    IpConfig,
    IpGprsact,
    IpStatus,
    /// Multi-connection mode once a connection has been started.
    IpProcessing,
    /// Single mode: connecting (`TCP CONNECTING` / `UDP CONNECTING`).
    Connecting(Transport),
    ServerListening,
    /// Single mode: connected.
    ConnectOk,
    Closing(Transport),
    Closed(Transport),
    /// Single mode, after `AT+CIPCLOSE`.
    IpClose,
    PdpDeact,
}

impl IpState {
    pub const ALL: [IpState; 16] = [
        IpState::IpInitial,
        IpState::IpStart,
        IpState::IpConfig,
        IpState::IpGprsact,
        IpState::IpStatus,
        IpState::IpProcessing,
        IpState::Connecting(Transport::Tcp),
        IpState::Connecting(Transport::Udp),
        IpState::ServerListening,
        IpState::ConnectOk,
        IpState::Closing(Transport::Tcp),
        IpState::Closing(Transport::Udp),
        IpState::Closed(Transport::Tcp),
        IpState::Closed(Transport::Udp),
        IpState::IpClose,
        IpState::PdpDeact,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            IpState::IpInitial => "IP INITIAL",
            IpState::IpStart => "IP START",
            IpState::IpConfig => "IP CONFIG",
            IpState::IpGprsact => "IP GPRSACT",
            IpState::IpStatus => "IP STATUS",
            IpState::IpProcessing => "IP PROCESSING",
            IpState::Connecting(Transport::Tcp) => "TCP CONNECTING",
            IpState::Connecting(Transport::Udp) => "UDP CONNECTING",
            IpState::ServerListening => "SERVER LISTENING",
            IpState::ConnectOk => "CONNECT OK",
            IpState::Closing(Transport::Tcp) => "TCP CLOSING",
            IpState::Closing(Transport::Udp) => "UDP CLOSING",
            IpState::Closed(Transport::Tcp) => "TCP CLOSED",
            IpState::Closed(Transport::Udp) => "UDP CLOSED",
            IpState::IpClose => "IP CLOSE",
            IpState::PdpDeact => "PDP DEACT",
        }
    }

    /// Case-insensitive lookup.
    pub fn from_text(text: &[u8]) -> Option<Self> {
        let i = IP_STATE_TEXTS.find(|t| t.eq_ignore_ascii_case(text))?;
        IpState::ALL.get(i).copied()
    }
}

packed_texts!(IP_STATE_TEXTS, IpState);

/// The state of one connection in a `C:` or `+CIPSTATUS:` line (manual p.231).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientState {
    Initial,
    Connecting,
    Connected,
    RemoteClosing,
    Closing,
    Closed,
}

impl ClientState {
    pub const ALL: [ClientState; 6] = [
        ClientState::Initial,
        ClientState::Connecting,
        ClientState::Connected,
        ClientState::RemoteClosing,
        ClientState::Closing,
        ClientState::Closed,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            ClientState::Initial => "INITIAL",
            ClientState::Connecting => "CONNECTING",
            ClientState::Connected => "CONNECTED",
            ClientState::RemoteClosing => "REMOTE CLOSING",
            ClientState::Closing => "CLOSING",
            ClientState::Closed => "CLOSED",
        }
    }

    /// Case-insensitive lookup.
    pub fn from_text(text: &[u8]) -> Option<Self> {
        let i = CLIENT_STATE_TEXTS.find(|t| t.eq_ignore_ascii_case(text))?;
        ClientState::ALL.get(i).copied()
    }
}

packed_texts!(CLIENT_STATE_TEXTS, ClientState);

/// Network registration status, `<stat>` of `+CREG`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegStat {
    NotRegistered = 0,
    Home = 1,
    Searching = 2,
    Denied = 3,
    Unknown = 4,
    Roaming = 5,
}

impl RegStat {
    pub const fn is_registered(self) -> bool {
        matches!(self, RegStat::Home | RegStat::Roaming)
    }

    pub const fn code(self) -> u8 {
        self as u8
    }

    pub const fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => RegStat::NotRegistered,
            1 => RegStat::Home,
            2 => RegStat::Searching,
            3 => RegStat::Denied,
            4 => RegStat::Unknown,
            5 => RegStat::Roaming,
            _ => return None,
        })
    }
}

/// SIM state, as in `+CPIN: <code>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SimState {
    Ready,
    SimPin,
    SimPuk,
    NotInserted,
    NotReady,
}

impl SimState {
    pub const ALL: [SimState; 5] = [
        SimState::Ready,
        SimState::SimPin,
        SimState::SimPuk,
        SimState::NotInserted,
        SimState::NotReady,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            SimState::Ready => "READY",
            SimState::SimPin => "SIM PIN",
            SimState::SimPuk => "SIM PUK",
            SimState::NotInserted => "NOT INSERTED",
            SimState::NotReady => "NOT READY",
        }
    }

    /// Case-insensitive lookup.
    pub fn from_text(text: &[u8]) -> Option<Self> {
        let i = SIM_STATE_TEXTS.find(|t| t.eq_ignore_ascii_case(text))?;
        SimState::ALL.get(i).copied()
    }
}

packed_texts!(SIM_STATE_TEXTS, SimState);

/// A local time as `AT+CCLK` writes it: `"yy/MM/dd,hh:mm:ss±zz"`, zz in quarter-hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateTime {
    /// Years since 2000, 0–99.
    pub year: u8,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    /// Offset from UTC in quarter-hours, -47..=48 (`+32` is UTC+8).
    pub quarter_hours: i8,
}

impl DateTime {
    /// Seconds since 1970-01-01 00:00:00 UTC.
    pub fn to_unix(&self) -> u64 {
        // Years since 2000 only: 32-bit sums, every fourth year a leap year (2000 was, and
        // 2100 is past the field), so the firmware carries no 64-bit division for it.
        let (year, month) = (u32::from(self.year), usize::from(self.month));
        let before_month = DAYS_BEFORE_MONTH
            .get(month.wrapping_sub(1))
            .copied()
            .unwrap_or(0);
        let leap_day = u32::from(year % 4 == 0 && month > 2);
        let days = year * 365
            + year.div_ceil(4)
            + u32::from(before_month)
            + leap_day
            + u32::from(self.day)
            - 1;
        let secs = u32::from(self.hour) * 3600 + u32::from(self.minute) * 60;
        let local = UNIX_2000 + u64::from(days) * 86_400 + u64::from(secs + u32::from(self.second));
        local.saturating_add_signed(-i64::from(self.quarter_hours) * 15 * 60)
    }

    /// The UTC time `unix` seconds after the epoch, shown with the offset `quarter_hours`.
    /// Years outside 2000–2099 saturate, as the two-digit field allows nothing else.
    pub fn from_unix(unix: u64, quarter_hours: i8) -> Self {
        let local = unix as i64 + i64::from(quarter_hours) * 15 * 60;
        let first = days_from_civil(2000, 1, 1) * 86_400;
        let last = days_from_civil(2100, 1, 1) * 86_400 - 1;
        let local = local.clamp(first, last);
        let (y, m, d) = civil_from_days(local.div_euclid(86_400));
        let secs = local.rem_euclid(86_400);
        DateTime {
            year: (y - 2000) as u8,
            month: m,
            day: d,
            hour: (secs / 3600) as u8,
            minute: (secs / 60 % 60) as u8,
            second: (secs % 60) as u8,
            quarter_hours,
        }
    }
}

/// 2000-01-01 00:00:00 UTC, Unix seconds.
const UNIX_2000: u64 = 946_684_800;

/// Days in the year before each month's first, not counting a leap day.
const DAYS_BEFORE_MONTH: [u16; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

// Howard Hinnant's civil-date algorithms: proleptic Gregorian, days since 1970-01-01.
fn days_from_civil(y: i64, m: u8, d: u8) -> i64 {
    let (m, d) = (i64::from(m), i64::from(d));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u8, u8) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Writes `n` in decimal into `out` and returns the digits written.
pub fn format_decimal(mut n: u64, out: &mut [u8; 20]) -> &[u8] {
    let mut i = out.len();
    loop {
        // 32-bit division where it fits (it nearly always does): see `div_rem`.
        let (rest, digit) = match u32::try_from(n) {
            Ok(small) => (u64::from(small / 10), small % 10),
            Err(_) => div_rem(n, 10),
        };
        i -= 1;
        out[i] = b'0' + digit as u8;
        n = rest;
        if n == 0 {
            return &out[i..];
        }
    }
}

/// `n / d` and `n % d` by shifts and subtractions. A Cortex-M0+ has no divide instruction,
/// and a 64-bit `/` links about 500 bytes of library routine; this is a few dozen. `d` must
/// not be 0 (then the quotient is all ones).
pub fn div_rem(n: u64, d: u32) -> (u64, u32) {
    let d = u64::from(d);
    let (mut quotient, mut rest) = (0u64, 0u64);
    for bit in (0..64).rev() {
        rest = (rest << 1) | ((n >> bit) & 1);
        quotient <<= 1;
        if rest >= d {
            rest -= d;
            quotient |= 1;
        }
    }
    (quotient, rest as u32)
}

/// Parses an unsigned decimal number with no sign and no spaces; `None` on anything else,
/// including overflow.
pub fn parse_decimal(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 20 {
        return None;
    }
    text.iter().try_fold(0u64, |acc, &b| {
        let digit = (b as char).to_digit(10)?;
        acc.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_day_of_the_century_round_trips() {
        // `to_unix`'s 32-bit sums against `from_unix`'s civil-date algorithm, in every zone.
        // A day inside either end: `from_unix` saturates local times outside the century.
        let (first, last) = (946_684_800u64 + 86_400, 4_102_444_799u64 - 86_400);
        for unix in (first..=last).step_by(86_400 + 3_607) {
            for quarter_hours in [-47, -1, 0, 32, 48] {
                let t = DateTime::from_unix(unix, quarter_hours);
                assert_eq!(t.to_unix(), unix, "{t:?}");
            }
        }
    }

    #[test]
    fn unix_round_trips_through_cclk_fields() {
        let cases: &[(u64, i8, DateTime)] = &[
            (
                946_684_800,
                0,
                DateTime {
                    year: 0,
                    month: 1,
                    day: 1,
                    hour: 0,
                    minute: 0,
                    second: 0,
                    quarter_hours: 0,
                },
            ),
            (
                1_795_000_000,
                32,
                DateTime {
                    year: 26,
                    month: 11,
                    day: 18,
                    hour: 19,
                    minute: 6,
                    second: 40,
                    quarter_hours: 32,
                },
            ),
        ];
        for (unix, tz, fields) in cases {
            assert_eq!(DateTime::from_unix(*unix, *tz), *fields, "{unix}");
            assert_eq!(fields.to_unix(), *unix);
        }
    }

    #[test]
    fn decimal_numbers() {
        let mut buf = [0; 20];
        assert_eq!(format_decimal(0, &mut buf), b"0");
        assert_eq!(format_decimal(u64::MAX, &mut buf), b"18446744073709551615");
        assert_eq!(format_decimal(1 << 32, &mut buf), b"4294967296");
        for (n, d) in [
            (0, 7),
            (u64::MAX, 10),
            (1 << 40, 1_000_000),
            (12_345_678_901, 1),
        ] {
            assert_eq!(div_rem(n, d), (n / u64::from(d), (n % u64::from(d)) as u32));
        }
        assert_eq!(parse_decimal(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_decimal(b"18446744073709551616"), None);
        assert_eq!(parse_decimal(b"1000000000"), Some(1_000_000_000));
        assert_eq!(parse_decimal(b""), None);
        assert_eq!(parse_decimal(b"-1"), None);
        assert_eq!(parse_decimal(b"1 "), None);
    }
}
