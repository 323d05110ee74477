//! Batch mode is applied by the runtime, not by each operator: unbounded sources are rejected,
//! timers fire once at the end of input, and final results reach downstream event-time
//! operators before the final watermark. Also: records emitted from timer and watermark hooks
//! count in numRecordsOut.

use std::time::Duration;

use flinkrs_api::prelude::*;

fn environment(mode: RuntimeMode) -> StreamExecutionEnvironment {
    let env = StreamExecutionEnvironment::new();
    env.set_runtime_mode(mode).unwrap();
    env.set_parallelism(1).unwrap();
    env
}

/// Never ends, and says nothing about its boundedness.
struct Forever;

impl SourceFunction<Batch<u64>> for Forever {
    fn poll_batch(&mut self, _: &mut Batch<u64>, _: &SourceContext) -> Result<SourceStatus> {
        Ok(SourceStatus::Wait(Duration::from_millis(10)))
    }
}

#[test]
fn an_unbounded_source_is_rejected_in_batch_mode() {
    let env = environment(RuntimeMode::Batch);
    env.add_source("forever", |_| Ok(Forever)).discard();
    let error = env.execute("unbounded in batch").unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid job: 'Source: forever' is an unbounded source, but execution.runtime-mode is \
         batch; bound the source (for example a row count) or run with \
         execution.runtime-mode=streaming"
    );
}

#[test]
fn batch_reduce_results_reach_a_downstream_event_time_window() {
    let env = environment(RuntimeMode::Batch);
    let totals = env
        .from_collection(vec![
            ("a".to_owned(), 1u64),
            ("b".to_owned(), 5),
            ("a".to_owned(), 2),
        ])
        .key_by(|(word, _): &(String, u64)| word.clone())
        .reduce(|(word, x), (_, y)| (word, x + y))
        .key_by(|(word, _): &(String, u64)| word.clone())
        .window(TumblingEventTimeWindows::of(Duration::from_secs(10)))
        .reduce(|(word, x), (_, y)| (word, x + y));
    let mut result = totals
        .execute_and_collect("batch reduce into window")
        .unwrap();
    result.sort();
    assert_eq!(result, vec![("a".to_owned(), 3), ("b".to_owned(), 5)]);
}

/// Registers an event-time timer far ahead and a processing-time timer an hour ahead for each
/// key, and emits from both.
#[derive(Clone)]
struct TimersAhead;

/// The year 3000, in milliseconds since the epoch.
const FAR_AHEAD: i64 = 32_503_680_000_000;

impl KeyedProcessFunction<String, String, String> for TimersAhead {
    fn process_element(
        &mut self,
        _: String,
        ctx: &mut KeyedContext<'_, String, String>,
    ) -> Result<()> {
        ctx.register_event_time_timer(1_000_000);
        // A fixed time far ahead: a key's records processed in different milliseconds would
        // otherwise register two timers, which fire twice (as in Flink).
        ctx.register_processing_time_timer(FAR_AHEAD);
        Ok(())
    }

    fn on_timer(
        &mut self,
        timestamp: i64,
        ctx: &mut KeyedContext<'_, String, String>,
    ) -> Result<()> {
        let kind = if timestamp == 1_000_000 {
            "event"
        } else {
            "processing"
        };
        let key = ctx.current_key().clone();
        ctx.collect(format!("{key}:{kind}"));
        Ok(())
    }
}

#[test]
fn batch_mode_fires_every_timer_once_at_the_end_of_input() {
    let env = environment(RuntimeMode::Batch);
    let fired = env
        .from_collection(vec!["x".to_owned(), "y".to_owned(), "x".to_owned()])
        .key_by(|word: &String| word.clone())
        .process(TimersAhead);
    let mut result = fired.execute_and_collect("timers in batch").unwrap();
    result.sort();
    assert_eq!(
        result,
        vec!["x:event", "x:processing", "y:event", "y:processing"]
    );
}

#[test]
fn records_emitted_from_timers_count_as_records_out() {
    let env = environment(RuntimeMode::Streaming);
    env.from_collection(vec!["x".to_owned(), "y".to_owned()])
        .assign_timestamps_and_watermarks(
            WatermarkStrategy::for_monotonous_timestamps().with_timestamp_assigner(|_, _| 0),
        )
        .key_by(|word: &String| word.clone())
        .process(EventTimerOnly)
        .name("timers")
        .discard();
    let result = env.execute("records out").unwrap();
    let timers = result
        .nodes
        .iter()
        .find(|node| node.name == "timers")
        .unwrap();
    // Both records come out of the event-time timer, fired by the final watermark.
    assert_eq!((timers.records_in, timers.records_out), (2, 2));
}

#[derive(Clone)]
struct EventTimerOnly;

impl KeyedProcessFunction<String, String, String> for EventTimerOnly {
    fn process_element(
        &mut self,
        _: String,
        ctx: &mut KeyedContext<'_, String, String>,
    ) -> Result<()> {
        ctx.register_event_time_timer(100);
        Ok(())
    }

    fn on_timer(&mut self, _: i64, ctx: &mut KeyedContext<'_, String, String>) -> Result<()> {
        let key = ctx.current_key().clone();
        ctx.collect(key);
        Ok(())
    }
}
