//! The `kafka` table connector with Flink's option names: `topic`,
//! `properties.bootstrap.servers`, `properties.group.id` and any other `properties.*`,
//! `scan.startup.mode` (with `scan.startup.timestamp-millis` and
//! `scan.startup.specific-offsets`), `scan.bounded.mode` (`unbounded` or `latest-offset`),
//! `scan.topic-partition-discovery.interval` (default 5 min; `0` turns discovery off),
//! `format` / `value.format` (`csv`, `json` or `raw`), `csv.ignore-parse-errors`,
//! `json.ignore-parse-errors`, `sink.delivery-guarantee` and `sink.transactional-id-prefix`,
//! and the record key: `key.format` with `key.fields` (`a;b`), and `value.fields-include`
//! (`ALL`, or `EXCEPT_KEY` to leave the key's columns out of the value). A `WATERMARK FOR`
//! declaration is applied inside the source, per partition, with `scan.watermark.idle-timeout`
//! (see `kafka_watermarks`).
//!
//! `upsert-kafka` (see `upsert_kafka`) shares the options and formats: its key is the
//! PRIMARY KEY.
//!
//! Reading and writing go through `flinkrs-kafka`: the same splits, transactions and record
//! formats as the DataStream `KafkaSource` and `KafkaSink`. A value that does not parse
//! fails the job naming its topic, partition, offset and column, or becomes null under
//! `<format>.ignore-parse-errors`; a record that is not a row at all is then skipped.
//!
//! As in Flink, `kafka` tables take inserts only; updates go to `upsert-kafka` tables.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, SchemaRef};
use datafusion_common::arrow::compute::{CastOptions, cast_with_options};
use datafusion_common::arrow::util::display::FormatOptions;
use flinkrs_api::StreamExecutionEnvironment;
use flinkrs_api::arrow::ArrowStream;
use flinkrs_core::{Batch, CheckpointId, Error as CoreError, Watermark, WatermarkStatus};
use flinkrs_dataflow::batch::ArrowBatch;
use flinkrs_dataflow::{Boundedness, SourceContext, SourceFunction, SourceStatus};
use flinkrs_kafka::source::KafkaSourceReader;
use flinkrs_kafka::{
    DeliveryGuarantee, KafkaRecord, KafkaSink, KafkaSource, SerializedRecord, StartupMode,
};

use super::check_options;
use super::parse_option;
use crate::catalog::TableDefinition;
use crate::error::{Error, Result};
use crate::render::ResultRow;

const KNOWN: [&str; 20] = [
    "connector",
    "topic",
    "properties.bootstrap.servers",
    "properties.group.id",
    "scan.startup.mode",
    "scan.startup.timestamp-millis",
    "scan.startup.specific-offsets",
    "scan.bounded.mode",
    "scan.topic-partition-discovery.interval",
    super::kafka_watermarks::IDLE_TIMEOUT,
    "format",
    "value.format",
    "key.format",
    "key.fields",
    "value.fields-include",
    "csv.ignore-parse-errors",
    "json.ignore-parse-errors",
    "sink.delivery-guarantee",
    "sink.transactional-id-prefix",
    "sink.parallelism",
];

/// A row as read: where it came from (for errors) and its values as text.
pub(super) type KafkaRow = (i32, i64, Vec<Option<String>>);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Format {
    Csv,
    Json,
    Raw,
}

/// Which columns a record's key and value hold, and in which format.
#[derive(Clone, Debug)]
pub(super) struct RecordLayout {
    /// `key.format` and the key's columns (`key.fields`, or the PRIMARY KEY of an
    /// `upsert-kafka` table); `None` writes records without a key.
    pub(super) key: Option<(Format, Vec<usize>)>,
    /// The value's columns: all, or all but the key's under `value.fields-include` =
    /// `EXCEPT_KEY`.
    pub(super) value: Vec<usize>,
}

/// The options every kafka table needs, checked.
pub(super) struct TableOptions {
    pub(super) topic: String,
    pub(super) format: Format,
    pub(super) ignore_parse_errors: bool,
    /// `properties.*` without the prefix.
    pub(super) properties: BTreeMap<String, String>,
    pub(super) layout: RecordLayout,
}

