//! What the protocol tests share: bytes as readable text, and golden files.
//!
//! Bytes become text the one way LongLink writes them, `protocol::text` ([`Escaped`], and
//! [`unescape`] to read a golden line back).
//!
//! A golden file is checked with `expect-test` ([`expect_test::expect_file!`]), the mechanism
//! every golden file of the workspace uses. After a deliberate change, rewrite the files with
//! the same variable everywhere and review the diff:
//!
//! ```text
//! UPDATE_EXPECT=1 cargo test -p protocol
//! git diff protocol/tests/golden
//! ```
#![allow(dead_code)] // each test binary uses its own part

use std::path::Path;

use protocol::text::unescape;

pub use protocol::text::Escaped;

/// The bytes an [`Escaped`] text stands for; panics on a bad escape (a broken golden file).
pub fn unescaped(text: &str) -> Vec<u8> {
    unescape(text)
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

/// Compares `actual` with the golden file at `path` (relative to the crate); `UPDATE_EXPECT=1`
/// rewrites it.
pub fn check_golden(path: &str, actual: &str) {
    expect_test::expect_file![Path::new(env!("CARGO_MANIFEST_DIR")).join(path)].assert_eq(actual);
}
