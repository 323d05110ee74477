//! The `upsert-kafka` table sink with Flink's options: `topic`,
//! `properties.bootstrap.servers` and any other `properties.*`, `key.format` and
//! `value.format` (`csv`, `json` or `raw`), `value.fields-include` (`ALL` or `EXCEPT_KEY`),
//! `sink.delivery-guarantee`, `sink.transactional-id-prefix` and `sink.parallelism`. The
//! table needs a PRIMARY KEY: its columns are the record key.
//!
//! The sink writes a changelog as upserts: an insert or an update's new row (`+I`, `+U`) is
//! the row under its key, a delete (`-D`) is its key with a null value (a tombstone), and an
//! update's old row (`-U`) is not written, as in Flink.
//!
//! The source reads the topic from its earliest offset (`scan.bounded.mode` = `latest-offset`
//! stops at the end it finds), a record as an upsert of its key and a tombstone as the key's
//! deletion. The planner normalizes that into a changelog by the PRIMARY KEY, as Flink's
//! `ChangelogNormalize` does: a key's first row is `+I`, a changed row `-U` and `+U`, an
//! unchanged one nothing, and a tombstone `-D` of the key's last row.

use flinkrs_api::StreamExecutionEnvironment;
use flinkrs_api::arrow::ArrowStream;

use super::kafka::{Flavor, kafka_sink, table_options};
use crate::catalog::TableDefinition;
use crate::error::{Error, Result};
use crate::render::{ResultRow, RowKind};

pub(super) const KNOWN: [&str; 11] = [
    "connector",
    "scan.bounded.mode",
    "topic",
    "properties.bootstrap.servers",
    "key.format",
    "value.format",
    "value.fields-include",
    "json.ignore-parse-errors",
    "sink.delivery-guarantee",
    "sink.transactional-id-prefix",
    "sink.parallelism",
];

/// Flink's message for an `upsert-kafka` table without a PRIMARY KEY.
const NEEDS_PRIMARY_KEY: &str = "'upsert-kafka' tables require to define a PRIMARY KEY \
    constraint. The PRIMARY KEY specifies which columns should be read from or write to the \
    Kafka message key. The PRIMARY KEY also defines records in the 'upsert-kafka' table \
    should update or delete on which keys.";

fn checked(table: &TableDefinition) -> Result<super::kafka::TableOptions> {
    if table.primary_key.is_empty() {
        return Err(Error::validation(format!(
            "{NEEDS_PRIMARY_KEY} (table '{}')",
            table.qualified_name
        )));
    }
    let options = table_options(table, Flavor::Upsert)?;
    for key in ["key.format", "value.format"] {
        if !table.options.contains_key(key) {
            return Err(Error::Option {
                table: table.qualified_name.clone(),
                key: key.to_owned(),
                message: "missing: upsert-kafka needs it ('csv', 'json' or 'raw')".to_owned(),
            });
        }
    }
    Ok(options)
}

/// The table's records as upserts (`+U`) and deletions (`-D`, of a tombstone's key), which
/// the planner normalizes into a changelog by the PRIMARY KEY.
pub(crate) fn add_source(
    env: &StreamExecutionEnvironment,
    table: &TableDefinition,
) -> Result<ArrowStream> {
    let options = checked(table)?;
    super::kafka_source::add_source(env, table, options, Flavor::Upsert)
}

/// Writes the changelog `rows` to the table's topic as upserts and tombstones.
pub(crate) fn add_sink(
    rows: flinkrs_api::DataStream<ResultRow>,
    table: &TableDefinition,
) -> Result<()> {
    let options = checked(table)?;
    let sink = kafka_sink(table, &options, |row| row.kind == RowKind::Delete)?;
    let upserts = rows.filter(|row: &ResultRow| row.kind != RowKind::UpdateBefore);
    sink.sink(&upserts, &format!("upsert-kafka: {}", options.topic))
        .uid(&format!("upsert-kafka-sink-{}", table.qualified_name));
    Ok(())
}
