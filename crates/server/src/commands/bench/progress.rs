//! Progress of a long benchmark step on standard error: a bar redrawn in place on a terminal,
//! a plain line every few seconds otherwise (logs, CI).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

pub struct Progress {
    what: &'static str,
    total: u64,
    started: Instant,
    last_drawn: Option<Instant>,
    terminal: bool,
}

impl Progress {
    /// Progress towards `total` units of `what` (e.g. "conversations").
    pub fn new(what: &'static str, total: u64) -> Self {
        Self { what, total, started: Instant::now(), last_drawn: None, terminal: std::io::stderr().is_terminal() }
    }

    /// Reports `done` units so far and `rows` rows written; draws when it is time to.
    pub fn update(&mut self, done: u64, rows: u64) {
        let every = if self.terminal { Duration::from_millis(100) } else { Duration::from_secs(5) };
        if self.last_drawn.is_some_and(|t| t.elapsed() < every) && done < self.total {
            return;
        }
        self.last_drawn = Some(Instant::now());
        let seconds = self.started.elapsed().as_secs_f64().max(1e-3);
        let share = if self.total == 0 { 1.0 } else { done as f64 / self.total as f64 };
        let eta = if share > 0.0 { seconds / share - seconds } else { 0.0 };
        let line = format!(
            "{done}/{} {} ({:.0}%), {rows} rows, {:.0} rows/s, {:.0} s elapsed, ~{:.0} s left",
            self.total,
            self.what,
            share * 100.0,
            rows as f64 / seconds,
            seconds,
            eta
        );
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let width = 30;
            let filled = ((share * width as f64) as usize).min(width);
            let _ = write!(err, "\r[{}{}] {line}\x1b[K", "#".repeat(filled), ".".repeat(width - filled));
            if done >= self.total {
                let _ = writeln!(err);
            }
        } else {
            let _ = writeln!(err, "progress: {line}");
        }
    }
}
