//! Watermarks per partition, inside the reader: Flink's `WatermarkStrategy` on a
//! `KafkaSource`. Each split has its own generator; the reader's watermark is the minimum
//! over its splits that are neither finished nor idle. A split is idle after the strategy's
//! idleness timeout without records (`with_idleness`), so a quiet partition does not hold the
//! others back; when all are idle (or the reader has no split), the reader is idle itself.
//!
//! Per record this is one call of the timestamp assigner and one of the split's generator,
//! as in Flink; the clock is read once per poll, not per record.

use std::time::{Duration, Instant};

use flinkrs_api::watermark::{WatermarkGenerator, WatermarkOutput, WatermarkStrategy};
use flinkrs_core::{Watermark, WatermarkStatus};

/// One split's event time.
struct SplitClock<T> {
    generator: Box<dyn WatermarkGenerator<T>>,
    output: WatermarkOutput,
    watermark: i64,
    /// A record came since the last poll.
    saw_record: bool,
    last_active: Instant,
    idle: bool,
}

/// The watermarks of one reader's splits, indexed like the reader's splits.
pub(crate) struct PartitionWatermarks<T> {
    strategy: WatermarkStrategy<T>,
    clocks: Vec<SplitClock<T>>,
    /// `pipeline.auto-watermark-interval`: how often generators emit periodically.
    interval: Duration,
    next_periodic: Instant,
    /// The last watermark the reader emitted.
    emitted: i64,
    idle: bool,
    pending_status: Option<WatermarkStatus>,
    pending_watermark: Option<i64>,
}

impl<T: 'static> PartitionWatermarks<T> {
    pub(crate) fn new(strategy: WatermarkStrategy<T>, interval: Duration) -> Self {
        PartitionWatermarks {
            strategy,
            clocks: Vec::new(),
            interval,
            next_periodic: Instant::now(),
            emitted: i64::MIN,
            idle: false,
            pending_status: None,
            pending_watermark: None,
        }
    }

    /// Gives each of the reader's `splits` a clock (new splits come from discovery).
    pub(crate) fn track(&mut self, splits: usize) {
        while self.clocks.len() < splits {
            self.clocks.push(SplitClock {
                generator: self.strategy.create_generator(),
                output: WatermarkOutput::default(),
                watermark: i64::MIN,
                saw_record: false,
                last_active: Instant::now(),
                idle: false,
            });
        }
    }

    /// A record of split `split`: its event-time timestamp (the assigner's, or `timestamp`
    /// as read from Kafka), after the split's generator has seen it.
    pub(crate) fn on_record(&mut self, split: usize, value: &T, timestamp: i64) -> i64 {
        let timestamp = self.strategy.assign_timestamp(value, timestamp);
        if let Some(clock) = self.clocks.get_mut(split) {
            clock
                .generator
                .on_event(value, timestamp, &mut clock.output);
            clock.saw_record = true;
        }
        timestamp
    }

    /// After a poll: periodic emission when due, idleness, and the combined watermark.
    /// `finished(split)` says which splits have ended (a bounded source's).
    pub(crate) fn advance(&mut self, finished: impl Fn(usize) -> bool) {
        let now = Instant::now();
        let periodic = !self.interval.is_zero() && now >= self.next_periodic;
        if periodic {
            self.next_periodic = now + self.interval;
        }
        let timeout = self.strategy.idle_timeout();
        for clock in &mut self.clocks {
            if periodic {
                clock.generator.on_periodic_emit(&mut clock.output);
            }
            if let Some(watermark) = clock.output.take_pending() {
                clock.watermark = clock.watermark.max(watermark);
            }
            if clock.saw_record {
                clock.saw_record = false;
                clock.last_active = now;
                clock.idle = false;
            } else if let Some(timeout) = timeout
                && now.duration_since(clock.last_active) >= timeout
            {
                clock.idle = true;
            }
        }
        let combined = self
            .clocks
            .iter()
            .enumerate()
            .filter(|(split, clock)| !clock.idle && !finished(*split))
            .map(|(_, clock)| clock.watermark)
            .min();
        match combined {
            None => {
                if !self.idle {
                    self.idle = true;
                    self.pending_status = Some(WatermarkStatus::Idle);
                }
            }
            Some(watermark) => {
                if self.idle {
                    self.idle = false;
                    self.pending_status = Some(WatermarkStatus::Active);
                }
                if watermark > self.emitted {
                    self.emitted = watermark;
                    self.pending_watermark = Some(watermark);
                }
            }
        }
    }

    pub(crate) fn take_status(&mut self) -> Option<WatermarkStatus> {
        self.pending_status.take()
    }

    pub(crate) fn take_watermark(&mut self) -> Option<Watermark> {
        self.pending_watermark.take().map(Watermark)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use flinkrs_api::watermark::WatermarkStrategy;
    use flinkrs_core::{Watermark, WatermarkStatus};

    use super::PartitionWatermarks;

    #[test]
    fn the_reader_watermark_is_the_minimum_over_active_splits_and_idle_ones_drop_out() {
        let strategy = WatermarkStrategy::<u64>::for_monotonous_timestamps()
            .with_idleness(Duration::from_millis(30));
        let mut watermarks = PartitionWatermarks::new(strategy, Duration::from_millis(1));
        watermarks.track(2);
        std::thread::sleep(Duration::from_millis(2));
        watermarks.on_record(0, &1, 9_000);
        watermarks.on_record(1, &2, 3_000);
        watermarks.advance(|_| false);
        assert_eq!(watermarks.take_watermark(), Some(Watermark(2_999)));
        assert_eq!(watermarks.take_status(), None);

        // Split 1 stays quiet past the timeout while split 0 goes on: split 0 leads.
        let started = std::time::Instant::now();
        while watermarks.take_watermark().is_none() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "split 1 went idle"
            );
            std::thread::sleep(Duration::from_millis(2));
            watermarks.on_record(0, &1, 10_000);
            watermarks.advance(|_| false);
        }
        assert_eq!(watermarks.emitted, 9_999);

        // With split 0 finished and split 1 idle, the reader is idle; a record wakes it.
        watermarks.advance(|split| split == 0);
        assert_eq!(watermarks.take_status(), Some(WatermarkStatus::Idle));
        watermarks.on_record(1, &2, 4_000);
        watermarks.advance(|split| split == 0);
        assert_eq!(watermarks.take_status(), Some(WatermarkStatus::Active));
        assert_eq!(watermarks.take_watermark(), None, "4 s is behind 10 s");
    }
}
