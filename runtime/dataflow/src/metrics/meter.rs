//! [`Meter`]: a rate per second derived from a [`Counter`], as Flink's `MeterView`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::counter::Counter;

/// How often a meter takes the counter's total, as Flink's `MeterView.UPDATE_INTERVAL_SECONDS`.
pub const UPDATE_INTERVAL_SECONDS: u64 = 5;

/// The span a rate is averaged over unless another is asked for (Flink's default).
pub const DEFAULT_TIME_SPAN_SECONDS: u64 = 60;

/// The longest span a meter keeps: a day of samples is 140 KB, and a rate averaged over longer
/// tells an operator nothing.
pub const MAX_TIME_SPAN_SECONDS: u64 = 24 * 60 * 60;

const UPDATE_INTERVAL: Duration = Duration::from_secs(UPDATE_INTERVAL_SECONDS);

/// Events per second over the last time span: (total now − total one span ago) / span, with
/// the total sampled every [`UPDATE_INTERVAL_SECONDS`]. Clones share the rate.
///
/// As in Flink, the samples before the first update are zero, so during the meter's first
/// span the rate is everything counted so far divided by the whole span.
///
/// Updates are driven by [`Meter::tick`] with the current instant rather than by a timer
/// thread, so that tests can run a minute of metrics without sleeping. Reading the rate takes
/// no lock; a tick takes the meter's own lock, once every few seconds and never on a task's
/// hot path.
#[derive(Clone, Debug)]
pub struct Meter {
    inner: Arc<MeterInner>,
}

#[derive(Debug)]
struct MeterInner {
    counter: Counter,
    time_span_seconds: u64,
    /// The current rate, as `f64` bits: readers load it without the lock.
    rate_bits: AtomicU64,
    samples: Mutex<Samples>,
}

#[derive(Debug)]
struct Samples {
    /// The counter's total at the last updates, as a ring of `time span / interval + 1`
    /// entries: `totals[newest]` is the latest, `totals[newest + 1]` (wrapping) the one a
    /// whole time span before it.
    totals: Vec<u64>,
    newest: usize,
    /// When the next update is due; `None` until the first tick starts the clock.
    next_update: Option<Instant>,
}

impl Meter {
    /// A meter over `counter` with Flink's default span of 60 seconds.
    pub fn new(counter: Counter) -> Self {
        Meter::with_time_span(counter, DEFAULT_TIME_SPAN_SECONDS)
    }

    /// A meter over `counter` averaged over `time_span_seconds`, rounded down to a whole
    /// number of update intervals and at least one (as Flink's `MeterView` does), and at most
    /// [`MAX_TIME_SPAN_SECONDS`].
    pub fn with_time_span(counter: Counter, time_span_seconds: u64) -> Self {
        let time_span_seconds = time_span_seconds.min(MAX_TIME_SPAN_SECONDS);
        let time_span_seconds = (time_span_seconds - time_span_seconds % UPDATE_INTERVAL_SECONDS)
            .max(UPDATE_INTERVAL_SECONDS);
        let slots = (time_span_seconds / UPDATE_INTERVAL_SECONDS) as usize + 1;
        Meter {
            inner: Arc::new(MeterInner {
                counter,
                time_span_seconds,
                rate_bits: AtomicU64::new(0.0_f64.to_bits()),
                samples: Mutex::new(Samples {
                    totals: vec![0; slots],
                    newest: 0,
                    next_update: None,
                }),
            }),
        }
    }

    /// Events per second over the last time span, as of the last update.
    pub fn rate(&self) -> f64 {
        f64::from_bits(self.inner.rate_bits.load(Ordering::Relaxed))
    }

    /// The total of the underlying counter.
    pub fn count(&self) -> u64 {
        self.inner.counter.count()
    }

    pub fn time_span_seconds(&self) -> u64 {
        self.inner.time_span_seconds
    }