/// `kafka`, or `upsert-kafka` with its own options and its key from the PRIMARY KEY.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Flavor {
    Kafka,
    Upsert,
}

pub(super) fn table_options(table: &TableDefinition, flavor: Flavor) -> Result<TableOptions> {
    let (connector, known): (&str, &[&str]) = match flavor {
        Flavor::Kafka => ("kafka", &KNOWN),
        Flavor::Upsert => ("upsert-kafka", &super::upsert_kafka::KNOWN),
    };
    // `properties.*` passes any client property through, as in Flink.
    let own: BTreeMap<String, String> = table
        .options
        .iter()
        .filter(|(key, _)| !key.starts_with("properties.") || known.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    check_options(connector, &own, known, &[], &[])?;
    let option_error = |key: &str, message: &str| Error::Option {
        table: table.qualified_name.clone(),
        key: key.to_owned(),
        message: message.to_owned(),
    };
    let topic = table
        .options
        .get("topic")
        .ok_or_else(|| option_error("topic", "missing: the topic to read or write"))?
        .clone();
    if !table.options.contains_key("properties.bootstrap.servers") {
        return Err(option_error(
            "properties.bootstrap.servers",
            "missing: the brokers to connect to, e.g. 'host:9092'",
        ));
    }
    let (format_key, format) = match (
        table.options.get("value.format"),
        table.options.get("format"),
    ) {
        (Some(format), _) => ("value.format", format),
        (None, Some(format)) => ("format", format),
        (None, None) => {
            return Err(option_error(
                "format",
                "missing; set 'format' = 'csv', 'json' or 'raw'",
            ));
        }
    };
    let format = parse_format(table, format_key, format)?;
    let ignore_key = match format {
        Format::Json => "json.ignore-parse-errors",
        _ => "csv.ignore-parse-errors",
    };
    let ignore_parse_errors = parse_option(table, ignore_key, "true or false")?.unwrap_or(false);
    let layout = record_layout(table, flavor, format_key, format)?;
    let properties = table
        .options
        .iter()
        .filter_map(|(key, value)| {
            key.strip_prefix("properties.")
                .map(|key| (key.to_owned(), value.clone()))
        })
        .collect();
    Ok(TableOptions {
        topic,
        format,
        ignore_parse_errors,
        properties,
        layout,
    })
}

fn parse_format(table: &TableDefinition, key: &str, text: &str) -> Result<Format> {
    match text {
        "csv" => Ok(Format::Csv),
        "json" => Ok(Format::Json),
        "raw" => Ok(Format::Raw),
        other => Err(Error::Option {
            table: table.qualified_name.clone(),
            key: key.to_owned(),
            message: format!("'{other}' is not a format flinkrs reads; use 'csv', 'json' or 'raw'"),
        }),
    }
}

/// The key's and the value's columns, from `key.format`, `key.fields` (or the PRIMARY KEY)
/// and `value.fields-include`, with Flink's rules: a key format needs key fields and key
/// fields a key format, the fields must be columns, and `raw` holds one STRING column.
fn record_layout(
    table: &TableDefinition,
    flavor: Flavor,
    value_format_key: &str,
    value_format: Format,
) -> Result<RecordLayout> {
    let option_error = |key: &str, message: String| Error::Option {
        table: table.qualified_name.clone(),
        key: key.to_owned(),
        message,
    };
    let fields = table.physical.fields();
    let key_names: Vec<String> = match flavor {
        Flavor::Upsert => table.primary_key.clone(),
        Flavor::Kafka => table
            .options
            .get("key.fields")
            .map(|text| {
                text.split(';')
                    .map(|name| name.trim().to_owned())
                    .filter(|name| !name.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
    };
    let key = match (table.options.get("key.format"), key_names.is_empty()) {
        (None, true) => None,
        (Some(_), true) => {
            return Err(option_error(
                "key.fields",
                "a key format 'key.format' requires the declaration of one or more key \
                 fields using 'key.fields'"
                    .to_owned(),
            ));
        }
        (None, false) => {
            return Err(option_error(
                "key.format",
                "missing: the key fields need a key format ('csv', 'json' or 'raw')".to_owned(),
            ));
        }
        (Some(text), false) => {
            let format = parse_format(table, "key.format", text)?;
            let mut indices = Vec::with_capacity(key_names.len());
            for name in &key_names {
                let index = fields
                    .iter()
                    .position(|field| field.name() == name)
                    .ok_or_else(|| {
                        option_error(
                            "key.fields",
                            format!(
                                "'{name}' is not a physical column; the columns are {}",
                                fields
                                    .iter()
                                    .map(|field| field.name().as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        )
                    })?;
                indices.push(index);
            }
            Some((format, indices))
        }
    };
    let except_key = match table
        .options
        .get("value.fields-include")
        .map(String::as_str)
    {
        None | Some("ALL") => false,
        Some("EXCEPT_KEY") => true,
        Some(other) => {
            return Err(option_error(
                "value.fields-include",
                format!("'{other}' is not ALL or EXCEPT_KEY"),
            ));
        }
    };
    let value: Vec<usize> = (0..fields.len())
        .filter(|index| {
            !except_key
                || !key
                    .as_ref()
                    .is_some_and(|(_, indices)| indices.contains(index))
        })
        .collect();
    let one_string =
        |indices: &[usize]| indices.len() == 1 && fields[indices[0]].data_type() == &DataType::Utf8;
    if value_format == Format::Raw && !one_string(&value) {
        return Err(option_error(
            value_format_key,
            "the raw format reads and writes one STRING column".to_owned(),
        ));
    }
    if let Some((Format::Raw, indices)) = &key
        && !one_string(indices)
    {
        return Err(option_error(
            "key.format",
            "the raw format reads and writes one STRING column".to_owned(),
        ));
    }
    Ok(RecordLayout { key, value })
}

pub(crate) fn add_source(
    env: &StreamExecutionEnvironment,
    table: &TableDefinition,
) -> Result<ArrowStream> {
    let options = table_options(table, Flavor::Kafka)?;
    let option_error = |key: &str, message: String| Error::Option {
        table: table.qualified_name.clone(),
        key: key.to_owned(),
        message,
    };
    if options.layout.value.len() != table.physical.fields().len() {
        return Err(option_error(
            "value.fields-include",
            "reading a table whose key columns are only in the record key (EXCEPT_KEY) is \
             not supported yet; use 'ALL'"
                .to_owned(),
        ));
    }
    let startup = StartupMode::parse(
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
    .map_err(|error| option_error("scan.startup.mode", error.to_string()))?;
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
    let schema = Arc::clone(&table.physical);
    let columns: Vec<(String, bool)> = schema
        .fields()
        .iter()
        .map(|field| (field.name().clone(), field.data_type() == &DataType::Utf8))
        .collect();
    let (format, ignore) = (options.format, options.ignore_parse_errors);
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
        .deserializer(move |record: &KafkaRecord<'_>| {
            row_of(record, format, &columns, ignore)
                .map(|values| values.map(|values| (record.partition, record.offset, values)))
        })
        .build()
        .map_err(|error| option_error("properties.bootstrap.servers", error.to_string()))?;
    if let Some(strategy) = super::kafka_watermarks::source_strategy(table)? {
        source = source.with_watermark_strategy(strategy);
    }
    let topic = options.topic;
    let stream = env.add_arrow_source(
        &table.qualified_name,
        Arc::clone(&schema),
        None,
        move |_| {
            Ok(KafkaTableSource {
                reader: source.reader(),
                rows: Vec::new(),
                schema: Arc::clone(&schema),
                topic: topic.clone(),
                ignore_parse_errors: ignore,
            })
        },
    )?;
    Ok(stream)
}

/// A record's column values as text, `None` to skip it (under ignore-parse-errors), or an
/// error naming the record.
fn row_of(
    record: &KafkaRecord<'_>,
    format: Format,
    columns: &[(String, bool)],
    ignore: bool,
) -> flinkrs_core::Result<Option<Vec<Option<String>>>> {
    let Some(value) = record.value else {
        return Ok(None);
    };
    let not_a_row = |message: String| {
        if ignore {
            Ok(None)
        } else {
            Err(record.malformed(message))
        }
    };
    let Ok(text) = std::str::from_utf8(value) else {
        return not_a_row("the value is not valid UTF-8".to_owned());
    };
    match format {
        Format::Raw => Ok(Some(vec![Some(text.to_owned())])),
        Format::Csv => {
            let fields = match flinkrs_connectors::filesystem::parse_csv_line(
                text.trim_end_matches(['\r', '\n']),
                1,
            ) {
                Ok(fields) => fields,
                Err(error) => return not_a_row(format!("the value is not a CSV row: {error}")),
            };
            if fields.len() != columns.len() {
                return not_a_row(format!(
                    "the row has {} fields, the table has {} columns (set \
                     'csv.ignore-parse-errors' = 'true' to skip such rows)",
                    fields.len(),
                    columns.len()
                ));
            }
            Ok(Some(
                fields
                    .into_iter()
                    .zip(columns)
                    .map(|(field, (_, text_column))| {
                        (*text_column || !field.is_empty()).then_some(field)
                    })
                    .collect(),
            ))
        }
        Format::Json => {
            let object = match serde_json::from_str::<serde_json::Value>(text) {
                Ok(serde_json::Value::Object(object)) => object,
                Ok(_) => return not_a_row("the value is not a JSON object".to_owned()),
                Err(error) => {
                    return not_a_row(format!(
                        "the value is not JSON: {error} (set 'json.ignore-parse-errors' = \
                         'true' to skip such records)"
                    ));
                }
            };
            Ok(Some(
                columns
                    .iter()
                    .map(|(name, _)| match object.get(name) {
                        None | Some(serde_json::Value::Null) => None,
                        Some(serde_json::Value::String(text)) => Some(text.clone()),
                        Some(other) => Some(other.to_string()),
                    })
                    .collect(),
            ))
        }
    }
}

/// The DataStream reader, with its rows turned into Arrow batches of the table's types.
struct KafkaTableSource {
    reader: KafkaSourceReader<KafkaRow>,
    rows: Batch<KafkaRow>,
    schema: SchemaRef,
    topic: String,
    ignore_parse_errors: bool,
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
        for (index, field) in self.schema.fields().iter().enumerate() {
            let mut builder = StringBuilder::with_capacity(self.rows.len(), self.rows.len() * 8);
            for row in &self.rows {
                builder.append_option(row.value.2[index].as_deref());
            }
            let strings: ArrayRef = Arc::new(builder.finish());
            if field.data_type() == &DataType::Utf8 {
                columns.push(strings);
                continue;
            }
            match cast_with_options(&strings, field.data_type(), &options) {
                Ok(array) => columns.push(array),
                Err(error) => {
                    // The first value that does not parse, for the message.
                    let lenient = CastOptions {
                        safe: true,
                        format_options: FormatOptions::default(),
                    };
                    let cast = cast_with_options(&strings, field.data_type(), &lenient)
                        .map_err(|error| CoreError::function(error.to_string()))?;
                    let bad = (0..strings.len())
                        .find(|&row| !strings.is_null(row) && cast.is_null(row))
                        .unwrap_or(0);
                    let (partition, offset, values) = &self.rows[bad].value;
                    return Err(CoreError::MalformedInput {
                        location: format!(
                            "topic '{}', partition {partition}, offset {offset}",
                            self.topic
                        ),
                        message: format!(
                            "column '{}': '{}' is not a {} ({error})",
                            field.name(),
                            values[index].as_deref().unwrap_or_default(),
                            field.data_type()
                        ),
                    });
                }
            }
        }
        RecordBatch::try_new(Arc::clone(&self.schema), columns)
            .map_err(|error| CoreError::function(error.to_string()))
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
        if !self.rows.is_empty() {
            *batch = ArrowBatch::new(self.typed()?);
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

/// Writes `rows` to `table`'s topic; `updating` says whether the query emits updates.
pub(crate) fn add_sink(
    rows: flinkrs_api::DataStream<ResultRow>,
    table: &TableDefinition,
    updating: bool,
) -> Result<()> {
    let options = table_options(table, Flavor::Kafka)?;
    if updating {
        return Err(Error::validation(format!(
            "Table sink '{}' doesn't support consuming update changes: the kafka connector \
             writes inserts only; aggregate over a window (TUMBLE) or in batch mode",
            table.qualified_name
        )));
    }
    let sink = kafka_sink(table, &options, |_| false)?;
    sink.sink(&rows, &format!("kafka: {}", options.topic))
        .uid(&format!("kafka-sink-{}", table.qualified_name));
    Ok(())
}

/// The sink of a `kafka` or `upsert-kafka` table: each row's key and value as the layout
/// says; a row `tombstone` says is written as its key with a null value.
pub(super) fn kafka_sink(
    table: &TableDefinition,
    options: &TableOptions,
    tombstone: impl Fn(&ResultRow) -> bool + Send + Sync + 'static,
) -> Result<KafkaSink<ResultRow>> {
    let option_error = |key: &str, message: String| Error::Option {
        table: table.qualified_name.clone(),
        key: key.to_owned(),
        message,
    };
    let guarantee = match table.options.get("sink.delivery-guarantee") {
        None => DeliveryGuarantee::AtLeastOnce,
        Some(text) => DeliveryGuarantee::parse(text)
            .map_err(|error| option_error("sink.delivery-guarantee", error.to_string()))?,
    };
    let columns: Vec<(String, bool)> = table
        .physical
        .fields()
        .iter()
        .map(|field| (field.name().clone(), is_json_literal(field.data_type())))
        .collect();
    let format = options.format;
    let layout = options.layout.clone();
    let mut builder = KafkaSink::builder()
        .topic(options.topic.clone())
        .delivery_guarantee(guarantee);
    if let Some(prefix) = table.options.get("sink.transactional-id-prefix") {
        builder = builder.transactional_id_prefix(prefix.clone());
    }
    for (key, value) in &options.properties {
        builder = builder.property(key.clone(), value.clone());
    }
    builder
        .serializer(move |row: &ResultRow, out: &mut SerializedRecord| {
            if let Some((key_format, key)) = &layout.key {
                write_row(row, key, *key_format, &columns, &mut out.key);
                out.has_key = true;
            }
            if tombstone(row) {
                out.tombstone = true;
            } else {
                write_row(row, &layout.value, format, &columns, &mut out.value);
            }
            Ok(())
        })
        .build()
        .map_err(|error| option_error("sink.transactional-id-prefix", error.to_string()))
}

/// Whether a column's rendered value is a JSON literal (a number or a boolean) rather than
/// a string.
fn is_json_literal(data_type: &DataType) -> bool {
    data_type.is_numeric() || data_type == &DataType::Boolean
}

/// The columns `indices` of a row as the format writes them: a CSV line (null as an empty
/// field), a JSON object, or the raw text.
fn write_row(
    row: &ResultRow,
    indices: &[usize],
    format: Format,
    columns: &[(String, bool)],
    out: &mut Vec<u8>,
) {
    use std::io::Write as _;
    let value = |index: usize| row.values.get(index).and_then(Option::as_deref);
    match format {
        Format::Raw => {
            if let Some(text) = indices.first().and_then(|&index| value(index)) {
                out.extend_from_slice(text.as_bytes());
            }
        }
        Format::Csv => {
            let mut line = String::new();
            for (position, &index) in indices.iter().enumerate() {
                if position > 0 {
                    line.push(',');
                }
                // Writing to a String cannot fail.
                let _ = flinkrs_connectors::filesystem::write_csv_field(
                    &mut line,
                    value(index).unwrap_or_default(),
                );
            }
            out.extend_from_slice(line.as_bytes());
        }
        Format::Json => {
            let mut object = serde_json::Map::with_capacity(indices.len());
            for &index in indices {
                let Some((name, literal)) = columns.get(index) else {
                    continue;
                };
                let value = match value(index) {
                    None => serde_json::Value::Null,
                    Some(text) if *literal => serde_json::from_str(&text.to_lowercase())
                        .unwrap_or_else(|_| serde_json::Value::String(text.to_owned())),
                    Some(text) => serde_json::Value::String(text.to_owned()),
                };
                object.insert(name.clone(), value);
            }
            let _ = write!(out, "{}", serde_json::Value::Object(object));
        }
    }
}
