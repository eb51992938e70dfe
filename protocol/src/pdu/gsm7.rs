//! The GSM 7-bit default alphabet and its extension table (3GPP TS 23.038 §6.2.1 and
//! §6.2.1.1), and septet packing (TS 23.038 §6.1.2.1.1).

/// The escape to the extension table.
pub const ESCAPE: u8 = 0x1B;

/// The default alphabet, by code. 0x1B is the escape; it is shown as a space here, as
/// TS 23.038 has a receiver show an escape it cannot follow.
const DEFAULT: [char; 128] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', //
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', ' ', 'Æ', 'æ', 'ß', 'É', //
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', //
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', //
];

/// The extension table: the code after an escape, and its character.
const EXTENSION: [(u8, char); 10] = [
    (0x0A, '\u{0C}'),
    (0x14, '^'),
    (0x28, '{'),
    (0x29, '}'),
    (0x2F, '\\'),
    (0x3C, '['),
    (0x3D, '~'),
    (0x3E, ']'),
    (0x40, '|'),
    (0x65, '€'),
];

/// The character of a default-alphabet code (the low 7 bits).
pub fn to_char(code: u8) -> char {
    DEFAULT
        .get(usize::from(code & 0x7F))
        .copied()
        .unwrap_or(' ')
}

/// The character of an extension code; one the table lacks shows as its default-alphabet
/// character (TS 23.038 §6.2.1.1).
pub fn extension_to_char(code: u8) -> char {
    EXTENSION
        .iter()
        .find(|&&(c, _)| c == code & 0x7F)
        .map_or_else(|| to_char(code), |&(_, ch)| ch)
}

/// The septets of a character: one code, or the escape and an extension code; `None` if the
/// alphabet cannot write it.
pub fn from_char(ch: char) -> Option<Septets> {
    if ch == ' ' {
        return Some(Septets::One(0x20));
    }
    if let Some(code) = DEFAULT.iter().position(|&c| c == ch).filter(|&c| c != 0x1B) {
        return Some(Septets::One(code as u8));
    }
    EXTENSION
        .iter()
        .find(|&&(_, c)| c == ch)
        .map(|&(code, _)| Septets::Two(code))
}

/// A character as septets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Septets {
    One(u8),
    /// The escape, then this code.
    Two(u8),
}

impl Septets {
    pub fn count(self) -> usize {
        match self {
            Septets::One(_) => 1,
            Septets::Two(_) => 2,
        }
    }
}

/// Septets as characters: escapes join the code after them.
pub fn chars(septets: impl Iterator<Item = u8>) -> impl Iterator<Item = char> {
    let mut septets = septets.peekable();
    core::iter::from_fn(move || {
        let code = septets.next()?;
        if code & 0x7F == ESCAPE {
            return Some(match septets.next() {
                Some(next) => extension_to_char(next),
                None => ' ',
            });
        }
        Some(to_char(code))
    })
}

/// Packs `septets` into `out`, after `fill` zero bits (0–6, which align septets after a user
/// data header), and returns the octets written.
pub fn pack(
    septets: impl Iterator<Item = u8>,
    fill: usize,
    out: &mut [u8],
) -> Result<usize, crate::BufferFull> {
    let mut bit = fill;
    for septet in septets {
        let (octet, shift) = (bit / 8, bit % 8);
        let value = u16::from(septet & 0x7F) << shift;
        let low = out.get_mut(octet).ok_or(crate::BufferFull)?;
        // An octet is cleared when first written: the fill bits are zero.
        if shift == 0 || bit == fill {
            *low = 0;
        }
        *low |= value as u8;
        if shift > 1 {
            *out.get_mut(octet + 1).ok_or(crate::BufferFull)? = (value >> 8) as u8;
        }
        bit += 7;
    }
    Ok(if bit == fill { 0 } else { bit.div_ceil(8) })
}

/// The `count` septets packed in `octets` after `fill` bits.
pub fn unpack(octets: &[u8], count: usize, fill: usize) -> impl Iterator<Item = u8> + '_ {
    (0..count).map_while(move |i| {
        let bit = fill + 7 * i;
        let low = u16::from(*octets.get(bit / 8)?);
        let high = u16::from(octets.get(bit / 8 + 1).copied().unwrap_or(0));
        Some((((high << 8 | low) >> (bit % 8)) & 0x7F) as u8)
    })
}

/// The octets `count` septets take after `fill` bits.
pub fn packed_len(count: usize, fill: usize) -> usize {
    (fill + 7 * count).div_ceil(8)
}
