use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use flinkrs_api::StreamExecutionEnvironment;
use flinkrs_core::{Batch, Configuration};
use flinkrs_dataflow::{SourceContext, SourceFunction, SourceStatus, TaskInfo};

use super::*;

fn context(subtask: usize, parallelism: usize, batch_rows: usize) -> SourceContext {
    SourceContext {
        info: TaskInfo {
            job_name: "test".into(),
            task_name: "Source: datagen".into(),
            operator_name: "Source: datagen".into(),
            operator_id: "datagen".into(),
            subtask_index: subtask,
            parallelism,
            max_parallelism: 128,
            config: Arc::new(Configuration::new()),
            job_id: flinkrs_core::JobId(0),
            attempt_number: 0,
        },
        batch_rows,
    }
}

/// Polls a source until it finishes, returning every value.
fn drain<T: Send, S: SourceFunction<Batch<T>>>(mut source: S, context: &SourceContext) -> Vec<T> {
    source.open(context).unwrap();
    let mut batch: Batch<T> = Vec::with_capacity(context.batch_rows);
    let mut values = Vec::new();
    loop {
        let status = source.poll_batch(&mut batch, context).unwrap();
        values.extend(batch.drain(..).map(|record| record.value));
        if status == SourceStatus::Finished {
            return values;
        }
    }
}

fn run_sequence(start: u64, end: u64, parallelism: usize) -> Vec<u64> {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism).unwrap();
    let source = DataGenSource::sequence(start, end);
    let stream = env.add_source("sequence", move |_| Ok(source.clone()));
    let mut values = stream.execute_and_collect("datagen sequence").unwrap();
    values.sort_unstable();
    values
}

#[test]
fn bounded_sequence_at_parallelism_one_emits_the_range_once() {
    assert_eq!(
        run_sequence(10, 5_000, 1),
        (10..=5_000).collect::<Vec<u64>>()
    );
}

#[test]
fn bounded_sequence_at_parallelism_three_emits_the_range_once() {
    assert_eq!(
        run_sequence(0, 10_000, 3),
        (0..=10_000).collect::<Vec<u64>>()
    );
}

#[test]
fn subtasks_share_a_sequence_without_overlap() {
    let source = DataGenSource::sequence(1, 10);
    let shares: Vec<Vec<u64>> = (0..3)
        .map(|subtask| drain(source.clone(), &context(subtask, 3, 2)))
        .collect();
    assert_eq!(
        shares,
        vec![vec![1, 4, 7, 10], vec![2, 5, 8], vec![3, 6, 9]]
    );
}

#[test]
fn an_empty_or_maximal_sequence_ends() {
    assert_eq!(
        drain(DataGenSource::sequence(5, 4), &context(0, 1, 8)),
        Vec::<u64>::new()
    );
    let top = DataGenSource::sequence(u64::MAX - 2, u64::MAX);
    assert_eq!(drain(top, &context(0, 2, 8)), vec![u64::MAX - 2, u64::MAX]);
    let last: Vec<Vec<u64>> = (0..3)
        .map(|subtask| {
            drain(
                DataGenSource::sequence(u64::MAX, u64::MAX),
                &context(subtask, 3, 8),
            )
        })
        .collect();
    assert_eq!(last, vec![vec![u64::MAX], vec![], vec![]]);
}

#[test]
fn random_generator_is_deterministic_per_seed_and_subtask() {
    let generate = |seed: u64, subtask: usize| {
        let source =
            DataGenSource::new(100, |index, rng| (index, rng.random_range(0..1_000_000u32)))
                .with_seed(seed);
        drain(source, &context(subtask, 2, 16))
    };
    let first = generate(7, 0);
    assert_eq!(first.len(), 50);
    assert_eq!(
        first.iter().map(|(index, _)| *index).collect::<Vec<_>>(),
        (0..100).step_by(2).collect::<Vec<_>>()
    );
    assert_eq!(
        first,
        generate(7, 0),
        "the same seed and subtask give the same rows"
    );
    assert_ne!(first, generate(8, 0), "another seed gives other values");
    let other_subtask: Vec<u32> = generate(7, 1).into_iter().map(|(_, value)| value).collect();
    let first_values: Vec<u32> = first.into_iter().map(|(_, value)| value).collect();
    assert_ne!(
        first_values, other_subtask,
        "subtasks have their own generators"
    );
}

#[test]
fn rate_limited_source_waits_when_ahead_instead_of_sleeping() {
    let mut source = DataGenSource::sequence(0, 1_000).with_rows_per_second(1);
    let context = context(0, 1, 1024);
    source.open(&context).unwrap();
    let mut batch = Vec::with_capacity(1024);
    let started = Instant::now();
    let status = source.poll_batch(&mut batch, &context).unwrap();
    // The first row is due after 1 s: a poll that slept until then would take that long.
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "the poll must not sleep"
    );
    assert!(batch.is_empty());
    match status {
        SourceStatus::Wait(wait) => assert!(
            wait > Duration::from_millis(500) && wait <= Duration::from_secs(1),
            "{wait:?}"
        ),
        other => panic!("expected Wait, got {other:?}"),
    }
}

