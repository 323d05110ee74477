//! [`RetractableExtremum`]: `MIN` and `MAX` over an updating input, as Flink's
//! `MinWithRetractAggFunction` and `MaxWithRetractAggFunction`: every value is counted, so
//! that retracting the current extremum brings back the next one. DataFusion's sliding
//! `MIN`/`MAX` accumulators retract in arrival order only (window frames), which a changelog
//! does not keep.
//!
//! Values are kept in Arrow's row format, whose byte order is the value order, each with its
//! count. The checkpointed state is one binary value: the values and counts, postcard-encoded.

use std::collections::BTreeMap;

use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use datafusion_common::arrow::row::{RowConverter, SortField};
use datafusion_common::{DataFusionError, ScalarValue};
use datafusion_expr::Accumulator;

#[derive(Debug)]
pub(crate) struct RetractableExtremum {
    max: bool,
    data_type: DataType,
    converter: RowConverter,
    /// Each non-null value in row format, and how many times it is in the group.
    counts: BTreeMap<Box<[u8]>, u64>,
}

fn error(message: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Execution(format!("MIN/MAX with retraction: {message}"))
}

impl RetractableExtremum {
    /// `MAX` when `max`, else `MIN`, over values of `data_type`.
    pub(crate) fn new(max: bool, data_type: DataType) -> datafusion_common::Result<Self> {
        let converter = RowConverter::new(vec![SortField::new(data_type.clone())])?;
        Ok(RetractableExtremum {
            max,
            data_type,
            converter,
            counts: BTreeMap::new(),
        })
    }

    /// Adds (`add`) or removes each non-null value of `values[0]`.
    fn apply(&mut self, values: &[ArrayRef], add: bool) -> datafusion_common::Result<()> {
        let Some(column) = values.first() else {
            return Err(error("no argument"));
        };
        let rows = self
            .converter
            .convert_columns(std::slice::from_ref(column))?;
        for index in 0..column.len() {
            if column.is_null(index) {
                continue;
            }
            let row = rows.row(index);
            if add {
                *self.counts.entry(row.as_ref().into()).or_insert(0) += 1;
            } else if let Some(count) = self.counts.get_mut(row.as_ref()) {
                *count -= 1;
                if *count == 0 {
                    self.counts.remove(row.as_ref());
                }
            }
            // A retraction of a value the group does not hold changes nothing, as in Flink.
        }
        Ok(())
    }
}

impl Accumulator for RetractableExtremum {
    fn update_batch(&mut self, values: &[ArrayRef]) -> datafusion_common::Result<()> {
        self.apply(values, true)
    }

    fn retract_batch(&mut self, values: &[ArrayRef]) -> datafusion_common::Result<()> {
        self.apply(values, false)
    }

    fn supports_retract_batch(&self) -> bool {
        true
    }

    fn evaluate(&mut self) -> datafusion_common::Result<ScalarValue> {
        let best = if self.max {
            self.counts.keys().next_back()
        } else {
            self.counts.keys().next()
        };
        let Some(best) = best else {
            return ScalarValue::try_from(&self.data_type);
        };
        let parser = self.converter.parser();
        let mut rows = self.converter.empty_rows(1, best.len());
        rows.push(parser.parse(best));
        let columns = self.converter.convert_rows(&rows)?;
        ScalarValue::try_from_array(&columns[0], 0)
    }

    fn size(&self) -> usize {
        size_of_val(self)
            + self
                .counts
                .keys()
                .map(|key| key.len() + 2 * size_of::<usize>())
                .sum::<usize>()
    }

    fn state(&mut self) -> datafusion_common::Result<Vec<ScalarValue>> {
        let entries: Vec<(&[u8], u64)> = self
            .counts
            .iter()
            .map(|(value, &count)| (&value[..], count))
            .collect();
        let bytes = postcard::to_allocvec(&entries).map_err(error)?;
        Ok(vec![ScalarValue::Binary(Some(bytes))])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> datafusion_common::Result<()> {
        let Some(states) = states.first() else {
            return Err(error("no state"));
        };
        let states = states
            .as_any()
            .downcast_ref::<arrow_array::BinaryArray>()
            .ok_or_else(|| error("the state is not binary"))?;
        for index in 0..states.len() {
            if states.is_null(index) {
                continue;
            }
            let entries: Vec<(Vec<u8>, u64)> =
                postcard::from_bytes(states.value(index)).map_err(error)?;
            for (value, count) in entries {
                *self.counts.entry(value.into()).or_insert(0) += count;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::Int64Array;

    use super::*;

    fn values(values: &[Option<i64>]) -> Vec<ArrayRef> {
        vec![Arc::new(Int64Array::from(values.to_vec()))]
    }

    #[test]
    fn retracting_the_extremum_brings_back_the_next_one_in_any_order() {
        let mut max = RetractableExtremum::new(true, DataType::Int64).unwrap();
        max.update_batch(&values(&[Some(3), Some(9), None, Some(9), Some(5)]))
            .unwrap();
        assert_eq!(max.evaluate().unwrap(), ScalarValue::Int64(Some(9)));
        max.retract_batch(&values(&[Some(9)])).unwrap();
        assert_eq!(
            max.evaluate().unwrap(),
            ScalarValue::Int64(Some(9)),
            "9 was there twice"
        );
        max.retract_batch(&values(&[Some(9), Some(3)])).unwrap();
        assert_eq!(max.evaluate().unwrap(), ScalarValue::Int64(Some(5)));
        max.retract_batch(&values(&[Some(5), Some(42)])).unwrap();
        assert_eq!(max.evaluate().unwrap(), ScalarValue::Int64(None));

        let mut min = RetractableExtremum::new(false, DataType::Int64).unwrap();
        min.update_batch(&values(&[Some(-2), Some(7)])).unwrap();
        min.retract_batch(&values(&[Some(-2)])).unwrap();
        assert_eq!(min.evaluate().unwrap(), ScalarValue::Int64(Some(7)));
    }

    #[test]
    fn the_state_restores_every_value_and_count() {
        let mut max = RetractableExtremum::new(true, DataType::Int64).unwrap();
        max.update_batch(&values(&[Some(4), Some(8), Some(8)]))
            .unwrap();
        let state = max.state().unwrap();
        let mut restored = RetractableExtremum::new(true, DataType::Int64).unwrap();
        restored
            .merge_batch(&[ScalarValue::iter_to_array(state).unwrap()])
            .unwrap();
        restored.retract_batch(&values(&[Some(8)])).unwrap();
        assert_eq!(restored.evaluate().unwrap(), ScalarValue::Int64(Some(8)));
        restored.retract_batch(&values(&[Some(8)])).unwrap();
        assert_eq!(restored.evaluate().unwrap(), ScalarValue::Int64(Some(4)));
    }
}
