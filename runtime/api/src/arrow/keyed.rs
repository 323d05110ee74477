//! [`ArrowKeyedStream`]: an Arrow stream partitioned by a key column, and its aggregations
//! and keyed process operators.

use std::sync::Arc;

use arrow_schema::SchemaRef;
use flinkrs_core::Result;
use flinkrs_dataflow::batch::{ArrowBatch, ArrowKeyHash};
use flinkrs_dataflow::partition::SharedKeyHash;
use flinkrs_dataflow::{Operator, PartitionerSpec, TaskInfo};

use super::aggregate::{AggregatePlan, GroupAggregateOperator};
use super::{Aggregate, ArrowStream, ArrowWindow};

/// An Arrow stream partitioned by a key column: every row of a key reaches the same subtask,
/// chosen by the stable key hash of the column's value and its key group.
#[derive(Clone, Debug)]
pub struct ArrowKeyedStream {
    stream: ArrowStream,
    key: usize,
}

/// What a keyed Arrow operator knows of its keys when it is built.
#[derive(Clone, Debug)]
pub struct KeyContext {
    /// The subtask the operator runs in.
    pub info: TaskInfo,
    /// The index of the key column in the input batches.
    pub key_column: usize,
    /// The input's schema.
    pub schema: SchemaRef,
    /// The input's rowtime column, if any.
    pub rowtime: Option<usize>,
}

impl ArrowKeyedStream {
    pub(crate) fn new(stream: &ArrowStream, column: &str) -> Result<Self> {
        let key = stream.column_index(column, "key_by")?;
        let hash = ArrowKeyHash::at_index(stream.schema(), key)?;
        let shared: SharedKeyHash<ArrowBatch> = Arc::new(hash);
        let mut partitioned = stream.clone();
        for input in &mut partitioned.inputs {
            input.partitioner = PartitionerSpec::hash_batches(shared.clone());
        }
        Ok(ArrowKeyedStream {
            stream: partitioned,
            key,
        })
    }

    /// The index of the key column.
    pub fn key_column(&self) -> usize {
        self.key
    }

    /// Aggregates per key, as SQL's `GROUP BY`: the output has the key column, then one
    /// column per aggregate. In streaming mode each batch emits the new values of the keys
    /// it changed (an upsert stream: the latest row of a key is its current result); in batch
    /// mode each key is emitted once, at the end of input.
    pub fn aggregate(&self, aggregates: &[Aggregate]) -> Result<ArrowStream> {
        let plan = AggregatePlan::new(self.stream.schema(), self.key, None, aggregates)?;
        Ok(self.aggregate_with(plan, "ArrowGroupAggregate", "GroupAggregate"))
    }

    /// Windows of event time per key; see [`ArrowWindowedStream::aggregate`].
    pub fn window(&self, window: ArrowWindow) -> ArrowWindowedStream {
        ArrowWindowedStream {
            keyed: self.clone(),
            window,
        }
    }

    /// Applies a keyed operator built by `build` for each subtask. Its input batches hold
    /// only rows of the subtask's key groups; its output batches have `schema`, with the
    /// rowtime column at `rowtime`. Keyed state is the operator's own: it snapshots by key
    /// group in [`Operator::snapshot_state`] and restores its key groups in
    /// [`Operator::initialize_state`].
    pub fn process<Op, F>(
        &self,
        name: &str,
        schema: SchemaRef,
        rowtime: Option<usize>,
        build: F,
    ) -> ArrowStream
    where
        Op: Operator<ArrowBatch, ArrowBatch> + 'static,
        F: Fn(&KeyContext) -> Result<Op> + Send + Sync + 'static,
    {
        let key_column = self.key;
        let input_schema = Arc::clone(self.stream.schema());
        let input_rowtime = self.stream.rowtime();
        self.stream
            .add_arrow_operator("ArrowKeyedProcess", name, schema, rowtime, move |info| {
                build(&KeyContext {
                    info: info.clone(),
                    key_column,
                    schema: Arc::clone(&input_schema),
                    rowtime: input_rowtime,
                })
            })
    }

    fn aggregate_with(
        &self,
        plan: AggregatePlan,
        transformation: &'static str,
        name: &str,
    ) -> ArrowStream {
        let plan = Arc::new(plan);
        let schema = Arc::clone(&plan.output);
        let rowtime = plan.output_rowtime;
        self.stream
            .add_arrow_operator(transformation, name, schema, rowtime, move |info| {
                Ok(GroupAggregateOperator::new(Arc::clone(&plan), info))
            })
    }
}

/// A keyed Arrow stream cut into event-time windows.
#[derive(Clone, Debug)]
pub struct ArrowWindowedStream {
    keyed: ArrowKeyedStream,
    window: ArrowWindow,
}

impl ArrowWindowedStream {
    /// Aggregates each key's rows per window, as SQL's `GROUP BY k, TUMBLE(...)`. A window
    /// emits once, when the watermark passes its end; rows of a window that has fired are
    /// dropped, as in Flink without allowed lateness. The output has the key column,
    /// `window_start`, `window_end` and `window_time` (`window_end - 1`, the rowtime of the
    /// output, so downstream event-time operators can window it again), then one column per
    /// aggregate.
    pub fn aggregate(&self, aggregates: &[Aggregate]) -> Result<ArrowStream> {
        let stream = &self.keyed.stream;
        let plan = AggregatePlan::new(
            stream.schema(),
            self.keyed.key,
            Some((self.window, stream.rowtime())),
            aggregates,
        )?;
        Ok(self
            .keyed
            .aggregate_with(plan, "ArrowWindowAggregate", "WindowAggregate"))
    }

    /// The number of rows per key and window: [`aggregate`](Self::aggregate) with
    /// [`Aggregate::count`].
    pub fn count(&self) -> Result<ArrowStream> {
        self.aggregate(&[Aggregate::count()])
    }
}
