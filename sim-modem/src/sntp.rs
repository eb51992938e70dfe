//! SNTP packets (RFC 4330): the request the modem's `AT+CNTP` sends, the answer the
//! simulated internet's time server gives, and reading a time out of an answer.
//!
//! A packet is 48 octets (RFC 4330 §4): LI/VN/mode, stratum, poll, precision, root delay and
//! dispersion, reference id, then four 64-bit timestamps (seconds since 1900 and a binary
//! fraction): reference, originate, receive, transmit. A client sends mode 3 and puts its
//! own time in transmit; the server answers mode 4, copies the client's transmit into
//! originate and fills in receive and transmit (§5). Luat's `ntp.lua` reads the transmit
//! seconds at offset 40 and wants exactly 48 octets.

use std::time::Duration;

/// The SNTP port.
pub const PORT: u16 = 123;
/// An SNTP packet without the optional authenticator.
pub const PACKET_LEN: usize = 48;
/// Seconds from the NTP epoch (1900) to the Unix epoch (RFC 868's 2,208,988,800).
const UNIX_OFFSET: u64 = 2_208_988_800;
const TRANSMIT: usize = 40;

/// A client request: LI 0, version 4, mode 3, nothing else set (RFC 4330 §5 lets a client
/// leave every other field zero).
pub fn request() -> [u8; PACKET_LEN] {
    let mut packet = [0; PACKET_LEN];
    packet[0] = 4 << 3 | 3;
    packet
}

/// The server's answer to `request` at Unix time `unix` (it arrived and leaves then):
/// `None` when `request` is no client request (too short, or not mode 3), which a server
/// drops (RFC 4330 §5).
pub fn answer(request: &[u8], unix: Duration) -> Option<[u8; PACKET_LEN]> {
    let first = *request.get(..PACKET_LEN)?.first()?;
    if first & 7 != 3 {
        return None;
    }
    let version = (first >> 3) & 7;
    let now = timestamp(unix);
    let mut packet = [0; PACKET_LEN];
    packet[0] = version << 3 | 4;
    // Stratum 1: a primary server, whose reference id is four ASCII letters (RFC 4330 §4).
    packet[1] = 1;
    packet[2] = request.get(2).copied().unwrap_or(6);
    // Precision 2^-20 s.
    packet[3] = (-20i8) as u8;
    packet[12..16].copy_from_slice(b"SIM\0");
    packet[16..24].copy_from_slice(&now);
    packet[24..32].copy_from_slice(request.get(TRANSMIT..PACKET_LEN)?);
    packet[32..40].copy_from_slice(&now);
    packet[40..48].copy_from_slice(&now);
    Some(packet)
}

/// The server's transmit time in an answer, as Unix time; `None` for anything that is not a
/// usable server answer (short, not mode 4, a kiss-o'-death with stratum 0, or no time).
pub fn transmit_time(answer: &[u8]) -> Option<Duration> {
    let first = *answer.get(..PACKET_LEN)?.first()?;
    if first & 7 != 4 || answer.get(1) == Some(&0) {
        return None;
    }
    let stamp: [u8; 8] = answer.get(TRANSMIT..PACKET_LEN)?.try_into().ok()?;
    let seconds = u64::from(u32::from_be_bytes(stamp[..4].try_into().ok()?));
    let fraction = u64::from(u32::from_be_bytes(stamp[4..].try_into().ok()?));
    if seconds == 0 {
        return None;
    }
    // Era 0 ends in 2036; a time stamp below 1968 is read as era 1 (RFC 4330 §3).
    let seconds = if seconds < 0x8000_0000 {
        seconds + (1 << 32)
    } else {
        seconds
    };
    let nanos = (fraction * 1_000_000_000) >> 32;
    Some(Duration::new(
        seconds.checked_sub(UNIX_OFFSET)?,
        nanos as u32,
    ))
}

/// Unix time as an NTP timestamp.
fn timestamp(unix: Duration) -> [u8; 8] {
    let seconds = (unix.as_secs() + UNIX_OFFSET) as u32;
    let fraction = ((u64::from(unix.subsec_nanos()) << 32) / 1_000_000_000) as u32;
    let mut out = [0; 8];
    out[..4].copy_from_slice(&seconds.to_be_bytes());
    out[4..].copy_from_slice(&fraction.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_answered_and_read() {
        let at = Duration::new(1_704_067_200, 250_000_000);
        let answer = answer(&request(), at).expect("a client request");
        assert_eq!(answer[0], 0x24);
        let read = transmit_time(&answer).unwrap();
        assert_eq!(read.as_secs(), 1_704_067_200);
        assert!(read.subsec_millis().abs_diff(250) <= 1);
        // Luat's ntp.lua: the transmit seconds at offset 40, less 0x83AA7E80.
        let luat = u32::from_be_bytes(answer[40..44].try_into().unwrap()) - 0x83AA_7E80;
        assert_eq!(u64::from(luat), 1_704_067_200);
    }

    #[test]
    fn what_is_not_answered_or_read() {
        let at = Duration::from_secs(1_704_067_200);
        assert_eq!(answer(&request()[..47], at), None);
        let mut server = request();
        server[0] = 0x24;
        assert_eq!(answer(&server, at), None);
        assert_eq!(transmit_time(&request()), None);
        let mut kiss = super::answer(&request(), at).unwrap();
        kiss[1] = 0;
        assert_eq!(transmit_time(&kiss), None);
        // Luat's request (LI 3, version 4) is answered with version 4.
        let luat = {
            let mut p = [0u8; 48];
            p[..4].copy_from_slice(&[0xE3, 0x00, 0x06, 0xEC]);
            p
        };
        assert_eq!(super::answer(&luat, at).unwrap()[0], 0x24);
    }
}
