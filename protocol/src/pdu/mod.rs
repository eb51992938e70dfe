//! SMS in PDU form, both ways, with no heap: what `AT+CMGS=<length>` takes and `AT+CMGR` /
//! `AT+CMGL` / `+CMT` show in PDU mode (`AT+CMGF=0`), and what the simulated network carries.
//!
//! - [`Submit`] (SMS-SUBMIT, device to service centre) and [`Deliver`] (SMS-DELIVER, service
//!   centre to device): decoded views that borrow the PDU (3GPP TS 23.040 §9.2.2.1,
//!   §9.2.2.2), and [`SubmitFields`] / [`DeliverFields`] that write one.
//! - [`UserData`]: the message body in its alphabet (GSM 7-bit default alphabet with its
//!   extension table, 8-bit data, UCS2; TS 23.038 §4 and §6), with an optional user data
//!   header (TS 23.040 §9.2.3.24) and the fill bits that align 7-bit text after it.
//! - Addresses in semi-octets, `+` for the international type (TS 23.040 §9.1.2.5), or
//!   alphanumeric; service centre time stamps with their quarter-hour time zone
//!   (§9.2.3.11); hex as the AT interface writes PDUs ([`decode_hex`], [`encode_hex`]).
//!
//! A PDU on the AT interface starts with the service centre address (`00`: the SIM's
//! default); `AT+CMGS=<length>` counts the octets after it (TS 27.005 §3.5.1, and Luat's
//! `sms.lua`, which sends `AT+CMGS=<octets - 1>` for a PDU that begins `00`).

pub mod gsm7;

use crate::encode::{BufferFull, Writer};
use crate::types::DateTime;

/// The most octets of user data an SMS carries (TS 23.040 §9.2.3.16: 140 octets, 160 septets).
pub const MAX_USER_DATA: usize = 140;

/// Why bytes are not a PDU, or a value cannot be written as one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PduError {
    /// The PDU ends before a field it announces.
    Truncated,
    /// Octets after the end of the user data.
    TrailingOctets,
    /// The message type indicator is not the one expected (a DELIVER read as a SUBMIT).
    WrongType,
    /// A data coding scheme this codec does not read (compressed text, reserved groups).
    UnsupportedCoding(u8),
    /// An address or time stamp field that does not hold what its type says.
    BadField,
    /// More user data than an SMS carries (140 octets).
    TooLong,
    /// A character the chosen alphabet cannot write.
    NotWritable(char),
    /// Text that is not hex, or an odd number of digits.
    BadHex,
    /// The output buffer is too small.
    BufferFull,
}

impl From<BufferFull> for PduError {
    fn from(_: BufferFull) -> PduError {
        PduError::BufferFull
    }
}

impl core::fmt::Display for PduError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            PduError::Truncated => f.write_str("the PDU ends early"),
            PduError::TrailingOctets => f.write_str("octets after the user data"),
            PduError::WrongType => f.write_str("not the message type expected"),
            PduError::UnsupportedCoding(dcs) => write!(f, "data coding scheme {dcs:#04x}"),
            PduError::BadField => f.write_str("a malformed address or time stamp"),
            PduError::TooLong => f.write_str("more than 140 octets of user data"),
            PduError::NotWritable(c) => write!(f, "{c:?} is not in the alphabet"),
            PduError::BadHex => f.write_str("not an even number of hex digits"),
            PduError::BufferFull => f.write_str("output buffer too small"),
        }
    }
}

/// The alphabet of the user data, from the data coding scheme (TS 23.038 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alphabet {
    /// The GSM 7-bit default alphabet: septets.
    Gsm7,
    /// 8-bit data: octets.
    Data8,
    /// UCS2 (UTF-16 big endian): octet pairs.
    Ucs2,
}

