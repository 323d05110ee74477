//! Arrow streams: [`ArrowStream`], a stream of Arrow record batches with an optional rowtime
//! column, and its keyed and windowed forms.
//!
//! This is the columnar half of the DataStream API, and the surface the SQL planner targets.
//! Operators see whole [`RecordBatch`]es and work on them with Arrow's compute kernels: a
//! filter evaluates a predicate to a boolean mask once per batch, a projection picks columns
//! without copying, and a keyed stream is partitioned by hashing its key column in one pass
//! ([`ArrowKeyHash`]), with the same stable key hash as typed streams, so a `BIGINT` key and a
//! typed `u64` or `i64` key of the same value land in the same key group.
//!
//! ```
//! use std::sync::Arc;
//! use flinkrs_api::arrow::{Aggregate, ArrowWindow, array, schema};
//! use flinkrs_api::prelude::*;
//! use array::{Array, Int64Array, RecordBatch};
//!
//! let schema = Arc::new(schema::Schema::new(vec![
//!     schema::Field::new("k", schema::DataType::Int64, false),
//!     schema::Field::new("v", schema::DataType::Int64, false),
//! ]));
//! let batch = RecordBatch::try_new(
//!     schema.clone(),
//!     vec![
//!         Arc::new(Int64Array::from(vec![1, 2, 1, 1])),
//!         Arc::new(Int64Array::from(vec![10, 20, 30, 40])),
//!     ],
//! )
//! .unwrap();
//! let env = StreamExecutionEnvironment::new();
//! let counts = env
//!     .from_record_batches(schema, None, vec![batch])
//!     .unwrap()
//!     .filter(|batch| {
//!         let v = batch.column(1).as_any().downcast_ref::<Int64Array>().unwrap();
//!         Ok(v.iter().map(|v| v.map(|v| v > 15)).collect())
//!     })
//!     .key_by("k")
//!     .unwrap()
//!     .aggregate(&[Aggregate::count(), Aggregate::sum("v")])
//!     .unwrap()
//!     .to_rows(|batch, rows: &mut Vec<(i64, i64, i64)>| {
//!         let column = |i: usize| batch.column(i).as_any().downcast_ref::<Int64Array>().unwrap();
//!         for row in 0..batch.num_rows() {
//!             rows.push((column(0).value(row), column(1).value(row), column(2).value(row)));
//!         }
//!         Ok(())
//!     });
//! env.set_runtime_mode(RuntimeMode::Batch).unwrap();
//! let mut rows = counts.execute_and_collect("arrow counts").unwrap();
//! rows.sort();
//! assert_eq!(rows, vec![(1, 2, 70), (2, 1, 20)]);
//! # let _ = ArrowWindow::tumbling(std::time::Duration::from_secs(1));
//! ```

mod aggregate;
mod keyed;
mod operators;
mod source;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use arrow_array::{BooleanArray, RecordBatch};
use arrow_schema::{DataType, SchemaRef, TimeUnit};
use flinkrs_core::{Data, Error, NodeId, Result};
use flinkrs_dataflow::batch::ArrowBatch;
use flinkrs_dataflow::graph::OperatorBuilder;
use flinkrs_dataflow::{Operator, OutputSlot, PartitionerSpec, StreamNode, TaskInfo};

#[doc(hidden)]
pub use aggregate::AggregateSnapshotProbe;
pub use aggregate::{Aggregate, ArrowWindow};
pub use keyed::{ArrowKeyedStream, ArrowWindowedStream, KeyContext};
pub use source::RecordBatchSource;

/// The Arrow crates this API speaks, re-exported so programs use the same versions.
pub use arrow_array as array;
/// Arrow's comparison kernels (`cmp::gt`, `cmp::eq`, …), for filter predicates.
pub use arrow_ord as compute;
pub use arrow_schema as schema;

use crate::env::SharedGraph;
use crate::stream::{DataStream, StreamInput, add_operator_node, configure_node};

/// A predicate over a whole batch: one boolean per row; a null counts as false, as in SQL.
pub type BatchPredicate = Arc<dyn Fn(&RecordBatch) -> Result<BooleanArray> + Send + Sync>;

/// A stream of Arrow record batches of one schema, as produced by an Arrow source or an
/// Arrow operator. Its optional rowtime column holds each row's event time.
#[derive(Clone)]
pub struct ArrowStream {
    pub(crate) graph: SharedGraph,
    pub(crate) inputs: Vec<StreamInput>,
    schema: SchemaRef,
    rowtime: Option<usize>,
}

impl std::fmt::Debug for ArrowStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArrowStream")
            .field("schema", &self.schema)
            .field("rowtime", &self.rowtime_name())
            .finish_non_exhaustive()
    }
}

