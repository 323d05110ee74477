//! [`RateLimitedSource`]: any source, throttled to a job-wide number of records per second,
//! for demos and kill tests (`flinkrs run --rate N`).

use std::time::Instant;

use flinkrs_core::Result;
use flinkrs_dataflow::{Boundedness, SourceContext, SourceFunction, SourceStatus, StreamBatch};

use crate::datagen::RateLimiter;

/// Wraps a source so that its subtasks together emit at most `records_per_second`: each poll
/// asks the inner source for only the records due by now, and when none is due the task waits
/// (watching its mailbox) until one is. Positions, boundedness and the rest are the inner
/// source's, so a throttled run checkpoints and restores like an unthrottled one.
#[derive(Debug)]
pub struct RateLimitedSource<S> {
    inner: S,
    records_per_second: u64,
    limiter: Option<RateLimiter>,
    /// The task's context with `batch_rows` lowered to what the rate allows.
    throttled: Option<SourceContext>,
}

impl<S> RateLimitedSource<S> {
    /// `records_per_second` is job-wide, shared by the source's subtasks; at least 1.
    pub fn new(inner: S, records_per_second: u64) -> Self {
        RateLimitedSource {
            inner,
            records_per_second: records_per_second.max(1),
            limiter: None,
            throttled: None,
        }
    }
}

impl<B: StreamBatch, S: SourceFunction<B>> SourceFunction<B> for RateLimitedSource<S> {
    fn open(&mut self, context: &SourceContext) -> Result<()> {
        self.limiter = Some(RateLimiter::new(
            self.records_per_second,
            context.parallelism(),
        ));
        self.throttled = Some(context.clone());
        self.inner.open(context)
    }

    fn poll_batch(&mut self, batch: &mut B, context: &SourceContext) -> Result<SourceStatus> {
        let (Some(limiter), Some(throttled)) = (&mut self.limiter, &mut self.throttled) else {
            // Not opened: nothing to limit against.
            return self.inner.poll_batch(batch, context);
        };
        let allowed = match limiter.permits(context.batch_rows, Instant::now()) {
            Ok(allowed) => allowed,
            Err(wait) => return Ok(SourceStatus::Wait(wait)),
        };
        throttled.batch_rows = allowed;
        let before = batch.num_rows();
        let status = self.inner.poll_batch(batch, throttled)?;
        limiter.consume(batch.num_rows().saturating_sub(before));
        Ok(status)
    }

    fn boundedness(&self) -> Boundedness {
        self.inner.boundedness()
    }

    fn snapshot_state(&mut self) -> Result<Vec<Vec<u8>>> {
        self.inner.snapshot_state()
    }

    fn restore_state(&mut self, splits: Vec<Vec<u8>>) -> Result<()> {
        self.inner.restore_state(splits)
    }

    fn notify_checkpoint_complete(&mut self, checkpoint: flinkrs_core::CheckpointId) -> Result<()> {
        self.inner.notify_checkpoint_complete(checkpoint)
    }

    fn take_watermark_status(&mut self) -> Option<flinkrs_core::WatermarkStatus> {
        self.inner.take_watermark_status()
    }

    fn take_watermark(&mut self) -> Option<flinkrs_core::Watermark> {
        self.inner.take_watermark()
    }

    fn close(&mut self) -> Result<()> {
        self.inner.close()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use flinkrs_api::StreamExecutionEnvironment;
    use flinkrs_api::source::CollectionSource;

    use super::*;

    #[test]
    fn a_throttled_source_emits_everything_no_faster_than_its_rate() {
        let env = StreamExecutionEnvironment::new();
        let elements = std::sync::Arc::new((0..20u64).collect::<Vec<_>>());
        let started = Instant::now();
        let numbers = env
            .add_source_with_parallelism("Throttled", Some(1), move |_| {
                Ok(RateLimitedSource::new(
                    CollectionSource::new(std::sync::Arc::clone(&elements)),
                    100,
                ))
            })
            .execute_and_collect("throttled")
            .unwrap();
        // The 20th record is due 200 ms after the first poll, at 100 records per second.
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert_eq!(numbers, (0..20).collect::<Vec<u64>>());
    }
}
