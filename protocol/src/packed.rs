//! Tables of short texts packed back to back, each found by where it ends: the form the
//! protocol's lookup tables take in flash. A `&str` per entry costs 8 bytes of pointer and
//! length beside its text on a 32-bit target; here an entry costs 2. Built at compile time.

/// `N` texts of `T` bytes in all, in order.
pub(crate) struct Packed<const N: usize, const T: usize> {
    bytes: [u8; T],
    ends: [u16; N],
}

/// How many bytes `texts` hold in all: a [`Packed`]'s `T`.
pub(crate) const fn total(texts: &[&str]) -> usize {
    let (mut i, mut total) = (0, 0);
    while i < texts.len() {
        total += texts[i].len();
        i += 1;
    }
    total
}

impl<const N: usize, const T: usize> Packed<N, T> {
    /// Packs `texts` (at most 65,535 bytes in all, `T` of them exactly: see [`total`]).
    pub(crate) const fn new(texts: [&str; N]) -> Self {
        let mut bytes = [0u8; T];
        let mut ends = [0u16; N];
        let (mut i, mut at) = (0, 0);
        while i < N {
            let text = texts[i].as_bytes();
            let mut k = 0;
            while k < text.len() {
                bytes[at] = text[k];
                at += 1;
                k += 1;
            }
            ends[i] = at as u16;
            i += 1;
        }
        assert!(at == T, "T is the texts' total length");
        Packed { bytes, ends }
    }

    /// Text `i`, empty if there is none.
    pub(crate) fn get(&self, i: usize) -> &[u8] {
        let start = match i.checked_sub(1) {
            Some(before) => self.ends.get(before).copied().unwrap_or(0),
            None => 0,
        };
        let end = self.ends.get(i).copied().unwrap_or(0);
        self.bytes
            .get(usize::from(start)..usize::from(end))
            .unwrap_or(&[])
    }

    /// The index of the text equal to `bytes`.
    pub(crate) fn position(&self, bytes: &[u8]) -> Option<usize> {
        self.find(|text| text == bytes)
    }

    /// The index of the first text that `matches`.
    pub(crate) fn find(&self, matches: impl Fn(&[u8]) -> bool) -> Option<usize> {
        (0..N).find(|&i| matches(self.get(i)))
    }
}

/// `$name`: the texts of `$ty::ALL` (`as_str`), in its order, packed: a lookup by text
/// then links no `&str` per value.
macro_rules! packed_texts {
    ($name:ident, $ty:ident) => {
        static $name: crate::packed::Packed<
            { $ty::ALL.len() },
            { crate::packed::total(&texts_of!($ty)) },
        > = crate::packed::Packed::new(texts_of!($ty));
    };
}

/// The texts of `$ty::ALL` (`as_str`), in its order, at compile time.
macro_rules! texts_of {
    ($ty:ident) => {{
        let mut texts = [""; $ty::ALL.len()];
        let mut i = 0;
        while i < texts.len() {
            texts[i] = $ty::ALL[i].as_str();
            i += 1;
        }
        texts
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_come_back_by_index_and_are_found() {
        const TEXTS: [&str; 4] = ["OK", "", "SEND OK", "CLOSED"];
        const P: Packed<4, { total(&TEXTS) }> = Packed::new(TEXTS);
        for (i, text) in TEXTS.iter().enumerate() {
            assert_eq!(P.get(i), text.as_bytes());
        }
        assert_eq!(P.get(4), b"");
        assert_eq!(P.position(b"SEND OK"), Some(2));
        assert_eq!(P.position(b"CLOSED"), Some(3));
        assert_eq!(P.position(b"SEND"), None);
    }
}
