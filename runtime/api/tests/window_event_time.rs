//! Event-time windows end to end: jobs on the local cluster, with punctuated watermarks so that
//! which elements are late does not depend on how the source batches records.

use std::time::Duration;

use flinkrs_api::prelude::*;

/// `(key, event time in ms, value)`.
type Event = (String, i64, i64);

fn event(key: &str, timestamp: i64, value: i64) -> Event {
    (key.to_owned(), timestamp, value)
}

/// Emits `max_timestamp - bound - 1` after every event, like bounded out-of-orderness, but at
/// each record instead of on a timer: the watermark sequence is fixed by the input alone.
struct Punctuated {
    max_timestamp: i64,
    bound: i64,
}

impl WatermarkGenerator<Event> for Punctuated {
    fn on_event(&mut self, _value: &Event, timestamp: i64, output: &mut WatermarkOutput) {
        self.max_timestamp = self.max_timestamp.max(timestamp);
        output.emit_watermark(self.max_timestamp - self.bound - 1);
    }

    fn on_periodic_emit(&mut self, _output: &mut WatermarkOutput) {}
}

fn environment(parallelism: usize) -> StreamExecutionEnvironment {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism).unwrap();
    env
}

/// The events keyed by their key, with timestamps and punctuated watermarks trailing by
/// `bound_millis`. The watermark operator runs alone so the watermarks are the same at any
/// parallelism of the windows.
fn keyed(
    env: &StreamExecutionEnvironment,
    events: Vec<Event>,
    bound_millis: i64,
) -> KeyedStream<Event, String> {
    let strategy = WatermarkStrategy::for_generator(move || Punctuated {
        max_timestamp: i64::MIN / 2,
        bound: bound_millis,
    })
    .with_timestamp_assigner(|event: &Event, _| event.1);
    env.from_collection(events)
        .assign_timestamps_and_watermarks(strategy)
        .set_parallelism(1)
        .key_by(|event: &Event| event.0.clone())
}

fn sum(a: Event, b: Event) -> Event {
    (a.0, a.1, a.2 + b.2)
}

/// `(key, window start, window end, reduced value)`.
#[expect(
    clippy::ptr_arg,
    reason = "window functions receive the key as &K, here &String"
)]
fn with_window(key: &String, window: &TimeWindow, reduced: Event) -> (String, i64, i64, i64) {
    (key.clone(), window.start, window.end, reduced.2)
}

fn out_of_order_input() -> Vec<Event> {
    vec![
        event("a", 1_000, 1),
        event("b", 1_500, 10),
        event("a", 4_000, 2),
        event("a", 3_000, 3),
        event("b", 5_500, 20),
        event("a", 6_000, 4),
        // The watermark is 3_999 here: [0, 5000) is still open.
        event("a", 4_500, 5),
        event("b", 12_000, 30),
    ]
}

#[test]
fn tumbling_windows_sum_out_of_order_input_per_key_and_window() {
    let env = environment(1);
    let five_seconds = TumblingEventTimeWindows::of(Duration::from_secs(5));
    let sums = keyed(&env, out_of_order_input(), 2_000)
        .window(five_seconds)
        .reduce_with(sum, with_window);
    let result = sums.execute_and_collect("tumbling").unwrap();
    let expected = vec![
        ("a".to_owned(), 0, 5_000, 11),
        ("b".to_owned(), 0, 5_000, 10),
        ("a".to_owned(), 5_000, 10_000, 4),
        ("b".to_owned(), 5_000, 10_000, 20),
        ("b".to_owned(), 10_000, 15_000, 30),
    ];
    let mut sorted = result.clone();
    sorted.sort_by_key(|(key, start, _, _)| (*start, key.clone()));
    assert_eq!(sorted, expected);
    // Per key, windows fire in the order of their ends.
    let a_windows: Vec<i64> = result.iter().filter(|r| r.0 == "a").map(|r| r.1).collect();
    assert_eq!(a_windows, vec![0, 5_000]);
}

