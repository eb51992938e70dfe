//! A run as a picture: one self-contained HTML page per replay, drawing it as an SVG
//! timeline, and an index of the results (`cargo xtask replay --report DIR`).
//!
//! [`lanes`] reads the typed trace and the check results into lanes of rows: the network
//! (registration, the PDP context, each fault as a span coloured by its kind), the modem
//! (power, links, AT commands and what it wrote), the firmware (phases, LED, reports), the
//! server (connections, what it received and sent) and the scenario (steps, and each
//! expectation's window, green when met, red when not). [`svg`] draws them; a row denser
//! than the plot's pixels is drawn as bins, its ticks kept as compact data the page's script
//! draws one by one once zoomed in, so a simulated day stays a few MB. [`html`]
//! escapes text and wraps the page: style sheet and script inline (zoom with the wheel, pan
//! by dragging), no network needed to open it.
//!
//! Nothing here reads a clock: the same replay gives the same bytes (the wall time a replay
//! took is not shown).

pub mod html;
pub mod lanes;
pub mod svg;

use std::fmt::Write as _;

use html::escape;

use crate::replay::{Replay, Verdict};
use crate::report;
use crate::trace::secs;

/// The page of one replay: what it is, its verdict, the timeline, and each expectation with
/// its window and, when it failed, why (the diff and the trace around it).
pub fn page(replay: &Replay) -> String {
    let s = &replay.scenario;
    let verdict = replay.verdict();
    let mut body = format!(
        "<h1>{} <span class=\"verdict v-{v}\">{v}</span></h1>\n<p class=\"meta\">{} · seed {} · {} of virtual time</p>\n",
        escape(&s.name),
        escape(&replay.path),
        replay.seed,
        escape(&duration(replay.end)),
        v = escape(verdict.as_str()),
    );
    if !s.description.is_empty() {
        let _ = writeln!(body, "<p>{}</p>", escape(&s.description));
    }
    if let Some(known) = &s.known_failure {
        let _ = writeln!(
            body,
            "<p><b>Known failure</b> (fails: {}): {}</p>",
            escape(&known.fails.join(", ")),
            escape(&known.why)
        );
    }
    if let Some(error) = &replay.error {
        let _ = writeln!(
            body,
            "<p class=\"o-fail\"><b>Error:</b> {}</p>",
            escape(error)
        );
    }
    let _ = writeln!(
        body,
        "<p class=\"meta\">Reproduce: <code>{}</code></p>",
        escape(&replay.command())
    );
    body.push_str(&failed(replay));
    body.push_str(
        "<div class=\"controls\"><button data-zoom=\"0.5\">zoom in</button><button data-zoom=\"2\">zoom out</button><button data-zoom=\"0\">whole run</button> <span class=\"meta\">wheel: zoom · drag: pan · double-click: whole run · hover: details</span></div>\n",
    );
    body.push_str(LEGEND);
    body.push_str(&svg::svg(&lanes::lanes(replay), replay.end));
    body.push_str(&expectations(replay));
    html::page(&format!("{} ({})", s.name, verdict.as_str()), &body)
}

/// The failed expectations first, each with why and a link that shows where: what a reader
/// of a failing run looks for.
fn failed(replay: &Replay) -> String {
    let mut items = String::new();
    for result in replay.results.iter().filter(|r| !r.passed()) {
        let failure = result
            .failure
            .as_ref()
            .expect("a failed result has a failure");
        let known = if replay.known(result) {
            " (a known failure)"
        } else {
            ""
        };
        let _ = writeln!(
            items,
            "<li><b>#{} failed{known}</b>: {}: {}{}</li>",
            result.index + 1,
            escape(&result.summary),
            escape(&failure.message),
            failure.around.map_or(String::new(), show_link)
        );
    }
    if items.is_empty() {
        return items;
    }
    format!("<ul class=\"failed\">\n{items}</ul>\n")
}

/// A link that shows ten seconds of the timeline around `at`.
fn show_link(at: std::time::Duration) -> String {
    let from = at.as_secs_f64();
    format!(
        " <a href=\"#timeline\" data-from=\"{}\" data-to=\"{}\">show {}</a>",
        (from - 5.0).max(0.0),
        from + 5.0,
        escape(&secs(at))
    )
}

/// What the colours mean (the style sheet's classes, as swatches).
const LEGEND: &str = concat!(
    "<p class=\"legend\">",
    "state: <svg class=\"sw\"><rect class=\"good\" width=\"12\" height=\"10\"/></svg>up <svg class=\"sw\"><rect class=\"wait\" width=\"12\" height=\"10\"/></svg>searching, booting <svg class=\"sw\"><rect class=\"off\" width=\"12\" height=\"10\"/></svg>off <svg class=\"sw\"><rect class=\"bad\" width=\"12\" height=\"10\"/></svg>denied, hung, trouble · ",
    "phase: <svg class=\"sw\"><rect class=\"ph-Starting\" width=\"12\" height=\"10\"/></svg>start-up <svg class=\"sw\"><rect class=\"ph-BringingUp\" width=\"12\" height=\"10\"/></svg>bring-up <svg class=\"sw\"><rect class=\"ph-FlightMode\" width=\"12\" height=\"10\"/></svg>flight mode <svg class=\"sw\"><rect class=\"ph-Connecting\" width=\"12\" height=\"10\"/></svg>connecting <svg class=\"sw\"><rect class=\"ph-Connected\" width=\"12\" height=\"10\"/></svg>connected <svg class=\"sw\"><rect class=\"ph-Pausing\" width=\"12\" height=\"10\"/></svg>pausing <svg class=\"sw\"><rect class=\"ph-Restarting\" width=\"12\" height=\"10\"/></svg>restart · ",
    "LED: <svg class=\"sw\"><rect class=\"led-Off\" width=\"12\" height=\"10\"/></svg>off <svg class=\"sw\"><rect class=\"led-Searching\" width=\"12\" height=\"10\"/></svg>searching <svg class=\"sw\"><rect class=\"led-Registered\" width=\"12\" height=\"10\"/></svg>registered <svg class=\"sw\"><rect class=\"led-Connected\" width=\"12\" height=\"10\"/></svg>connected · ",
    "expectation: <svg class=\"sw\"><rect class=\"x-pass\" width=\"12\" height=\"10\"/></svg>met <svg class=\"sw\"><rect class=\"x-fail\" width=\"12\" height=\"10\"/></svg>failed <svg class=\"sw\"><rect class=\"x-known\" width=\"12\" height=\"10\"/></svg>known failure <svg class=\"sw\"><rect class=\"x-skip\" width=\"12\" height=\"10\"/></svg>skipped · ",
    "faults: a colour per kind; dense rows: one bar per pixel, darker for more",
    "</p>\n",
);