#[test]
fn rate_limited_job_takes_at_least_the_rows_due_time() {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2).unwrap();
    let source = DataGenSource::sequence(1, 30).with_rows_per_second(100);
    let stream = env.add_source("limited", move |_| Ok(source.clone()));
    let started = Instant::now();
    let mut values = stream.execute_and_collect("rate limited").unwrap();
    let elapsed = started.elapsed();
    values.sort_unstable();
    assert_eq!(values, (1..=30).collect::<Vec<u64>>());
    // 15 rows per subtask at 50 rows per second: the last is due after 300 ms.
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
}

fn options(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect()
}

#[test]
fn options_build_a_bounded_row_source() {
    let parsed = DataGenOptions::from_options(&options(&[
        ("connector", "datagen"),
        ("rows-per-second", "0"),
        ("number-of-rows", "100"),
        ("fields.id.kind", "sequence"),
        ("fields.id.start", "1"),
        ("fields.id.end", "5"),
        ("fields.name.length", "4"),
        ("fields.price.min", "1.5"),
        ("fields.price.max", "2.5"),
        ("fields.qty.min", "1"),
        ("fields.qty.max", "3"),
    ]))
    .unwrap();
    assert_eq!(parsed.rows_per_second, 0);
    assert_eq!(
        parsed.number_of_rows,
        Some(5),
        "the sequence bounds the rows"
    );
    assert_eq!(
        parsed.generator.fields(),
        &[
            (
                "id".to_owned(),
                FieldGenerator::Sequence { start: 1, end: 5 }
            ),
            (
                "name".to_owned(),
                FieldGenerator::RandomString { length: 4 }
            ),
            (
                "price".to_owned(),
                FieldGenerator::RandomDouble { min: 1.5, max: 2.5 }
            ),
            (
                "qty".to_owned(),
                FieldGenerator::RandomInt { min: 1, max: 3 }
            ),
        ]
    );
    let rows = drain(
        DataGenSource::from_parsed_options(parsed),
        &context(0, 1, 2),
    );
    assert_eq!(rows.len(), 5);
    for (index, row) in rows.iter().enumerate() {
        let [
            FieldValue::Long(id),
            FieldValue::String(name),
            FieldValue::Double(price),
            FieldValue::Long(qty),
        ] = row.fields.as_slice()
        else {
            panic!("unexpected row {row:?}");
        };
        assert_eq!(*id, index as i64 + 1);
        assert_eq!(name.len(), 4);
        assert!(name.chars().all(|c| c.is_ascii_hexdigit()), "{name}");
        assert!((1.5..=2.5).contains(price), "{price}");
        assert!((1..=3).contains(qty), "{qty}");
    }
    let full = FieldGenerator::Sequence {
        start: i64::MIN,
        end: i64::MAX,
    };
    assert_eq!(full.sequence_length(), Some(u64::MAX));
    assert_eq!(
        FieldGenerator::Sequence { start: 3, end: 2 }.sequence_length(),
        Some(0)
    );
    let printed = Row {
        fields: vec![FieldValue::Long(1), FieldValue::String("ab".into())],
    };
    assert_eq!(printed.to_string(), "+I[1, ab]");
}

#[test]
fn options_parser_rejects_an_unknown_option_naming_it() {
    let error =
        DataGenSource::from_options(&options(&[("row-per-second", "5"), ("fields.a.min", "1")]))
            .unwrap_err();
    assert_eq!(
        error.to_string(),
        "configuration key 'row-per-second': unknown datagen option; known options are: connector, \
         rows-per-second, number-of-rows, fields.<name>.kind, fields.<name>.start, \
         fields.<name>.end, fields.<name>.min, fields.<name>.max, fields.<name>.length"
    );
    let error = DataGenOptions::from_options(&options(&[("fields.a.lenght", "5")])).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("configuration key 'fields.a.lenght': unknown datagen option")
    );
}

