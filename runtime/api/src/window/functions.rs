//! What is computed over a window: incremental reduce and aggregate functions, a
//! [`ProcessWindowFunction`] over all elements, and the internal form the operators run.

use std::marker::PhantomData;

use flinkrs_core::{Batch, Data, Result};
use flinkrs_dataflow::{Output, OutputTag};
use flinkrs_state::StateData;

/// Incremental aggregation with an accumulator, as Flink's `AggregateFunction`.
pub trait AggregateFunction<T, ACC, O>: Send + Sync + Clone {
    fn create_accumulator(&self) -> ACC;
    fn add(&self, accumulator: &mut ACC, value: T);
    fn get_result(&self, accumulator: &ACC) -> O;
    /// Combines the accumulators of two session windows that merge.
    fn merge(&self, a: ACC, b: ACC) -> ACC;
}

/// What a [`ProcessWindowFunction`] knows about the window it is called for.
#[derive(Debug)]
pub struct WindowContext<'a, W> {
    pub(crate) window: &'a W,
    pub(crate) watermark: i64,
    pub(crate) processing_time: i64,
}

impl<W> WindowContext<'_, W> {
    /// The window being evaluated.
    pub fn window(&self) -> &W {
        self.window
    }

    /// The operator's current event-time watermark.
    pub fn current_watermark(&self) -> i64 {
        self.watermark
    }

    /// The processing time when the window fired.
    pub fn current_processing_time(&self) -> i64 {
        self.processing_time
    }
}

/// Where a window function emits. Records carry the window's `max_timestamp()`, as in Flink.
pub struct WindowCollector<'a, O> {
    pub(crate) out: &'a mut Output<Batch<O>>,
    pub(crate) timestamp: i64,
}

impl<O: Data> WindowCollector<'_, O> {
    pub fn collect(&mut self, value: O) {
        self.out.collect(value, self.timestamp);
    }

    /// Emits to a side output, with the same timestamp as the main results.
    pub fn output<X: Data>(&mut self, tag: &OutputTag<X>, value: X) {
        self.out.side_output(tag, value, self.timestamp);
    }

    /// The timestamp emitted records carry.
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }
}

/// Sees all elements of a window at once, with its key and bounds, as Flink's
/// `ProcessWindowFunction`. The elements are kept in state until the window fires, so prefer
/// `reduce` or `aggregate` when the result can be computed incrementally.
pub trait ProcessWindowFunction<K, T, O, W>: Send {
    fn process(
        &mut self,
        key: &K,
        context: &WindowContext<'_, W>,
        elements: &[T],
        out: &mut WindowCollector<'_, O>,
    ) -> Result<()>;
}

impl<K, T, O, W, F> ProcessWindowFunction<K, T, O, W> for F
where
    F: FnMut(&K, &WindowContext<'_, W>, &[T], &mut WindowCollector<'_, O>) -> Result<()> + Send,
{
    fn process(
        &mut self,
        key: &K,
        context: &WindowContext<'_, W>,
        elements: &[T],
        out: &mut WindowCollector<'_, O>,
    ) -> Result<()> {
        self(key, context, elements, out)
    }
}

/// The form every window function takes inside the window operators (Flink's
/// `InternalWindowFunction` plus the state's add and merge): an accumulator per window, kept in
/// keyed state, and a way to emit from it. Public only because it appears in the bounds of
/// [`WindowedStream`](super::WindowedStream)'s methods.
#[doc(hidden)]
pub trait InternalWindowFunction<K, T, W>: Send + 'static {
    type Accumulator: StateData;
    type Output: Data;

    fn create(&self) -> Self::Accumulator;
    fn add(&self, accumulator: &mut Self::Accumulator, value: T);
    fn merge(&self, a: Self::Accumulator, b: Self::Accumulator) -> Self::Accumulator;
    fn emit(
        &mut self,
        key: &K,
        context: &WindowContext<'_, W>,
        accumulator: &Self::Accumulator,
        out: &mut WindowCollector<'_, Self::Output>,
    ) -> Result<()>;
}

/// `reduce` and `reduce_with`: the accumulator is the reduced element (`None` before the
/// first, so the reduction can move values instead of cloning them).
#[doc(hidden)]
#[derive(Clone)]
pub struct ReduceWindowFunction<F, WF> {
    pub(crate) reduce: F,
    pub(crate) window_function: WF,
}

