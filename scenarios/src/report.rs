//! What a person (or CI) reads about replays: a table of results, a failure with a diff of
//! expected against actual, the trace around it and the command that reproduces it, and
//! JUnit XML.

use std::fmt::Write as _;
use std::time::Duration;

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};
use similar::{ChangeTag, TextDiff};

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
    if let Some(known) = &replay.scenario.known_failure {
        let stale: Vec<&str> = replay.stale().collect();
        if !stale.is_empty() {
            let _ = writeln!(
                text,
                "{}: {} passed, but `known_failure` says it fails ({}); take it out of `fails` (or remove `known_failure` when none is left)",
                replay.path,
                quoted(&stale),
                known.why
            );
        } else if replay.verdict() == Verdict::KnownFailure {
            let _ = writeln!(
                text,
                "{}: known failure (fails: {}): {}",
                replay.path,
                quoted(&known.fails),
                known.why
            );
        }
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

/// `a`, `b`: ids as a list in a sentence.
fn quoted(ids: &[impl AsRef<str>]) -> String {
    let ids: Vec<String> = ids.iter().map(|id| format!("`{}`", id.as_ref())).collect();
    ids.join(", ")
}

/// One failed expectation: what, the diff, the trace around it.
pub fn failure(replay: &Replay, result: &CheckResult) -> String {
    let Some(f) = &result.failure else {
        return String::new();
    };
    let mark = if replay.known(result) {
        " (as `known_failure` says)"
    } else {
        ""
    };
    let what = match replay.scenario.expect.get(result.index) {
        Some(_) => format!("expectation #{}", result.index + 1),
        None => "the client's script".to_string(),
    };
    let mut text = format!(
        "{}: {what} failed{mark}: {}\n  {}\n",
        replay.path, result.summary, f.message
    );
    if !f.expected.is_empty() || !f.actual.is_empty() {
        text.push_str(&diff(&f.expected, &f.actual));
    }
    if let Some(around) = f.around {
        text.push_str(&context(replay, around));
    }
    text
}

/// Expected against actual, line by line: `-` only expected, `+` only actual (plain text:
/// reports go to terminals, files and JUnit alike).
pub fn diff(expected: &[String], actual: &[String]) -> String {
    let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
    let actual: Vec<&str> = actual.iter().map(String::as_str).collect();
    let mut text = String::from("  expected (-) against actual (+):\n");
    for change in TextDiff::from_slices(&expected, &actual).iter_all_changes() {
        let sign = match change.tag() {
            ChangeTag::Delete => '-',
            ChangeTag::Insert => '+',
            ChangeTag::Equal => ' ',
        };
        let _ = writeln!(text, "  {sign} {}", change.value());
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
pub fn junit(
    replays: &[Replay],
    refused: &[LoadError],
) -> Result<String, quick_junit::SerializeError> {
    let mut suite = TestSuite::new("scenarios");
    for error in refused {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        status
            .set_message(error.to_string())
            .set_description(error.to_string());
        suite.add_test_case(test_case(&error.path, &error.path, status));
    }
    for r in replays {
        let status = match r.verdict() {
            Verdict::Passed => TestCaseStatus::success(),
            Verdict::KnownFailure => {
                let why = r.scenario.known_failure.as_ref().map(|k| k.why.as_str());
                let mut status = TestCaseStatus::skipped();
                status.set_message(format!("known failure: {}", why.unwrap_or_default()));
                status
            }
            Verdict::Failed | Verdict::UnexpectedPass => {
                let first = r
                    .error
                    .clone()
                    .or_else(|| {
                        r.results
                            .iter()
                            .find(|c| r.unexpected(c))
                            .map(|c| c.summary.clone())
                    })
                    .unwrap_or_else(|| {
                        let stale: Vec<&str> = r.stale().collect();
                        format!(
                            "{} passed, but is marked as a known failure",
                            quoted(&stale)
                        )
                    });
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_message(first).set_description(failures(r));
                status
            }
        };
        let mut case = test_case(&r.scenario.name, &r.path, status);
        case.set_time(r.wall);
        suite.add_test_case(case);
    }
    suite.set_time(replays.iter().map(|r| r.wall).sum());
    let mut report = quick_junit::Report::new("scenarios");
    report.add_test_suite(suite);
    report.to_string()
}

fn test_case(name: &str, file: &str, status: TestCaseStatus) -> TestCase {
    let mut case = TestCase::new(name, status);
    case.set_classname("scenarios");
    case.extra.insert("file".into(), file.into());
    case
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replay(expect: &str) -> Replay {
        let text = format!(r#"{{ "name": "t", "duration": "20s", "expect": [{expect}] }}"#);
        let scenario = crate::parse("t.json", &text).unwrap_or_else(|e| panic!("{e}"));
        crate::replay(&scenario, "t.json", None)
    }

    #[test]
    fn failures_diff_in_plain_text_and_junit_counts_them() {
        let passed = replay(r#"{ "expect": "happens", "what": "accepted", "count": 1 }"#);
        let failed = replay(r#"{ "expect": "happens", "what": "accepted", "count": 2 }"#);
        let text = failures(&failed);
        assert!(
            text.contains("  - 2x server accepted a connection in [0.000000s, 20.000000s]\n"),
            "{text}"
        );
        assert!(text.contains("\n  + 13.046176s \"client 1 from "), "{text}");
        let refused = crate::parse("bad.json", "{}").unwrap_err();
        let xml = junit(&[passed, failed], &[refused]).unwrap();
        assert!(
            !xml.contains('\x1b') && !text.contains('\x1b'),
            "no colours"
        );
        assert!(
            xml.contains(
                r#"<testsuite name="scenarios" tests="3" skipped="0" errors="0" failures="2""#
            ),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<failure message="bad.json:1:1: missing field `name`">"#),
            "{xml}"
        );
        assert!(xml.contains(r#"file="t.json"/>"#), "{xml}");
    }
}
