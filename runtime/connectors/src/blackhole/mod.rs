//! The `blackhole` connector: sinks that drop every record, like Flink's `blackhole`
//! connector. For benchmarks, and for jobs run only for their side effects.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flinkrs_api::sink::{DiscardingSink, SinkFunction};
use flinkrs_core::{Batch, Result};

/// Drops every record. The same sink as [`DiscardingSink`], under the connector's name.
pub type BlackholeSink = DiscardingSink;

/// Drops every record and counts them in a shared counter, updated once per batch.
///
/// Every parallel subtask (each gets a clone) adds to the same counter, so after the job
/// [`CountingBlackholeSink::count`] (or the `Arc` from [`CountingBlackholeSink::counter`]) is
/// the number of records the sink received.
#[derive(Clone, Debug, Default)]
pub struct CountingBlackholeSink {
    count: Arc<AtomicU64>,
}

impl CountingBlackholeSink {
    pub fn new() -> Self {
        Self::default()
    }

    /// The shared counter; read it while or after the job runs.
    pub fn counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.count)
    }

    /// Records received so far, by all subtasks.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

impl<T> SinkFunction<T> for CountingBlackholeSink {
    fn write_batch(&mut self, batch: &mut Batch<T>) -> Result<()> {
        self.count.fetch_add(batch.len() as u64, Ordering::Relaxed);
        batch.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use flinkrs_api::StreamExecutionEnvironment;

    use super::*;
    use crate::datagen::DataGenSource;

    #[test]
    fn counting_blackhole_counts_every_record_of_every_subtask() {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(3).unwrap();
        let source = DataGenSource::sequence(1, 100_000);
        let sink = CountingBlackholeSink::new();
        let counter = sink.counter();
        env.add_source("numbers", move |_| Ok(source.clone()))
            .add_sink("Blackhole", sink.clone());
        let result = env.execute("blackhole").unwrap();
        assert_eq!(counter.load(Ordering::Relaxed), 100_000);
        assert_eq!(sink.count(), 100_000);
        assert_eq!(result.records_out(), 100_000);
    }

    #[test]
    fn blackhole_sink_drops_the_batch() {
        let mut sink = BlackholeSink::default();
        let mut batch: Batch<u64> = vec![flinkrs_core::Record::new(1)];
        SinkFunction::write_batch(&mut sink, &mut batch).unwrap();
        assert!(batch.is_empty());
    }
}