impl ArrowStream {
    pub(crate) fn from_node(
        graph: SharedGraph,
        node: NodeId,
        schema: SchemaRef,
        rowtime: Option<usize>,
    ) -> Self {
        ArrowStream {
            graph,
            inputs: vec![StreamInput {
                node,
                slot: OutputSlot::Main,
                partitioner: PartitionerSpec::default_for_edge(),
            }],
            schema,
            rowtime,
        }
    }

    /// The schema of every batch of this stream.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The name of the rowtime column, if the stream has one.
    pub fn rowtime_name(&self) -> Option<&str> {
        self.rowtime
            .map(|index| self.schema.field(index).name().as_str())
    }

    /// Adds an Arrow-to-Arrow operator whose batches have `schema` and `rowtime`.
    pub(crate) fn add_arrow_operator<Op, F>(
        &self,
        transformation: &'static str,
        name: &str,
        schema: SchemaRef,
        rowtime: Option<usize>,
        build: F,
    ) -> ArrowStream
    where
        Op: Operator<ArrowBatch, ArrowBatch> + 'static,
        F: Fn(&TaskInfo) -> Result<Op> + Send + Sync + 'static,
    {
        let builder: OperatorBuilder<ArrowBatch, ArrowBatch> = Arc::new(move |info| {
            let operator: Box<dyn Operator<ArrowBatch, ArrowBatch>> = Box::new(build(info)?);
            Ok(operator)
        });
        let id = add_operator_node(&self.graph, &self.inputs, transformation, name, builder);
        ArrowStream::from_node(self.graph.clone(), id, schema, rowtime)
    }

    /// Keeps the rows for which `predicate` is true. The predicate sees the whole batch and
    /// returns one boolean per row, typically from Arrow's compute kernels
    /// ([`compute::cmp`](arrow_ord::cmp)); a null counts as false.
    pub fn filter<F>(&self, predicate: F) -> ArrowStream
    where
        F: Fn(&RecordBatch) -> Result<BooleanArray> + Send + Sync + 'static,
    {
        let predicate: BatchPredicate = Arc::new(predicate);
        self.add_arrow_operator(
            "ArrowFilter",
            "Filter",
            Arc::clone(&self.schema),
            self.rowtime,
            move |_| Ok(operators::FilterOperator::new(Arc::clone(&predicate))),
        )
    }

    /// Keeps the named columns, in the given order (a zero-copy projection). The rowtime
    /// column stays the rowtime if it is kept.
    pub fn select(&self, columns: &[&str]) -> Result<ArrowStream> {
        let indices = columns
            .iter()
            .map(|name| self.column_index(name, "select"))
            .collect::<Result<Vec<_>>>()?;
        let schema = Arc::new(self.schema.project(&indices).map_err(arrow_error)?);
        let rowtime = self
            .rowtime
            .and_then(|rowtime| indices.iter().position(|&index| index == rowtime));
        Ok(self.add_arrow_operator(
            "ArrowProject",
            "Project",
            Arc::clone(&schema),
            rowtime,
            move |_| Ok(operators::ProjectOperator::new(indices.clone(), rowtime)),
        ))
    }

    /// Transforms each batch with `function` into a batch of `schema` (computed columns,
    /// casts). A batch of another schema fails the job with a message naming both schemas.
    /// The output has no rowtime column; set one with [`with_rowtime`](Self::with_rowtime).
    pub fn map_batches<F>(&self, name: &str, schema: SchemaRef, function: F) -> ArrowStream
    where
        F: Fn(&RecordBatch) -> Result<RecordBatch> + Send + Sync + 'static,
    {
        let function: operators::BatchFunction = Arc::new(function);
        let operator_name = name.to_owned();
        let output = Arc::clone(&schema);
        self.add_arrow_operator("ArrowMap", name, schema, None, move |_| {
            Ok(operators::MapBatchesOperator::new(
                operator_name.clone(),
                Arc::clone(&output),
                Arc::clone(&function),
            ))
        })
    }

    /// Makes `column` (an `Int64` or `Timestamp(Millisecond)` column without nulls, in epoch
    /// milliseconds) the rowtime column: each row's event time.
    pub fn with_rowtime(&self, column: &str) -> Result<ArrowStream> {
        let index = self.column_index(column, "with_rowtime")?;
        check_rowtime_type(&self.schema, index)?;
        Ok(self.add_arrow_operator(
            "ArrowRowtime",
            "Rowtime",
            Arc::clone(&self.schema),
            Some(index),
            move |_| Ok(operators::RowtimeOperator::new(index)),
        ))
    }

