//! The `nexmark` table source: the Nexmark benchmark's event stream, with the option names of
//! the reference's Flink connector (`first-event.rate`, `events.num`, `person.proportion`,
//! `bid.hot-ratio.auctions`, …) and one of ours, `first-event.time`. The table declares the
//! reference's columns: `event_type INT` and the `person`, `auction` and `bid` ROWs (computed
//! columns and a watermark may follow, as in the reference's DDL).

use std::sync::Arc;

use arrow_schema::DataType;
use flinkrs_api::StreamExecutionEnvironment;
use flinkrs_api::arrow::ArrowStream;
use flinkrs_connectors::RateLimitedSource;
use flinkrs_connectors::datagen::ArrowDataGen;
use flinkrs_connectors::nexmark::{self, NexmarkConfig, NexmarkGenerator};

use super::{check_options, parse_option};
use crate::catalog::TableDefinition;
use crate::error::{Error, Result};
use crate::types::flink_type_name;

const KNOWN: [&str; 20] = [
    "connector",
    "first-event.rate",
    "next-event.rate",
    "first-event.time",
    "events.num",
    "person.proportion",
    "auction.proportion",
    "bid.proportion",
    "person.avg-size",
    "auction.avg-size",
    "bid.avg-size",
    "bid.hot-ratio.auctions",
    "bid.hot-ratio.bidders",
    "auction.hot-ratio.sellers",
    "rate.shape",
    "rate.period",
    "rate.limited",
    "keep-alive",
    "stop-at",
    "max-emit-speed",
];

pub(crate) fn add_source(
    env: &StreamExecutionEnvironment,
    table: &TableDefinition,
) -> Result<ArrowStream> {
    check_options("nexmark", &table.options, &KNOWN, &[], &[])?;
    check_columns(table)?;
    let config = config(table)?;
    let rate_limited =
        parse_option::<bool>(table, "rate.limited", "'true' or 'false'")?.unwrap_or(false);
    let rate = config.first_event_rate;
    let events = config.events;
    let generator = NexmarkGenerator::new(config).map_err(|message| Error::Option {
        table: table.qualified_name.clone(),
        key: "connector".into(),
        message,
    })?;
    let schema = Arc::clone(&table.physical);
    let name = table.qualified_name.clone();
    let stream = env.add_arrow_source(&name, Arc::clone(&schema), None, move |_| {
        let generator = generator.clone();
        let source = ArrowDataGen::new(Arc::clone(&schema), events, move |indices| {
            generator.columns(indices)
        });
        // Without `rate.limited`, events come as fast as the job takes them, as the
        // reference's `max-emit-speed`; the rate spaces their event times only.
        Ok(RateLimitedSource::new(
            source,
            if rate_limited { rate } else { u64::MAX },
        ))
    })?;
    Ok(stream)
}

fn config(table: &TableDefinition) -> Result<NexmarkConfig> {
    let defaults = NexmarkConfig::default();
    let whole = |key: &str, default: u64| -> Result<u64> {
        Ok(parse_option::<u64>(table, key, "a whole number")?.unwrap_or(default))
    };
    let size = |key: &str, default: usize| -> Result<usize> {
        match table.options.get(key) {
            None => Ok(default),
            Some(text) => memory_size(text).ok_or_else(|| Error::Option {
                table: table.qualified_name.clone(),
                key: key.to_owned(),
                message: format!("'{text}' is not a size such as '100b' or '1kb'"),
            }),
        }
    };
    let events = whole("events.num", 0)?;
    Ok(NexmarkConfig {
        first_event_rate: whole("first-event.rate", defaults.first_event_rate)?,
        // 0 is endless, as in the reference.
        events: (events > 0).then_some(events),
        person_proportion: whole("person.proportion", defaults.person_proportion)?,
        auction_proportion: whole("auction.proportion", defaults.auction_proportion)?,
        bid_proportion: whole("bid.proportion", defaults.bid_proportion)?,
        avg_person_bytes: size("person.avg-size", defaults.avg_person_bytes)?,
        avg_auction_bytes: size("auction.avg-size", defaults.avg_auction_bytes)?,
        avg_bid_bytes: size("bid.avg-size", defaults.avg_bid_bytes)?,
        hot_auction_ratio: whole("bid.hot-ratio.auctions", defaults.hot_auction_ratio)?,
        hot_bidders_ratio: whole("bid.hot-ratio.bidders", defaults.hot_bidders_ratio)?,
        hot_sellers_ratio: whole("auction.hot-ratio.sellers", defaults.hot_sellers_ratio)?,
        first_event_time: parse_option::<i64>(
            table,
            "first-event.time",
            "milliseconds since the epoch",
        )?
        .unwrap_or(defaults.first_event_time),
        ..defaults
    })
}

/// `200b`, `1kb`, `2 mb` or a plain number of bytes, as Flink's `MemorySize`.
fn memory_size(text: &str) -> Option<usize> {
    let text = text.trim().to_ascii_lowercase();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let amount: usize = text[..split].parse().ok()?;
    let unit = match text[split..].trim() {
        "" | "b" | "bytes" => 1,
        "k" | "kb" | "kibibytes" => 1 << 10,
        "m" | "mb" | "mebibytes" => 1 << 20,
        _ => return None,
    };
    amount.checked_mul(unit)
}

/// The table's physical columns must be the reference's, with the same names and types.
fn check_columns(table: &TableDefinition) -> Result<()> {
    let expected = nexmark::schema();
    let declared = &table.physical;
    let describe = |fields: &[Arc<arrow_schema::Field>]| {
        fields
            .iter()
            .map(|field| format!("`{}` {}", field.name(), flink_type_name(field.data_type())))
            .collect::<Vec<_>>()
            .join(",\n  ")
    };
    let same = declared.fields().len() == expected.fields().len()
        && declared
            .fields()
            .iter()
            .zip(expected.fields())
            .all(|(a, b)| a.name() == b.name() && same_type(a.data_type(), b.data_type()));
    if same {
        return Ok(());
    }
    Err(Error::validation(format!(
        "the nexmark table '{}' must declare the physical columns of the Nexmark reference's \
         DDL, in this order:\n  {}\n(computed columns such as `dateTime` and a WATERMARK may \
         follow them)",
        table.qualified_name,
        describe(expected.fields())
    )))
}

/// Equal types, ignoring whether fields may be null.
fn same_type(a: &DataType, b: &DataType) -> bool {
    match (a, b) {
        (DataType::Struct(a), DataType::Struct(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b.iter())
                    .all(|(a, b)| a.name() == b.name() && same_type(a.data_type(), b.data_type()))
        }
        _ => a == b,
    }
}