#[test]
fn options_parser_rejects_malformed_values_naming_the_option() {
    let message = |pairs: &[(&str, &str)]| {
        DataGenOptions::from_options(&options(pairs))
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        message(&[("rows-per-second", "fast"), ("fields.a.kind", "random")]),
        "configuration key 'rows-per-second': 'fast' is not a non-negative whole number"
    );
    assert_eq!(
        message(&[
            ("fields.id.kind", "sequence"),
            ("fields.id.start", "one"),
            ("fields.id.end", "9")
        ]),
        "configuration key 'fields.id.start': 'one' is not a whole number"
    );
    assert_eq!(
        message(&[("fields.id.kind", "sequence"), ("fields.id.start", "1")]),
        "configuration key 'fields.id.end': a sequence field needs both 'fields.id.start' and \
         'fields.id.end'"
    );
    assert_eq!(
        message(&[("fields.id.kind", "counter")]),
        "configuration key 'fields.id.kind': 'counter' is not a generator kind; use 'sequence' or \
         'random'"
    );
    assert_eq!(
        message(&[("fields.n.min", "9"), ("fields.n.max", "1")]),
        "configuration key 'fields.n': the minimum 9 is greater than the maximum 1"
    );
    assert_eq!(
        message(&[("fields.s.length", "3"), ("fields.s.start", "1")]),
        "configuration key 'fields.s.start': does not apply to a random field"
    );
    assert_eq!(
        message(&[("number-of-rows", "10")]),
        "configuration key 'fields': the datagen source needs at least one field, e.g. \
         'fields.id.kind' = 'sequence'"
    );
}

#[test]
fn snapshot_and_restore_resume_at_the_next_row() {
    let context = context(0, 1, 3);
    let mut source = DataGenSource::sequence(1, 7);
    source.open(&context).unwrap();
    let mut batch = Vec::new();
    source.poll_batch(&mut batch, &context).unwrap();
    let state = source.snapshot_state().unwrap();
    let mut restored = DataGenSource::sequence(1, 7);
    restored.restore_state(state).unwrap();
    assert_eq!(drain(restored, &context), vec![4, 5, 6, 7]);
    let error = DataGenSource::sequence(1, 7)
        .restore_state(vec![vec![1, 2]])
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "state: datagen source: a checkpointed split has 2 bytes; expected 24 (split index, \
         split count, next row), so the checkpoint was not written by this source"
    );
}

/// Rows and random values of `source` at `subtask` of `parallelism`, after a restore from
/// `splits` (or fresh), each row with the value its generator drew.
fn rows_with_draws(
    splits: Option<Vec<Vec<u8>>>,
    subtask: usize,
    parallelism: usize,
) -> Vec<(u64, u32)> {
    let context = context(subtask, parallelism, 4);
    let mut source = DataGenSource::new(40, |index, rng: &mut RowRng| {
        (index, rng.random_range(0..1_000_000u32))
    })
    .with_seed(9);
    if let Some(splits) = splits {
        source.restore_state(splits).unwrap();
    }
    drain(source, &context)
}

#[test]
fn splits_of_three_subtasks_restore_at_one_and_five_with_the_same_rows_and_draws() {
    let fresh: Vec<(u64, u32)> = {
        let mut all = rows_with_draws(None, 0, 1);
        all.sort_unstable();
        all
    };
    assert_eq!(fresh.len(), 40);
    // Three subtasks each emit one batch of 4 rows, then checkpoint.
    let mut emitted = Vec::new();
    let mut splits = Vec::new();
    for subtask in 0..3 {
        let context = context(subtask, 3, 4);
        let mut source = DataGenSource::new(40, |index, rng: &mut RowRng| {
            (index, rng.random_range(0..1_000_000u32))
        })
        .with_seed(9);
        source.open(&context).unwrap();
        let mut batch = Vec::new();
        source.poll_batch(&mut batch, &context).unwrap();
        emitted.extend(batch.into_iter().map(|record| record.value));
        splits.extend(source.snapshot_state().unwrap());
    }
    for parallelism in [1, 5] {
        let mut all = emitted.clone();
        // Deal the three splits out as the restore does: contiguous runs.
        for subtask in 0..parallelism {
            let (base, longer) = (splits.len() / parallelism, splits.len() % parallelism);
            let start = subtask * base + subtask.min(longer);
            let len = base + usize::from(subtask < longer);
            let share = splits[start..start + len].to_vec();
            all.extend(rows_with_draws(Some(share), subtask, parallelism));
        }
        all.sort_unstable();
        assert_eq!(all, fresh, "restored at parallelism {parallelism}");
    }
}

#[test]
fn unbounded_source_fills_each_batch_in_place_and_never_finishes() {
    let context = context(1, 2, 256);
    let mut source = DataGenSource::unbounded(|index, _| index * 10);
    source.open(&context).unwrap();
    let mut batch = Vec::with_capacity(context.batch_rows);
    for round in 0..4u64 {
        assert_eq!(
            source.poll_batch(&mut batch, &context).unwrap(),
            SourceStatus::MoreAvailable
        );
        assert_eq!(batch.len(), 256);
        assert_eq!(
            batch.capacity(),
            256,
            "the caller's batch is filled without growing"
        );
        // Subtask 1 of 2 numbers rows 1, 3, 5, …
        assert_eq!(batch[0].value, (round * 512 + 1) * 10);
        assert_eq!(batch[255].value, (round * 512 + 511) * 10);
        batch.clear();
    }
}