/// Records every result with the timestamp it carries.
#[derive(Clone)]
struct WithTimestamp;

impl ProcessFunction<Event, (Event, Option<i64>)> for WithTimestamp {
    fn process_element(
        &mut self,
        value: Event,
        ctx: &mut ProcessContext<'_, (Event, Option<i64>)>,
    ) -> Result<()> {
        let timestamp = ctx.timestamp();
        ctx.collect((value, timestamp));
        Ok(())
    }
}

#[test]
fn results_carry_the_window_max_timestamp() {
    let env = environment(1);
    let sums = keyed(&env, vec![event("a", 1_000, 1), event("a", 2_000, 2)], 0)
        .window(TumblingEventTimeWindows::of(Duration::from_secs(5)))
        .reduce(sum)
        .process(WithTimestamp);
    let result = sums.execute_and_collect("timestamps").unwrap();
    assert_eq!(result, vec![(event("a", 1_000, 3), Some(4_999))]);
}

/// `a@1000`, then `a@7000` moves the watermark to 4_999 (bound 2 s) and closes `[0, 5000)`;
/// `a@2000` then arrives late.
fn late_input() -> Vec<Event> {
    vec![
        event("a", 1_000, 1),
        event("a", 7_000, 2),
        event("a", 2_000, 3),
        event("a", 8_000, 4),
    ]
}

#[test]
fn late_event_goes_to_the_side_output_when_no_lateness_is_allowed() {
    let env = environment(1);
    let late = OutputTag::<Event>::new("late");
    let sums = keyed(&env, late_input(), 2_000)
        .window(TumblingEventTimeWindows::of(Duration::from_secs(5)))
        .side_output_late_data(&late)
        .reduce_with(sum, with_window);
    let late_events = sums.get_side_output(&late).collect();
    let result = sums.execute_and_collect("late to side output").unwrap();
    assert_eq!(
        result,
        vec![
            ("a".to_owned(), 0, 5_000, 1),
            ("a".to_owned(), 5_000, 10_000, 6)
        ]
    );
    assert_eq!(late_events.take(), vec![event("a", 2_000, 3)]);
}

#[test]
fn late_event_within_allowed_lateness_fires_the_window_again_with_the_update() {
    let env = environment(1);
    let late = OutputTag::<Event>::new("late");
    let sums = keyed(&env, late_input(), 2_000)
        .window(TumblingEventTimeWindows::of(Duration::from_secs(5)))
        .allowed_lateness(Duration::from_secs(2))
        .side_output_late_data(&late)
        .reduce_with(sum, with_window);
    let late_events = sums.get_side_output(&late).collect();
    let result = sums.execute_and_collect("late firing").unwrap();
    assert_eq!(
        result,
        vec![
            // On time, when the watermark reaches 4_999.
            ("a".to_owned(), 0, 5_000, 1),
            // The late element updates the window and fires it again at once.
            ("a".to_owned(), 0, 5_000, 4),
            ("a".to_owned(), 5_000, 10_000, 6),
        ]
    );
    assert_eq!(late_events.take(), vec![]);
}

/// With 2 s of lateness, `a@10000` moves the watermark to 7_999, past `[0, 5000)`'s cleanup
/// time 6_999; `a@2000` is then beyond the lateness.
fn too_late_input() -> Vec<Event> {
    vec![
        event("a", 1_000, 1),
        event("a", 7_000, 2),
        event("a", 10_000, 5),
        event("a", 2_000, 3),
    ]
}

