//! Arrow sources: any [`SourceFunction`] of [`ArrowBatch`]es, and [`RecordBatchSource`] for
//! batches held in memory.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use flinkrs_core::{Error, Result};
use flinkrs_dataflow::batch::ArrowBatch;
use flinkrs_dataflow::graph::SourceBuilder;
use flinkrs_dataflow::source::SequenceSplits;
use flinkrs_dataflow::{
    Boundedness, SourceContext, SourceFunction, SourceStatus, StreamBatch, TaskInfo,
};

use super::{ArrowStream, check_rowtime_type, column_index};
use crate::env::StreamExecutionEnvironment;

impl StreamExecutionEnvironment {
    /// A parallel source of Arrow batches of `schema`; `build` makes each subtask's instance.
    /// `rowtime` names the column that holds each row's event time, if any. A batch of
    /// another schema fails the job with a message naming both.
    pub fn add_arrow_source<S, F>(
        &self,
        name: &str,
        schema: SchemaRef,
        rowtime: Option<&str>,
        build: F,
    ) -> Result<ArrowStream>
    where
        S: SourceFunction<ArrowBatch> + 'static,
        F: Fn(&TaskInfo) -> Result<S> + Send + Sync + 'static,
    {
        self.add_arrow_source_with_parallelism(name, schema, rowtime, None, build)
    }

    /// [`add_arrow_source`](Self::add_arrow_source) with a fixed parallelism (`Some(1)` for a
    /// non-parallel source).
    pub fn add_arrow_source_with_parallelism<S, F>(
        &self,
        name: &str,
        schema: SchemaRef,
        rowtime: Option<&str>,
        parallelism: Option<usize>,
        build: F,
    ) -> Result<ArrowStream>
    where
        S: SourceFunction<ArrowBatch> + 'static,
        F: Fn(&TaskInfo) -> Result<S> + Send + Sync + 'static,
    {
        let rowtime = match rowtime {
            Some(column) => {
                let index = column_index(&schema, column, "rowtime of an Arrow source")?;
                check_rowtime_type(&schema, index)?;
                Some(index)
            }
            None => None,
        };
        let declared = Arc::clone(&schema);
        let source_name = name.to_owned();
        let builder: SourceBuilder<ArrowBatch> = Arc::new(move |info: &TaskInfo| {
            let source: Box<dyn SourceFunction<ArrowBatch>> = Box::new(CheckedSource {
                inner: build(info)?,
                name: source_name.clone(),
                schema: Arc::clone(&declared),
                rowtime,
            });
            Ok(source)
        });
        let id = self.graph().borrow_mut().add_source(
            "Source",
            format!("Source: {name}"),
            parallelism,
            builder,
        );
        Ok(ArrowStream::from_node(self.graph(), id, schema, rowtime))
    }

    /// A bounded, non-parallel source emitting the given batches in order, like
    /// `fromCollection` for Arrow. Every batch must have `schema`.
    pub fn from_record_batches(
        &self,
        schema: SchemaRef,
        rowtime: Option<&str>,
        batches: Vec<RecordBatch>,
    ) -> Result<ArrowStream> {
        for (index, batch) in batches.iter().enumerate() {
            if batch.schema_ref() != &schema {
                return Err(Error::InvalidJob(format!(
                    "from_record_batches: batch {index} has schema {:?}, not the declared {:?}",
                    batch.schema(),
                    schema
                )));
            }
        }
        let batches = Arc::new(batches);
        self.add_arrow_source_with_parallelism(
            "Record Batches",
            schema,
            rowtime,
            Some(1),
            move |_| Ok(RecordBatchSource::new(Arc::clone(&batches))),
        )
    }
}

/// Emits batches held in memory, one per poll, then finishes. Its one split is the list of
/// batches, with the index of the next.
#[derive(Clone, Debug)]
pub struct RecordBatchSource {
    batches: Arc<Vec<RecordBatch>>,
    splits: SequenceSplits,
}

impl RecordBatchSource {
    pub fn new(batches: Arc<Vec<RecordBatch>>) -> Self {
        RecordBatchSource {
            batches,
            splits: SequenceSplits::new(),
        }
    }
}

impl SourceFunction<ArrowBatch> for RecordBatchSource {
    fn open(&mut self, context: &SourceContext) -> Result<()> {
        self.splits
            .assign(context.subtask_index(), context.parallelism(), 0);
        Ok(())
    }

    fn poll_batch(
        &mut self,
        batch: &mut ArrowBatch,
        _context: &SourceContext,
    ) -> Result<SourceStatus> {
        let Some(last) = (self.batches.len() as u64).checked_sub(1) else {
            return Ok(SourceStatus::Finished);
        };
        let Some(run) = self.splits.next_run(1, last) else {
            return Ok(SourceStatus::Finished);
        };
        *batch = ArrowBatch::new(self.batches[run.first as usize].clone());
        Ok(if self.splits.is_finished(last) {
            SourceStatus::Finished
        } else {
            SourceStatus::MoreAvailable
        })
    }

    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }

    fn snapshot_state(&mut self) -> Result<Vec<Vec<u8>>> {
        Ok(self.splits.snapshot())
    }

    fn restore_state(&mut self, splits: Vec<Vec<u8>>) -> Result<()> {
        self.splits.restore(&splits, "record batch source")
    }
}

/// Checks each batch of the wrapped source against the declared schema and stamps the rowtime
/// column on it.
struct CheckedSource<S> {
    inner: S,
    name: String,
    schema: SchemaRef,
    rowtime: Option<usize>,
}

impl<S: SourceFunction<ArrowBatch>> SourceFunction<ArrowBatch> for CheckedSource<S> {
    fn open(&mut self, context: &SourceContext) -> Result<()> {
        self.inner.open(context)
    }

    fn poll_batch(
        &mut self,
        batch: &mut ArrowBatch,
        context: &SourceContext,
    ) -> Result<SourceStatus> {
        let status = self.inner.poll_batch(batch, context)?;
        if batch.is_empty() {
            return Ok(status);
        }
        if batch.schema() != &self.schema {
            return Err(Error::MalformedInput {
                location: format!("source '{}'", self.name),
                message: format!(
                    "a batch has schema {:?}, but the source was declared with {:?}",
                    batch.schema(),
                    self.schema
                ),
            });
        }
        if batch.rowtime_index() != self.rowtime {
            let record_batch = std::mem::take(batch).into_record_batch();
            *batch = super::operators::with_rowtime(record_batch, self.rowtime).map_err(|e| {
                Error::MalformedInput {
                    location: format!("source '{}'", self.name),
                    message: e.to_string(),
                }
            })?;
        }
        Ok(status)
    }

    fn boundedness(&self) -> Boundedness {
        self.inner.boundedness()
    }

    fn snapshot_state(&mut self) -> Result<Vec<Vec<u8>>> {
        self.inner.snapshot_state()
    }

    fn restore_state(&mut self, splits: Vec<Vec<u8>>) -> Result<()> {
        self.inner.restore_state(splits)
    }

    fn notify_checkpoint_complete(&mut self, checkpoint: flinkrs_core::CheckpointId) -> Result<()> {
        self.inner.notify_checkpoint_complete(checkpoint)
    }

    fn take_watermark_status(&mut self) -> Option<flinkrs_core::WatermarkStatus> {
        self.inner.take_watermark_status()
    }

    fn take_watermark(&mut self) -> Option<flinkrs_core::Watermark> {
        self.inner.take_watermark()
    }

    fn close(&mut self) -> Result<()> {
        self.inner.close()
    }
}
