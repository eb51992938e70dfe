//! Progress of long work (`replay` of many files, `bench`, `fuzz`, `swarm`): an indicatif
//! bar on stderr showing what runs, how far it is and the rate. indicatif's
//! `ProgressDrawTarget::stderr()` hides itself when stderr is not a terminal (or `TERM` is
//! `dumb`), so CI logs and redirected output stay plain; lines printed through
//! [`Progress::println`] are shown either way.

use std::fmt::Display;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    bar: ProgressBar,
    started: Instant,
    unit: &'static str,
}

impl Progress {
    /// A bar of `len` steps of `unit` (`files`, `seeds`, `s`).
    pub fn new(len: u64, unit: &'static str) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        let template = format!("{{bar:30}} {{pos}}/{{len}} {unit}  {{msg}}");
        bar.set_style(ProgressStyle::with_template(&template).expect("a valid template"));
        Progress {
            bar,
            started: Instant::now(),
            unit,
        }
    }

    /// Whether it is drawn (stderr is a terminal).
    pub fn shown(&self) -> bool {
        !self.bar.is_hidden()
    }

    /// Rates count from now (the work itself starts after a build, say).
    pub fn restart_clock(&mut self) {
        self.started = Instant::now();
    }

    /// The wall time since the start.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// `amount` per wall second since the start.
    pub fn per_second(&self, amount: f64) -> f64 {
        amount / self.started.elapsed().as_secs_f64().max(1e-9)
    }

    /// `done` steps so far, and the rate in steps per second: `what` runs now (with
    /// anything else worth showing).
    pub fn set(&self, done: u64, what: impl Display) {
        let rate = self.per_second(done as f64);
        self.set_plain(done, format_args!("{rate:.1} {}/s  {what}", self.unit));
    }

    /// `done` steps so far, and `what` (which says its own rate).
    pub fn set_plain(&self, done: u64, what: impl Display) {
        self.bar.set_position(done);
        self.bar.set_message(what.to_string());
    }

    /// A new length (the work turned out longer, or became known).
    pub fn set_len(&self, len: u64) {
        self.bar.set_length(len);
    }

    /// A line on stderr, above the bar.
    pub fn println(&self, line: impl Display) {
        self.suspend(|| eprintln!("{line}"));
    }

    /// Runs `f` (which prints) with the bar out of the way.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    /// The bar goes; what was printed stays.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
