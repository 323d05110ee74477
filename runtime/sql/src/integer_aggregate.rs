//! Flink's integer `SUM` and `AVG`: the result has the input's type, `SUM` wraps as Java's
//! `int` and `long` additions do, and `AVG` is the sum divided by the count, rounded toward
//! zero. One accumulator per group ([`IntegerAccumulator`], which can also retract), and a
//! vectorized one holding every group of a window aggregate ([`IntegerGroupsAccumulator`]).
//! Both keep the state `[sum BIGINT, count BIGINT]`, so a checkpoint of either restores into
//! the other.

use arrow_array::builder::PrimitiveBuilder;
use arrow_array::cast::AsArray;
use arrow_array::types::{Int8Type, Int16Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, BooleanArray, Int64Array};
use arrow_schema::DataType;
use datafusion_common::arrow::compute::cast;
use datafusion_common::{Result as DfResult, ScalarValue};
use datafusion_expr::{Accumulator, EmitTo, GroupsAccumulator};
use std::sync::Arc;

use crate::functions::IntegerAggregateKind;

/// The value of a group of `sum` over `count` rows, before it is narrowed to the output type.
fn result(kind: IntegerAggregateKind, sum: i128, count: i64) -> i128 {
    match kind {
        IntegerAggregateKind::Sum => sum,
        IntegerAggregateKind::Avg => sum / i128::from(count),
    }
}

/// One group's `SUM` or `AVG` of an integer column.
#[derive(Debug)]
pub(crate) struct IntegerAccumulator {
    kind: IntegerAggregateKind,
    output: DataType,
    sum: i128,
    count: i64,
}

impl IntegerAccumulator {
    pub(crate) fn new(kind: IntegerAggregateKind, output: DataType) -> Self {
        IntegerAccumulator {
            kind,
            output,
            sum: 0,
            count: 0,
        }
    }

    fn add(&mut self, values: &ArrayRef, sign: i128) -> DfResult<()> {
        let values = cast(values, &DataType::Int64)?;
        let values = values.as_primitive::<Int64Type>();
        for value in values.iter().flatten() {
            self.sum += sign * i128::from(value);
            self.count += if sign > 0 { 1 } else { -1 };
        }
        Ok(())
    }
}

