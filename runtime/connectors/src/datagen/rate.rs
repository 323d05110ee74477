//! The rate limit of a generator subtask, as pure arithmetic over instants.
//!
//! The limiter never sleeps: it says how many rows are due since the subtask started, and how
//! long to wait when the subtask is ahead. The source returns that wait as
//! [`SourceStatus::Wait`](flinkrs_dataflow::SourceStatus), so the task stays responsive to
//! cancellation and keeps its processing-time ticks.

use std::time::{Duration, Instant};

const NANOS_PER_SECOND: u128 = 1_000_000_000;

/// Limits one subtask to its share of a job-wide `rows-per-second`.
#[derive(Clone, Debug)]
pub struct RateLimiter {
    /// The job-wide rate.
    rows_per_second: u64,
    /// The number of subtasks sharing it; this subtask may emit `rows_per_second / share_of`
    /// rows per second (fractions included, so a rate below the parallelism still works).
    share_of: u64,
    started: Option<Instant>,
    emitted: u64,
}

impl RateLimiter {
    /// A limiter for one of `parallelism` subtasks sharing `rows_per_second`.
    pub fn new(rows_per_second: u64, parallelism: usize) -> Self {
        RateLimiter {
            rows_per_second,
            share_of: (parallelism as u64).max(1),
            started: None,
            emitted: 0,
        }
    }

    /// Rows due at `now` since the first call, for this subtask.
    fn rows_due(&self, started: Instant, now: Instant) -> u64 {
        let elapsed = now.saturating_duration_since(started).as_nanos();
        let due = elapsed * u128::from(self.rows_per_second)
            / (NANOS_PER_SECOND * u128::from(self.share_of));
        u64::try_from(due).unwrap_or(u64::MAX)
    }

    /// How many rows (at most `wanted`) may be emitted at `now`; `Err(wait)` when none are due
    /// yet, with the time until the next one is.
    pub fn permits(&mut self, wanted: usize, now: Instant) -> Result<usize, Duration> {
        let started = *self.started.get_or_insert(now);
        let due = self.rows_due(started, now);
        let allowed = due.saturating_sub(self.emitted);
        if allowed == 0 {
            // The next row is due when elapsed * rate / share >= emitted + 1.
            let next = u128::from(self.emitted + 1) * NANOS_PER_SECOND * u128::from(self.share_of);
            let next_nanos = next.div_ceil(u128::from(self.rows_per_second.max(1)));
            let next_at = Duration::from_nanos(u64::try_from(next_nanos).unwrap_or(u64::MAX));
            let elapsed = now.saturating_duration_since(started);
            return Err(next_at
                .saturating_sub(elapsed)
                .max(Duration::from_micros(100)));
        }
        Ok(usize::try_from(allowed).unwrap_or(usize::MAX).min(wanted))
    }

    /// Records that `rows` were emitted.
    pub fn consume(&mut self, rows: usize) {
        self.emitted += rows as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_due_at_the_start_and_the_wait_is_one_row_interval() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(10, 1);
        assert_eq!(limiter.permits(100, start), Err(Duration::from_millis(100)));
    }

    #[test]
    fn rows_become_due_with_elapsed_time_and_the_limiter_waits_when_ahead() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(10, 1);
        let _ = limiter.permits(100, start);
        assert_eq!(
            limiter.permits(100, start + Duration::from_millis(1_050)),
            Ok(10)
        );
        limiter.consume(10);
        assert_eq!(
            limiter.permits(100, start + Duration::from_millis(1_050)),
            Err(Duration::from_millis(50))
        );
        assert_eq!(limiter.permits(4, start + Duration::from_secs(3)), Ok(4));
    }

    #[test]
    fn the_rate_is_shared_between_subtasks_even_below_the_parallelism() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(1, 3);
        let _ = limiter.permits(100, start);
        assert_eq!(
            limiter.permits(100, start + Duration::from_secs(2)),
            Err(Duration::from_secs(1))
        );
        assert_eq!(limiter.permits(100, start + Duration::from_secs(3)), Ok(1));
    }
}
