//! Watermark strategies: how records get event-time timestamps and how watermarks are
//! generated from them, as Flink's `WatermarkStrategy` and `WatermarkGenerator`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use flinkrs_core::{Batch, Data, Result, Watermark, WatermarkStatus};
use flinkrs_dataflow::{Operator, Output, TaskInfo};

/// Where a [`WatermarkGenerator`] emits.
#[derive(Debug, Default)]
pub struct WatermarkOutput {
    pending: Option<i64>,
}

impl WatermarkOutput {
    /// Emits a watermark; one that does not advance the current watermark is ignored.
    pub fn emit_watermark(&mut self, timestamp: i64) {
        self.pending = Some(
            self.pending
                .map_or(timestamp, |current| current.max(timestamp)),
        );
    }

    /// Takes the watermark emitted since the last call, if any.
    pub fn take_pending(&mut self) -> Option<i64> {
        self.pending.take()
    }
}

/// Generates watermarks from the records it sees (`on_event`, for punctuated watermarks)
/// and on a timer (`on_periodic_emit`, every `pipeline.auto-watermark-interval`).
pub trait WatermarkGenerator<T>: Send {
    fn on_event(&mut self, value: &T, timestamp: i64, output: &mut WatermarkOutput);
    fn on_periodic_emit(&mut self, output: &mut WatermarkOutput);
}

/// Watermarks that trail the largest timestamp seen by a fixed bound, as Flink's
/// `BoundedOutOfOrdernessWatermarks`: `max_timestamp - bound - 1`.
#[derive(Debug, Clone)]
pub struct BoundedOutOfOrderness {
    max_timestamp: i64,
    bound_millis: i64,
}

impl BoundedOutOfOrderness {
    pub fn new(bound: Duration) -> Self {
        let bound_millis = i64::try_from(bound.as_millis()).unwrap_or(i64::MAX / 2);
        // Start so that the first watermark is not below i64::MIN.
        BoundedOutOfOrderness {
            max_timestamp: i64::MIN + bound_millis + 1,
            bound_millis,
        }
    }
}

impl<T> WatermarkGenerator<T> for BoundedOutOfOrderness {
    fn on_event(&mut self, _value: &T, timestamp: i64, _output: &mut WatermarkOutput) {
        self.max_timestamp = self.max_timestamp.max(timestamp);
    }

    fn on_periodic_emit(&mut self, output: &mut WatermarkOutput) {
        output.emit_watermark(self.max_timestamp - self.bound_millis - 1);
    }
}

type GeneratorFactory<T> = Arc<dyn Fn() -> Box<dyn WatermarkGenerator<T>> + Send + Sync>;
type TimestampAssigner<T> = Arc<dyn Fn(&T, i64) -> i64 + Send + Sync>;

/// How to assign timestamps and generate watermarks.
pub struct WatermarkStrategy<T> {
    generator: GeneratorFactory<T>,
    timestamp_assigner: Option<TimestampAssigner<T>>,
    idle_timeout: Option<Duration>,
}

impl<T> Clone for WatermarkStrategy<T> {
    fn clone(&self) -> Self {
        WatermarkStrategy {
            generator: Arc::clone(&self.generator),
            timestamp_assigner: self.timestamp_assigner.clone(),
            idle_timeout: self.idle_timeout,
        }
    }
}

impl<T: 'static> WatermarkStrategy<T> {
    /// Records may arrive up to `bound` late relative to the largest timestamp seen.
    pub fn for_bounded_out_of_orderness(bound: Duration) -> Self {
        Self::for_generator(move || BoundedOutOfOrderness::new(bound))
    }

    /// Timestamps only ever increase.
    pub fn for_monotonous_timestamps() -> Self {
        Self::for_bounded_out_of_orderness(Duration::ZERO)
    }

    /// A custom generator; each subtask gets its own from `make`.
    pub fn for_generator<G, F>(make: F) -> Self
    where
        G: WatermarkGenerator<T> + 'static,
        F: Fn() -> G + Send + Sync + 'static,
    {
        WatermarkStrategy {
            generator: Arc::new(move || Box::new(make())),
            timestamp_assigner: None,
            idle_timeout: None,
        }
    }

    /// Takes each record's timestamp from `assigner(record, previous_timestamp)`.
    pub fn with_timestamp_assigner(
        mut self,
        assigner: impl Fn(&T, i64) -> i64 + Send + Sync + 'static,
    ) -> Self {
        self.timestamp_assigner = Some(Arc::new(assigner));
        self
    }

    /// Marks the stream idle after `timeout` without records, so it does not hold back the
    /// watermark of downstream operators.
    pub fn with_idleness(mut self, timeout: Duration) -> Self {
        self.idle_timeout = Some(timeout);
        self
    }

    /// A new generator, for a source that applies the strategy itself (per split).
    pub fn create_generator(&self) -> Box<dyn WatermarkGenerator<T>> {
        (self.generator)()
    }

    /// The record's event-time timestamp: the assigner's, or `previous` without one.
    pub fn assign_timestamp(&self, value: &T, previous: i64) -> i64 {
        match &self.timestamp_assigner {
            Some(assigner) => assigner(value, previous),
            None => previous,
        }
    }

    /// The idleness timeout of [`with_idleness`](Self::with_idleness), if any.
    pub fn idle_timeout(&self) -> Option<Duration> {
        self.idle_timeout
    }
}

