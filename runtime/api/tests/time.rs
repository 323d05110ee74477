//! Processing-time timers and idle sources, synchronised through a flag the job itself sets
//! when the expected output appears, so nothing depends on sleeping long enough.

use flinkrs_core::Batch;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use flinkrs_api::prelude::*;

/// Emits `records` (with timestamps) once, then waits until `done` is set or a generous
/// deadline passes, then finishes.
#[derive(Clone)]
struct EmitThenWait {
    records: Vec<(u64, i64)>,
    done: Arc<AtomicBool>,
    emitted: bool,
    deadline: Option<Instant>,
}

impl SourceFunction<Batch<u64>> for EmitThenWait {
    fn poll_batch(
        &mut self,
        batch: &mut Vec<Record<u64>>,
        context: &SourceContext,
    ) -> Result<SourceStatus> {
        if !self.emitted {
            self.emitted = true;
            self.deadline = Some(Instant::now() + Duration::from_secs(20));
            if context.subtask_index() == 0 {
                batch.extend(
                    self.records
                        .iter()
                        .map(|(value, ts)| Record::with_timestamp(*value, *ts)),
                );
            }
        }
        let expired = self
            .deadline
            .is_some_and(|deadline| Instant::now() >= deadline);
        if self.done.load(Ordering::SeqCst) || expired {
            Ok(SourceStatus::Finished)
        } else {
            Ok(SourceStatus::Wait(Duration::from_millis(5)))
        }
    }
}

/// Sets the flag when it sees a record.
#[derive(Clone)]
struct SignalSink {
    done: Arc<AtomicBool>,
    seen: Arc<std::sync::Mutex<Vec<String>>>,
}

impl SinkFunction<String> for SignalSink {
    fn write_batch(&mut self, batch: &mut Vec<Record<String>>) -> Result<()> {
        let mut seen = self.seen.lock().unwrap();
        seen.extend(batch.drain(..).map(|record| record.value));
        self.done.store(true, Ordering::SeqCst);
        Ok(())
    }
}

#[derive(Clone)]
struct ProcessingTimeAlarm;

impl KeyedProcessFunction<u64, u64, String> for ProcessingTimeAlarm {
    fn process_element(
        &mut self,
        _value: u64,
        ctx: &mut KeyedContext<'_, u64, String>,
    ) -> Result<()> {
        let fire_at = ctx.current_processing_time() + 30;
        ctx.register_processing_time_timer(fire_at);
        Ok(())
    }

    fn on_timer(&mut self, _timestamp: i64, ctx: &mut KeyedContext<'_, u64, String>) -> Result<()> {
        let key = *ctx.current_key();
        let domain = ctx.time_domain();
        ctx.collect(format!("key {key} fired in {domain:?}"));
        Ok(())
    }
}

#[test]
fn processing_time_timers_fire_while_the_job_runs() {
    let done = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let source = EmitThenWait {
        records: vec![(7, 0)],
        done: Arc::clone(&done),
        emitted: false,
        deadline: None,
    };
    let env = StreamExecutionEnvironment::new();
    env.add_source("Once", move |_| Ok(source.clone()))
        .key_by(|n: &u64| *n)
        .process(ProcessingTimeAlarm)
        .add_sink(
            "Signal",
            SignalSink {
                done,
                seen: Arc::clone(&seen),
            },
        );
    env.execute("processing time").unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        vec!["key 7 fired in Some(ProcessingTime)".to_owned()]
    );
}

#[derive(Clone)]
struct EventTimeAlarm;

impl KeyedProcessFunction<u64, u64, String> for EventTimeAlarm {
    fn process_element(
        &mut self,
        _value: u64,
        ctx: &mut KeyedContext<'_, u64, String>,
    ) -> Result<()> {
        ctx.register_event_time_timer(1_000);
        Ok(())
    }

