//! Keyed streams: rolling aggregations, keyed state, timers, and key-group placement.

use std::collections::BTreeMap;

use flinkrs_api::prelude::*;
use flinkrs_core::key_group::KeyGroupRange;
use flinkrs_core::key_hash::assign_to_key_group;
use flinkrs_state::{ListState, MapState, ValueState};

fn sorted<T: Ord>(mut values: Vec<T>) -> Vec<T> {
    values.sort();
    values
}

fn pairs() -> Vec<(String, i64)> {
    [("a", 5), ("b", 1), ("a", -2), ("b", 7), ("a", 4)]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), *v))
        .collect()
}

#[test]
fn rolling_aggregations_emit_every_update_in_streaming_mode() {
    let env = StreamExecutionEnvironment::new();
    let keyed = env
        .from_collection(pairs())
        .key_by(|(key, _): &(String, i64)| key.clone());
    let sums = keyed.sum(|(_, value)| value).collect();
    let mins = keyed.min(|(_, value)| value).collect();
    let maxs = keyed.max_by(|(_, value)| *value).collect();
    env.execute("aggregations").unwrap();
    let owned = |rows: &[(&str, i64)]| {
        rows.iter()
            .map(|(k, v)| ((*k).to_owned(), *v))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        sums.take(),
        owned(&[("a", 5), ("b", 1), ("a", 3), ("b", 8), ("a", 7)])
    );
    assert_eq!(
        mins.take(),
        owned(&[("a", 5), ("b", 1), ("a", -2), ("b", 1), ("a", -2)])
    );
    assert_eq!(
        maxs.take(),
        owned(&[("a", 5), ("b", 1), ("a", 5), ("b", 7), ("a", 5)])
    );
}

#[test]
fn batch_mode_emits_only_final_values() {
    let env = StreamExecutionEnvironment::new();
    env.set_runtime_mode(RuntimeMode::Batch).unwrap();
    let result = env
        .from_collection(pairs())
        .key_by(|(key, _): &(String, i64)| key.clone())
        .sum(|(_, value)| value)
        .execute_and_collect("batch sum")
        .unwrap();
    assert_eq!(
        sorted(result),
        vec![("a".to_owned(), 7), ("b".to_owned(), 8)]
    );
}

/// Counts records per key in ValueState, remembers them in ListState and MapState, and emits
/// a summary from an event-time timer at the end of the input.
#[derive(Clone, Default)]
struct CountWithTimer {
    count: Option<ValueState<u64>>,
    seen: Option<ListState<i64>>,
    by_sign: Option<MapState<bool, u32>>,
}

impl KeyedProcessFunction<String, (String, i64), String> for CountWithTimer {
    fn open(&mut self, ctx: &mut RuntimeContext<'_, String>) -> Result<()> {
        self.count = Some(ctx.value_state("count")?);
        self.seen = Some(ctx.list_state("seen")?);
        self.by_sign = Some(ctx.map_state("by-sign")?);
        Ok(())
    }

    fn process_element(
        &mut self,
        value: (String, i64),
        ctx: &mut KeyedContext<'_, String, String>,
    ) -> Result<()> {
        let (Some(count), Some(seen), Some(by_sign)) = (self.count, self.seen, self.by_sign) else {
            return Err(Error::function("state not registered"));
        };
        let state = ctx.state();
        let next = count.value(state).unwrap_or(0) + 1;
        count.update(state, next)?;
        seen.add(state, value.1)?;
        let positive = value.1 > 0;
        let current = by_sign.get(state, &positive).unwrap_or(0);
        by_sign.put(state, positive, current + 1)?;
        ctx.register_event_time_timer(1_000);
        Ok(())
    }

    fn on_timer(
        &mut self,
        timestamp: i64,
        ctx: &mut KeyedContext<'_, String, String>,
    ) -> Result<()> {
        let (Some(count), Some(seen), Some(by_sign)) = (self.count, self.seen, self.by_sign) else {
            return Err(Error::function("state not registered"));
        };
        let key = ctx.current_key().clone();
        let state = ctx.state();
        let total = count.value(state).unwrap_or(0);
        let values = seen.get(state).to_vec();
        let positives = by_sign.get(state, &true).unwrap_or(0);
        ctx.collect(format!(
            "{key}@{timestamp}: count={total} values={values:?} positive={positives}"
        ));
        Ok(())
    }
}

#[test]
fn keyed_process_function_uses_state_and_event_time_timers() {
    let env = StreamExecutionEnvironment::new();
    let result = env
        .from_collection(pairs())
        .key_by(|(key, _): &(String, i64)| key.clone())
        .process(CountWithTimer::default())
        .execute_and_collect("keyed process")
        .unwrap();
    assert_eq!(
        sorted(result),
        vec![
            "a@1000: count=3 values=[5, -2, 4] positive=2".to_owned(),
            "b@1000: count=2 values=[1, 7] positive=2".to_owned(),
        ]
    );
}

/// Emits (subtask, key group, key) for every record, to check placement.
#[derive(Clone)]
struct WhereAmI {
    subtask: usize,
}

impl KeyedProcessFunction<u64, u64, (usize, usize, u64)> for WhereAmI {
    fn open(&mut self, ctx: &mut RuntimeContext<'_, u64>) -> Result<()> {
        self.subtask = ctx.task_info().subtask_index;
        Ok(())
    }

    fn process_element(
        &mut self,
        value: u64,
        ctx: &mut KeyedContext<'_, u64, (usize, usize, u64)>,
    ) -> Result<()> {
        ctx.collect((self.subtask, assign_to_key_group(&value, 128), value));
        Ok(())
    }
}

#[test]
fn keys_go_to_the_subtask_owning_their_key_group() {
    for parallelism in [1usize, 2, 3, 4, 7] {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(parallelism).unwrap();
        let result = env
            .from_collection((0..2_000u64).collect())
            .key_by(|n: &u64| *n)
            .process(WhereAmI {
                subtask: usize::MAX,
            })
            .execute_and_collect("placement")
            .unwrap();
        assert_eq!(
            result.len(),
            2_000,
            "parallelism {parallelism}: every record arrives once"
        );
        let mut subtasks_per_key: BTreeMap<u64, usize> = BTreeMap::new();
        for (subtask, key_group, key) in result {
            let range = KeyGroupRange::for_operator(128, parallelism, subtask);
            assert!(
                range.contains(key_group),
                "parallelism {parallelism}: key {key} in key group {key_group} reached subtask {subtask} owning {range:?}"
            );
            subtasks_per_key.insert(key, subtask);
        }
        let used: std::collections::BTreeSet<usize> = subtasks_per_key.values().copied().collect();
        assert_eq!(
            used.len(),
            parallelism,
            "parallelism {parallelism}: every subtask owns keys"
        );
    }
}

#[test]
fn results_are_the_same_multiset_at_any_parallelism() {
    let input: Vec<(String, i64)> = (0..3_000)
        .map(|n| (format!("k{}", n % 37), n % 11))
        .collect();
    let mut baseline = None;
    for parallelism in [1usize, 2, 4] {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(parallelism).unwrap();
        let result = env
            .from_collection(input.clone())
            .rebalance()
            .key_by(|(key, _): &(String, i64)| key.clone())
            .sum(|(_, value)| value)
            .execute_and_collect("sum")
            .unwrap();
        let result = sorted(result);
        match &baseline {
            None => baseline = Some(result),
            Some(expected) => assert_eq!(&result, expected, "parallelism {parallelism}"),
        }
    }
}
