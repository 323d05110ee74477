//! The table sinks: `print` and `blackhole` here, `filesystem` in its own module.

use std::io::Write;
use std::sync::{Arc, Mutex};

use flinkrs_api::arrow::ArrowStream;
use flinkrs_api::sink::SinkFunction;
use flinkrs_core::{Batch, Result as CoreResult};

use super::check_options;
use crate::catalog::TableDefinition;
use crate::error::{Error, Result};
use crate::render::ResultRow;

/// Where the `print` connector writes: the process's stdout, or a buffer (for tests).
pub type PrintTarget = Arc<Mutex<dyn Write + Send>>;

/// Writes the query's result to `table`'s connector: `stream` as Arrow batches where the
/// connector takes them, else the rows `rows` renders (with their kinds). Rows are built only
/// for the connectors that write them, so a `blackhole` table costs nothing per row.
pub(crate) fn add_sink(
    rows: impl FnOnce() -> Result<flinkrs_api::DataStream<ResultRow>>,
    stream: &ArrowStream,
    table: &TableDefinition,
    print: PrintTarget,
    updating: bool,
) -> Result<()> {
    let connector = super::connector(table)?;
    // Flink's print and blackhole sinks take a partitioned table and ignore its partitions.
    if !table.partition_keys.is_empty()
        && !matches!(connector, "filesystem" | "print" | "blackhole")
    {
        return Err(super::not_partitioned(table, connector));
    }
    match connector {
        "print" => {
            check_options(
                "print",
                &table.options,
                &[
                    "connector",
                    "print-identifier",
                    "standard-error",
                    "sink.parallelism",
                ],
                &[],
                &[],
            )?;
            let identifier = table.options.get("print-identifier").cloned();
            // One subtask, so each key's changes print in the order they were made.
            rows()?
                .add_sink(
                    "Print",
                    PrintSink {
                        identifier,
                        target: print,
                        subtask: None,
                        line: String::new(),
                    },
                )
                .set_parallelism(1);
            Ok(())
        }
        "blackhole" => {
            check_options("blackhole", &table.options, &["connector"], &[], &[])?;
            stream.discard();
            Ok(())
        }
        "datagen" => Err(Error::validation(format!(
            "table '{}' uses the 'datagen' connector, which is a source only: it cannot be \
             written to",
            table.qualified_name
        ))),
        "filesystem" => super::filesystem_sink::add_sink(rows()?, table, updating),
        #[cfg(feature = "kafka")]
        "kafka" => super::kafka::add_sink(rows()?, table, updating),
        #[cfg(feature = "kafka")]
        "upsert-kafka" => super::upsert_kafka::add_sink(rows()?, table),
        other => Err(super::unknown_connector(table, other)),
    }
}

/// Writes each row as Flink's print connector does: `+I[a, 1]`, prefixed with the
/// `print-identifier` and, at parallelism above one, the subtask number.
#[derive(Clone)]
struct PrintSink {
    identifier: Option<String>,
    target: PrintTarget,
    subtask: Option<String>,
    line: String,
}

impl SinkFunction<ResultRow> for PrintSink {
    fn open(&mut self, info: &flinkrs_dataflow::TaskInfo) -> CoreResult<()> {
        let subtask = (info.parallelism > 1).then(|| (info.subtask_index + 1).to_string());
        self.subtask = match (&self.identifier, subtask) {
            (Some(identifier), Some(subtask)) => Some(format!("{identifier}:{subtask}> ")),
            (Some(identifier), None) => Some(format!("{identifier}> ")),
            (None, Some(subtask)) => Some(format!("{subtask}> ")),
            (None, None) => None,
        };
        Ok(())
    }

    fn write_batch(&mut self, batch: &mut Batch<ResultRow>) -> CoreResult<()> {
        self.line.clear();
        for record in batch.iter() {
            let row = &record.value;
            if let Some(prefix) = &self.subtask {
                self.line.push_str(prefix);
            }
            self.line.push_str(row.kind.short_string());
            self.line.push('[');
            for (index, value) in row.values.iter().enumerate() {
                if index > 0 {
                    self.line.push_str(", ");
                }
                self.line.push_str(value.as_deref().unwrap_or("null"));
            }
            self.line.push_str("]\n");
        }
        let mut target = self.target.lock().map_err(|_| {
            flinkrs_core::Error::function("print sink: the output lock is poisoned")
        })?;
        target
            .write_all(self.line.as_bytes())
            .and_then(|()| target.flush())
            .map_err(|error| flinkrs_core::Error::function(format!("print sink: {error}")))
    }
}