#[test]
fn event_later_than_the_allowed_lateness_goes_to_the_side_output() {
    let env = environment(1);
    let late = OutputTag::<Event>::new("late");
    let sums = keyed(&env, too_late_input(), 2_000)
        .window(TumblingEventTimeWindows::of(Duration::from_secs(5)))
        .allowed_lateness(Duration::from_secs(2))
        .side_output_late_data(&late)
        .reduce_with(sum, with_window);
    let late_events = sums.get_side_output(&late).collect();
    let result = sums.execute_and_collect("too late").unwrap();
    let expected = vec![
        ("a".to_owned(), 0, 5_000, 1),
        ("a".to_owned(), 5_000, 10_000, 2),
        ("a".to_owned(), 10_000, 15_000, 5),
    ];
    assert_eq!(result, expected);
    assert_eq!(late_events.take(), vec![event("a", 2_000, 3)]);
}

#[test]
fn event_later_than_the_allowed_lateness_is_dropped_without_a_side_output() {
    let env = environment(1);
    let sums = keyed(&env, too_late_input(), 2_000)
        .window(TumblingEventTimeWindows::of(Duration::from_secs(5)))
        .allowed_lateness(Duration::from_secs(2))
        .reduce_with(sum, with_window);
    let result = sums.execute_and_collect("dropped").unwrap();
    let starts: Vec<(i64, i64)> = result.iter().map(|r| (r.1, r.3)).collect();
    assert_eq!(starts, vec![(0, 1), (5_000, 2), (10_000, 5)]);
}

#[test]
fn sliding_windows_put_each_element_in_size_over_slide_windows() {
    let env = environment(1);
    let sliding = SlidingEventTimeWindows::of(Duration::from_secs(10), Duration::from_secs(5));
    let sums = keyed(
        &env,
        vec![event("a", 7_300, 1), event("a", 12_000, 2)],
        2_000,
    )
    .window(sliding)
    .reduce_with(sum, with_window);
    let result = sums.execute_and_collect("sliding").unwrap();
    assert_eq!(
        result,
        vec![
            ("a".to_owned(), 0, 10_000, 1),
            ("a".to_owned(), 5_000, 15_000, 3),
            ("a".to_owned(), 10_000, 20_000, 2),
        ]
    );
}

/// `(key, window start, window end, values in the window)`.
type Listed = (String, i64, i64, Vec<i64>);

#[expect(
    clippy::ptr_arg,
    reason = "window functions receive the key as &K, here &String"
)]
fn list_elements(
    key: &String,
    context: &WindowContext<'_, TimeWindow>,
    elements: &[Event],
    out: &mut WindowCollector<'_, Listed>,
) -> Result<()> {
    let window = context.window();
    let values = elements.iter().map(|e| e.2).collect();
    out.collect((key.clone(), window.start, window.end, values));
    Ok(())
}

#[test]
fn a_bridging_element_merges_two_sessions_into_one() {
    let env = environment(1);
    let input = vec![
        event("a", 1_000, 1),
        event("a", 5_000, 2),
        event("b", 1_000, 100),
        // [3500, 6500) touches both [1000, 4000) and [5000, 8000).
        event("a", 3_500, 4),
        event("a", 20_000, 8),
    ];
    let sessions = keyed(&env, input, 10_000)
        .window(EventTimeSessionWindows::with_gap(Duration::from_secs(3)))
        .process(list_elements);
    let mut result = sessions.execute_and_collect("sessions").unwrap();
    result.sort();
    assert_eq!(
        result,
        vec![
            ("a".to_owned(), 1_000, 8_000, vec![1, 2, 4]),
            ("a".to_owned(), 20_000, 23_000, vec![8]),
            ("b".to_owned(), 1_000, 4_000, vec![100]),
        ]
    );
}

#[test]
fn sessions_that_merge_combine_their_reduced_values() {
    let env = environment(1);
    let input = vec![
        event("a", 1_000, 1),
        event("a", 5_000, 2),
        event("a", 3_500, 4),
    ];
    let sums = keyed(&env, input, 10_000)
        .window(EventTimeSessionWindows::with_gap(Duration::from_secs(3)))
        .reduce_with(sum, with_window);
    let result = sums.execute_and_collect("session sums").unwrap();
    assert_eq!(result, vec![("a".to_owned(), 1_000, 8_000, 7)]);
}