impl<K, T, W, O, F, WF> InternalWindowFunction<K, T, W> for ReduceWindowFunction<F, WF>
where
    T: StateData,
    O: Data,
    F: Fn(T, T) -> T + Send + 'static,
    WF: Fn(&K, &W, T) -> O + Send + 'static,
{
    type Accumulator = Option<T>;
    type Output = O;

    fn create(&self) -> Option<T> {
        None
    }

    fn add(&self, accumulator: &mut Option<T>, value: T) {
        let reduced = match accumulator.take() {
            Some(current) => (self.reduce)(current, value),
            None => value,
        };
        *accumulator = Some(reduced);
    }

    fn merge(&self, a: Option<T>, b: Option<T>) -> Option<T> {
        match (a, b) {
            (Some(a), Some(b)) => Some((self.reduce)(a, b)),
            (a, b) => a.or(b),
        }
    }

    fn emit(
        &mut self,
        key: &K,
        context: &WindowContext<'_, W>,
        accumulator: &Option<T>,
        out: &mut WindowCollector<'_, O>,
    ) -> Result<()> {
        // The reduced value stays in state (a late element may update it), so emit a copy.
        if let Some(reduced) = accumulator {
            out.collect((self.window_function)(key, context.window, reduced.clone()));
        }
        Ok(())
    }
}

/// `aggregate` and `aggregate_with`.
#[doc(hidden)]
pub struct AggregateWindowFunction<A, ACC, O, WF> {
    pub(crate) aggregate: A,
    pub(crate) window_function: WF,
    pub(crate) _types: PhantomData<fn() -> (ACC, O)>,
}

impl<A: Clone, ACC, O, WF: Clone> Clone for AggregateWindowFunction<A, ACC, O, WF> {
    fn clone(&self) -> Self {
        AggregateWindowFunction {
            aggregate: self.aggregate.clone(),
            window_function: self.window_function.clone(),
            _types: PhantomData,
        }
    }
}

impl<K, T, W, ACC, O, R, A, WF> InternalWindowFunction<K, T, W>
    for AggregateWindowFunction<A, ACC, O, WF>
where
    ACC: StateData,
    O: 'static,
    R: Data,
    A: AggregateFunction<T, ACC, O> + 'static,
    WF: Fn(&K, &W, O) -> R + Send + 'static,
{
    type Accumulator = ACC;
    type Output = R;

    fn create(&self) -> ACC {
        self.aggregate.create_accumulator()
    }

    fn add(&self, accumulator: &mut ACC, value: T) {
        self.aggregate.add(accumulator, value);
    }

    fn merge(&self, a: ACC, b: ACC) -> ACC {
        self.aggregate.merge(a, b)
    }

    fn emit(
        &mut self,
        key: &K,
        context: &WindowContext<'_, W>,
        accumulator: &ACC,
        out: &mut WindowCollector<'_, R>,
    ) -> Result<()> {
        let result = self.aggregate.get_result(accumulator);
        out.collect((self.window_function)(key, context.window, result));
        Ok(())
    }
}

/// `process`: the accumulator is the list of elements, in arrival order.
#[doc(hidden)]
pub struct ProcessWindowFunctionAdapter<P, O> {
    pub(crate) function: P,
    pub(crate) _output: PhantomData<fn() -> O>,
}

impl<P: Clone, O> Clone for ProcessWindowFunctionAdapter<P, O> {
    fn clone(&self) -> Self {
        ProcessWindowFunctionAdapter {
            function: self.function.clone(),
            _output: PhantomData,
        }
    }
}

impl<K, T, W, O, P> InternalWindowFunction<K, T, W> for ProcessWindowFunctionAdapter<P, O>
where
    T: StateData,
    O: Data,
    P: ProcessWindowFunction<K, T, O, W> + 'static,
{
    type Accumulator = Vec<T>;
    type Output = O;

    fn create(&self) -> Vec<T> {
        Vec::new()
    }

    fn add(&self, accumulator: &mut Vec<T>, value: T) {
        accumulator.push(value);
    }

    fn merge(&self, mut a: Vec<T>, b: Vec<T>) -> Vec<T> {
        a.extend(b);
        a
    }

    fn emit(
        &mut self,
        key: &K,
        context: &WindowContext<'_, W>,
        accumulator: &Vec<T>,
        out: &mut WindowCollector<'_, O>,
    ) -> Result<()> {
        self.function.process(key, context, accumulator, out)
    }
}
