//! Where an error is in a scenario file's text: a JSON path (`expect[2].after`), found in
//! the text, gives the `line:column` of the offending key or value.
//!
//! serde's errors come with the path of what was being read (`serde_path_to_error`) and
//! serde_json's position (where its parser stopped). The path says which key or value; the
//! position tells a key from its value (an unknown field stops the parser right after the
//! key). Inside an object that serde had to read whole before it could look at it (sim-modem's
//! faults, tagged by `kind`), the position is the end of the object: there the token the
//! message quotes, if the object holds it, is the place; else the object's start.

use std::ops::Range;

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// An object's member.
    Key(String),
    /// An array's element.
    Index(usize),
}

/// Builds paths: `path(&["expect".into(), 2.into(), "after".into()])`.
impl From<&str> for Segment {
    fn from(key: &str) -> Segment {
        Segment::Key(key.to_string())
    }
}

impl From<usize> for Segment {
    fn from(index: usize) -> Segment {
        Segment::Index(index)
    }
}

/// serde_path_to_error's path as segments. It stops at a segment it cannot name (a map
/// with non-string keys): the place is then the value before it.
pub fn segments(path: &serde_path_to_error::Path) -> Vec<Segment> {
    use serde_path_to_error::Segment as S;
    let mut out = Vec::new();
    for segment in path.iter() {
        match segment {
            S::Seq { index } => out.push(Segment::Index(*index)),
            // An externally tagged enum is written `{ "variant": ... }` (or `"variant"`).
            S::Map { key } | S::Enum { variant: key } => out.push(Segment::Key(key.clone())),
            S::Unknown => break,
        }
    }
    out
}

/// Where a path's value is in the text, and its key if it is an object's member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The byte offset of the member's key (its opening quote).
    pub key: Option<usize>,
    /// The value's bytes.
    pub value: Range<usize>,
}

impl Found {
    fn container(&self, text: &str) -> bool {
        matches!(text.as_bytes().get(self.value.start), Some(b'{' | b'['))
    }
}

/// The value at `path`, as far as the text goes: a key missing from the text (or a
/// variant written as a plain string) leaves the place at the value that holds it.
pub fn find(text: &str, path: &[Segment]) -> Option<Found> {
    let mut scan = Scanner { text, at: 0 };
    scan.space();
    let mut found = Found {
        key: None,
        value: scan.at..scan.value_end()?,
    };
    for segment in path {
        let mut scan = Scanner {
            text,
            at: found.value.start,
        };
        let next = match segment {
            Segment::Key(key) => scan.member(key),
            Segment::Index(index) => scan.element(*index),
        };
        match next {
            Some(next) => found = next,
            None => break,
        }
    }
    Some(found)
}

/// The place of a serde error at `path`, serde_json having stopped at byte `stop`.
pub fn serde_place(text: &str, path: &[Segment], stop: usize, message: &str) -> Option<usize> {
    let found = find(text, path)?;
    if let Some(key) = found.key {
        if stop <= found.value.start {
            return Some(key);
        }
    }
    if !found.container(text) {
        return Some(found.value.start);
    }
    let quoted = quoted_token(message).map(|token| format!("\"{token}\""));
    let inside = &text[found.value.start..stop.clamp(found.value.start, found.value.end)];
    let token = quoted.and_then(|token| inside.rfind(&token));
    Some(found.value.start + token.unwrap_or(0))
}

/// The first token a message quotes with backticks or double quotes.
fn quoted_token(message: &str) -> Option<&str> {
    let between = |quote: char| {
        let (_, rest) = message.split_once(quote)?;
        Some(rest.split_once(quote)?.0)
    };
    between('`').or_else(|| between('"'))
}

/// The 1-based line and column of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, column)
}

/// The byte offset of serde_json's 1-based line and column (the column counts bytes).
pub fn offset(text: &str, line: usize, column: usize) -> usize {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    (start + column).min(text.len())
}

/// A forward reader of JSON text that only finds where things are: the text is known to
/// be JSON up to the error, and anything it cannot read ends the search.
struct Scanner<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn space(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        self.space();
        (self.peek() == Some(byte)).then(|| self.at += 1)
    }

    /// Reads a string at the cursor, returning its contents with escapes left as written.
    fn string(&mut self) -> Option<&'a str> {
        self.space();
        if self.peek() != Some(b'"') {
            return None;
        }
        let start = self.at + 1;
        self.at = start;
        loop {
            match self.peek()? {
                b'\\' => self.at += 2,
                b'"' => {
                    self.at += 1;
                    return Some(&self.text[start..self.at - 1]);
                }
                _ => self.at += 1,
            }
        }
    }

    /// Skips the value at the cursor (after white space); returns where it ends.
    fn value_end(&mut self) -> Option<usize> {
        self.space();
        match self.peek()? {
            b'"' => {
                self.string()?;
            }
            open @ (b'{' | b'[') => {
                let close = if open == b'{' { b'}' } else { b']' };
                self.at += 1;
                if self.eat(close).is_none() {
                    loop {
                        if open == b'{' {
                            self.string()?;
                            self.eat(b':')?;
                        }
                        self.value_end()?;
                        if self.eat(b',').is_none() {
                            self.eat(close)?;
                            break;
                        }
                    }
                }
            }
            _ => {
                let rest = &self.text.as_bytes()[self.at..];
                let len = rest
                    .iter()
                    .position(|b| matches!(b, b',' | b'}' | b']') || b.is_ascii_whitespace())
                    .unwrap_or(rest.len());
                if len == 0 {
                    return None;
                }
                self.at += len;
            }
        }
        Some(self.at)
    }

    /// The member `key` of the object at the cursor (the last, if it is repeated).
    fn member(&mut self, key: &str) -> Option<Found> {
        self.eat(b'{')?;
        let mut found = None;
        if self.eat(b'}').is_some() {
            return None;
        }
        loop {
            self.space();
            let key_at = self.at;
            let name = self.string()?;
            self.eat(b':')?;
            self.space();
            let start = self.at;
            let end = self.value_end()?;
            if name == key {
                found = Some(Found {
                    key: Some(key_at),
                    value: start..end,
                });
            }
            if self.eat(b',').is_none() {
                return found;
            }
        }
    }

    /// The element `index` of the array at the cursor.
    fn element(&mut self, index: usize) -> Option<Found> {
        self.eat(b'[')?;
        for n in 0.. {
            self.space();
            let start = self.at;
            let end = self.value_end()?;
            if n == index {
                return Some(Found {
                    key: None,
                    value: start..end,
                });
            }
            self.eat(b',')?;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_found_in_the_text() {
        let text = "{ \"a\": [1, { \"b\": \"x\\\"y\", \"c\": {} }],\n  \"d\": true }";
        let place = |path: &[Segment]| {
            let found = find(text, path).unwrap();
            (found.key, &text[found.value])
        };
        assert_eq!(place(&[]), (None, text));
        assert_eq!(
            place(&["a".into()]),
            (Some(2), "[1, { \"b\": \"x\\\"y\", \"c\": {} }]")
        );
        assert_eq!(place(&["a".into(), 1.into(), "c".into()]), (Some(26), "{}"));
        assert_eq!(place(&["d".into()]), (Some(40), "true"));
        // What the text does not hold leaves the place where it would be.
        assert_eq!(
            place(&["a".into(), 1.into(), "z".into()]).1,
            "{ \"b\": \"x\\\"y\", \"c\": {} }"
        );
        assert_eq!(line_column(text, 40), (2, 3));
        assert_eq!(offset(text, 2, 2), 40);
    }
}
