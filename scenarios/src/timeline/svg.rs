//! Lanes drawn as one SVG: labels on the left, and the rows in a nested `<svg id="plot">`
//! whose `viewBox` the page's script narrows and moves to zoom and pan the time axis
//! (`preserveAspectRatio="none"`: only the x axis stretches; ticks keep one pixel with
//! `vector-effect: non-scaling-stroke`). The axis is drawn by the script, for the span shown.
//!
//! A row with more ticks than the plot has pixels is drawn as bins instead, one per pixel of
//! the whole run, each as dark as its count, its hover text the count and its first and last
//! event; its ticks go in a compact JSON block (`<script type="application/json"
//! id="ticks">`: microseconds since the previous tick, and indexes into the row's distinct
//! texts and paints), from which the script draws them one by one once the span shown holds
//! no more of them than the plot has pixels. A simulated day stays a page of a few MB.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use super::html::{escape, shorten};
use super::lanes::{Lane, Paint, Row, Span, Tick};
use crate::trace::secs;

/// The plot's width in pixels (the whole run at the start), and the labels'.
pub const PLOT_WIDTH: f64 = 1100.0;
const LABEL_WIDTH: f64 = 150.0;
const ROW_HEIGHT: f64 = 16.0;
const LANE_HEADER: f64 = 20.0;
/// Room above the first lane for the axis' labels.
const AXIS_HEIGHT: f64 = 22.0;
/// More ticks than this in one row are drawn as bins of one pixel each.
pub const MAX_TICKS: usize = PLOT_WIDTH as usize;
/// Hover texts are cut to this many characters (a 1460-byte payload stays readable).
const TITLE_CHARS: usize = 300;

/// The timeline of a run that lasted `end`.
pub fn svg(lanes: &[Lane], end: Duration) -> String {
    // A run that did not start still gets an axis.
    let end_s = end.as_secs_f64().max(1.0);
    let scale = PLOT_WIDTH / end_s;
    let rows: usize = lanes.iter().map(|l| l.rows.len()).sum();
    let height = AXIS_HEIGHT + lanes.len() as f64 * LANE_HEADER + rows as f64 * ROW_HEIGHT + 4.0;
    let mut labels = String::new();
    let mut plot = String::new();
    let mut dense: Vec<serde_json::Value> = Vec::new();
    let mut y = AXIS_HEIGHT;
    for lane in lanes {
        let _ = writeln!(
            labels,
            r#"<text class="lane" x="4" y="{}">{}</text>"#,
            num(y + LANE_HEADER - 6.0),
            escape(lane.name)
        );
        let _ = writeln!(
            plot,
            r#"<rect class="lanebg" x="0" y="{}" width="{PLOT_WIDTH}" height="{LANE_HEADER}"/>"#,
            num(y)
        );
        y += LANE_HEADER;
        for (i, row) in lane.rows.iter().enumerate() {
            let title = if row.title.is_empty() {
                &row.name
            } else {
                &row.title
            };
            let _ = writeln!(
                labels,
                r#"<text class="row" x="{}" y="{}"><title>{}</title>{}</text>"#,
                num(LABEL_WIDTH - 6.0),
                num(y + ROW_HEIGHT - 4.0),
                escape(&cut(title)),
                escape(&shorten(&row.name, 24))
            );
            if i % 2 == 1 {
                let _ = writeln!(
                    plot,
                    r#"<rect class="stripe" x="0" y="{}" width="{PLOT_WIDTH}" height="{ROW_HEIGHT}"/>"#,
                    num(y)
                );
            }
            if row.ticks.len() > MAX_TICKS {
                dense.push(dense_row(&mut plot, row, y, scale, dense.len()));
            } else {
                draw_row(&mut plot, row, y, scale);
            }
            y += ROW_HEIGHT;
        }
    }
    format!(
        concat!(
            r#"<svg id="timeline" xmlns="http://www.w3.org/2000/svg" width="{total}" height="{height}" data-end="{end}">"#,
            "\n",
            r#"<g id="labels">"#,
            "\n{labels}</g>\n",
            r#"<svg id="plot" x="{label}" y="0" width="{plot_w}" height="{height}" viewBox="0 0 {plot_w} {height}" preserveAspectRatio="none">"#,
            "\n",
            r#"<rect class="plotbg" x="0" y="0" width="{plot_w}" height="{height}"/>"#,
            "\n{plot}</svg>\n",
            r#"<g id="axis"></g></svg>"#,
            "\n",
            r#"<script type="application/json" id="ticks">{dense}</script>"#,
            "\n"
        ),
        total = num(LABEL_WIDTH + PLOT_WIDTH + 40.0),
        height = num(height),
        end = num(end_s),
        label = num(LABEL_WIDTH),
        plot_w = num(PLOT_WIDTH),
        labels = labels,
        plot = plot,
        // Inside a script element: no `<` may end it early.
        dense = serde_json::Value::Array(dense)
            .to_string()
            .replace('<', "\\u003c"),
    )
}

/// `scale`: pixels per second of the whole run.
fn draw_row(out: &mut String, row: &Row, y: f64, scale: f64) {
    for span in &row.spans {
        draw_span(out, span, y, scale);
    }
    for tick in &row.ticks {
        let at = num(tick.at.as_secs_f64() * scale);
        let _ = writeln!(
            out,
            r#"<line {} x1="{at}" x2="{at}" y1="{}" y2="{}"><title>{}</title></line>"#,
            paint(&tick.paint),
            num(y + 2.0),
            num(ROW_HEIGHT - 2.0 + y),
            escape(&cut(&tick.title())),
        );
    }
}