/// The mean of the values: accumulator `(sum, count)`.
#[derive(Clone)]
struct Average;

impl AggregateFunction<Event, (i64, i64), f64> for Average {
    fn create_accumulator(&self) -> (i64, i64) {
        (0, 0)
    }

    fn add(&self, accumulator: &mut (i64, i64), value: Event) {
        accumulator.0 += value.2;
        accumulator.1 += 1;
    }

    fn get_result(&self, accumulator: &(i64, i64)) -> f64 {
        accumulator.0 as f64 / accumulator.1 as f64
    }

    fn merge(&self, a: (i64, i64), b: (i64, i64)) -> (i64, i64) {
        (a.0 + b.0, a.1 + b.1)
    }
}

#[test]
fn aggregate_computes_the_average_per_window() {
    let env = environment(1);
    let input = vec![
        event("a", 1_000, 1),
        event("b", 1_000, 10),
        event("a", 2_000, 2),
        event("b", 3_000, 20),
        event("a", 3_000, 6),
        event("a", 6_000, 7),
    ];
    let averages = keyed(&env, input.clone(), 0)
        .window(TumblingEventTimeWindows::of(Duration::from_secs(5)))
        .aggregate(Average);
    let mut result = averages.execute_and_collect("average").unwrap();
    result.sort_by(f64::total_cmp);
    assert_eq!(result, vec![3.0, 7.0, 15.0]);

    let env = environment(1);
    let labelled = keyed(&env, input, 0)
        .window(TumblingEventTimeWindows::of(Duration::from_secs(5)))
        .aggregate_with(
            Average,
            |key: &String, window: &TimeWindow, average: f64| format!("{key} {window} {average}"),
        );
    let mut result = labelled.execute_and_collect("labelled average").unwrap();
    result.sort();
    assert_eq!(
        result,
        vec![
            "a TimeWindow{start=0, end=5000} 3",
            "a TimeWindow{start=5000, end=10000} 7",
            "b TimeWindow{start=0, end=5000} 15",
        ]
    );
}

#[test]
fn process_window_function_sees_every_element_and_the_window_bounds() {
    let env = environment(1);
    let listed = keyed(&env, out_of_order_input(), 2_000)
        .window(TumblingEventTimeWindows::of(Duration::from_secs(5)))
        .process(list_elements);
    let mut result = listed.execute_and_collect("process").unwrap();
    result.sort();
    assert_eq!(
        result,
        vec![
            ("a".to_owned(), 0, 5_000, vec![1, 2, 3, 5]),
            ("a".to_owned(), 5_000, 10_000, vec![4]),
            ("b".to_owned(), 0, 5_000, vec![10]),
            ("b".to_owned(), 5_000, 10_000, vec![20]),
            ("b".to_owned(), 10_000, 15_000, vec![30]),
        ]
    );
}

/// Many keys over several windows, with a few late elements (dropped the same way at any
/// parallelism, since the watermarks come from one subtask).
fn many_keys() -> Vec<Event> {
    (0..400_i64)
        .map(|n| {
            let jitter = if n % 7 == 0 { -1_500 } else { 0 };
            event(&format!("key-{}", n % 13), n * 100 + jitter, n)
        })
        .collect()
}

fn windowed_sums(env: &StreamExecutionEnvironment) -> Vec<(String, i64, i64, i64)> {
    let mut result = keyed(env, many_keys(), 500)
        .window(TumblingEventTimeWindows::of(Duration::from_secs(2)))
        .reduce_with(sum, with_window)
        .execute_and_collect("many keys")
        .unwrap();
    result.sort();
    result
}

#[test]
fn parallelism_two_gives_the_same_results_as_parallelism_one() {
    let serial = windowed_sums(&environment(1));
    let parallel = windowed_sums(&environment(2));
    assert!(serial.len() > 13 * 10, "{} results", serial.len());
    assert_eq!(parallel, serial);
}

