//! What an operator driven by a unit test emitted, as the tests compare it: one line per row,
//! `+I[a, 1]`, with the row kind from the last column of an updating output.

use arrow_array::cast::AsArray;
use arrow_array::types::Int8Type;
use flinkrs_dataflow::Output;
use flinkrs_dataflow::batch::ArrowBatch;
use flinkrs_dataflow::chain::Collect;

use crate::render::{RowKind, render_value};

/// Flushes `output` and renders each row `sink` collected; a null value is `null`.
pub(crate) fn emitted(
    output: &mut Output<ArrowBatch>,
    sink: &Collect<ArrowBatch>,
    updating: bool,
    null: &str,
) -> Vec<String> {
    output.flush().unwrap();
    let mut changes = Vec::new();
    for batch in sink.take_batches() {
        let batch = batch.record_batch();
        let width = batch.num_columns() - usize::from(updating);
        for row in 0..batch.num_rows() {
            let kind = if updating {
                RowKind::from_code(batch.column(width).as_primitive::<Int8Type>().value(row))
            } else {
                RowKind::Insert
            };
            let values: Vec<String> = batch.columns()[..width]
                .iter()
                .map(|column| render_value(column, row).unwrap_or_else(|| null.to_owned()))
                .collect();
            changes.push(format!("{}[{}]", kind.short_string(), values.join(", ")));
        }
    }
    changes
}
