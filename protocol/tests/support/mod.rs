//! What the protocol tests share: bytes as readable text, and golden files.
#![allow(dead_code)] // each test binary uses its own part

/// Bytes as readable text: printable ASCII as is, `\r`, `\n`, `\\` and `\xNN` otherwise.
pub fn escape(bytes: &[u8]) -> String {
    let mut text = String::new();
    for &b in bytes {
        match b {
            b'\r' => text.push_str("\\r"),
            b'\n' => text.push_str("\\n"),
            b'\\' => text.push_str("\\\\"),
            b' '..=b'~' => text.push(b as char),
            _ => text.push_str(&format!("\\x{b:02X}")),
        }
    }
    text
}

/// The inverse of `escape`.
pub fn unescape(text: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut rest = text;
    while let Some((before, after)) = rest.split_once('\\') {
        bytes.extend_from_slice(before.as_bytes());
        let (byte, len) = match after.as_bytes() {
            [b'r', ..] => (b'\r', 1),
            [b'n', ..] => (b'\n', 1),
            [b'\\', ..] => (b'\\', 1),
            [b'x', ..] => (u8::from_str_radix(&after[1..3], 16).unwrap(), 3),
            _ => panic!("bad escape in {text:?}"),
        };
        bytes.push(byte);
        rest = &after[len..];
    }
    bytes.extend_from_slice(rest.as_bytes());
    bytes
}

/// Compares `actual` with the golden file at `path` (relative to the crate); with
/// `UPDATE_GOLDEN=1` in the environment, writes it first.
pub fn check_golden(path: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let golden = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "{}: missing; set UPDATE_GOLDEN=1 to write it",
            path.display()
        )
    });
    pretty_assertions::assert_eq!(
        golden,
        actual,
        "{} is out of date; regenerate it with UPDATE_GOLDEN=1",
        path.display()
    );
}
