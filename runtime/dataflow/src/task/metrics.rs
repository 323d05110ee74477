//! What a task measures about itself for the metric registry: where its time goes (busy,
//! back-pressured, idle) and what its channel writers send.
//!
//! Every update is once per batch or once per wait, never per record, and each is one relaxed
//! atomic operation on a handle from the registry.
//!
//! numBytesIn is counted by the input channels themselves (see
//! [`ChannelReceiver::count_bytes_into`](crate::channel::ChannelReceiver::count_bytes_into)):
//! a local channel carries the size its writer measured with each batch, so nothing walks the
//! rows twice; a remote one counts the encoded bytes it received.

use std::time::{Duration, Instant};

use crate::metrics::{Counter, TaskIoMetrics};

/// The handles a channel writer of one subtask updates.
#[derive(Clone, Debug, Default)]
pub struct OutputMetrics {
    /// The task's numRecordsOut: records written to output channels, once per edge.
    pub num_records_out: Counter,
    /// The task's numBytesOut: the true size of the batches sent, per channel.
    pub num_bytes_out: Counter,
    /// Nanoseconds spent waiting for room in a full channel. Not reported as such: the task
    /// turns it into milliseconds together with its idle and busy time, so the three add up to
    /// the task's wall time.
    pub back_pressured_nanos: Counter,
}

/// The task-level metrics of one subtask, and the accounting of its time.
///
/// Busy time is what is left of the wall time once idle and back-pressured time are taken
/// out, as Flink's `busyTimeMsPerSecond`. The three are measured in nanoseconds and reported
/// as whole milliseconds, so rounding never makes a total shrink or drift.
#[derive(Debug)]
pub struct TaskMetrics {
    pub io: TaskIoMetrics,
    back_pressured_nanos: Counter,
    started: Option<Instant>,
    idle_nanos: u64,
    reported_idle_ms: u64,
    reported_back_pressured_ms: u64,
    reported_busy_ms: u64,
}

impl TaskMetrics {
    pub fn new(io: TaskIoMetrics) -> Self {
        TaskMetrics {
            io,
            back_pressured_nanos: Counter::new(),
            started: None,
            idle_nanos: 0,
            reported_idle_ms: 0,
            reported_back_pressured_ms: 0,
            reported_busy_ms: 0,
        }
    }

    /// The handles for the subtask's channel writers.
    pub fn output_metrics(&self) -> OutputMetrics {
        OutputMetrics {
            num_records_out: self.io.records.num_records_out.clone(),
            num_bytes_out: self.io.records.num_bytes_out.clone(),
            back_pressured_nanos: self.back_pressured_nanos.clone(),
        }
    }

    /// Starts the clock of the task's wall time.
    pub fn start(&mut self, now: Instant) {
        self.started = Some(now);
    }

    /// Adds time spent waiting for input (or, for a source, for data).
    #[inline]
    pub fn add_idle(&mut self, waited: Duration) {
        self.idle_nanos = self.idle_nanos.saturating_add(nanos(waited));
    }

    /// Brings accumulateIdleTimeMs, accumulateBackPressuredTimeMs and accumulateBusyTimeMs up
    /// to `now`. The task calls it on its processing-time tick and when it ends.
    pub fn report_time(&mut self, now: Instant) {
        let Some(started) = self.started else {
            return;
        };
        let wall = nanos(now.saturating_duration_since(started));
        let back_pressured = self.back_pressured_nanos.count();
        let busy = wall
            .saturating_sub(self.idle_nanos)
            .saturating_sub(back_pressured);
        report(
            &self.io.accumulate_idle_time_ms,
            &mut self.reported_idle_ms,
            self.idle_nanos,
        );
        report(
            &self.io.accumulate_back_pressured_time_ms,
            &mut self.reported_back_pressured_ms,
            back_pressured,
        );
        report(
            &self.io.accumulate_busy_time_ms,
            &mut self.reported_busy_ms,
            busy,
        );
    }
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// Adds to `counter` the whole milliseconds of `total_nanos` not reported yet.
fn report(counter: &Counter, reported_ms: &mut u64, total_nanos: u64) {
    let total_ms = total_nanos / 1_000_000;
    if total_ms > *reported_ms {
        counter.inc(total_ms - *reported_ms);
        *reported_ms = total_ms;
    }
}

#[cfg(test)]
mod tests {
    use flinkrs_core::{JobId, SubtaskIndex};

    use super::*;
    use crate::metrics::MetricRegistry;

    fn task_metrics() -> TaskMetrics {
        let registry = MetricRegistry::new();
        let group = registry
            .job_group(JobId(1), "job")
            .task_group("Map", SubtaskIndex(0), 0);
        TaskMetrics::new(group.io_metrics())
    }

    fn totals(metrics: &TaskMetrics) -> (u64, u64, u64) {
        (
            metrics.io.accumulate_busy_time_ms.count(),
            metrics.io.accumulate_idle_time_ms.count(),
            metrics.io.accumulate_back_pressured_time_ms.count(),
        )
    }

    #[test]
    fn busy_time_is_wall_time_less_idle_and_back_pressured_time() {
        let mut metrics = task_metrics();
        let output = metrics.output_metrics();
        let start = Instant::now();
        metrics.start(start);
        metrics.add_idle(Duration::from_millis(30));
        output
            .back_pressured_nanos
            .inc(nanos(Duration::from_millis(20)));
        metrics.report_time(start + Duration::from_millis(100));
        assert_eq!(totals(&metrics), (50, 30, 20));
    }

    #[test]
    fn fractions_of_a_millisecond_are_carried_to_the_next_report() {
        let mut metrics = task_metrics();
        let start = Instant::now();
        metrics.start(start);
        metrics.add_idle(Duration::from_micros(600));
        metrics.report_time(start + Duration::from_micros(1_000));
        assert_eq!(totals(&metrics), (0, 0, 0));
        metrics.add_idle(Duration::from_micros(600));
        metrics.report_time(start + Duration::from_micros(3_000));
        // 1.2 ms idle and 1.8 ms busy so far.
        assert_eq!(totals(&metrics), (1, 1, 0));
        metrics.report_time(start + Duration::from_micros(4_200));
        assert_eq!(totals(&metrics), (3, 1, 0));
    }

    #[test]
    fn a_task_that_never_started_reports_no_time() {
        let mut metrics = task_metrics();
        metrics.add_idle(Duration::from_millis(5));
        metrics.report_time(Instant::now());
        assert_eq!(totals(&metrics), (0, 0, 0));
    }
}