    fn on_timer(&mut self, timestamp: i64, ctx: &mut KeyedContext<'_, u64, String>) -> Result<()> {
        let watermark = ctx.current_watermark();
        ctx.collect(format!("timer {timestamp} at watermark {watermark}"));
        Ok(())
    }
}

#[test]
fn an_idle_source_subtask_does_not_hold_back_the_watermark() {
    let done = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    // Subtask 0 emits one record at 5000 ms; subtask 1 emits nothing and stays open.
    let source = EmitThenWait {
        records: vec![(1, 5_000)],
        done: Arc::clone(&done),
        emitted: false,
        deadline: None,
    };
    let env = StreamExecutionEnvironment::new();
    env.set("pipeline.auto-watermark-interval", "10 ms")
        .unwrap();
    env.add_source("Half Idle", move |_| Ok(source.clone()))
        .set_parallelism(2)
        .assign_timestamps_and_watermarks(
            WatermarkStrategy::for_monotonous_timestamps().with_idleness(Duration::from_millis(50)),
        )
        .set_parallelism(2)
        .key_by(|n: &u64| *n)
        .process(EventTimeAlarm)
        .add_sink(
            "Signal",
            SignalSink {
                done,
                seen: Arc::clone(&seen),
            },
        );
    env.execute("idleness").unwrap();
    // The timer fired on the active subtask's watermark (5000 - 1), not on the final one.
    assert_eq!(
        *seen.lock().unwrap(),
        vec!["timer 1000 at watermark 4999".to_owned()]
    );
}

/// A value as it reached the sink, with its timestamp.
type Stamped = (String, Option<i64>);

/// Keeps each record with its timestamp, and sets the flag when it sees one.
#[derive(Clone)]
struct TimestampSink {
    done: Arc<AtomicBool>,
    seen: Arc<std::sync::Mutex<Vec<Stamped>>>,
}

impl SinkFunction<String> for TimestampSink {
    fn write_batch(&mut self, batch: &mut Vec<Record<String>>) -> Result<()> {
        let mut seen = self.seen.lock().unwrap();
        seen.extend(
            batch
                .drain(..)
                .map(|record| (record.value.clone(), record.event_time())),
        );
        self.done.store(true, Ordering::SeqCst);
        Ok(())
    }
}

/// Reports, from a processing-time timer, whether the context still shows the timer's time.
#[derive(Clone)]
struct ProcessingTimeReporter;

impl KeyedProcessFunction<u64, u64, String> for ProcessingTimeReporter {
    fn process_element(
        &mut self,
        _value: u64,
        ctx: &mut KeyedContext<'_, u64, String>,
    ) -> Result<()> {
        let fire_at = ctx.current_processing_time() + 30;
        ctx.register_processing_time_timer(fire_at);
        Ok(())
    }

    fn on_timer(&mut self, timestamp: i64, ctx: &mut KeyedContext<'_, u64, String>) -> Result<()> {
        let context_shows_timer = ctx.timestamp() == Some(timestamp);
        ctx.collect(format!("context shows the timer: {context_shows_timer}"));
        Ok(())
    }
}

#[test]
fn records_emitted_from_a_processing_time_timer_carry_no_timestamp() {
    let done = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    // The input record has a timestamp; the timer's output must not inherit one from anywhere.
    let source = EmitThenWait {
        records: vec![(7, 1_000)],
        done: Arc::clone(&done),
        emitted: false,
        deadline: None,
    };
    let env = StreamExecutionEnvironment::new();
    env.add_source("Once", move |_| Ok(source.clone()))
        .key_by(|n: &u64| *n)
        .process(ProcessingTimeReporter)
        .add_sink(
            "Timestamps",
            TimestampSink {
                done,
                seen: Arc::clone(&seen),
            },
        );
    env.execute("processing-time timer output").unwrap();
    // As Flink's KeyedProcessOperator: the collector erases the timestamp for processing-time
    // timers, while the timer context still reports the timer's time.
    assert_eq!(
        *seen.lock().unwrap(),
        vec![("context shows the timer: true".to_owned(), None)]
    );
}
