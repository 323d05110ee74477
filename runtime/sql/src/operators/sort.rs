//! [`SqlSortOperator`]: `ORDER BY` with `LIMIT` and `OFFSET` in batch mode, as Flink's batch
//! `Sort` and `SortLimit`: the rows are kept until the end of input, then sorted by the keys
//! (nulls the lowest values, as in Flink) and cut to `OFFSET`/`LIMIT`. Streaming mode does
//! not reach here: a sort with a limit is a Top-N there ([`super::rank`]), and the planner
//! refuses one without, as Flink refuses a sort on anything but a time attribute.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use datafusion_common::arrow::compute::{
    SortColumn, SortOptions, concat_batches, lexsort_to_indices, take_record_batch,
};
use datafusion_physical_expr::PhysicalExpr;
use flinkrs_core::{Error, Result};
use flinkrs_dataflow::batch::ArrowBatch;
use flinkrs_dataflow::{Operator, Output};

/// What the sort computes, fixed when the job is built.
#[derive(Debug)]
pub(crate) struct SortSpec {
    /// The sort keys over the input's columns, most significant first; none for a `LIMIT`
    /// alone.
    pub keys: Vec<(Arc<dyn PhysicalExpr>, SortOptions)>,
    pub offset: usize,
    pub fetch: Option<usize>,
    /// The input's columns, without the key column the planner adds: also the output's.
    pub output: SchemaRef,
}

/// Keeps its input's batches, and at the end of input emits them sorted and cut.
pub(crate) struct SqlSortOperator {
    spec: Arc<SortSpec>,
    name: String,
    kept: Vec<RecordBatch>,
}

impl SqlSortOperator {
    pub(crate) fn new(spec: Arc<SortSpec>, name: String) -> Self {
        SqlSortOperator {
            spec,
            name,
            kept: Vec::new(),
        }
    }

    fn error(&self, error: impl std::fmt::Display) -> Error {
        Error::function(format!("{}: {error}", self.name))
    }

    /// The kept rows, sorted and cut.
    fn sorted(&self) -> Result<RecordBatch> {
        let all = concat_batches(&self.spec.output, &self.kept).map_err(|e| self.error(e))?;
        let end = self
            .spec
            .fetch
            .map_or(all.num_rows(), |fetch| {
                self.spec.offset.saturating_add(fetch)
            })
            .min(all.num_rows());
        let sorted = if self.spec.keys.is_empty() {
            all
        } else {
            let columns = self
                .spec
                .keys
                .iter()
                .map(|(key, options)| {
                    let values = key
                        .evaluate(&all)
                        .and_then(|value| value.into_array(all.num_rows()))
                        .map_err(|e| self.error(e))?;
                    Ok(SortColumn {
                        values,
                        options: Some(*options),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let indices = lexsort_to_indices(&columns, Some(end)).map_err(|e| self.error(e))?;
            take_record_batch(&all, &indices).map_err(|e| self.error(e))?
        };
        let start = self.spec.offset.min(end);
        Ok(sorted.slice(start, end.min(sorted.num_rows()) - start))
    }
}

impl Operator<ArrowBatch, ArrowBatch> for SqlSortOperator {
    fn process_batch(
        &mut self,
        batch: &mut ArrowBatch,
        _out: &mut Output<ArrowBatch>,
    ) -> Result<()> {
        let batch = batch.record_batch();
        if batch.num_rows() == 0 {
            return Ok(());
        }
        // Without the planner's key column, the last.
        let columns = batch.columns()[..self.spec.output.fields().len()].to_vec();
        let kept = RecordBatch::try_new(Arc::clone(&self.spec.output), columns)
            .map_err(|e| self.error(e))?;
        self.kept.push(kept);
        Ok(())
    }

    fn end_input(&mut self, out: &mut Output<ArrowBatch>) -> Result<()> {
        let sorted = self.sorted()?;
        self.kept.clear();
        if sorted.num_rows() > 0 {
            out.push_batch(&mut ArrowBatch::new(sorted))?;
        }
        Ok(())
    }
}
