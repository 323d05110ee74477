//! Reading a `kafka` or `upsert-kafka` table: the DataStream `KafkaSource` (splits, offsets in
//! checkpoints, partition discovery, per-partition watermarks) with its records decoded into
//! rows (`kafka_decode`) and the rows turned into Arrow batches of the table's types.
//!
//! A value that does not parse fails the job naming its topic, partition, offset and column,
//! or becomes null under `<format>.ignore-parse-errors`; a record that is not a row at all is
//! then skipped.
//!
//! An `upsert-kafka` table's batches carry a row kind column last: `+U` for a record, `-D` for
//! a tombstone. The planner turns that upsert stream into a full changelog by key (Flink's
//! `ChangelogNormalize`). As in Flink, an `upsert-kafka` table is read from the earliest offset.

use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMillisecondType;
use arrow_array::{Array, ArrayRef, Int8Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use datafusion_common::arrow::compute::{CastOptions, cast_with_options};
use datafusion_common::arrow::util::display::FormatOptions;
use datafusion_physical_expr::PhysicalExpr;
use flinkrs_api::StreamExecutionEnvironment;
use flinkrs_api::arrow::ArrowStream;
use flinkrs_core::{Batch, CheckpointId, Error as CoreError, Watermark, WatermarkStatus};
use flinkrs_dataflow::batch::ArrowBatch;
use flinkrs_dataflow::{Boundedness, SourceContext, SourceFunction, SourceStatus};
use flinkrs_kafka::source::KafkaSourceReader;
use flinkrs_kafka::{KafkaRecord, KafkaSource, StartupMode};

use super::kafka::{Flavor, TableOptions};
use super::kafka_decode::{KafkaRow, RecordDecoder};
use super::kafka_watermarks::SourceWatermarks;
use crate::catalog::TableDefinition;
use crate::error::{Error, Result};
use crate::planner::ROW_KIND_COLUMN;
use crate::render::RowKind;

/// The source of `table`, whose options are checked; an `upsert-kafka` table's stream has
/// the row kind column after the physical columns.
pub(super) fn add_source(
    env: &StreamExecutionEnvironment,
    table: &TableDefinition,
    options: TableOptions,
    flavor: Flavor,
) -> Result<ArrowStream> {
    let option_error = |key: &str, message: String| Error::Option {
        table: table.qualified_name.clone(),
        key: key.to_owned(),
        message,
    };
    let upsert = flavor == Flavor::Upsert;
    let startup = if upsert {
        // Flink: "always use earliest to keep data integrity".
        StartupMode::EarliestOffset
    } else {
        StartupMode::parse(
            table
                .options
                .get("scan.startup.mode")
                .map_or("group-offsets", String::as_str),
            &options.topic,
            table
                .options
                .get("scan.startup.timestamp-millis")
                .map(String::as_str),
            table
                .options
                .get("scan.startup.specific-offsets")
                .map(String::as_str),
        )
        .map_err(|error| option_error("scan.startup.mode", error.to_string()))?
    };
    let bounded = match table.options.get("scan.bounded.mode").map(String::as_str) {
        None | Some("unbounded") => false,
        Some("latest-offset") => true,
        Some(other) => {
            return Err(option_error(
                "scan.bounded.mode",
                format!("'{other}' is not supported; use 'unbounded' or 'latest-offset'"),
            ));
        }
    };
    let decoder = RecordDecoder::new(
        &table.physical,
        &options.layout,
        options.format,
        options.ignore_parse_errors,
        upsert,
    );
    let mut builder = KafkaSource::builder()
        .topics([options.topic.clone()])
        .starting_offsets(startup);
    if bounded {
        builder = builder.bounded();
    }
    for (key, value) in &options.properties {
        builder = builder.property(key.clone(), value.clone());
    }
    if let Some(text) = table.options.get("scan.topic-partition-discovery.interval") {
        let interval = flinkrs_core::config::parse_duration(text)
            .map_err(|message| option_error("scan.topic-partition-discovery.interval", message))?;
        builder = builder.partition_discovery_interval(interval);
    }
    let mut source = builder
        .deserializer(move |record: &KafkaRecord<'_>| decoder.row(record))
        .build()
        .map_err(|error| option_error("properties.bootstrap.servers", error.to_string()))?;
    // A computed rowtime is evaluated over each polled batch, then handed to the reader.
    let mut rowtime = None;
    match super::kafka_watermarks::source_watermarks(table)? {
        Some(SourceWatermarks::PerRecord(strategy)) => {
            source = source.with_watermark_strategy(strategy);
        }
        Some(SourceWatermarks::Computed {
            strategy,
            rowtime: expression,
        }) => {
            source = source.with_watermark_strategy(strategy);
            rowtime = Some(expression);
        }
        None => {}
    }
    let physical = Arc::clone(&table.physical);
    let schema = if upsert {
        let mut fields: Vec<Field> = physical
            .fields()
            .iter()
            .map(|field| field.as_ref().clone())
            .collect();
        fields.push(Field::new(ROW_KIND_COLUMN, DataType::Int8, false));
        Arc::new(Schema::new(fields))
    } else {
        Arc::clone(&physical)
    };
    let topic = options.topic;
    let ignore_parse_errors = options.ignore_parse_errors;
    let stream = env.add_arrow_source(
        &table.qualified_name,
        Arc::clone(&schema),
        None,
        move |_| {
            let mut reader = source.reader();
            if rowtime.is_some() {
                reader.defer_timestamps();
            }
            Ok(KafkaTableSource {
                reader,
                rowtime: rowtime.clone(),
                rows: Vec::new(),
                physical: Arc::clone(&physical),
                schema: Arc::clone(&schema),
                topic: topic.clone(),
                ignore_parse_errors,
                upsert,
            })
        },
    )?;
    Ok(stream)
}

/// The DataStream reader, with its rows turned into Arrow batches of the table's types.
struct KafkaTableSource {
    reader: KafkaSourceReader<KafkaRow>,
    /// A computed rowtime's expression over the physical columns: each batch's times go to
    /// the reader's per-partition watermarks after the poll.
    rowtime: Option<Arc<dyn PhysicalExpr>>,
    rows: Batch<KafkaRow>,
    /// The table's physical columns.
    physical: SchemaRef,
    /// The batches': the physical columns, then the row kind of an upsert table.
    schema: SchemaRef,
    topic: String,
    ignore_parse_errors: bool,
    upsert: bool,
}

impl KafkaTableSource {
    /// Casts the text columns to the table's types: a value that does not parse fails the
    /// job naming its record and column, or is null under ignore-parse-errors.
    fn typed(&self) -> flinkrs_core::Result<RecordBatch> {
        let options = CastOptions {
            safe: self.ignore_parse_errors,
            format_options: FormatOptions::default(),
        };
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.schema.fields().len());
        for (index, field) in self.physical.fields().iter().enumerate() {
            let mut builder = StringBuilder::with_capacity(self.rows.len(), self.rows.len() * 8);
            for row in &self.rows {
                builder.append_option(row.value.values[index].as_deref());
            }
            let strings: ArrayRef = Arc::new(builder.finish());
            if field.data_type() == &DataType::Utf8 {
                columns.push(strings);
                continue;
            }
            match cast_with_options(&strings, field.data_type(), &options) {
                Ok(array) => columns.push(array),
                Err(error) => return Err(self.cast_error(index, field, &strings, &error)),
            }
        }
        if self.upsert {
            let kinds: Int8Array = self
                .rows
                .iter()
                .map(|row| {
                    if row.value.deleted {
                        RowKind::Delete.code()
                    } else {
                        RowKind::UpdateAfter.code()
                    }
                })
                .map(Some)
                .collect();
            columns.push(Arc::new(kinds));
        }
        RecordBatch::try_new(Arc::clone(&self.schema), columns)
            .map_err(|error| CoreError::function(error.to_string()))
    }

    /// The error of column `index`, whose cast failed: it names the first value that does
    /// not parse and its record.
    fn cast_error(
        &self,
        index: usize,
        field: &Field,
        strings: &ArrayRef,
        error: &dyn std::fmt::Display,
    ) -> CoreError {
        let lenient = CastOptions {
            safe: true,
            format_options: FormatOptions::default(),
        };
        let cast = match cast_with_options(strings, field.data_type(), &lenient) {
            Ok(cast) => cast,
            Err(error) => return CoreError::function(error.to_string()),
        };
        let bad = (0..strings.len())
            .find(|&row| !strings.is_null(row) && cast.is_null(row))
            .unwrap_or(0);
        let row = &self.rows[bad].value;
        CoreError::MalformedInput {
            location: format!(
                "topic '{}', partition {}, offset {}",
                self.topic, row.partition, row.offset
            ),
            message: format!(
                "column '{}': '{}' is not a {} ({error})",
                field.name(),
                row.values[index].as_deref().unwrap_or_default(),
                field.data_type()
            ),
        }
    }
}

impl SourceFunction<ArrowBatch> for KafkaTableSource {
    fn open(&mut self, context: &SourceContext) -> flinkrs_core::Result<()> {
        self.reader.open(context)
    }

    fn poll_batch(
        &mut self,
        batch: &mut ArrowBatch,
        context: &SourceContext,
    ) -> flinkrs_core::Result<SourceStatus> {
        self.rows.clear();
        let status = self.reader.poll_batch(&mut self.rows, context)?;
        let typed = if self.rows.is_empty() {
            None
        } else {
            Some(self.typed()?)
        };
        if let Some(rowtime) = &self.rowtime {
            let times = match &typed {
                Some(typed) => rowtime_millis(rowtime, typed)?,
                None => Vec::new(),
            };
            self.reader.assign_timestamps(&self.rows, times);
        }
        if let Some(typed) = typed {
            *batch = ArrowBatch::new(typed);
        }
        Ok(status)
    }

    fn boundedness(&self) -> Boundedness {
        self.reader.boundedness()
    }

    fn snapshot_state(&mut self) -> flinkrs_core::Result<Vec<Vec<u8>>> {
        self.reader.snapshot_state()
    }

    fn restore_state(&mut self, splits: Vec<Vec<u8>>) -> flinkrs_core::Result<()> {
        self.reader.restore_state(splits)
    }

    fn notify_checkpoint_complete(&mut self, checkpoint: CheckpointId) -> flinkrs_core::Result<()> {
        self.reader.notify_checkpoint_complete(checkpoint)
    }

    fn take_watermark_status(&mut self) -> Option<WatermarkStatus> {
        self.reader.take_watermark_status()
    }

    fn take_watermark(&mut self) -> Option<Watermark> {
        self.reader.take_watermark()
    }

    fn close(&mut self) -> flinkrs_core::Result<()> {
        self.reader.close()
    }
}

/// The computed rowtime of each row of `batch`, in epoch milliseconds; `i64::MIN` (no time) for
/// a null.
fn rowtime_millis(
    rowtime: &Arc<dyn PhysicalExpr>,
    batch: &RecordBatch,
) -> flinkrs_core::Result<Vec<i64>> {
    let error = |e: &dyn std::fmt::Display| CoreError::function(format!("rowtime: {e}"));
    let times = rowtime
        .evaluate(batch)
        .and_then(|value| value.into_array(batch.num_rows()))
        .map_err(|e| error(&e))?;
    let times = times
        .as_primitive_opt::<TimestampMillisecondType>()
        .ok_or_else(|| error(&"the rowtime is not a TIMESTAMP(3)"))?;
    Ok((0..times.len())
        .map(|row| {
            if times.is_null(row) {
                i64::MIN
            } else {
                times.value(row)
            }
        })
        .collect())
}
