//! [`AggregateSnapshotProbe`]: an Arrow window aggregate driven directly, for the benchmark of
//! snapshot phases.

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use arrow_array::{ArrayRef, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use flinkrs_core::{CheckpointId, Configuration, Error, Result};
use flinkrs_dataflow::batch::ArrowBatch;
use flinkrs_dataflow::chain::Collect;
use flinkrs_dataflow::{Operator, Output, TaskInfo};
use flinkrs_state::KeyedStateSnapshot;

use super::{Aggregate, AggregatePlan, ArrowWindow, GroupAggregateOperator};

/// A 10 s tumbling-window `COUNT(*)` grouped by a `BIGINT` key, at parallelism 1, whose rows
/// all fall into the first window: its group table grows by one group per key, and no window
/// fires. Snapshotted as a checkpoint barrier snapshots it.
#[doc(hidden)]
pub struct AggregateSnapshotProbe {
    operator: GroupAggregateOperator,
    output: Output<ArrowBatch>,
    schema: SchemaRef,
    checkpoint: u64,
}

impl AggregateSnapshotProbe {
    pub fn new(max_parallelism: usize) -> Result<Self> {
        let schema: SchemaRef = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int64, false),
            Field::new("ts", DataType::Int64, false),
        ]));
        let window = ArrowWindow::tumbling(Duration::from_secs(10));
        let plan = AggregatePlan::new(&schema, 0, Some((window, Some(1))), &[Aggregate::count()])?;
        let info = TaskInfo {
            job_name: "probe".into(),
            task_name: "aggregate".into(),
            operator_name: "aggregate".into(),
            operator_id: "aggregate".into(),
            subtask_index: 0,
            parallelism: 1,
            max_parallelism,
            config: Arc::new(Configuration::new()),
            job_id: flinkrs_core::JobId(0),
            attempt_number: 0,
        };
        Ok(AggregateSnapshotProbe {
            operator: GroupAggregateOperator::new(Arc::new(plan), &info),
            output: Output::new(Box::new(Collect::<ArrowBatch>::default()), Vec::new()),
            schema,
            checkpoint: 0,
        })
    }

    /// Counts one row of each key in `keys`, as one batch.
    pub fn add(&mut self, keys: Range<i64>) -> Result<()> {
        let rows = keys.end.saturating_sub(keys.start).max(0) as usize;
        let k: ArrayRef = Arc::new(Int64Array::from_iter_values(keys));
        let ts: ArrayRef = Arc::new(Int64Array::from_iter_values(std::iter::repeat_n(0, rows)));
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), vec![k, ts])
            .map_err(|e| Error::function(e.to_string()))?;
        let mut batch = ArrowBatch::with_rowtime_index(batch, 1)?;
        self.operator.process_batch(&mut batch, &mut self.output)
    }

    /// The operator's keyed snapshot at a barrier: the synchronous phase; materialize it for
    /// the asynchronous one.
    pub fn snapshot(&mut self) -> Result<KeyedStateSnapshot> {
        self.checkpoint += 1;
        self.operator
            .snapshot_state(CheckpointId(self.checkpoint))?
            .keyed
            .ok_or_else(|| Error::state("the aggregate operator snapshotted no keyed state"))
    }
}