/// A row too dense to draw tick by tick: its spans, its bins (group `bins-<index>`, which
/// the script hides when it draws the ticks instead), and its ticks as data for the script:
/// `{"row", "y1", "y2", "t": [microseconds since the previous], "w": [index into "whats"], "p": [index
/// into "paints"]}`.
fn dense_row(out: &mut String, row: &Row, y: f64, scale: f64, index: usize) -> serde_json::Value {
    for span in &row.spans {
        draw_span(out, span, y, scale);
    }
    let _ = writeln!(out, r#"<g id="bins-{index}">"#);
    draw_bins(out, row, y, scale);
    out.push_str("</g>\n");
    let mut whats = Distinct::default();
    let mut paints = Distinct::default();
    let (mut t, mut w, mut p) = (Vec::new(), Vec::new(), Vec::new());
    let mut previous = Duration::ZERO;
    for tick in &row.ticks {
        t.push((tick.at.saturating_sub(previous)).as_micros() as u64);
        previous = tick.at;
        w.push(whats.index_of(cut(&tick.what)));
        let paint = match &tick.paint {
            Paint::Class(class) => class.as_str(),
            Paint::Hue(_) => "mark",
        };
        p.push(paints.index_of(paint.to_string()));
    }
    serde_json::json!({ "row": row.name, "y1": y + 2.0, "y2": y + ROW_HEIGHT - 2.0, "whats": whats.list, "paints": paints.list, "t": t, "w": w, "p": p })
}

fn draw_span(out: &mut String, span: &Span, y: f64, scale: f64) {
    let x = |at: Duration| num(at.as_secs_f64() * scale);
    let title = escape(&cut(&span.title));
    if span.to <= span.from {
        // An instant: a thick line that stays visible at any zoom.
        let _ = writeln!(
            out,
            r#"<line class="instant" {} x1="{at}" x2="{at}" y1="{}" y2="{}"><title>{title}</title></line>"#,
            paint(&span.paint),
            num(y + 1.0),
            num(y + ROW_HEIGHT - 1.0),
            at = x(span.from),
        );
        return;
    }
    let from = x(span.from);
    let width = num((span.to - span.from).as_secs_f64() * scale);
    let _ = writeln!(
        out,
        r#"<rect {} x="{from}" y="{}" width="{width}" height="{}"><title>{title}</title></rect>"#,
        paint(&span.paint),
        num(y + 2.0),
        num(ROW_HEIGHT - 4.0),
    );
}

/// Distinct texts in the order first seen, each with its index.
#[derive(Default)]
struct Distinct {
    list: Vec<String>,
    index: BTreeMap<String, usize>,
}

impl Distinct {
    /// Where `item` is, added at the end if it is new.
    fn index_of(&mut self, item: String) -> usize {
        let next = self.list.len();
        *self.index.entry(item).or_insert_with_key(|item| {
            self.list.push(item.clone());
            next
        })
    }
}

/// Ticks too dense to draw one by one: counted in bins of one pixel of the whole run.
fn draw_bins(out: &mut String, row: &Row, y: f64, scale: f64) {
    let bin = 1.0 / scale; // seconds per pixel
    let mut bins: Vec<(usize, Vec<&Tick>)> = Vec::new();
    for tick in &row.ticks {
        let index = (tick.at.as_secs_f64() * scale).floor() as usize;
        match bins.last_mut() {
            Some((i, ticks)) if *i == index => ticks.push(tick),
            _ => bins.push((index, vec![tick])),
        }
    }
    let most = bins.iter().map(|(_, t)| t.len()).max().unwrap_or(1);
    for (index, ticks) in &bins {
        let bad = ticks.iter().find(|t| t.paint == Paint::Class("bad".into()));
        let paint_of = bad.unwrap_or(&ticks[0]).paint.clone();
        let opacity = 0.35 + 0.65 * ticks.len() as f64 / most as f64;
        let from = Duration::from_secs_f64(*index as f64 * bin);
        let to = Duration::from_secs_f64((*index + 1) as f64 * bin);
        let mut title = format!(
            "{} {} from {} to {}\nfirst: {}",
            ticks.len(),
            row.name,
            secs(from),
            secs(to),
            ticks[0].title()
        );
        if ticks.len() > 1 {
            let _ = write!(title, "\nlast: {}", ticks[ticks.len() - 1].title());
        }
        if let Some(bad) = bad.filter(|b| !std::ptr::eq(**b, ticks[0])) {
            let _ = write!(title, "\ntrouble: {}", bad.title());
        }
        let _ = writeln!(
            out,
            r#"<rect {} fill-opacity="{:.2}" x="{index}" y="{}" width="1" height="{}"><title>{}</title></rect>"#,
            paint(&paint_of),
            opacity,
            num(y + 2.0),
            num(ROW_HEIGHT - 4.0),
            escape(&cut(&title)),
        );
    }
}

fn paint(paint: &Paint) -> String {
    match paint {
        Paint::Class(class) => format!(r#"class="{}""#, escape(class)),
        Paint::Hue(hue) => format!(r#"style="fill:hsl({hue},65%,55%);stroke:hsl({hue},65%,40%)""#),
    }
}

/// A coordinate: at most three decimals, no trailing zeros (the same bytes on every
/// machine, and a smaller file).
fn num(v: f64) -> String {
    let text = format!("{v:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".into()
    } else {
        text.to_string()
    }
}

fn cut(text: &str) -> String {
    shorten(text, TITLE_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_and_stable() {
        let check = |v: f64, want: &str| assert_eq!(num(v), want, "{v}");
        check(0.0, "0");
        check(-0.0001, "0");
        check(12.5, "12.5");
        check(1200.0, "1200");
        check(1.23456, "1.235");
    }
}
