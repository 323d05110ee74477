//! [`Calc`]: a filter and a projection evaluated with DataFusion's `PhysicalExpr`s over a
//! whole batch, as Flink's `Calc` operator. An updating stream's row kind column is carried
//! through.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_schema::SchemaRef;
use datafusion_common::arrow::compute::{cast, filter_record_batch};
use datafusion_physical_expr::PhysicalExpr;
use flinkrs_core::{Error, Result};

/// A filter, then a projection, on each batch.
#[derive(Clone, Debug)]
pub(crate) struct Calc {
    /// For error messages: what the calc computes.
    pub name: String,
    pub filter: Option<Arc<dyn PhysicalExpr>>,
    /// `None` keeps every column.
    pub projection: Option<Vec<Arc<dyn PhysicalExpr>>>,
    pub output: SchemaRef,
    /// The input's row kind column, appended to a projection's output.
    pub row_kind: Option<usize>,
}

impl Calc {
    fn error(&self, error: impl std::fmt::Display) -> Error {
        Error::function(format!("{}: {error}", self.name))
    }

    pub(crate) fn apply(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let filtered;
        let batch = match &self.filter {
            Some(predicate) => {
                let mask = predicate
                    .evaluate(batch)
                    .and_then(|value| value.into_array(batch.num_rows()))
                    .map_err(|e| self.error(e))?;
                let mask = mask
                    .as_boolean_opt()
                    .ok_or_else(|| self.error("the condition is not a BOOLEAN"))?;
                filtered = filter_record_batch(batch, mask).map_err(|e| self.error(e))?;
                &filtered
            }
            None => batch,
        };
        let mut columns: Vec<ArrayRef> = match &self.projection {
            Some(expressions) => expressions
                .iter()
                .map(|expression| {
                    expression
                        .evaluate(batch)
                        .and_then(|value| value.into_array(batch.num_rows()))
                        .map_err(|e| self.error(e))
                })
                .collect::<Result<_>>()?,
            None => batch.columns().to_vec(),
        };
        if let (Some(index), Some(_)) = (self.row_kind, &self.projection) {
            columns.push(Arc::clone(batch.column(index)));
        }
        for (column, field) in columns.iter_mut().zip(self.output.fields()) {
            if column.data_type() != field.data_type() {
                *column = cast(column, field.data_type()).map_err(|e| self.error(e))?;
            }
        }
        RecordBatch::try_new_with_options(
            Arc::clone(&self.output),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
        )
        .map_err(|e| self.error(e))
    }
}
