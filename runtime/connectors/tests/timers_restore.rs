//! Timers are keyed state: a timer registered before a checkpoint fires after a restore from
//! it, at the same and at another parallelism, exactly once.

use std::collections::BTreeMap;
use std::path::Path;

use flinkrs_api::prelude::*;
use flinkrs_api::process::{KeyedContext, KeyedProcessFunction, RuntimeContext};
use flinkrs_connectors::datagen::{DataGenSource, RowRng};
use flinkrs_state::ValueState;

mod common;

const ROWS: u64 = 120_000;
const KEYS: u64 = 8;
/// After every row's timestamp: the timers fire at the end of input.
const ALARM_AT: i64 = ROWS as i64 + 1_000;

/// Counts each key's rows; the first row of a key sets an event-time timer, which reports
/// the count when it fires. A key's timer is set once in the job's life: after a restore
/// only the checkpointed timer can report.
#[derive(Clone, Default)]
struct CountThenAlarm {
    count: Option<ValueState<u64>>,
}

impl KeyedProcessFunction<u64, u64, (u64, u64)> for CountThenAlarm {
    fn open(&mut self, ctx: &mut RuntimeContext<'_, u64>) -> Result<()> {
        self.count = Some(ctx.value_state("count")?);
        Ok(())
    }

    fn process_element(
        &mut self,
        _: u64,
        ctx: &mut KeyedContext<'_, u64, (u64, u64)>,
    ) -> Result<()> {
        let Some(count) = self.count else {
            return Ok(());
        };
        let seen = count.value(ctx.state()).unwrap_or(0);
        if seen == 0 {
            ctx.register_event_time_timer(ALARM_AT);
        }
        count.update(ctx.state(), seen + 1)?;
        Ok(())
    }

    fn on_timer(&mut self, _: i64, ctx: &mut KeyedContext<'_, u64, (u64, u64)>) -> Result<()> {
        let key = *ctx.current_key();
        let seen = self
            .count
            .and_then(|count| count.value(ctx.state()))
            .unwrap_or(0);
        ctx.collect((key, seen));
        Ok(())
    }
}

fn alarm_job(
    parallelism: usize,
    checkpoints: &Path,
    restore_from: Option<&str>,
) -> (StreamExecutionEnvironment, CollectHandle<(u64, u64)>) {
    let env = common::checkpointed(parallelism, checkpoints, restore_from);
    let source =
        DataGenSource::new(ROWS, |index: u64, _: &mut RowRng| index).with_rows_per_second(60_000);
    let alarms = env
        .add_source("Numbers", move |_| Ok(source.clone()))
        .assign_timestamps_and_watermarks(
            WatermarkStrategy::for_monotonous_timestamps()
                .with_timestamp_assigner(|n: &u64, _| *n as i64),
        )
        .key_by(|n: &u64| n % KEYS)
        .process(CountThenAlarm::default())
        .uid("alarms")
        .collect();
    (env, alarms)
}

#[test]
fn timers_set_before_a_checkpoint_fire_after_restores_at_two_and_at_three() {
    let checkpoints = tempfile::tempdir().unwrap();
    let (first, _) = alarm_job(2, checkpoints.path(), None);
    let checkpoint = common::checkpoint_then_cancel(first.execute_async("alarms").unwrap());
    let location = checkpoint.location.to_string();

    let expected: BTreeMap<u64, u64> = (0..KEYS).map(|key| (key, ROWS / KEYS)).collect();
    for parallelism in [2, 3] {
        let (restored, collected) = alarm_job(parallelism, checkpoints.path(), Some(&location));
        restored.execute("alarms, restored").unwrap();
        let alarms = collected.take();
        assert_eq!(alarms.len() as u64, KEYS, "one alarm per key: {alarms:?}");
        let alarms: BTreeMap<u64, u64> = alarms.into_iter().collect();
        assert_eq!(alarms, expected, "restored at parallelism {parallelism}");
    }
}