impl Alphabet {
    /// The alphabet a data coding scheme names: the general data coding groups (`00xx`,
    /// uncompressed), the message waiting groups (`1100`–`1110`) and `1111`.
    pub fn of_dcs(dcs: u8) -> Result<Alphabet, PduError> {
        let bits = |b: u8| match b & 0x0C {
            0x00 => Ok(Alphabet::Gsm7),
            0x04 => Ok(Alphabet::Data8),
            0x08 => Ok(Alphabet::Ucs2),
            _ => Err(PduError::UnsupportedCoding(dcs)),
        };
        match dcs >> 4 {
            0x0..=0x3 if dcs & 0x20 == 0 => bits(dcs),
            0xC | 0xD => Ok(Alphabet::Gsm7),
            0xE => Ok(Alphabet::Ucs2),
            0xF if dcs & 0x04 == 0 => Ok(Alphabet::Gsm7),
            0xF => Ok(Alphabet::Data8),
            _ => Err(PduError::UnsupportedCoding(dcs)),
        }
    }

    /// The plain data coding scheme of the alphabet (no class, uncompressed).
    pub const fn dcs(self) -> u8 {
        match self {
            Alphabet::Gsm7 => 0x00,
            Alphabet::Data8 => 0x04,
            Alphabet::Ucs2 => 0x08,
        }
    }
}

// ---- Addresses ---------------------------------------------------------------------------

/// Type of address: international number, ISDN numbering plan (`+...`).
pub const TOA_INTERNATIONAL: u8 = 0x91;
/// Type of address: unknown type, ISDN numbering plan (digits without `+`).
pub const TOA_UNKNOWN: u8 = 0x81;
/// Type of address: alphanumeric (GSM 7-bit).
pub const TOA_ALPHANUMERIC: u8 = 0xD0;

/// An address as a PDU holds it: its type and its semi-octets (or packed septets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Address<'a> {
    pub type_of_address: u8,
    /// Semi-octets used (the address length field of TP-OA / TP-DA).
    semi_octets: usize,
    raw: &'a [u8],
}

impl<'a> Address<'a> {
    /// The address as text: `+` and the digits for an international number, the digits
    /// otherwise (`*`, `#`, `a`, `b`, `c` for the semi-octets A–E), the text of an
    /// alphanumeric one.
    pub fn chars(&self) -> impl Iterator<Item = char> + 'a {
        let alphanumeric = self.type_of_address & 0x70 == 0x50;
        let plus = (self.type_of_address & 0x70 == 0x10).then_some('+');
        let (raw, semi_octets) = (self.raw, self.semi_octets);
        let digits = (0..semi_octets)
            .filter(move |_| !alphanumeric)
            .filter_map(move |i| {
                let octet = raw.get(i / 2)?;
                let nibble = if i % 2 == 0 { octet & 0xF } else { octet >> 4 };
                b"0123456789*#abc"
                    .get(usize::from(nibble))
                    .map(|&c| c as char)
            });
        let septets = if alphanumeric { semi_octets * 4 / 7 } else { 0 };
        let text = gsm7::chars(gsm7::unpack(raw, septets, 0));
        plus.into_iter().chain(digits).chain(text)
    }

    /// Whether the address reads as `text`.
    pub fn is(&self, text: &str) -> bool {
        self.chars().eq(text.chars())
    }
}

/// Reads TP-OA / TP-DA: length in semi-octets, type, value.
fn read_address<'a>(r: &mut Reader<'a>) -> Result<Address<'a>, PduError> {
    let semi_octets = usize::from(r.octet()?);
    let type_of_address = r.octet()?;
    let raw = r.take(semi_octets.div_ceil(2))?;
    Ok(Address {
        type_of_address,
        semi_octets,
        raw,
    })
}

/// Reads the service centre address: length in octets (type included), 0 for none.
fn read_sca<'a>(r: &mut Reader<'a>) -> Result<Option<Address<'a>>, PduError> {
    let octets = usize::from(r.octet()?);
    if octets == 0 {
        return Ok(None);
    }
    let type_of_address = r.octet()?;
    let raw = r.take(octets - 1)?;
    let filler = raw.last().is_some_and(|o| o >> 4 == 0xF);
    Ok(Some(Address {
        type_of_address,
        semi_octets: 2 * raw.len() - usize::from(filler),
        raw,
    }))
}

/// How an address text is written: its type and its semi-octet values.
fn address_parts(text: &str) -> (u8, &str, bool) {
    let (toa, digits) = match text.strip_prefix('+') {
        Some(digits) => (TOA_INTERNATIONAL, digits),
        None => (TOA_UNKNOWN, text),
    };
    let numeric = !digits.is_empty() && digits.bytes().all(|b| semi_octet(b).is_some());
    if numeric {
        (toa, digits, true)
    } else {
        (TOA_ALPHANUMERIC, text, false)
    }
}

