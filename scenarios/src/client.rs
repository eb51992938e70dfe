//! The scripted AT client: a scenario's `client` steps ([`crate::format::Client`]) run in the
//! firmware's place, on the same virtual UART and clock ([`crate::world::World::client`]),
//! so that a scenario can drive the modem's own applications (HTTP, SMS, transparent mode)
//! and expect their answers.
//!
//! It writes what a step sends (first dropping what came and no `expect` took: answers to
//! earlier commands), waits for the line an `expect` names (skipping the lines before it)
//! until the step's `within` runs out, and lets time pass for a `wait`. Each step
//! done is a `client` record in the trace; a step that fails records why (what it waited
//! for, what came instead), and the script stops there: [`crate::check`] turns that, or a
//! script not finished when the run ends, into a failed result. Everything happens in
//! virtual time, so the same scenario gives the same trace.

use embassy_futures::select::{select, Either};
use embedded_io_async::{Read, Write};
use firmware::time::{Clock, Instant};

use crate::format::{ClientStep, LinePattern};
use crate::trace::{Bytes, Event};

/// How many of the lines that came instead a failure shows (the last ones).
const SHOWN: usize = 8;

/// Runs the script, recording each step with `record`; then idles for ever (the world polls
/// a device that never returns).
pub async fn run<U: Read + Write, C: Clock>(
    steps: &[ClientStep],
    mut uart: U,
    clock: &C,
    mut record: impl FnMut(Event),
) {
    let mut input = Vec::new();
    for (step, what) in steps.iter().enumerate() {
        let mut event = |got: Option<Vec<u8>>, error: Option<String>| {
            record(Event::Client {
                step,
                action: what.to_string(),
                got: got.map(Bytes),
                error,
            })
        };
        match what {
            ClientStep::Send(bytes) => {
                // What no `expect` took is an answer to something earlier, as for any AT
                // host that clears its input before a command.
                discard_unread(&mut uart, clock).await;
                input.clear();
                if let Err(e) = uart.write_all(bytes).await {
                    event(None, Some(format!("the UART refused the bytes: {e:?}")));
                    break;
                }
                event(None, None);
            }
            ClientStep::Wait(d) => {
                clock.sleep_until(clock.now() + *d).await;
                event(None, None);
            }
            ClientStep::Expect { line, within } => {
                let deadline = clock.now() + *within;
                match expect(&mut uart, clock, deadline, line, &mut input).await {
                    Ok(got) => event(Some(got), None),
                    Err(error) => {
                        event(None, Some(error));
                        break;
                    }
                }
            }
        }
    }
    core::future::pending::<()>().await;
}

/// Reads what has come and not been read, without waiting.
async fn discard_unread<U: Read, C: Clock>(uart: &mut U, clock: &C) {
    let mut buf = [0u8; 256];
    // `select` polls the read first: the sleep, already due, ends it when nothing is left.
    while let Either::First(_) = select(uart.read(&mut buf), clock.sleep_until(clock.now())).await {
    }
}

/// Reads until a line matches `line` or `deadline` passes: the line, or what came instead.
async fn expect<U: Read, C: Clock>(
    uart: &mut U,
    clock: &C,
    deadline: Instant,
    line: &LinePattern,
    input: &mut Vec<u8>,
) -> Result<Vec<u8>, String> {
    let mut skipped = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        if let Some(found) = take_match(input, line, &mut skipped) {
            return Ok(found);
        }
        match select(uart.read(&mut buf), clock.sleep_until(deadline)).await {
            Either::First(Ok(n)) => input.extend_from_slice(&buf[..n]),
            // A line error loses the bytes it hit; the script reads on, as a host would.
            Either::First(Err(_)) => {}
            Either::Second(()) => return Err(came_instead(&skipped, input)),
        }
    }
}

/// Takes lines off the front of `input` until one matches `line`, which it returns; the
/// others go to `skipped`. A line ends at CR or LF (empty lines are no lines); the bytes
/// after the last line end are a line too when they match (a prompt, transparent data), and
/// are kept for the next look when they do not.
pub fn take_match(
    input: &mut Vec<u8>,
    line: &LinePattern,
    skipped: &mut Vec<Vec<u8>>,
) -> Option<Vec<u8>> {
    while let Some(end) = input.iter().position(|&b| b == b'\r' || b == b'\n') {
        let taken: Vec<u8> = input.drain(..=end).take(end).collect();
        if taken.is_empty() {
            continue;
        }
        if line.0.matches(&taken) {
            return Some(taken);
        }
        skipped.push(taken);
    }
    if !input.is_empty() && line.0.matches(input) {
        return Some(std::mem::take(input));
    }
    None
}

/// What came while a step waited, for its failure: the last lines, and an unfinished one.
fn came_instead(skipped: &[Vec<u8>], unfinished: &[u8]) -> String {
    let quoted = |bytes: &[u8]| protocol::text::Quoted(bytes).to_string();
    let mut came: Vec<String> = skipped
        .iter()
        .skip(skipped.len().saturating_sub(SHOWN))
        .map(|l| quoted(l))
        .collect();
    if skipped.len() > SHOWN {
        came.insert(0, format!("({} lines before)", skipped.len() - SHOWN));
    }
    if !unfinished.is_empty() {
        came.push(format!("{} (no line end yet)", quoted(unfinished)));
    }
    if came.is_empty() {
        "nothing came".into()
    } else {
        format!("came instead: {}", came.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Pattern;

    #[test]
    fn lines_are_taken_up_to_the_one_that_matches() {
        let text = |t: &str| LinePattern(Pattern::Text(t.into()));
        let prefix = |t: &str| LinePattern(Pattern::Prefix(t.into()));
        /// The input, the pattern, the match, what is skipped, what is left.
        type Case = (
            &'static str,
            LinePattern,
            Option<&'static str>,
            &'static [&'static str],
            &'static str,
        );
        let cases: [Case; 6] = [
            ("AT\r\r\nOK\r\n", text("OK"), Some("OK"), &["AT"], "\n"),
            ("\r\nERROR\r\n", text("OK"), None, &["ERROR"], ""),
            ("\r\n> ", text("> "), Some("> "), &[], ""),
            ("\r\n+HTTPAC", prefix("+HTTPACTION:"), None, &[], "+HTTPAC"),
            (
                "hello from lab",
                text("hello from lab"),
                Some("hello from lab"),
                &[],
                "",
            ),
            ("OK\r\nOK\r\n", text("OK"), Some("OK"), &[], "\nOK\r\n"),
        ];
        for (input, pattern, want, want_skipped, left) in cases {
            let mut buffer = input.as_bytes().to_vec();
            let mut skipped = Vec::new();
            let got = take_match(&mut buffer, &pattern, &mut skipped);
            let want_skipped: Vec<Vec<u8>> =
                want_skipped.iter().map(|l| l.as_bytes().to_vec()).collect();
            assert_eq!(
                (got.as_deref(), skipped, buffer.as_slice()),
                (want.map(str::as_bytes), want_skipped, left.as_bytes()),
                "{input:?}"
            );
        }
    }
}
