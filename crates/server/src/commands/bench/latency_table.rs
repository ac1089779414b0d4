//! One timed query's figures, and the table `confab bench query` prints of them.

use confab_sim::load::latency::LatencySummary;
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct QueryTiming {
    pub name: String,
    pub path: String,
    /// Size of the last answer.
    pub bytes: usize,
    pub latency: LatencySummary,
}

pub fn print_rows(rows: &[QueryTiming]) {
    let width = rows.iter().map(|r| r.name.chars().count()).max().unwrap_or(5).max(5);
    println!("{:width$}  {:>8} {:>8} {:>8} {:>8} {:>9}", "query", "p50 ms", "p90 ms", "p99 ms", "max ms", "bytes");
    for r in rows {
        let l = &r.latency;
        println!(
            "{:width$}  {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>9}",
            r.name, l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms, r.bytes
        );
    }
}