fn semi_octet(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'*' => Some(0xA),
        b'#' => Some(0xB),
        b'a' | b'A' => Some(0xC),
        b'b' | b'B' => Some(0xD),
        b'c' | b'C' => Some(0xE),
        _ => None,
    }
}

/// Writes the digits as swapped semi-octets, `F` filling an odd count.
fn write_semi_octets(w: &mut Writer<'_>, digits: &str) -> Result<(), PduError> {
    for pair in digits.as_bytes().chunks(2) {
        let low = pair.first().and_then(|&b| semi_octet(b)).unwrap_or(0xF);
        let high = pair.get(1).and_then(|&b| semi_octet(b)).unwrap_or(0xF);
        w.bytes(&[high << 4 | low])?;
    }
    Ok(())
}

/// Writes TP-OA / TP-DA (length in semi-octets). An address that is not a number is
/// alphanumeric (at most 11 characters, TS 23.040 §9.1.2.5).
fn write_address(w: &mut Writer<'_>, text: &str) -> Result<(), PduError> {
    let (toa, digits, numeric) = address_parts(text);
    if numeric {
        if digits.len() > 20 {
            return Err(PduError::BadField);
        }
        w.bytes(&[digits.len() as u8, toa])?;
        return write_semi_octets(w, digits);
    }
    let mut codes = [0u8; 11];
    let count = septets_of(text, &mut codes).map_err(|e| match e {
        PduError::TooLong => PduError::BadField,
        e => e,
    })?;
    let mut packed = [0u8; 10];
    let len = gsm7::pack(codes.iter().copied().take(count), 0, &mut packed)?;
    // The length counts the semi-octets that hold the septets.
    let semi = (count * 7).div_ceil(4);
    w.bytes(&[semi as u8, TOA_ALPHANUMERIC])?;
    w.bytes(packed.get(..len).unwrap_or_default())?;
    Ok(())
}

/// Writes the service centre address: `00` for the SIM's own.
fn write_sca(w: &mut Writer<'_>, sca: Option<&str>) -> Result<(), PduError> {
    let Some(text) = sca else {
        w.bytes(&[0])?;
        return Ok(());
    };
    let (toa, digits, numeric) = address_parts(text);
    if !numeric || digits.len() > 20 {
        return Err(PduError::BadField);
    }
    w.bytes(&[1 + digits.len().div_ceil(2) as u8, toa])?;
    write_semi_octets(w, digits)
}

/// The GSM 7-bit codes of `text` into `out`; returns how many.
fn septets_of(text: &str, out: &mut [u8]) -> Result<usize, PduError> {
    let mut n = 0;
    for ch in text.chars() {
        let septets = gsm7::from_char(ch).ok_or(PduError::NotWritable(ch))?;
        let codes = match septets {
            gsm7::Septets::One(code) => [code, 0],
            gsm7::Septets::Two(code) => [gsm7::ESCAPE, code],
        };
        for &code in codes.get(..septets.count()).unwrap_or_default() {
            *out.get_mut(n).ok_or(PduError::TooLong)? = code;
            n += 1;
        }
    }
    Ok(n)
}

// ---- Time stamps -------------------------------------------------------------------------

fn bcd(octet: u8) -> Result<u8, PduError> {
    let (tens, units) = (octet & 0xF, octet >> 4);
    if tens > 9 || units > 9 {
        return Err(PduError::BadField);
    }
    Ok(tens * 10 + units)
}

fn to_bcd(n: u8) -> u8 {
    (n % 10) << 4 | (n / 10 % 10)
}

