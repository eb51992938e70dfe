//! The timeline report (`scenarios::timeline`): a small run's page against its golden file
//! (`UPDATE_EXPECT=1 cargo test -p scenarios --test timeline` rewrites it), a failing
//! expectation drawn red with its reason, and a simulated day's page kept small by bins.

use std::path::Path;

use scenarios::timeline;
use scenarios::timeline::svg::{MAX_TICKS, PLOT_WIDTH};
use scenarios::Replay;

fn replay_text(text: &str) -> Replay {
    let scenario = scenarios::parse("t.json", text).unwrap_or_else(|e| panic!("{e}"));
    scenarios::replay(&scenario, "t.json", None)
}

/// A 40 s run with a fault, a lab message, a met expectation and a skipped-free table.
const SMALL: &str = r#"{
  "name": "small",
  "description": "A heartbeat, an echo, the peer closing: the golden timeline.",
  "duration": "40s",
  "timeline": [
    { "at": "20s", "id": "hello", "lab": { "send": "back <hi> & \"bye\"" } },
    { "at": "30s", "id": "close", "fault": { "kind": "peer_close" } }
  ],
  "expect": [
    { "expect": "happens", "id": "up", "what": "accepted", "count": 2 },
    { "expect": "answered", "within": "5s" }
  ]
}"#;

#[test]
fn a_small_run_matches_its_golden_page() {
    let replay = replay_text(SMALL);
    assert!(replay.passed(), "{:?}", replay.results);
    let page = timeline::page(&replay);
    assert_eq!(page, timeline::page(&replay_text(SMALL)), "the same bytes");
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/timeline_small.html");
    expect_test::expect_file![golden].assert_eq(&page);
}

#[test]
fn a_failing_expectation_is_a_red_window_with_its_reason() {
    let replay = replay_text(
        r#"{ "name": "fails <b>", "description": "one & <script>alert(1)</script>", "duration": "20s", "expect": [
          { "expect": "happens", "id": "one", "what": "accepted", "count": 1 },
          { "expect": "happens", "id": "two", "what": "accepted", "count": 2, "from": "5s" }
        ] }"#,
    );
    let page = timeline::page(&replay);
    let failure = replay.results[1].failure.as_ref().expect("#2 fails");
    let reason = timeline::html::escape(&failure.message);
    assert!(reason.contains("expected 2x"), "{reason}");
    // The window [5 s, 20 s] of a 20 s run: from a quarter of the plot to its end, red, its
    // reason on hover.
    let (x, width) = (PLOT_WIDTH * 5.0 / 20.0, PLOT_WIDTH * 15.0 / 20.0);
    let red = format!(r#"<rect class="x-fail" x="{x}" y="#);
    let at = page
        .find(&red)
        .unwrap_or_else(|| panic!("no red window in\n{page}"));
    let rect = &page[at..page[at..].find("</rect>").unwrap() + at];
    assert!(rect.contains(&format!(r#"width="{width}""#)), "{rect}");
    assert!(rect.contains(&reason), "{rect}");
    // The met one is green, over the whole run.
    assert!(
        page.contains(r#"<rect class="x-pass" x="0" y="#),
        "no green window"
    );
    // At the top, the failure and why, with a link that shows it; the met one is not listed.
    let summary = timeline::html::escape(&replay.results[1].summary);
    assert!(
        page.contains(&format!("<li><b>#2 failed</b>: {summary}: {reason} <a ")),
        "no failure at the top"
    );
    assert!(!page.contains("<li><b>#1 failed"));
    // The table says why, in words.
    assert!(
        page.contains(&format!("<b>{reason}</b>")),
        "no reason in the table"
    );
    assert!(page.contains("<tr class=\"o-fail\"><td>2</td><td>fail</td>"));
    // What the file says is text, never markup.
    assert!(page.contains("one &amp; &lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!page.contains("<script>alert"));
    assert!(page.contains("<title>fails &lt;b&gt; (FAILED)</title>"));
    let index = timeline::index(std::slice::from_ref(&replay), &["fails__b_.html".into()]);
    assert!(
        index.contains(r#"<a href="fails__b_.html">fails &lt;b&gt;</a>"#),
        "{index}"
    );
    assert_eq!(timeline::file_names(&[replay]), ["fails__b_.html"]);
}

#[test]
fn a_day_is_drawn_in_bins_and_stays_small() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("day.json");
    let replay = scenarios::replay_file(&path, None).unwrap_or_else(|e| panic!("{e}"));
    let received = replay
        .records
        .iter()
        .filter(|r| matches!(r.event, scenarios::trace::Event::LabReceived { .. }))
        .count();
    assert!(
        received > MAX_TICKS,
        "a day has more heartbeats than pixels"
    );
    let page = timeline::page(&replay);
    assert!(page.len() < 3_000_000, "{} bytes", page.len());
    // The server's received row is binned: counts on hover, no tick per heartbeat.
    assert!(
        page.contains(" received from "),
        "no bins of received messages"
    );
    let ticks = page.matches("<line ").count();
    let rows = page.matches(r#"<text class="row""#).count();
    assert!(ticks <= rows * MAX_TICKS, "{ticks} ticks in {rows} rows");
    // Each one is in the data the page's script draws them from when zoomed in.
    let data = page
        .split_once(r#"<script type="application/json" id="ticks">"#)
        .and_then(|(_, rest)| rest.split_once("</script>"))
        .map(|(data, _)| data)
        .expect("the dense rows' data");
    let dense: serde_json::Value = serde_json::from_str(data).expect("JSON");
    let row = dense
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["row"] == "received"))
        .expect("the received row is dense");
    assert_eq!(row["t"].as_array().map(Vec::len), Some(received));
    assert_eq!(row["whats"][0], "client 1 sent \"heart beat\"");
}
