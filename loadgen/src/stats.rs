//! Latency samples and their percentiles.

use serde::Serialize;
use std::time::Duration;

/// Durations collected during a run; percentiles are exact (sorted), not estimated.
#[derive(Debug, Default, Clone)]
pub struct Samples(Vec<Duration>);

/// A latency distribution in milliseconds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Summary {
    pub count: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl Samples {
    pub fn push(&mut self, sample: Duration) {
        self.0.push(sample);
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn extend(&mut self, other: Samples) {
        self.0.extend(other.0);
    }

    /// `None` when nothing was measured.
    pub fn summary(&self) -> Option<Summary> {
        if self.0.is_empty() {
            return None;
        }
        let mut sorted = self.0.clone();
        sorted.sort_unstable();
        let total: Duration = sorted.iter().sum();

        Some(Summary {
            count: sorted.len(),
            p50_ms: ms(percentile(&sorted, 0.50)),
            p99_ms: ms(percentile(&sorted, 0.99)),
            p999_ms: ms(percentile(&sorted, 0.999)),
            max_ms: ms(*sorted.last().expect("not empty")),
            mean_ms: ms(total / sorted.len() as u32),
        })
    }
}

/// The nearest-rank percentile of sorted samples.
fn percentile(sorted: &[Duration], q: f64) -> Duration {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

impl Summary {
    /// "p50 1.2 ms · p99 3.4 ms · p99.9 5.6 ms · max 7.8 ms (n = 1000)"
    pub fn describe(&self) -> String {
        format!(
            "p50 {:.2} ms · p99 {:.2} ms · p99.9 {:.2} ms · max {:.2} ms (n = {})",
            self.p50_ms, self.p99_ms, self.p999_ms, self.max_ms, self.count
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let mut samples = Samples::default();
        for ms in 1..=1000 {
            samples.push(Duration::from_millis(ms));
        }
        let summary = samples.summary().unwrap();
        assert_eq!(summary.p50_ms, 500.0);
        assert_eq!(summary.p99_ms, 990.0);
        assert_eq!(summary.p999_ms, 999.0);
        assert_eq!(summary.max_ms, 1000.0);
        assert_eq!(summary.count, 1000);
    }

    #[test]
    fn no_samples_no_summary() {
        assert!(Samples::default().summary().is_none());
    }
}