/// TP-SCTS: seven swapped semi-octet pairs; the time zone in quarter hours, bit 3 of its
/// first semi-octet the sign (TS 23.040 §9.2.3.11).
fn read_timestamp(r: &mut Reader<'_>) -> Result<DateTime, PduError> {
    let o = r.take(7)?;
    let field = |i: usize| o.get(i).copied().map_or(Err(PduError::Truncated), bcd);
    let zone = o.get(6).copied().ok_or(PduError::Truncated)?;
    let quarters = bcd(zone & 0xF7)?;
    let t = DateTime {
        year: field(0)?,
        month: field(1)?,
        day: field(2)?,
        hour: field(3)?,
        minute: field(4)?,
        second: field(5)?,
        quarter_hours: if zone & 0x08 != 0 {
            -(quarters as i8)
        } else {
            quarters as i8
        },
    };
    let valid = (1..=12).contains(&t.month)
        && (1..=31).contains(&t.day)
        && t.hour < 24
        && t.minute < 60
        && t.second < 60
        && quarters <= 79;
    valid.then_some(t).ok_or(PduError::BadField)
}

fn write_timestamp(w: &mut Writer<'_>, t: &DateTime) -> Result<(), PduError> {
    let sign = if t.quarter_hours < 0 { 0x08 } else { 0 };
    w.bytes(&[
        to_bcd(t.year % 100),
        to_bcd(t.month),
        to_bcd(t.day),
        to_bcd(t.hour),
        to_bcd(t.minute),
        to_bcd(t.second),
        to_bcd(t.quarter_hours.unsigned_abs()) | sign,
    ])?;
    Ok(())
}

// ---- User data ---------------------------------------------------------------------------

/// The user data of a PDU: its header, if any, and its body in its alphabet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserData<'a> {
    pub alphabet: Alphabet,
    /// The user data header without its length octet (TP-UDHI set).
    pub header: Option<&'a [u8]>,
    /// The octets after the header (for 7-bit text: the packed septets, fill bits first).
    body: &'a [u8],
    /// 7-bit text: septets of body, and the fill bits before them.
    septets: usize,
    fill: usize,
}

impl<'a> UserData<'a> {
    fn read(r: &mut Reader<'a>, dcs: u8, udhi: bool) -> Result<UserData<'a>, PduError> {
        let alphabet = Alphabet::of_dcs(dcs)?;
        let udl = usize::from(r.octet()?);
        let octets = match alphabet {
            Alphabet::Gsm7 => gsm7::packed_len(udl, 0),
            _ => udl,
        };
        if octets > MAX_USER_DATA {
            return Err(PduError::TooLong);
        }
        let ud = r.take(octets)?;
        if !r.is_empty() {
            return Err(PduError::TrailingOctets);
        }
        let (header, header_octets) = if udhi {
            let udhl = usize::from(*ud.first().ok_or(PduError::Truncated)?);
            let header = ud.get(1..1 + udhl).ok_or(PduError::Truncated)?;
            (Some(header), 1 + udhl)
        } else {
            (None, 0)
        };
        let body = ud.get(header_octets..).ok_or(PduError::Truncated)?;
        let (septets, fill) = match alphabet {
            Alphabet::Gsm7 => {
                let header_septets = (header_octets * 8).div_ceil(7);
                let fill = header_septets * 7 - header_octets * 8;
                (udl.saturating_sub(header_septets), fill)
            }
            _ => (0, 0),
        };
        Ok(UserData {
            alphabet,
            header,
            body,
            septets,
            fill,
        })
    }

    /// 7-bit text: the codes of the body (escapes included); nothing for the other alphabets.
    pub fn septets(&self) -> impl Iterator<Item = u8> + 'a {
        let count = if self.alphabet == Alphabet::Gsm7 {
            self.septets
        } else {
            0
        };
        gsm7::unpack(self.body, count, self.fill)
    }

    /// 8-bit data and UCS2: the octets of the body; empty for 7-bit text.
    pub fn octets(&self) -> &'a [u8] {
        match self.alphabet {
            Alphabet::Gsm7 => &[],
            _ => self.body,
        }
    }

    /// The body as characters: 7-bit text through its alphabet, UCS2 as UTF-16 (an unpaired
    /// surrogate as U+FFFD), 8-bit data one character per octet (Latin-1).
    pub fn chars(&self) -> impl Iterator<Item = char> + 'a {
        let gsm = gsm7::chars(self.septets());
        let ucs2 = (self.alphabet == Alphabet::Ucs2).then(|| {
            char::decode_utf16(
                self.body
                    .chunks_exact(2)
                    .map(|p| u16::from_be_bytes([p[0], p[1]])),
            )
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        });
        let latin1 =
            (self.alphabet == Alphabet::Data8).then(|| self.body.iter().map(|&b| b as char));
        gsm.chain(ucs2.into_iter().flatten())
            .chain(latin1.into_iter().flatten())
    }
}