pub(crate) struct TimestampsAndWatermarksOperator<T> {
    strategy: WatermarkStrategy<T>,
    generator: Box<dyn WatermarkGenerator<T>>,
    interval: Duration,
    last_periodic_emit: Instant,
    last_record: Instant,
    current_watermark: i64,
    idle: bool,
    output: WatermarkOutput,
    /// Where the batch splits: a watermark is emitted after record `index`.
    splits: Vec<(usize, i64)>,
}

impl<T: Data> TimestampsAndWatermarksOperator<T> {
    pub(crate) fn new(strategy: WatermarkStrategy<T>, info: &TaskInfo) -> Self {
        let generator = (strategy.generator)();
        TimestampsAndWatermarksOperator {
            strategy,
            generator,
            interval: info.config.auto_watermark_interval(),
            last_periodic_emit: Instant::now(),
            last_record: Instant::now(),
            current_watermark: i64::MIN,
            idle: false,
            output: WatermarkOutput::default(),
            splits: Vec::new(),
        }
    }

    /// The pending watermark, if it advances the current one.
    fn take_advancing(&mut self) -> Option<i64> {
        let candidate = self.output.pending.take()?;
        (candidate > self.current_watermark).then(|| {
            self.current_watermark = candidate;
            candidate
        })
    }

    fn periodic_emit(&mut self, out: &mut Output<Batch<T>>) -> Result<()> {
        if self.interval.is_zero() || self.last_periodic_emit.elapsed() < self.interval {
            return Ok(());
        }
        self.last_periodic_emit = Instant::now();
        self.generator.on_periodic_emit(&mut self.output);
        match self.take_advancing() {
            Some(watermark) => out.emit_watermark(Watermark(watermark)),
            None => Ok(()),
        }
    }
}

impl<T: Data> Operator<Batch<T>, Batch<T>> for TimestampsAndWatermarksOperator<T> {
    fn process_batch(&mut self, batch: &mut Batch<T>, out: &mut Output<Batch<T>>) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        if self.idle {
            self.idle = false;
            out.emit_watermark_status(WatermarkStatus::Active)?;
        }
        if self.strategy.idle_timeout.is_some() {
            self.last_record = Instant::now();
        }
        self.splits.clear();
        for (index, record) in batch.iter_mut().enumerate() {
            if let Some(assigner) = &self.strategy.timestamp_assigner {
                record.timestamp = assigner(&record.value, record.timestamp);
            }
            self.generator
                .on_event(&record.value, record.timestamp, &mut self.output);
            if let Some(watermark) = self.take_advancing() {
                self.splits.push((index, watermark));
            }
        }
        if self.splits.is_empty() {
            out.push_batch(batch)?;
        } else {
            // Punctuated watermarks: each goes out right after the record that produced it.
            let mut emitted = 0;
            let mut records = batch.drain(..);
            for &(index, watermark) in &self.splits {
                for record in records.by_ref().take(index + 1 - emitted) {
                    out.collect(record.value, record.timestamp);
                }
                emitted = index + 1;
                out.emit_watermark(Watermark(watermark))?;
            }
            for record in records {
                out.collect(record.value, record.timestamp);
            }
        }
        self.periodic_emit(out)
    }

    fn process_watermark(
        &mut self,
        watermark: Watermark,
        out: &mut Output<Batch<T>>,
    ) -> Result<()> {
        // Upstream watermarks are replaced by this operator's own, except the final one that
        // marks the end of bounded input.
        if watermark == Watermark::MAX {
            self.current_watermark = i64::MAX;
            return out.emit_watermark(watermark);
        }
        Ok(())
    }

    fn on_processing_time(&mut self, _now_millis: i64, out: &mut Output<Batch<T>>) -> Result<()> {
        self.periodic_emit(out)?;
        if let Some(timeout) = self.strategy.idle_timeout
            && !self.idle
            && self.last_record.elapsed() >= timeout
        {
            self.idle = true;
            out.emit_watermark_status(WatermarkStatus::Idle)?;
        }
        Ok(())
    }
}
