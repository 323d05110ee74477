//! (e) Arrow batches (k BIGINT, v BIGINT, ts TIMESTAMP(3)) from a generator → filter with an
//! Arrow kernel → key by column → 10 s tumbling count.

use std::sync::Arc;
use std::time::Duration;

use flinkrs_api::arrow::array::cast::AsArray;
use flinkrs_api::arrow::array::types::Int64Type;
use flinkrs_api::arrow::array::{ArrayRef, Int64Array, TimestampMillisecondArray};
use flinkrs_api::arrow::compute::cmp;
use flinkrs_api::arrow::schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use flinkrs_api::arrow::{Aggregate, ArrowWindow};
use flinkrs_api::prelude::*;
use flinkrs_connectors::datagen::{ArrowDataGen, mix64};

const KEYS: u64 = 1_000;
/// Rows whose `v` is below this pass the filter: 90 %.
const THRESHOLD: i64 = 90;

fn value_of(index: u64) -> i64 {
    (mix64(index, 7) % 100) as i64
}

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("k", DataType::Int64, false),
        Field::new("v", DataType::Int64, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Millisecond, None),
            false,
        ),
    ]))
}

/// The rows of `rows` that pass the filter, counted from the generator's formula: what the
/// window counts must add up to.
pub fn expected_count(rows: u64) -> u64 {
    (0..rows).filter(|&i| value_of(i) < THRESHOLD).count() as u64
}

/// Runs the pipeline over `rows` rows (one per millisecond of event time) and checks that the
/// window counts add up to `expected`; returns the rows read.
pub fn run(env: &StreamExecutionEnvironment, rows: u64, expected: u64) -> anyhow::Result<f64> {
    let source = ArrowDataGen::new(schema(), Some(rows), |indices| {
        let k: ArrayRef = Arc::new(Int64Array::from_iter_values(
            indices.iter().map(|i| (i % KEYS) as i64),
        ));
        let v: ArrayRef = Arc::new(Int64Array::from_iter_values(indices.iter().map(value_of)));
        let ts: ArrayRef = Arc::new(TimestampMillisecondArray::from_iter_values(
            indices.iter().map(|i| i as i64),
        ));
        Ok(vec![k, v, ts])
    });
    let totals = env
        .add_arrow_source("DataGen", schema(), Some("ts"), move |_| Ok(source.clone()))?
        .filter(|batch| {
            cmp::lt(batch.column(1), &Int64Array::new_scalar(THRESHOLD))
                .map_err(|e| Error::function(e.to_string()))
        })
        .assign_watermarks(Duration::ZERO)?
        .key_by("k")?
        .window(ArrowWindow::tumbling(Duration::from_secs(10)))
        .aggregate(&[Aggregate::count()])?
        .to_rows(|batch, totals: &mut Vec<i64>| {
            let counts = batch.column(4).as_primitive::<Int64Type>();
            totals.push(counts.values().iter().sum());
            Ok(())
        })
        .collect();
    let result = env.execute("bench: arrow window count")?;
    let counted: i64 = totals.take().iter().sum();
    anyhow::ensure!(
        counted as u64 == expected,
        "the window counts add up to {counted}, expected {expected}"
    );
    drop(result);
    Ok(rows as f64)
}