/// The body to write: text in the PDU's alphabet, or codes as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body<'a> {
    /// Text, written in the alphabet of the data coding scheme (8-bit data: Latin-1).
    Text(&'a str),
    /// GSM 7-bit codes, as they are (7-bit alphabet only).
    Septets(&'a [u8]),
    /// Octets, as they are (8-bit data and UCS2 only).
    Octets(&'a [u8]),
}

/// Writes TP-UDL and TP-UD.
fn write_user_data(
    w: &mut Writer<'_>,
    dcs: u8,
    header: Option<&[u8]>,
    body: Body<'_>,
) -> Result<(), PduError> {
    let alphabet = Alphabet::of_dcs(dcs)?;
    let header_octets = header.map_or(0, |h| 1 + h.len());
    let mut ud = [0u8; MAX_USER_DATA];
    if let Some(h) = header {
        let slot = ud.get_mut(..header_octets).ok_or(PduError::TooLong)?;
        slot[0] = h.len() as u8;
        slot[1..].copy_from_slice(h);
    }
    let (udl, octets) = match (alphabet, body) {
        (Alphabet::Gsm7, Body::Text(_) | Body::Septets(_)) => {
            let mut codes = [0u8; 2 * MAX_USER_DATA];
            let count = match body {
                Body::Text(text) => septets_of(text, &mut codes)?,
                Body::Septets(s) => {
                    let slot = codes.get_mut(..s.len()).ok_or(PduError::TooLong)?;
                    slot.copy_from_slice(s);
                    s.len()
                }
                Body::Octets(_) => 0,
            };
            let header_septets = (header_octets * 8).div_ceil(7);
            let fill = header_septets * 7 - header_octets * 8;
            let udl = header_septets + count;
            if udl > 160 {
                return Err(PduError::TooLong);
            }
            let rest = ud.get_mut(header_octets..).ok_or(PduError::TooLong)?;
            let n = gsm7::pack(codes.iter().copied().take(count), fill, rest)
                .map_err(|_| PduError::TooLong)?;
            (udl, header_octets + n)
        }
        (Alphabet::Ucs2 | Alphabet::Data8, Body::Text(text)) => {
            let mut n = header_octets;
            let mut put = |b: u8| -> Result<(), PduError> {
                *ud.get_mut(n).ok_or(PduError::TooLong)? = b;
                n += 1;
                Ok(())
            };
            for ch in text.chars() {
                if alphabet == Alphabet::Data8 {
                    put(u8::try_from(u32::from(ch)).map_err(|_| PduError::NotWritable(ch))?)?;
                    continue;
                }
                let mut units = [0u16; 2];
                for unit in ch.encode_utf16(&mut units) {
                    let [hi, lo] = unit.to_be_bytes();
                    put(hi)?;
                    put(lo)?;
                }
            }
            (n, n)
        }
        (Alphabet::Ucs2 | Alphabet::Data8, Body::Octets(o)) => {
            let n = header_octets + o.len();
            ud.get_mut(header_octets..n)
                .ok_or(PduError::TooLong)?
                .copy_from_slice(o);
            (n, n)
        }
        (_, Body::Septets(_)) | (Alphabet::Gsm7, Body::Octets(_)) => {
            return Err(PduError::UnsupportedCoding(dcs))
        }
    };
    w.bytes(&[udl as u8])?;
    w.bytes(ud.get(..octets).unwrap_or_default())?;
    Ok(())
}

// ---- SMS-DELIVER ------------------------------------------------------------------------

/// TP-MTI and the other first-octet bits (TS 23.040 §9.2.3.1–§9.2.3.5, §9.2.3.17,
/// §9.2.3.23).
const MTI_MASK: u8 = 0x03;
const MTI_DELIVER: u8 = 0x00;
const MTI_SUBMIT: u8 = 0x01;
/// TP-MMS in a DELIVER: set when no more messages wait.
const MMS: u8 = 0x04;
const UDHI: u8 = 0x40;

/// An SMS-DELIVER, as the service centre hands it to the device (TS 23.040 §9.2.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deliver<'a> {
    pub service_centre: Option<Address<'a>>,
    pub first_octet: u8,
    pub originator: Address<'a>,
    pub pid: u8,
    pub dcs: u8,
    pub timestamp: DateTime,
    pub user_data: UserData<'a>,
}

impl<'a> Deliver<'a> {
    /// Reads a PDU that starts with the service centre address.
    pub fn decode(pdu: &'a [u8]) -> Result<Deliver<'a>, PduError> {
        let mut r = Reader(pdu);
        let service_centre = read_sca(&mut r)?;
        Self::decode_tpdu(service_centre, &mut r)
    }

    fn decode_tpdu(
        service_centre: Option<Address<'a>>,
        r: &mut Reader<'a>,
    ) -> Result<Deliver<'a>, PduError> {
        let first_octet = r.octet()?;
        if first_octet & MTI_MASK != MTI_DELIVER {
            return Err(PduError::WrongType);
        }
        let originator = read_address(r)?;
        let pid = r.octet()?;
        let dcs = r.octet()?;
        let timestamp = read_timestamp(r)?;
        let user_data = UserData::read(r, dcs, first_octet & UDHI != 0)?;
        Ok(Deliver {
            service_centre,
            first_octet,
            originator,
            pid,
            dcs,
            timestamp,
            user_data,
        })
    }
}

/// The fields of an SMS-DELIVER to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliverFields<'a> {
    /// `None`: written as `00`.
    pub service_centre: Option<&'a str>,
    pub originator: &'a str,
    pub pid: u8,
    pub dcs: u8,
    pub timestamp: DateTime,
    pub header: Option<&'a [u8]>,
    pub body: Body<'a>,
}

