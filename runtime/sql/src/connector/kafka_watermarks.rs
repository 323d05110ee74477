//! Watermarks of a `kafka` table, generated inside its source per partition, as Flink's
//! KafkaSource does for SQL (watermark push-down): each partition has its own generator for
//! the table's `WATERMARK FOR` declaration, the source's watermark is the minimum over its
//! partitions, and under `scan.watermark.idle-timeout` a partition without records for that
//! long does not hold the others back.
//!
//! A physical rowtime column's text, as read, is parsed once per record with the same rules as
//! the cast to the column's type. A rowtime computed from other columns (`ts AS
//! TO_TIMESTAMP_LTZ(ms, 3)`) is evaluated over each polled batch at once, and the batch's
//! times go to the reader's per-partition generators after the poll, as Flink pushes a
//! computed rowtime's watermark into the source too.

use std::sync::Arc;
use std::time::Duration;

use arrow_array::timezone::Tz;
use arrow_schema::{DataType, TimeUnit};
use datafusion_common::DFSchema;
use datafusion_common::arrow::compute::kernels::cast_utils::string_to_datetime;
use datafusion_expr::ExprSchemable;
use datafusion_expr::execution_props::ExecutionProps;
use datafusion_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion_physical_expr::{PhysicalExpr, create_physical_expr};
use flinkrs_api::watermark::WatermarkStrategy;

use crate::catalog::TableDefinition;
use crate::error::{Error, Result};

use super::kafka_decode::KafkaRow;

pub(super) const IDLE_TIMEOUT: &str = "scan.watermark.idle-timeout";

/// How a record's rowtime text becomes epoch milliseconds.
#[derive(Clone, Copy)]
enum Rowtime {
    Millis,
    Timestamp(Tz),
}

/// How a `kafka` table's source generates its watermarks.
pub(super) enum SourceWatermarks {
    /// The rowtime is a physical column: the strategy's assigner reads it from each record.
    PerRecord(WatermarkStrategy<KafkaRow>),
    /// The rowtime is computed: `rowtime`, over the physical columns, gives the times of each
    /// polled batch, which the reader's per-partition generators then take.
    Computed {
        strategy: WatermarkStrategy<KafkaRow>,
        rowtime: Arc<dyn PhysicalExpr>,
    },
}

/// The watermarks of `table`'s source: `None` without a `WATERMARK FOR` declaration, or when
/// its rowtime is of a type the planner refuses (it names the accepted ones). Checks
/// `scan.watermark.idle-timeout` either way.
pub(super) fn source_watermarks(table: &TableDefinition) -> Result<Option<SourceWatermarks>> {
    let idle_timeout = match table.options.get(IDLE_TIMEOUT) {
        None => None,
        Some(text) => {
            let timeout =
                flinkrs_core::config::parse_duration(text).map_err(|message| Error::Option {
                    table: table.qualified_name.clone(),
                    key: IDLE_TIMEOUT.to_owned(),
                    message,
                })?;
            // Flink: a zero timeout turns idleness detection off.
            (!timeout.is_zero()).then_some(timeout)
        }
    };
    let Some(watermark) = &table.watermark else {
        return Ok(None);
    };
    let delay = Duration::from_millis(u64::try_from(watermark.delay_millis).unwrap_or(0));
    let strategy = WatermarkStrategy::for_bounded_out_of_orderness(delay);
    let with_idleness = |strategy: WatermarkStrategy<KafkaRow>| match idle_timeout {
        Some(timeout) => strategy.with_idleness(timeout),
        None => strategy,
    };
    if let Some(rowtime) = computed_rowtime(table)? {
        return Ok(Some(SourceWatermarks::Computed {
            strategy: with_idleness(strategy),
            rowtime,
        }));
    }
    let Some((index, field)) = table.physical.column_with_name(&watermark.column) else {
        return Ok(None);
    };
    let rowtime = match field.data_type() {
        DataType::Int64 => Rowtime::Millis,
        DataType::Timestamp(TimeUnit::Millisecond, zone) => {
            let zone = zone.as_deref().unwrap_or("+00:00");
            Rowtime::Timestamp(zone.parse().map_err(|error| Error::Option {
                table: table.qualified_name.clone(),
                key: "connector".to_owned(),
                message: format!("the rowtime column's time zone '{zone}': {error}"),
            })?)
        }
        // The planner assigns the watermarks, and names the accepted types when it sets the
        // rowtime.
        _ => return Ok(None),
    };
    let strategy = strategy.with_timestamp_assigner(move |row: &KafkaRow, _kafka_timestamp| {
        row.values[index]
            .as_deref()
            .and_then(|text| rowtime_millis(rowtime, text))
            // A row without a valid rowtime does not move the watermark; the cast to the
            // column's type names it (or nulls it under ignore-parse-errors).
            .unwrap_or(i64::MIN)
    });
    Ok(Some(SourceWatermarks::PerRecord(with_idleness(strategy))))
}

/// The expression of `table`'s computed rowtime column over its physical columns, when the
/// rowtime is computed and a millisecond timestamp.
fn computed_rowtime(table: &TableDefinition) -> Result<Option<Arc<dyn PhysicalExpr>>> {
    let Some(watermark) = &table.watermark else {
        return Ok(None);
    };
    let Some(column) = table
        .computed
        .iter()
        .find(|column| column.name == watermark.column)
    else {
        return Ok(None);
    };
    let physical = DFSchema::try_from(table.physical.as_ref().clone())?;
    let data_type = column.expression.get_type(&physical)?;
    if !matches!(data_type, DataType::Timestamp(TimeUnit::Millisecond, _)) {
        return Ok(None);
    }
    Ok(Some(create_physical_expr(
        &column.expression,
        &physical,
        &ExecutionProps::new(),
        &PhysicalPlanningContext::default(),
    )?))
}

/// Whether the planner must leave `table`'s watermarks to its source: the cases in which
/// [`source_watermarks`] generates them.
pub(super) fn in_source(table: &TableDefinition) -> bool {
    table.watermark.as_ref().is_some_and(|watermark| {
        let physical = table
            .physical
            .column_with_name(&watermark.column)
            .is_some_and(|(_, field)| read_in_source(field.data_type()));
        physical || computed_rowtime(table).is_ok_and(|rowtime| rowtime.is_some())
    })
}

/// The physical rowtime types the source reads itself; the planner handles the others.
fn read_in_source(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Int64 | DataType::Timestamp(TimeUnit::Millisecond, _)
    )
}

fn rowtime_millis(rowtime: Rowtime, text: &str) -> Option<i64> {
    match rowtime {
        Rowtime::Millis => text.trim().parse().ok(),
        Rowtime::Timestamp(zone) => string_to_datetime(&zone, text)
            .ok()
            .map(|time| time.timestamp_millis()),
    }
}

#[cfg(test)]
mod tests {
    use super::{Rowtime, rowtime_millis};

    #[test]
    fn rowtime_text_is_read_as_the_cast_reads_it() {
        let utc = Rowtime::Timestamp("+00:00".parse().unwrap());
        assert_eq!(rowtime_millis(utc, "1970-01-01 00:00:01.250"), Some(1_250));
        assert_eq!(rowtime_millis(utc, "1970-01-01T00:00:02"), Some(2_000));
        assert_eq!(rowtime_millis(utc, "yesterday"), None);
        assert_eq!(rowtime_millis(Rowtime::Millis, "42"), Some(42));
    }
}
