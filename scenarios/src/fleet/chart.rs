//! The fleet's picture: connected devices and connects per second at the server over
//! time, as a small SVG written by hand (two polylines on shared time axis, each with its
//! own scale).

use std::fmt::Write as _;

use crate::fleet::summary::Summary;

const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 360.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 70.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;

/// The chart of `summary`, as an SVG document.
pub fn svg(summary: &Summary) -> String {
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let duration = summary.duration_s.max(1.0);
    let x = |t: f64| LEFT + t / duration * plot_w;
    let connected = &summary.connected.samples;
    let rate = &summary.connects.per_s;
    let devices = f64::from(summary.devices.max(1));
    let peak = f64::from(summary.connects.peak_per_s.max(1));
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{LEFT}" y="22" font-size="14">{} — {} devices, {} cells</text>"#,
        escape(&summary.name),
        summary.devices,
        summary.cells
    );
    // Axes and grid: five steps each way.
    for i in 0..=5 {
        let f = f64::from(i) / 5.0;
        let y = TOP + plot_h * (1.0 - f);
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#1f77b4">{:.0}</text><text x="{:.1}" y="{:.1}" fill="#d62728">{:.0}</text>"##,
            LEFT + plot_w,
            LEFT - 6.0,
            y + 4.0,
            devices * f,
            LEFT + plot_w + 6.0,
            y + 4.0,
            peak * f
        );
        let t = duration * f;
        let _ = writeln!(
            out,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            x(t),
            TOP + plot_h + 18.0,
            clock(t)
        );
    }
    let _ = writeln!(
        out,
        r##"<text x="{LEFT}" y="{:.1}" fill="#1f77b4">connected devices</text><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#d62728">connects/s at the server (peak {} at {})</text>"##,
        HEIGHT - 10.0,
        LEFT + plot_w,
        HEIGHT - 10.0,
        summary.connects.peak_per_s,
        clock(summary.connects.peak_at_s as f64)
    );
    let every = summary.connected.every_s.max(1.0);
    let points = connected.iter().enumerate().map(|(i, &n)| {
        (
            x(i as f64 * every),
            TOP + plot_h * (1.0 - f64::from(n) / devices),
        )
    });
    polyline(&mut out, points, "#1f77b4");
    let points = rate
        .iter()
        .enumerate()
        .map(|(s, &n)| (x(s as f64), TOP + plot_h * (1.0 - f64::from(n) / peak)));
    polyline(&mut out, points, "#d62728");
    out.push_str("</svg>\n");
    out
}

fn polyline(out: &mut String, points: impl Iterator<Item = (f64, f64)>, color: &str) {
    out.push_str(r#"<polyline fill="none" stroke-width="1.5" stroke=""#);
    out.push_str(color);
    out.push_str(r#"" points=""#);
    for (x, y) in points {
        let _ = write!(out, "{x:.1},{y:.1} ");
    }
    out.push_str("\"/>\n");
}

/// `h:mm` (or `m:ss` under an hour).
fn clock(seconds: f64) -> String {
    let s = seconds.round() as u64;
    if s >= 3600 {
        format!("{}:{:02}h", s / 3600, s / 60 % 60)
    } else {
        format!("{}:{:02}m", s / 60, s % 60)
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
