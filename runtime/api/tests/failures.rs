//! Failures: a panicking or failing user function stops the job with an error that names the
//! operator, and the job does not hang.

use flinkrs_api::prelude::*;
use flinkrs_core::Batch;

#[test]
fn panicking_user_function_fails_the_job_naming_the_operator() {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2).unwrap();
    env.from_collection((0..10_000).collect::<Vec<i32>>())
        .rebalance()
        .map(|n| {
            if n == 4_321 {
                panic!("cannot handle {n}")
            } else {
                n
            }
        })
        .name("Fragile Map")
        .discard();
    let error = env.execute("panics").unwrap_err().to_string();
    assert!(
        error.starts_with("operator 'Fragile Map' (subtask "),
        "unexpected error: {error}"
    );
    assert!(
        error.ends_with("failed: user function panicked: cannot handle 4321"),
        "unexpected error: {error}"
    );
}

#[derive(Clone)]
struct RejectNegative;

impl ProcessFunction<i32, i32> for RejectNegative {
    fn process_element(&mut self, value: i32, ctx: &mut ProcessContext<'_, i32>) -> Result<()> {
        if value < 0 {
            return Err(Error::function(format!("negative value {value}")));
        }
        ctx.collect(value);
        Ok(())
    }
}

#[test]
fn error_returned_by_user_function_names_the_operator() {
    let env = StreamExecutionEnvironment::new();
    let error = env
        .from_collection(vec![1, 2, -3, 4])
        .process(RejectNegative)
        .name("Validate")
        .execute_and_collect("errors")
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "operator 'Validate' (subtask 1/1) failed: negative value -3"
    );
}

#[test]
fn failure_in_a_sink_stops_an_unbounded_source() {
    // An endless source: the job ends only because the failing sink cancels it.
    struct Endless;
    impl SourceFunction<Batch<u64>> for Endless {
        fn poll_batch(
            &mut self,
            batch: &mut Vec<Record<u64>>,
            context: &SourceContext,
        ) -> Result<SourceStatus> {
            batch.extend((0..context.batch_rows as u64).map(Record::new));
            Ok(SourceStatus::MoreAvailable)
        }
    }
    let env = StreamExecutionEnvironment::new();
    env.add_source("Endless", |_| Ok(Endless))
        .key_by(|n: &u64| n % 10)
        .process(FailAfter { seen: 0 })
        .name("Fails Later")
        .discard();
    let error = env.execute("cancel").unwrap_err();
    assert_eq!(
        error.to_string(),
        "operator 'Fails Later' (subtask 1/1) failed: enough"
    );
}

#[derive(Clone)]
struct FailAfter {
    seen: u64,
}

impl KeyedProcessFunction<u64, u64, u64> for FailAfter {
    fn process_element(&mut self, value: u64, ctx: &mut KeyedContext<'_, u64, u64>) -> Result<()> {
        self.seen += 1;
        if self.seen == 50_000 {
            return Err(Error::function("enough"));
        }
        ctx.collect(value);
        Ok(())
    }
}
