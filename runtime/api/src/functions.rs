//! The operators behind `map`, `flat_map` and `filter`.

use std::marker::PhantomData;

use flinkrs_core::{Batch, Data, Result};
use flinkrs_dataflow::{Operator, Output};

/// Where a `flat_map` function emits its records. Records keep the input's timestamp.
pub struct Collector<'a, O> {
    out: &'a mut Output<Batch<O>>,
    timestamp: i64,
}

impl<'a, O: Data> Collector<'a, O> {
    pub(crate) fn new(out: &'a mut Output<Batch<O>>, timestamp: i64) -> Self {
        Collector { out, timestamp }
    }

    pub fn collect(&mut self, value: O) {
        self.out.collect(value, self.timestamp);
    }
}

pub(crate) struct MapOperator<F> {
    pub function: F,
}

impl<I: Data, O: Data, F> Operator<Batch<I>, Batch<O>> for MapOperator<F>
where
    F: FnMut(I) -> O + Send,
{
    fn process_batch(&mut self, batch: &mut Batch<I>, out: &mut Output<Batch<O>>) -> Result<()> {
        for record in batch.drain(..) {
            out.collect((self.function)(record.value), record.timestamp);
        }
        Ok(())
    }
}

pub(crate) struct FlatMapOperator<F, O> {
    pub function: F,
    pub _output: PhantomData<fn() -> O>,
}

impl<I: Data, O: Data, F> Operator<Batch<I>, Batch<O>> for FlatMapOperator<F, O>
where
    F: FnMut(I, &mut Collector<'_, O>) + Send,
{
    fn process_batch(&mut self, batch: &mut Batch<I>, out: &mut Output<Batch<O>>) -> Result<()> {
        for record in batch.drain(..) {
            let mut collector = Collector::new(out, record.timestamp);
            (self.function)(record.value, &mut collector);
        }
        Ok(())
    }
}

pub(crate) struct FilterOperator<F> {
    pub predicate: F,
}

impl<T: Data, F> Operator<Batch<T>, Batch<T>> for FilterOperator<F>
where
    F: FnMut(&T) -> bool + Send,
{
    fn process_batch(&mut self, batch: &mut Batch<T>, out: &mut Output<Batch<T>>) -> Result<()> {
        batch.retain(|record| (self.predicate)(&record.value));
        out.push_batch(batch)
    }
}