impl DeliverFields<'_> {
    /// Writes the PDU, service centre address first, and returns its length.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, PduError> {
        let mut w = Writer::new(out);
        write_sca(&mut w, self.service_centre)?;
        let udhi = if self.header.is_some() { UDHI } else { 0 };
        w.bytes(&[MTI_DELIVER | MMS | udhi])?;
        write_address(&mut w, self.originator)?;
        w.bytes(&[self.pid, self.dcs])?;
        write_timestamp(&mut w, &self.timestamp)?;
        write_user_data(&mut w, self.dcs, self.header, self.body)?;
        Ok(w.len())
    }
}

// ---- SMS-SUBMIT -------------------------------------------------------------------------

/// TP-VPF in a SUBMIT's first octet (bits 4–3).
const VPF_MASK: u8 = 0x18;
const VPF_RELATIVE: u8 = 0x10;
/// TP-SRR: a status report is requested.
const SRR: u8 = 0x20;

/// TP-VP as a SUBMIT carries it (TS 23.040 §9.2.3.12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity<'a> {
    None,
    /// One octet: 0–143 five minutes more each, ... (§9.2.3.12.1).
    Relative(u8),
    /// Seven octets, absolute (a time stamp) or enhanced, kept as they are.
    Absolute(DateTime),
    Enhanced(&'a [u8]),
}

/// An SMS-SUBMIT, as the device hands it to the service centre (TS 23.040 §9.2.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Submit<'a> {
    pub service_centre: Option<Address<'a>>,
    pub first_octet: u8,
    pub reference: u8,
    pub destination: Address<'a>,
    pub pid: u8,
    pub dcs: u8,
    pub validity: Validity<'a>,
    pub user_data: UserData<'a>,
}