    /// Generates watermarks that trail the largest rowtime seen by `bound`, as Flink's
    /// `WatermarkStrategy.forBoundedOutOfOrderness`: `max_rowtime - bound - 1`, emitted every
    /// `pipeline.auto-watermark-interval`. Fails if the stream has no rowtime column.
    pub fn assign_watermarks(&self, bound: std::time::Duration) -> Result<ArrowStream> {
        let Some(rowtime) = self.rowtime else {
            return Err(Error::InvalidJob(
                "assign_watermarks needs a rowtime column: set one with with_rowtime(column) \
                 or on the source"
                    .into(),
            ));
        };
        Ok(self.add_arrow_operator(
            "ArrowWatermarks",
            "Watermarks",
            Arc::clone(&self.schema),
            Some(rowtime),
            move |info| Ok(operators::WatermarkOperator::new(bound, info)),
        ))
    }

    /// Merges streams of the same schema into one, as Flink's `union`. The rowtime column is
    /// kept when every stream has the same one. Streams of other schemas are an error naming
    /// both.
    pub fn union(&self, others: &[ArrowStream]) -> Result<ArrowStream> {
        let mut merged = self.clone();
        for other in others {
            if other.schema.fields() != self.schema.fields() {
                return Err(Error::InvalidJob(format!(
                    "union: a stream of schema {} cannot be merged with one of schema {}",
                    other.schema, self.schema
                )));
            }
            if other.rowtime != self.rowtime {
                merged.rowtime = None;
            }
            merged.inputs.extend(other.inputs.iter().cloned());
        }
        Ok(merged)
    }

    /// Partitions by the key column `column`: rows with the same key go to the same subtask.
    /// The column must be an integer, string or binary column.
    pub fn key_by(&self, column: &str) -> Result<ArrowKeyedStream> {
        ArrowKeyedStream::new(self, column)
    }

    /// Turns each batch into typed records with `convert`, which appends a batch's rows to
    /// the vector it is given: the bridge to the typed DataStream API and its sinks.
    pub fn to_rows<T, F>(&self, convert: F) -> DataStream<T>
    where
        T: Data,
        F: Fn(&RecordBatch, &mut Vec<T>) -> Result<()> + Send + Sync + 'static,
    {
        let convert: operators::RowConverter<T> = Arc::new(convert);
        let builder: OperatorBuilder<ArrowBatch, flinkrs_core::Batch<T>> = Arc::new(move |_info| {
            let operator: Box<dyn Operator<ArrowBatch, flinkrs_core::Batch<T>>> =
                Box::new(operators::ToRowsOperator::new(Arc::clone(&convert)));
            Ok(operator)
        });
        let id = add_operator_node(&self.graph, &self.inputs, "ArrowToRows", "To Rows", builder);
        DataStream::from_node(self.graph.clone(), id)
    }

    /// Drops every batch, as Flink's `DiscardingSink`.
    pub fn discard(&self) {
        self.add_arrow_operator(
            "Sink",
            "Sink: Discard",
            Arc::clone(&self.schema),
            self.rowtime,
            |_| Ok(operators::DiscardOperator),
        );
    }

    /// Sets the parallelism of the operator this stream comes from.
    pub fn set_parallelism(self, parallelism: usize) -> Self {
        configure_node(&self.graph, &self.inputs, |node| {
            node.parallelism = parallelism;
        });
        self
    }

    /// Sets the displayed name of the operator this stream comes from.
    pub fn name(self, name: &str) -> Self {
        configure_node(&self.graph, &self.inputs, |node: &mut StreamNode| {
            node.name = name.to_owned();
        });
        self
    }

    /// The operator's stable id in savepoints (see [`DataStream::uid`]).
    pub fn uid(self, uid: &str) -> Self {
        configure_node(&self.graph, &self.inputs, |node| {
            node.uid = Some(uid.to_owned());
        });
        self
    }

    pub(crate) fn column_index(&self, column: &str, operation: &str) -> Result<usize> {
        column_index(&self.schema, column, operation)
    }

    pub(crate) fn rowtime(&self) -> Option<usize> {
        self.rowtime
    }
}

/// The index of `column` in `schema`, or an error naming the operation and the columns there
/// are.
pub(crate) fn column_index(
    schema: &arrow_schema::Schema,
    column: &str,
    operation: &str,
) -> Result<usize> {
    schema.index_of(column).map_err(|_| {
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        Error::InvalidJob(format!(
            "{operation}: column '{column}' is not in the stream's schema (columns: {})",
            names.join(", ")
        ))
    })
}

fn check_rowtime_type(schema: &arrow_schema::Schema, index: usize) -> Result<()> {
    let field = schema.field(index);
    match field.data_type() {
        DataType::Int64 | DataType::Timestamp(TimeUnit::Millisecond, _) => Ok(()),
        other => Err(Error::InvalidJob(format!(
            "rowtime column '{}' has type {other}; a rowtime column must be Int64 (BIGINT) or \
             Timestamp(Millisecond) (TIMESTAMP(3)) holding epoch milliseconds",
            field.name()
        ))),
    }
}

pub(crate) fn arrow_error(error: arrow_schema::ArrowError) -> Error {
    Error::InvalidJob(format!("Arrow: {error}"))
}
