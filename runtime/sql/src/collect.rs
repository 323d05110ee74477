//! A `SELECT` run as a job on a cluster (`flinkrs sql -m`): its rows go into a collect sink,
//! from which the JobManager fetches them for the SQL client (Flink's collect sink and
//! `CollectResultFetcher`).
//!
//! The sink runs as one subtask. Each batch of rows, rendered as the client prints them, is
//! one chunk of the job's [`ResultBuffer`](flinkrs_dataflow::collect::ResultBuffer): a JSON
//! array of [`ResultRow`]s, which [`decode_chunk`] reads back.

use std::sync::Arc;

use flinkrs_api::StreamExecutionEnvironment;
use flinkrs_api::sink::SinkFunction;
use flinkrs_core::Batch;
use flinkrs_dataflow::collect::{self, ResultBuffer};
use flinkrs_dataflow::operator::TaskInfo;

use crate::error::{Error, Result};
use crate::planner::PlannedQuery;
use crate::planner::translate::Translator;
use crate::render::ResultRow;
use crate::session::result_rows;

/// The name of the collect sink's operator, as Flink names it.
pub const COLLECT_SINK: &str = "Collect Sink";

/// A script's `SELECT`, planned: the job that collects its rows.
#[derive(Clone)]
pub(crate) struct PreparedQuery {
    pub(crate) planned: PlannedQuery,
    pub(crate) mini_batch: bool,
}

impl PreparedQuery {
    /// Adds the pipeline from the query's sources to the collect sink to `env`.
    pub(crate) fn build(&self, env: &StreamExecutionEnvironment) -> Result<()> {
        let translated = Translator::new(env, &self.planned, self.mini_batch).translate()?;
        result_rows(&translated, &self.planned.columns, None)?
            .add_sink(COLLECT_SINK, CollectSink::default())
            .set_parallelism(1);
        Ok(())
    }
}

/// Puts the rows of its job's attempt into the process's result buffer of the job.
#[derive(Clone, Default)]
struct CollectSink {
    buffer: Option<Arc<ResultBuffer>>,
}

impl SinkFunction<ResultRow> for CollectSink {
    fn open(&mut self, info: &TaskInfo) -> flinkrs_core::Result<()> {
        self.buffer = Some(collect::open(info.job_id, info.attempt_number));
        Ok(())
    }

    fn write_batch(&mut self, batch: &mut Batch<ResultRow>) -> flinkrs_core::Result<()> {
        let Some(buffer) = &self.buffer else {
            return Err(flinkrs_core::Error::function(
                "the collect sink was written before it was opened",
            ));
        };
        if batch.is_empty() {
            return Ok(());
        }
        let rows: Vec<&ResultRow> = batch.iter().map(|record| &record.value).collect();
        let chunk = serde_json::to_vec(&rows)
            .map_err(|error| flinkrs_core::Error::function(format!("collect sink: {error}")))?;
        buffer.push(chunk)
    }

    fn finish(&mut self) -> flinkrs_core::Result<()> {
        if let Some(buffer) = &self.buffer {
            buffer.finish();
        }
        Ok(())
    }
}

/// The rows of a chunk the collect sink wrote.
pub fn decode_chunk(chunk: &[u8]) -> Result<Vec<ResultRow>> {
    serde_json::from_slice(chunk)
        .map_err(|error| Error::validation(format!("a malformed chunk of query results: {error}")))
}
