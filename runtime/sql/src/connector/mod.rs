//! Table connectors with Flink's names and options: `datagen`, `filesystem` (csv, json) and
//! `nexmark` (the Nexmark benchmark's events) sources, `print`, `blackhole` and `filesystem`
//! (csv, exactly once) sinks, and `kafka` and `upsert-kafka` (sources and sinks), with the
//! `kafka` feature, on by default. Options are checked when a query uses the table, as in
//! Flink: an unknown option is an error listing the ones the connector knows.

mod csv_columns;
mod csv_format;
mod datagen;
mod filesystem;
mod filesystem_sink;
mod json_format;
#[cfg(feature = "kafka")]
mod kafka;
#[cfg(feature = "kafka")]
mod kafka_decode;
#[cfg(feature = "kafka")]
mod kafka_source;
#[cfg(feature = "kafka")]
mod kafka_watermarks;
mod line_reader;
mod nexmark;
mod partition_commit;
mod partition_committer;
#[cfg(test)]
mod partition_committer_tests;
mod partitions;
mod sink;
#[cfg(feature = "kafka")]
mod upsert_kafka;

use std::collections::BTreeMap;

use flinkrs_api::StreamExecutionEnvironment;
use flinkrs_api::arrow::ArrowStream;

use crate::catalog::TableDefinition;
use crate::error::{Error, Result};

pub use sink::PrintTarget;
pub(crate) use sink::add_sink;

/// The source of a table's physical columns; `read` lists those the query reads, where the
/// planner knows them (a source may leave the others out).
pub(crate) fn add_source(
    env: &StreamExecutionEnvironment,
    table: &TableDefinition,
    read: Option<&[usize]>,
) -> Result<ArrowStream> {
    let connector = connector(table)?;
    if !table.partition_keys.is_empty() && connector != "filesystem" {
        return Err(not_partitioned(table, connector));
    }
    match connector {
        "datagen" => datagen::add_source(env, table),
        "filesystem" => filesystem::add_source(env, table, read),
        #[cfg(feature = "kafka")]
        "kafka" => kafka::add_source(env, table),
        "nexmark" => nexmark::add_source(env, table),
        #[cfg(feature = "kafka")]
        "upsert-kafka" => upsert_kafka::add_source(env, table),
        "print" | "blackhole" => Err(Error::validation(format!(
            "table '{}' uses the '{}' connector, which is a sink only: it cannot be read",
            table.qualified_name, connector
        ))),
        other => Err(unknown_connector(table, other)),
    }
}

/// Whether `table`'s source is an upsert stream (its rows' kinds in a last row kind column)
/// that the planner must normalize into a changelog by the table's PRIMARY KEY.
pub(crate) fn reads_upserts(table: &TableDefinition) -> bool {
    matches!(connector(table), Ok("upsert-kafka"))
}

/// Whether `table`'s source generates the watermarks of its `WATERMARK FOR` declaration
/// itself (a `kafka` table's, per partition), so the planner must not assign them again.
pub(crate) fn watermarks_in_source(table: &TableDefinition) -> bool {
    match connector(table) {
        #[cfg(feature = "kafka")]
        Ok("kafka" | "upsert-kafka") => kafka_watermarks::in_source(table),
        _ => false,
    }
}

/// The error for a `PARTITIONED BY` table of a connector that has no partitions.
pub(crate) fn not_partitioned(table: &TableDefinition, connector: &str) -> Error {
    Error::validation(format!(
        "table '{}' is PARTITIONED BY ({}), but the '{connector}' connector does not support \
         partitions; only 'filesystem' tables are partitioned",
        table.qualified_name,
        table.partition_keys.join(", ")
    ))
}

pub(crate) fn connector(table: &TableDefinition) -> Result<&str> {
    table
        .options
        .get("connector")
        .map(String::as_str)
        .ok_or_else(|| Error::Option {
            table: table.qualified_name.clone(),
            key: "connector".into(),
            message: "missing: every table needs 'connector' = 'datagen', 'filesystem', \
                      'kafka', 'nexmark', 'print' or 'blackhole'"
                .into(),
        })
}

fn unknown_connector(table: &TableDefinition, name: &str) -> Error {
    let (kafka, upsert_kafka) = if cfg!(feature = "kafka") {
        ("kafka, ", ", upsert-kafka")
    } else {
        ("", "")
    };
    Error::validation(format!(
        "Could not find any factory for identifier '{name}' that implements \
         'org.apache.flink.table.factories.DynamicTableFactory' in the classpath (table \
         '{}'). Available factory identifiers are: blackhole, datagen, filesystem, \
         {kafka}nexmark, print{upsert_kafka}",
        table.qualified_name,
    ))
}

/// Checks `options` against the ones a connector knows, as Flink's `FactoryUtil` does: the
/// error lists the unsupported ones and the supported ones. `known` holds the exact option
/// names; `known_field_suffixes` the `fields.#.<suffix>` ones.
pub(crate) fn check_options(
    connector: &str,
    options: &BTreeMap<String, String>,
    known: &[&str],
    field_suffixes: &[&str],
    columns: &[String],
) -> Result<()> {
    let is_known = |key: &str| {
        known.contains(&key)
            || key
                .strip_prefix("fields.")
                .and_then(|rest| rest.rsplit_once('.'))
                .is_some_and(|(column, suffix)| {
                    field_suffixes.contains(&suffix) && columns.iter().any(|c| c == column)
                })
    };
    let unsupported: Vec<&str> = options
        .keys()
        .map(String::as_str)
        .filter(|key| !is_known(key))
        .collect();
    if unsupported.is_empty() {
        return Ok(());
    }
    let mut supported: Vec<String> = known.iter().map(|k| (*k).to_owned()).collect();
    for column in columns {
        for suffix in field_suffixes {
            supported.push(format!("fields.{column}.{suffix}"));
        }
    }
    supported.sort();
    Err(Error::validation(format!(
        "Unsupported options found for '{connector}'.\n\nUnsupported options:\n\n{}\n\n\
         Supported options:\n\n{}",
        unsupported.join("\n"),
        supported.join("\n")
    )))
}

/// An option's value parsed, or an error naming the table and the option.
pub(crate) fn parse_option<T: std::str::FromStr>(
    table: &TableDefinition,
    key: &str,
    expected: &str,
) -> Result<Option<T>> {
    match table.options.get(key) {
        None => Ok(None),
        Some(value) => value.trim().parse().map(Some).map_err(|_| Error::Option {
            table: table.qualified_name.clone(),
            key: key.to_owned(),
            message: format!("'{value}' is not {expected}"),
        }),
    }
}
