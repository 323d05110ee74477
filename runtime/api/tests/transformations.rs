//! Stateless transformations, partitioning, union and connect, run on the local cluster.

use flinkrs_api::prelude::*;

fn sorted<T: Ord>(mut values: Vec<T>) -> Vec<T> {
    values.sort();
    values
}

#[test]
fn map_filter_flat_map_keep_order_at_parallelism_one() {
    let env = StreamExecutionEnvironment::new();
    let result = env
        .from_collection((1..=10).collect::<Vec<i64>>())
        .map(|n| n * 3)
        .filter(|n| n % 2 == 0)
        .flat_map(|n, out: &mut Collector<'_, i64>| {
            out.collect(n);
            out.collect(-n);
        })
        .execute_and_collect("stateless")
        .unwrap();
    assert_eq!(result, vec![6, -6, 12, -12, 18, -18, 24, -24, 30, -30]);
}

#[test]
fn a_flat_map_emitting_many_channel_batches_per_record_keeps_every_record_in_order() {
    let env = StreamExecutionEnvironment::new();
    // Channel batches of 4 rows: each input record fills several in the middle of a batch.
    env.set("taskmanager.network.batch.max-rows", "4").unwrap();
    let result = env
        .from_collection((0..20).collect::<Vec<i64>>())
        .flat_map(|n, out: &mut Collector<'_, i64>| {
            for i in 0..n {
                out.collect(n * 100 + i);
            }
        })
        .rebalance()
        .execute_and_collect("fan out")
        .unwrap();
    let expected: Vec<i64> = (0..20)
        .flat_map(|n| (0..n).map(move |i| n * 100 + i))
        .collect();
    assert_eq!(result, expected);
}

#[test]
fn rebalance_spreads_records_and_loses_none() {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(3).unwrap();
    let result = env
        .from_collection((0..1000u32).collect::<Vec<_>>())
        .rebalance()
        .map(|n| n + 1)
        .execute_and_collect("rebalance")
        .unwrap();
    assert_eq!(sorted(result), (1..=1000).collect::<Vec<_>>());
}

#[test]
fn broadcast_delivers_every_record_to_every_subtask() {
    let env = StreamExecutionEnvironment::new();
    let result = env
        .from_collection(vec![1u8, 2, 3])
        .broadcast()
        .map(|n| n * 10)
        .set_parallelism(4)
        .execute_and_collect("broadcast")
        .unwrap();
    assert_eq!(
        sorted(result),
        vec![10, 10, 10, 10, 20, 20, 20, 20, 30, 30, 30, 30]
    );
}

#[test]
fn union_merges_streams_of_the_same_type() {
    let env = StreamExecutionEnvironment::new();
    let first = env.from_collection(vec!["a".to_owned(), "b".to_owned()]);
    let second = env.from_collection(vec!["c".to_owned()]);
    let third = env.from_collection(vec!["d".to_owned(), "e".to_owned()]);
    let result = first
        .union(&[second, third])
        .map(|s| s.to_uppercase())
        .execute_and_collect("union")
        .unwrap();
    assert_eq!(sorted(result), vec!["A", "B", "C", "D", "E"]);
}

/// Runs `job` on its own thread and fails the test if it has not finished in time, so a job
/// that hangs fails instead of blocking the test run.
fn finishing_within<T: Send + 'static>(job: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(job());
    });
    result
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the bounded job finishes")
}

#[test]
fn a_stream_united_with_itself_delivers_every_record_twice() {
    for parallelism in [1, 2] {
        let result = finishing_within(move || {
            let env = StreamExecutionEnvironment::new();
            env.set_parallelism(parallelism).unwrap();
            let numbers = env.from_collection((1..=100_u32).collect());
            numbers
                .union(std::slice::from_ref(&numbers))
                .execute_and_collect("self union")
        })
        .unwrap();
        let expected: Vec<u32> = (1..=100).flat_map(|n| [n, n]).collect();
        assert_eq!(sorted(result), expected, "parallelism {parallelism}");
    }
}

#[test]
fn connect_co_map_sees_both_inputs() {
    let env = StreamExecutionEnvironment::new();
    let numbers = env.from_collection(vec![1i32, 2]);
    let words = env.from_collection(vec!["x".to_owned()]);
    let result = numbers
        .connect(&words)
        .map(|n| format!("number {n}"), |w| format!("word {w}"))
        .execute_and_collect("co-map")
        .unwrap();
    assert_eq!(sorted(result), vec!["number 1", "number 2", "word x"]);
}

#[derive(Clone)]
struct SplitByParity {
    odd: OutputTag<i32>,
}

impl ProcessFunction<i32, i32> for SplitByParity {
    fn process_element(&mut self, value: i32, ctx: &mut ProcessContext<'_, i32>) -> Result<()> {
        if value % 2 == 0 {
            ctx.collect(value);
        } else {
            ctx.output(&self.odd, value);
        }
        Ok(())
    }
}

#[test]
fn side_outputs_carry_records_of_their_own_stream() {
    let env = StreamExecutionEnvironment::new();
    let odd = OutputTag::<i32>::new("odd");
    let even = env
        .from_collection((1..=7).collect())
        .process(SplitByParity { odd: odd.clone() });
    let odd_values = even.get_side_output(&odd).map(|n| n * 100).collect();
    let even_values = even.collect();
    env.execute("side outputs").unwrap();
    assert_eq!(even_values.take(), vec![2, 4, 6]);
    assert_eq!(odd_values.take(), vec![100, 300, 500, 700]);
}

#[test]
fn chaining_puts_forward_operators_of_equal_parallelism_in_one_task() {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2).unwrap();
    env.from_collection(vec![1, 2, 3])
        .map(|n| n + 1)
        .name("Increment")
        .filter(|n| *n > 0)
        .key_by(|n: &i32| *n)
        .reduce(|a, b| a + b)
        .discard();
    let plan = env.job_graph("plan").unwrap();
    let names: Vec<(&str, usize)> = plan
        .vertices
        .iter()
        .map(|v| (v.name.as_str(), v.parallelism))
        .collect();
    assert_eq!(
        names,
        vec![
            ("Source: Collection Source", 1),
            ("Increment -> Filter", 2),
            ("Keyed Reduce -> Sink: Discard", 2),
        ]
    );
    let partitioners: Vec<String> = plan
        .edges
        .iter()
        .map(|e| e.partitioner.to_string())
        .collect();
    assert_eq!(partitioners, vec!["REBALANCE", "HASH"]);
}

#[test]
fn forward_between_different_parallelism_is_rejected() {
    let env = StreamExecutionEnvironment::new();
    env.from_collection(vec![1])
        .forward()
        .map(|n: i32| n)
        .set_parallelism(2)
        .discard();
    let error = env.execute("bad forward").unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid job: forward partitioning does not allow a change of parallelism: 'Source: \
         Collection Source' has parallelism 1, 'Map' has 2; use rebalance() or give both the \
         same parallelism"
    );
}
