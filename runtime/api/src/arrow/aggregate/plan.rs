//! [`AggregatePlan`]: a keyed aggregation bound to its input schema, checked once when the
//! program is built.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use flinkrs_core::{Error, Result};

use super::{Aggregate, AggregateKind, ArrowWindow};
use crate::arrow::column_index;

/// The types of key column a group table holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyType {
    Int64,
    Utf8,
}

/// One aggregate, with its input column resolved.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BoundAggregate {
    pub kind: AggregateKind,
    pub column: Option<usize>,
}

/// Everything the aggregate operator needs to know about its input and output.
#[derive(Clone, Debug)]
pub(crate) struct AggregatePlan {
    pub key: usize,
    pub key_type: KeyType,
    /// Present for a window aggregate, with the input's rowtime column.
    pub window: Option<(ArrowWindow, usize)>,
    pub aggregates: Vec<BoundAggregate>,
    pub output: SchemaRef,
    /// The output's rowtime column: `window_time` of a window aggregate.
    pub output_rowtime: Option<usize>,
}

impl AggregatePlan {
    pub(crate) fn new(
        input: &Schema,
        key: usize,
        window: Option<(ArrowWindow, Option<usize>)>,
        aggregates: &[Aggregate],
    ) -> Result<Self> {
        let key_field = input.field(key);
        let key_type = match key_field.data_type() {
            DataType::Int64 => KeyType::Int64,
            DataType::Utf8 => KeyType::Utf8,
            other => {
                return Err(Error::InvalidJob(format!(
                    "aggregate: key column '{}' has type {other}; Arrow aggregates group by \
                     Int64 (BIGINT) or Utf8 (STRING) keys: cast the key column with map_batches",
                    key_field.name()
                )));
            }
        };
        if aggregates.is_empty() {
            return Err(Error::InvalidJob(
                "aggregate: no aggregates given; pass at least one, such as Aggregate::count()"
                    .into(),
            ));
        }
        let mut fields = vec![Arc::new(key_field.clone())];
        let window = match window {
            None => None,
            Some((window, rowtime)) => {
                window.validate()?;
                let Some(rowtime) = rowtime else {
                    return Err(Error::InvalidJob(
                        "window aggregate: the stream has no rowtime column; event-time windows \
                         need one (set it on the source or with with_rowtime)"
                            .into(),
                    ));
                };
                for name in ["window_start", "window_end", "window_time"] {
                    fields.push(Arc::new(Field::new(name, timestamp_type(), false)));
                }
                Some((window, rowtime))
            }
        };
        let mut bound = Vec::with_capacity(aggregates.len());
        for aggregate in aggregates {
            let column = match &aggregate.column {
                None => None,
                Some(name) => {
                    let index = column_index(input, name, "aggregate")?;
                    let data_type = input.field(index).data_type();
                    if data_type != &DataType::Int64 {
                        return Err(Error::InvalidJob(format!(
                            "aggregate {}: column '{name}' has type {data_type}; SUM, MIN and \
                             MAX over Arrow streams take Int64 (BIGINT) columns: cast it with \
                             map_batches",
                            aggregate.output_name()
                        )));
                    }
                    Some(index)
                }
            };
            let nullable = aggregate.kind != AggregateKind::Count;
            fields.push(Arc::new(Field::new(
                aggregate.output_name(),
                DataType::Int64,
                nullable,
            )));
            bound.push(BoundAggregate {
                kind: aggregate.kind,
                column,
            });
        }
        let output = Arc::new(Schema::new(fields));
        let output_rowtime = window.map(|_| 3);
        Ok(AggregatePlan {
            key,
            key_type,
            window,
            aggregates: bound,
            output,
            output_rowtime,
        })
    }
}

pub(crate) fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, None)
}