    /// Runs the updates due by `now`. The first tick only starts the clock: updates follow
    /// every [`UPDATE_INTERVAL_SECONDS`] after it.
    ///
    /// A tick that comes late runs every update it missed, spreading the increase since the
    /// last update evenly over them, as if they had run on time with a steady flow.
    pub fn tick(&self, now: Instant) {
        // Nothing below panics while holding the lock, and a half-done update could only skew
        // one rate, so a poisoned lock is used as it is rather than failing the caller.
        let mut samples = self
            .inner
            .samples
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(due) = samples.next_update else {
            samples.next_update = Some(now + UPDATE_INTERVAL);
            return;
        };
        let Some(late) = now.checked_duration_since(due) else {
            return;
        };
        let interval = UPDATE_INTERVAL.as_nanos();
        let missed = late.as_nanos() / interval + 1;
        let phase = late.as_nanos() % interval;
        samples.next_update = Some(now + Duration::from_nanos((interval - phase) as u64));

        let slots = samples.totals.len();
        let last = samples.totals[samples.newest];
        let increase = u128::from(self.inner.counter.count().saturating_sub(last));
        // Only the last `slots` updates survive in the ring; the earlier ones are skipped.
        let first = missed.saturating_sub(slots as u128) + 1;
        for update in first..=missed {
            let total = u128::from(last) + increase * update / missed;
            samples.newest = (samples.newest + 1) % slots;
            let newest = samples.newest;
            samples.totals[newest] = u64::try_from(total).unwrap_or(u64::MAX);
        }

        let newest = samples.totals[samples.newest];
        let oldest = samples.totals[(samples.newest + 1) % slots];
        let rate = newest.saturating_sub(oldest) as f64 / self.inner.time_span_seconds as f64;
        self.inner
            .rate_bits
            .store(rate.to_bits(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seconds(start: Instant, seconds: f64) -> Instant {
        start + Duration::from_secs_f64(seconds)
    }

    #[test]
    fn rate_is_the_increase_over_the_time_span_per_second() {
        let counter = Counter::new();
        let meter = Meter::new(counter.clone());
        let start = Instant::now();
        meter.tick(start);
        counter.inc(120);
        meter.tick(seconds(start, 5.0));
        // As Flink: the missing history counts as zero, so 120 over the whole 60 s.
        assert_eq!(meter.rate(), 2.0);
        counter.inc(60);
        meter.tick(seconds(start, 10.0));
        assert_eq!(meter.rate(), 3.0);
        assert_eq!(meter.count(), 180);
    }

    #[test]
    fn ticks_before_the_next_update_change_nothing() {
        let counter = Counter::new();
        let meter = Meter::new(counter.clone());
        let start = Instant::now();
        meter.tick(start);
        counter.inc(600);
        meter.tick(seconds(start, 4.999));
        assert_eq!(meter.rate(), 0.0);
        meter.tick(seconds(start, 5.0));
        assert_eq!(meter.rate(), 10.0);
        counter.inc(600);
        meter.tick(seconds(start, 9.0));
        assert_eq!(meter.rate(), 10.0);
    }

    #[test]
    fn increases_leave_the_rate_once_they_are_a_time_span_old() {
        let counter = Counter::new();
        let meter = Meter::with_time_span(counter.clone(), 10);
        let start = Instant::now();
        meter.tick(start);
        counter.inc(50);
        meter.tick(seconds(start, 5.0));
        assert_eq!(meter.rate(), 5.0);
        counter.inc(30);
        meter.tick(seconds(start, 10.0));
        assert_eq!(meter.rate(), 8.0);
        meter.tick(seconds(start, 15.0));
        assert_eq!(meter.rate(), 3.0);
        meter.tick(seconds(start, 20.0));
        assert_eq!(meter.rate(), 0.0);
    }

    #[test]
    fn a_late_tick_spreads_the_increase_over_the_updates_it_missed() {
        let counter = Counter::new();
        let meter = Meter::with_time_span(counter.clone(), 10);
        let start = Instant::now();
        meter.tick(start);
        counter.inc(100);
        // Two updates are due (5 s and 10 s): they record 50 and 100.
        meter.tick(seconds(start, 10.0));
        assert_eq!(meter.rate(), 10.0);
        // The next is due at 15 s, on the original cadence: 100 − 50 over 10 s.
        meter.tick(seconds(start, 15.0));
        assert_eq!(meter.rate(), 5.0);
    }

    #[test]
    fn a_tick_later_than_the_time_span_keeps_the_average_of_its_last_span() {
        let counter = Counter::new();
        let meter = Meter::with_time_span(counter.clone(), 10);
        let start = Instant::now();
        meter.tick(start);
        counter.inc(300);
        // 12 updates missed, 25 each: the last span holds 250 → 300.
        meter.tick(seconds(start, 62.0));
        assert_eq!(meter.rate(), 5.0);
        counter.inc(20);
        // The cadence stays on multiples of 5 s from the start: the next update is at 65 s.
        meter.tick(seconds(start, 64.9));
        assert_eq!(meter.rate(), 5.0);
        meter.tick(seconds(start, 65.0));
        assert_eq!(meter.rate(), (320.0 - 275.0) / 10.0);
    }

    #[test]
    fn time_span_is_a_whole_number_of_update_intervals() {
        let span = |seconds| Meter::with_time_span(Counter::new(), seconds).time_span_seconds();
        assert_eq!(span(0), 5);
        assert_eq!(span(7), 5);
        assert_eq!(span(12), 10);
        assert_eq!(span(60), 60);
        assert_eq!(span(u64::MAX), MAX_TIME_SPAN_SECONDS);
        assert_eq!(Meter::new(Counter::new()).time_span_seconds(), 60);
    }
}