#[test]
fn batch_mode_gives_the_final_streaming_results() {
    // In order, so nothing is late and streaming's results are final.
    let input: Vec<Event> = (0..300_i64)
        .map(|n| event(&format!("key-{}", n % 5), n * 50, n))
        .collect();
    let run = |mode: RuntimeMode| {
        let env = environment(2);
        env.set_runtime_mode(mode).unwrap();
        let mut result = keyed(&env, input.clone(), 0)
            .window(SlidingEventTimeWindows::of(
                Duration::from_secs(3),
                Duration::from_secs(1),
            ))
            .reduce_with(sum, with_window)
            .execute_and_collect("batch or streaming")
            .unwrap();
        result.sort();
        result
    };
    let streaming = run(RuntimeMode::Streaming);
    assert_eq!(streaming.len(), 5 * 17);
    assert_eq!(run(RuntimeMode::Batch), streaming);
}

#[test]
fn an_invalid_window_size_fails_the_job_with_a_clear_error() {
    let env = environment(1);
    let sums = keyed(&env, late_input(), 0)
        .window(TumblingEventTimeWindows::of(Duration::ZERO))
        .reduce(sum);
    let error = sums.execute_and_collect("zero size").unwrap_err();
    assert!(
        error.to_string().contains("size (0 ms) must be positive"),
        "{error}"
    );
}

#[test]
fn an_event_time_window_without_timestamps_fails_the_job_with_a_clear_error() {
    let env = environment(1);
    let sums = env
        .from_collection(late_input())
        .key_by(|event: &Event| event.0.clone())
        .window(TumblingEventTimeWindows::of(Duration::from_secs(1)))
        .reduce(sum);
    let error = sums.execute_and_collect("no timestamps").unwrap_err();
    assert!(error.to_string().contains("without a timestamp"), "{error}");
}

#[test]
fn batch_mode_has_no_late_elements_like_flinks_batch_execution() {
    // Batch execution has no watermarks but the final one, so the element that streaming
    // drops as late is part of its window.
    let env = environment(1);
    env.set_runtime_mode(RuntimeMode::Batch).unwrap();
    let sums = keyed(&env, late_input(), 2_000)
        .window(TumblingEventTimeWindows::of(Duration::from_secs(5)))
        .reduce_with(sum, with_window);
    let result = sums.execute_and_collect("batch late").unwrap();
    assert_eq!(
        result,
        vec![
            ("a".to_owned(), 0, 5_000, 4),
            ("a".to_owned(), 5_000, 10_000, 6)
        ]
    );
}

#[test]
fn an_element_whose_earliest_sliding_window_closed_still_counts_in_the_open_ones() {
    let env = environment(1);
    let late = OutputTag::<Event>::new("late");
    let sliding = SlidingEventTimeWindows::of(Duration::from_secs(10), Duration::from_secs(5));
    // After a@12000 the watermark is 10_999: [0, 10000) has fired and been purged, while
    // [5000, 15000) is open. a@7300 belongs to both: it is not late, only its first window is.
    let input = vec![
        event("a", 1_000, 1),
        event("a", 12_000, 2),
        event("a", 7_300, 4),
    ];
    let sums = keyed(&env, input, 1_000)
        .window(sliding)
        .side_output_late_data(&late)
        .reduce_with(sum, with_window);
    let late_events = sums.get_side_output(&late).collect();
    let result = sums.execute_and_collect("partly late").unwrap();
    assert_eq!(
        result,
        vec![
            ("a".to_owned(), -5_000, 5_000, 1),
            ("a".to_owned(), 0, 10_000, 1),
            ("a".to_owned(), 5_000, 15_000, 6),
            ("a".to_owned(), 10_000, 20_000, 2),
        ]
    );
    assert_eq!(late_events.take(), vec![]);
}