/// A virtual duration: seconds with six decimals, and hours and minutes when it is long.
fn duration(at: std::time::Duration) -> String {
    let s = at.as_secs();
    match s {
        0..3600 => secs(at),
        _ => format!("{} ({}h{:02}m)", secs(at), s / 3600, s / 60 % 60),
    }
}

/// The expectations as a table: outcome, what, window (a link that shows it), and for a
/// failure its message, diff and trace.
fn expectations(replay: &Replay) -> String {
    let mut text = String::from(
        "\n<h2>Expectations</h2>\n<table>\n<tr><th>#</th><th>outcome</th><th>expectation</th><th>window</th></tr>\n",
    );
    for result in &replay.results {
        let outcome = lanes::outcome(replay, result);
        let window = match result.window {
            Some((from, to)) => format!(
                "<a href=\"#timeline\" data-from=\"{}\" data-to=\"{}\">{} to {}</a>",
                from.as_secs_f64(),
                to.max(from).as_secs_f64(),
                escape(&secs(from)),
                escape(&secs(to))
            ),
            None => String::new(),
        };
        let mut what = escape(&result.summary);
        if let Some(why) = &result.skipped {
            let _ = write!(what, "<br>skipped: {}", escape(why));
        }
        if let Some(failure) = &result.failure {
            let _ = write!(what, "<br><b>{}</b>", escape(&failure.message));
            if let Some(at) = failure.around {
                what.push_str(&show_link(at));
            }
            let _ = write!(
                what,
                "<pre>{}</pre>",
                escape(report::failure(replay, result).trim_end())
            );
        }
        let _ = writeln!(
            text,
            "<tr class=\"o-{outcome}\"><td>{}</td><td>{outcome}</td><td>{what}</td><td>{window}</td></tr>",
            result.index + 1
        );
    }
    text.push_str("</table>\n");
    text
}

/// A file name for each replay's page (`<name>.html`, unique, of safe characters), in order.
pub fn file_names(replays: &[Replay]) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(replays.len());
    for replay in replays {
        let base: String = replay
            .scenario
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let mut name = format!("{base}.html");
        let mut n = 2;
        while names.contains(&name) || name == "index.html" {
            name = format!("{base}-{n}.html");
            n += 1;
        }
        names.push(name);
    }
    names
}

/// How much of a known failure's explanation the index shows.
const KNOWN_CHARS: usize = 140;

/// The index: one row per replay (name, file, outcome, known failure, virtual duration,
/// expectations met, a link to its page `files[i]`) and the totals.
pub fn index(replays: &[Replay], files: &[String]) -> String {
    let mut rows = String::new();
    for (replay, file) in replays.iter().zip(files) {
        let verdict = replay.verdict();
        let checked = replay.results.iter().filter(|c| c.checked()).count();
        let met = replay
            .results
            .iter()
            .filter(|c| c.checked() && c.passed())
            .count();
        // The ids it names and the start of why: the whole on hover and on the page.
        let known = replay
            .scenario
            .known_failure
            .as_ref()
            .map_or(String::new(), |k| {
                format!(
                    "<span title=\"{}\">{}: {}</span>",
                    escape(&k.why),
                    escape(&k.fails.join(", ")),
                    escape(&html::shorten(&k.why, KNOWN_CHARS))
                )
            });
        let _ = writeln!(
            rows,
            "<tr><td><a href=\"{file}\">{}</a></td><td>{}</td><td><span class=\"verdict v-{v}\">{v}</span></td><td>{known}</td><td>{}</td><td>{met}/{checked}</td></tr>",
            escape(&replay.scenario.name),
            escape(&replay.path),
            escape(&duration(replay.end)),
            file = escape(file),
            v = escape(verdict.as_str()),
        );
    }
    let count = |v: Verdict| replays.iter().filter(|r| r.verdict() == v).count();
    let failed = replays.iter().filter(|r| !r.verdict().is_ok()).count();
    let body = format!(
        "<h1>Replays</h1>\n<p class=\"meta\">{} passed, {failed} failed, {} known failures</p>\n<table>\n<tr><th>scenario</th><th>file</th><th>outcome</th><th>known failure</th><th>duration (virtual)</th><th>expectations met</th></tr>\n{rows}</table>",
        count(Verdict::Passed),
        count(Verdict::KnownFailure),
    );
    html::page("Replays", &body)
}