impl Accumulator for IntegerAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> DfResult<()> {
        match values.first() {
            Some(values) => self.add(values, 1),
            None => Ok(()),
        }
    }

    fn retract_batch(&mut self, values: &[ArrayRef]) -> DfResult<()> {
        match values.first() {
            Some(values) => self.add(values, -1),
            None => Ok(()),
        }
    }

    fn supports_retract_batch(&self) -> bool {
        true
    }

    fn evaluate(&mut self) -> DfResult<ScalarValue> {
        if self.count == 0 {
            return ScalarValue::try_from(&self.output);
        }
        let value = result(self.kind, self.sum, self.count);
        // Wraps as Java's integer arithmetic does.
        Ok(match self.output {
            DataType::Int8 => ScalarValue::Int8(Some(value as i8)),
            DataType::Int16 => ScalarValue::Int16(Some(value as i16)),
            DataType::Int32 => ScalarValue::Int32(Some(value as i32)),
            _ => ScalarValue::Int64(Some(value as i64)),
        })
    }

    fn size(&self) -> usize {
        size_of::<Self>()
    }

    fn state(&mut self) -> DfResult<Vec<ScalarValue>> {
        Ok(vec![
            ScalarValue::Int64(Some(self.sum as i64)),
            ScalarValue::Int64(Some(self.count)),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> DfResult<()> {
        if let [sums, counts] = states {
            let sums = cast(sums, &DataType::Int64)?;
            let counts = cast(counts, &DataType::Int64)?;
            let sums = sums.as_primitive::<Int64Type>();
            let counts = counts.as_primitive::<Int64Type>();
            for row in 0..sums.len() {
                if sums.is_valid(row) && counts.is_valid(row) {
                    self.sum += i128::from(sums.value(row));
                    self.count += counts.value(row);
                }
            }
        }
        Ok(())
    }
}

/// Every group's `SUM` or `AVG` of an integer column, in two vectors by group index.
#[derive(Debug)]
pub(crate) struct IntegerGroupsAccumulator {
    kind: IntegerAggregateKind,
    output: DataType,
    sums: Vec<i128>,
    counts: Vec<i64>,
}

impl IntegerGroupsAccumulator {
    pub(crate) fn new(kind: IntegerAggregateKind, output: DataType) -> Self {
        IntegerGroupsAccumulator {
            kind,
            output,
            sums: Vec::new(),
            counts: Vec::new(),
        }
    }

    fn grow(&mut self, total_num_groups: usize) {
        self.sums.resize(total_num_groups, 0);
        self.counts.resize(total_num_groups, 0);
    }

    /// Adds `sums[row]` and `counts[row]` (or one per row, without counts) to each row's
    /// group, for the rows `filter` lets through.
    fn add(
        &mut self,
        sums: &Int64Array,
        counts: Option<&Int64Array>,
        group_indices: &[usize],
        filter: Option<&BooleanArray>,
    ) {
        for (row, &group) in group_indices.iter().enumerate() {
            let taken = filter.is_none_or(|filter| filter.is_valid(row) && filter.value(row));
            if !taken || sums.is_null(row) || counts.is_some_and(|counts| counts.is_null(row)) {
                continue;
            }
            self.sums[group] += i128::from(sums.value(row));
            self.counts[group] += counts.map_or(1, |counts| counts.value(row));
        }
    }

    /// The output column of `sums` over `counts`, null where a group saw no value.
    fn results<T>(&self, sums: &[i128], counts: &[i64], narrow: fn(i128) -> T::Native) -> ArrayRef
    where
        T: arrow_array::types::ArrowPrimitiveType,
    {
        let mut builder = PrimitiveBuilder::<T>::with_capacity(sums.len());
        for (&sum, &count) in sums.iter().zip(counts) {
            if count == 0 {
                builder.append_null();
            } else {
                builder.append_value(narrow(result(self.kind, sum, count)));
            }
        }
        Arc::new(builder.finish())
    }
}

fn int64(values: &ArrayRef) -> DfResult<ArrayRef> {
    Ok(cast(values, &DataType::Int64)?)
}

impl GroupsAccumulator for IntegerGroupsAccumulator {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> DfResult<()> {
        self.grow(total_num_groups);
        if let Some(values) = values.first() {
            let values = int64(values)?;
            self.add(values.as_primitive(), None, group_indices, opt_filter);
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> DfResult<ArrayRef> {
        let sums = emit_to.take_needed(&mut self.sums);
        let counts = emit_to.take_needed(&mut self.counts);
        // Wraps as Java's integer arithmetic does.
        Ok(match self.output {
            DataType::Int8 => self.results::<Int8Type>(&sums, &counts, |v| v as i8),
            DataType::Int16 => self.results::<Int16Type>(&sums, &counts, |v| v as i16),
            DataType::Int32 => self.results::<Int32Type>(&sums, &counts, |v| v as i32),
            _ => self.results::<Int64Type>(&sums, &counts, |v| v as i64),
        })
    }

    fn state(&mut self, emit_to: EmitTo) -> DfResult<Vec<ArrayRef>> {
        let sums = emit_to.take_needed(&mut self.sums);
        let counts = emit_to.take_needed(&mut self.counts);
        Ok(vec![
            Arc::new(Int64Array::from_iter_values(sums.iter().map(|&s| s as i64))),
            Arc::new(Int64Array::from(counts)),
        ])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> DfResult<()> {
        self.grow(total_num_groups);
        if let [sums, counts] = values {
            let (sums, counts) = (int64(sums)?, int64(counts)?);
            self.add(
                sums.as_primitive(),
                Some(counts.as_primitive()),
                group_indices,
                None,
            );
        }
        Ok(())
    }

    /// Each row as a group of its own: its value and a count of one, or a null sum and a
    /// count of zero where it is null or filtered out.
    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> DfResult<Vec<ArrayRef>> {
        let Some(values) = values.first() else {
            return Ok(Vec::new());
        };
        let values = int64(values)?;
        let values = values.as_primitive::<Int64Type>();
        let taken = |row: usize| {
            values.is_valid(row)
                && opt_filter.is_none_or(|filter| filter.is_valid(row) && filter.value(row))
        };
        let sums: Int64Array = (0..values.len())
            .map(|row| taken(row).then(|| values.value(row)))
            .collect();
        let counts =
            Int64Array::from_iter_values((0..values.len()).map(|row| i64::from(taken(row))));
        Ok(vec![Arc::new(sums), Arc::new(counts)])
    }

    fn size(&self) -> usize {
        self.sums.capacity() * size_of::<i128>() + self.counts.capacity() * size_of::<i64>()
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::Int32Array;

    use super::*;

    fn values(values: &[Option<i32>]) -> Vec<ArrayRef> {
        vec![Arc::new(Int32Array::from(values.to_vec()))]
    }

    #[test]
    fn groups_wrap_and_round_toward_zero_as_flink_and_skip_nulls_and_filtered_rows() {
        let rows = values(&[Some(i32::MAX), Some(1), Some(-7), Some(2), None, Some(100)]);
        let groups = [0, 0, 1, 1, 2, 1];
        let filter = BooleanArray::from(vec![true, true, true, true, true, false]);
        let mut sum = IntegerGroupsAccumulator::new(IntegerAggregateKind::Sum, DataType::Int32);
        sum.update_batch(&rows, &groups, Some(&filter), 3).unwrap();
        let sums = sum.evaluate(EmitTo::All).unwrap();
        // i32::MAX + 1 wraps; the third group saw only a null.
        assert_eq!(
            sums.as_primitive::<Int32Type>(),
            &Int32Array::from(vec![Some(i32::MIN), Some(-5), None])
        );
        let mut avg = IntegerGroupsAccumulator::new(IntegerAggregateKind::Avg, DataType::Int32);
        avg.update_batch(&rows, &groups, Some(&filter), 3).unwrap();
        // (-7 + 2) / 2 is -2 in Java, not -3.
        assert_eq!(
            avg.evaluate(EmitTo::All)
                .unwrap()
                .as_primitive::<Int32Type>(),
            &Int32Array::from(vec![Some(1_073_741_824), Some(-2), None])
        );
    }

    #[test]
    fn a_group_state_merges_into_a_row_accumulator_and_back() {
        let mut groups = IntegerGroupsAccumulator::new(IntegerAggregateKind::Avg, DataType::Int32);
        groups
            .update_batch(&values(&[Some(4), Some(9), Some(5)]), &[0, 1, 0], None, 2)
            .unwrap();
        let state = groups.state(EmitTo::All).unwrap();
        let mut row = IntegerAccumulator::new(IntegerAggregateKind::Avg, DataType::Int32);
        row.merge_batch(&[state[0].slice(0, 1), state[1].slice(0, 1)])
            .unwrap();
        assert_eq!(row.evaluate().unwrap(), ScalarValue::Int32(Some(4)));
        let mut again = IntegerGroupsAccumulator::new(IntegerAggregateKind::Avg, DataType::Int32);
        let row_state: Vec<ArrayRef> = row
            .state()
            .unwrap()
            .into_iter()
            .map(|value| value.to_array().unwrap())
            .collect();
        // Group 0's state (9 over 2 rows) into group 1 as well: (9 + 9) / 3.
        again.merge_batch(&row_state, &[1], 2).unwrap();
        again.merge_batch(&state, &[0, 1], 2).unwrap();
        assert_eq!(
            again
                .evaluate(EmitTo::All)
                .unwrap()
                .as_primitive::<Int32Type>(),
            &Int32Array::from(vec![Some(4), Some(6)])
        );
    }

    #[test]
    fn each_row_converts_to_a_state_of_its_own() {
        let mut sum = IntegerGroupsAccumulator::new(IntegerAggregateKind::Sum, DataType::Int64);
        let filter = BooleanArray::from(vec![true, false, true]);
        let state = sum
            .convert_to_state(&values(&[Some(3), Some(4), None]), Some(&filter))
            .unwrap();
        sum.merge_batch(&state, &[0, 0, 0], 1).unwrap();
        assert_eq!(
            sum.evaluate(EmitTo::All)
                .unwrap()
                .as_primitive::<Int64Type>(),
            &Int64Array::from(vec![3])
        );
    }
}