impl<'a> Submit<'a> {
    /// Reads a PDU that starts with the service centre address.
    pub fn decode(pdu: &'a [u8]) -> Result<Submit<'a>, PduError> {
        let mut r = Reader(pdu);
        let service_centre = read_sca(&mut r)?;
        Self::decode_tpdu_from(service_centre, &mut r)
    }

    /// Reads a TPDU alone (what follows the service centre address).
    pub fn decode_tpdu(tpdu: &'a [u8]) -> Result<Submit<'a>, PduError> {
        Self::decode_tpdu_from(None, &mut Reader(tpdu))
    }

    fn decode_tpdu_from(
        service_centre: Option<Address<'a>>,
        r: &mut Reader<'a>,
    ) -> Result<Submit<'a>, PduError> {
        let first_octet = r.octet()?;
        if first_octet & MTI_MASK != MTI_SUBMIT {
            return Err(PduError::WrongType);
        }
        let reference = r.octet()?;
        let destination = read_address(r)?;
        let pid = r.octet()?;
        let dcs = r.octet()?;
        let validity = match first_octet & VPF_MASK {
            0x00 => Validity::None,
            VPF_RELATIVE => Validity::Relative(r.octet()?),
            0x18 => Validity::Absolute(read_timestamp(r)?),
            _ => Validity::Enhanced(r.take(7)?),
        };
        let user_data = UserData::read(r, dcs, first_octet & UDHI != 0)?;
        Ok(Submit {
            service_centre,
            first_octet,
            reference,
            destination,
            pid,
            dcs,
            validity,
            user_data,
        })
    }

    /// Whether a status report is asked for (TP-SRR).
    pub fn status_report(&self) -> bool {
        self.first_octet & SRR != 0
    }
}

/// The fields of an SMS-SUBMIT to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubmitFields<'a> {
    /// `None`: written as `00`, the SIM's service centre.
    pub service_centre: Option<&'a str>,
    pub reference: u8,
    pub destination: &'a str,
    pub pid: u8,
    pub dcs: u8,
    /// Relative validity (`AT+CSMP`'s `<vp>`, 167 by default: one day); `None`: no TP-VP.
    pub validity: Option<u8>,
    pub status_report: bool,
    pub header: Option<&'a [u8]>,
    pub body: Body<'a>,
}

impl SubmitFields<'_> {
    /// Writes the PDU, service centre address first, and returns its length.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, PduError> {
        let mut w = Writer::new(out);
        write_sca(&mut w, self.service_centre)?;
        let mut first = MTI_SUBMIT;
        if self.validity.is_some() {
            first |= VPF_RELATIVE;
        }
        if self.status_report {
            first |= SRR;
        }
        if self.header.is_some() {
            first |= UDHI;
        }
        w.bytes(&[first, self.reference])?;
        write_address(&mut w, self.destination)?;
        w.bytes(&[self.pid, self.dcs])?;
        if let Some(vp) = self.validity {
            w.bytes(&[vp])?;
        }
        write_user_data(&mut w, self.dcs, self.header, self.body)?;
        Ok(w.len())
    }
}

/// The octets of the service centre address at the start of `pdu` (its length octet
/// included): what `AT+CMGS=<length>` does not count.
pub fn sca_len(pdu: &[u8]) -> Option<usize> {
    pdu.first().map(|&n| 1 + usize::from(n))
}

// ---- Hex --------------------------------------------------------------------------------

/// Hex digits (either case) into octets; returns how many.
pub fn decode_hex(text: &[u8], out: &mut [u8]) -> Result<usize, PduError> {
    if text.len() % 2 != 0 {
        return Err(PduError::BadHex);
    }
    let digit = |b: u8| (b as char).to_digit(16).ok_or(PduError::BadHex);
    for (i, pair) in text.chunks_exact(2).enumerate() {
        let octet = (digit(pair[0])? << 4 | digit(pair[1])?) as u8;
        *out.get_mut(i).ok_or(PduError::BufferFull)? = octet;
    }
    Ok(text.len() / 2)
}

/// Octets as upper-case hex digits, as modems write PDUs; returns how many digits.
pub fn encode_hex(octets: &[u8], out: &mut [u8]) -> Result<usize, BufferFull> {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut w = Writer::new(out);
    for &o in octets {
        w.bytes(&[DIGITS[usize::from(o >> 4)], DIGITS[usize::from(o & 0xF)]])?;
    }
    Ok(w.len())
}

/// Reads a PDU front to back.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn octet(&mut self) -> Result<u8, PduError> {
        let (&first, rest) = self.0.split_first().ok_or(PduError::Truncated)?;
        self.0 = rest;
        Ok(first)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], PduError> {
        if n > self.0.len() {
            return Err(PduError::Truncated);
        }
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(taken)
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
