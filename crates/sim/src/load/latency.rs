//! Latency samples and their percentiles. Every sample is kept (a few bytes each), so the
//! percentiles are exact rather than estimated.

use serde::Serialize;
use std::time::Duration;

#[derive(Default, Clone)]
pub struct Latencies {
    micros: Vec<u32>,
}

/// Percentiles of a run, in milliseconds.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq)]
pub struct LatencySummary {
    pub samples: usize,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latencies {
    pub fn record(&mut self, latency: Duration) {
        self.micros.push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
    }

    pub fn merge(&mut self, other: Latencies) {
        self.micros.extend(other.micros);
    }

    pub fn summary(&mut self) -> LatencySummary {
        if self.micros.is_empty() {
            return LatencySummary::default();
        }
        self.micros.sort_unstable();
        let at = |q: f64| {
            // nearest rank
            let rank = ((q * self.micros.len() as f64).ceil() as usize).clamp(1, self.micros.len());
            f64::from(self.micros[rank - 1]) / 1000.0
        };
        LatencySummary {
            samples: self.micros.len(),
            p50_ms: at(0.50),
            p90_ms: at(0.90),
            p99_ms: at(0.99),
            max_ms: at(1.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut l = Latencies::default();
        for ms in 1..=100 {
            l.record(Duration::from_millis(ms));
        }
        let s = l.summary();
        assert_eq!((s.samples, s.p50_ms, s.p90_ms, s.p99_ms, s.max_ms), (100, 50.0, 90.0, 99.0, 100.0));
        assert_eq!(Latencies::default().summary(), LatencySummary::default());
    }
}
