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
//! Reading (see `kafka_source`) and writing go through `flinkrs-kafka`: the same splits,
//! transactions and record formats as the DataStream `KafkaSource` and `KafkaSink`.
//!
//! As in Flink, `kafka` tables take inserts only; updates go to `upsert-kafka` tables.

use std::collections::BTreeMap;

use arrow_schema::DataType;
use flinkrs_kafka::{DeliveryGuarantee, KafkaSink, SerializedRecord};

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

/// The source of `table`'s rows (see `kafka_source`).
pub(crate) fn add_source(
    env: &flinkrs_api::StreamExecutionEnvironment,
    table: &TableDefinition,
) -> Result<flinkrs_api::arrow::ArrowStream> {
    let options = table_options(table, Flavor::Kafka)?;
    super::kafka_source::add_source(env, table, options, Flavor::Kafka)
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
