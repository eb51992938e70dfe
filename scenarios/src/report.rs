//! What a person (or CI) reads about replays: a table of results, a failure with a diff of
//! expected against actual, the trace around it and the command that reproduces it, and
//! JUnit XML.

use std::fmt::Write as _;
use std::time::Duration;

use pretty_assertions::Comparison;

use crate::check::{secs, CheckResult};
use crate::format::LoadError;
use crate::replay::{Replay, Verdict};

/// How many trace lines to show around a failure, at most, on each side.
const CONTEXT_LINES: usize = 12;

/// One line per replay: name, verdict, expectations met, virtual and wall time.
pub fn table(replays: &[Replay]) -> String {
    let mut text = format!(
        "{:<28} {:<6} {:>7} {:>12} {:>10}\n",
        "scenario", "result", "checks", "virtual", "wall"
    );
    let mut unchecked = 0;
    for r in replays {
        let checked = r.results.iter().filter(|c| c.checked()).count();
        unchecked += r.results.len() - checked;
        let met = r
            .results
            .iter()
            .filter(|c| c.checked() && c.passed())
            .count();
        let _ = writeln!(
            text,
            "{:<28} {:<6} {:>7} {:>12} {:>9.3}s",
            r.scenario.name,
            r.verdict().as_str(),
            format!("{met}/{checked}"),
            secs(r.end),
            r.wall.as_secs_f64(),
        );
    }
    let failed = replays.iter().filter(|r| !r.verdict().is_ok()).count();
    let known = replays
        .iter()
        .filter(|r| r.verdict() == Verdict::KnownFailure)
        .count();
    let _ = write!(
        text,
        "{} passed, {failed} failed",
        replays.len() - failed - known
    );
    if known > 0 {
        let _ = write!(text, ", {known} skipped (known failures)");
    }
    if unchecked > 0 {
        let _ = write!(text, "; {unchecked} expectation(s) not checkable here");
    }
    text.push('\n');
    text
}

/// One line per expectation: `ok`, `FAIL` or `skip` (with why), and its summary.
pub fn results(replay: &Replay) -> String {
    let mut text = String::new();
    for result in &replay.results {
        let (mark, why) = match (&result.skipped, result.passed()) {
            (Some(why), _) => ("skip", format!(" ({why})")),
            (None, true) => ("ok  ", String::new()),
            (None, false) => ("FAIL", String::new()),
        };
        let _ = writeln!(text, "  {mark} {}{why}", result.summary);
    }
    text
}

/// Everything about a failed replay; empty if it passed.
pub fn failures(replay: &Replay) -> String {
    let mut text = String::new();
    match (replay.verdict(), &replay.scenario.known_failure) {
        (Verdict::UnexpectedPass, Some(why)) => {
            let _ = writeln!(
                text,
                "{}: passes, but is marked as a known failure ({why}); remove `known_failure` from the file",
                replay.path
            );
        }
        (Verdict::KnownFailure, Some(why)) => {
            let _ = writeln!(text, "{}: known failure: {why}", replay.path);
        }
        _ => {}
    }
    if let Some(error) = &replay.error {
        let _ = writeln!(text, "{}: {error}", replay.path);
        text.push_str(&context(replay, replay.end));
    }
    for result in replay.results.iter().filter(|r| !r.passed()) {
        text.push_str(&failure(replay, result));
    }
    if !text.is_empty() {
        let _ = writeln!(text, "reproduce with: {}", replay.command());
    }
    text
}

/// One failed expectation: what, the diff, the trace around it.
pub fn failure(replay: &Replay, result: &CheckResult) -> String {
    let Some(f) = &result.failure else {
        return String::new();
    };
    let mut text = format!(
        "{}: expectation #{} failed: {}\n  {}\n",
        replay.path,
        result.index + 1,
        result.summary,
        f.message
    );
    if !f.expected.is_empty() || !f.actual.is_empty() {
        let _ = writeln!(text, "{}", Comparison::new(&f.expected, &f.actual));
    }
    if let Some(around) = f.around {
        text.push_str(&context(replay, around));
    }
    text
}

/// The trace lines around virtual time `at`.
pub fn context(replay: &Replay, at: Duration) -> String {
    let records = &replay.records;
    let pivot = records.partition_point(|r| r.at < at);
    let from = pivot.saturating_sub(CONTEXT_LINES);
    let to = (pivot + CONTEXT_LINES).min(records.len());
    let mut text = format!(
        "  trace around {} (lines {}..{}):\n",
        secs(at),
        from + 1,
        to
    );
    for record in &records[from..to] {
        let _ = writeln!(text, "    {}", record.to_json());
    }
    text
}

/// JUnit XML: one test suite, one test case per replay, failures with their report, and
/// one failed test case per file that did not load (`refused`: its error).
pub fn junit(replays: &[Replay], refused: &[LoadError]) -> String {
    let failed = replays.iter().filter(|r| !r.verdict().is_ok()).count() + refused.len();
    let skipped = replays
        .iter()
        .filter(|r| r.verdict() == Verdict::KnownFailure)
        .count();
    let total: f64 = replays.iter().map(|r| r.wall.as_secs_f64()).sum();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites><testsuite name=\"scenarios\" tests=\"{}\" failures=\"{failed}\" skipped=\"{skipped}\" time=\"{total:.3}\">",
        replays.len() + refused.len()
    );
    for error in refused {
        let _ = writeln!(
            xml,
            "  <testcase classname=\"scenarios\" name=\"{0}\" file=\"{0}\"><failure message=\"{1}\">{1}</failure></testcase>",
            escape_xml(&error.path),
            escape_xml(&error.to_string())
        );
    }
    for r in replays {
        let _ = write!(
            xml,
            "  <testcase classname=\"scenarios\" name=\"{}\" file=\"{}\" time=\"{:.3}\"",
            escape_xml(&r.scenario.name),
            escape_xml(&r.path),
            r.wall.as_secs_f64()
        );
        match r.verdict() {
            Verdict::Passed => xml.push_str("/>\n"),
            Verdict::KnownFailure => {
                let why = r.scenario.known_failure.clone().unwrap_or_default();
                let _ = writeln!(
                    xml,
                    "><skipped message=\"known failure: {}\"/></testcase>",
                    escape_xml(&why)
                );
            }
            Verdict::Failed | Verdict::UnexpectedPass => {
                let first = r
                    .error
                    .clone()
                    .or_else(|| {
                        r.results
                            .iter()
                            .find(|c| !c.passed())
                            .map(|c| c.summary.clone())
                    })
                    .unwrap_or_else(|| "passes, but is marked as a known failure".into());
                let _ = writeln!(
                    xml,
                    "><failure message=\"{}\">{}</failure></testcase>",
                    escape_xml(&first),
                    escape_xml(&failures(r))
                );
            }
        }
    }
    xml.push_str("</testsuite></testsuites>\n");
    xml
}

fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            // ANSI colours (the diff's) mean nothing in XML: drop `ESC [ ... m`.
            '\x1b' => {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            // XML 1.0 has no place for most control characters.
            '\n' | '\t' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}
