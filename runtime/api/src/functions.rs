//! The operators behind `map`, `flat_map` and `filter`.

use std::marker::PhantomData;

use flinkrs_core::{Batch, Data, Error, Result};
use flinkrs_dataflow::{Operator, Output};

/// Where a `flat_map` function emits its records. Records keep the input's timestamp.
///
/// The output is passed on whenever it holds a full channel batch
/// (`taskmanager.network.batch.max-rows`), even in the middle of an input batch: a line that
/// splits into many words would otherwise build one buffer many channel batches long, which
/// the channel writer then walks and cuts into copies. At exactly one batch, each buffer
/// travels whole.
pub struct Collector<'a, O> {
    out: &'a mut Output<Batch<O>>,
    timestamp: i64,
    flush_rows: usize,
    /// The first error of passing records on; once set, records are only buffered, and the
    /// operator reports the error when the function returns.
    failed: Option<Error>,
}

impl<'a, O: Data> Collector<'a, O> {
    pub(crate) fn new(out: &'a mut Output<Batch<O>>, timestamp: i64, flush_rows: usize) -> Self {
        Collector {
            out,
            timestamp,
            flush_rows,
            failed: None,
        }
    }

    #[inline]
    pub fn collect(&mut self, value: O) {
        self.out.collect(value, self.timestamp);
        if self.out.buffered_rows() >= self.flush_rows && self.failed.is_none() {
            self.flush();
        }
    }

    #[cold]
    #[inline(never)]
    fn flush(&mut self) {
        if let Err(error) = self.out.flush() {
            self.failed = Some(error);
        }
    }

    /// The error of passing records on, if any.
    fn finish(self) -> Result<()> {
        self.failed.map_or(Ok(()), Err)
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
    /// Records the output holds before it is passed on mid-batch: see [`Collector`].
    pub flush_rows: usize,
    pub _output: PhantomData<fn() -> O>,
}

impl<I: Data, O: Data, F> Operator<Batch<I>, Batch<O>> for FlatMapOperator<F, O>
where
    F: FnMut(I, &mut Collector<'_, O>) + Send,
{
    fn process_batch(&mut self, batch: &mut Batch<I>, out: &mut Output<Batch<O>>) -> Result<()> {
        for record in batch.drain(..) {
            let mut collector = Collector::new(out, record.timestamp, self.flush_rows);
            (self.function)(record.value, &mut collector);
            collector.finish()?;
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
