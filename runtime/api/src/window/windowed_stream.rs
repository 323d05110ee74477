//! [`WindowedStream`]: a keyed stream cut into windows, as Flink's `WindowedStream`, and the
//! `window` / `count_window` methods of [`KeyedStream`] that create it.

use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use flinkrs_core::{Batch, Data, Error, Result, RuntimeMode};
use flinkrs_dataflow::{Operator, OutputTag, TaskInfo};
use flinkrs_state::{KeyData, StateData};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::assigners::WindowAssigner;
use super::count::{CountTrigger, CountWindowOperator};
use super::functions::{
    AggregateFunction, AggregateWindowFunction, InternalWindowFunction, ProcessWindowFunction,
    ProcessWindowFunctionAdapter, ReduceWindowFunction,
};
use super::operator::{TimeWindowOperator, TimeWindowSettings};
use super::time_window::{GlobalWindow, TimeWindow, Window, duration_millis};
use crate::keyed::{KeySelector, KeyedStream};
use crate::stream::DataStream;

impl<T, K> KeyedStream<T, K>
where
    T: Data + Serialize + DeserializeOwned,
    K: Data + Hash + Eq + Serialize + DeserializeOwned,
{
    /// Groups each key's elements into the time windows of `assigner`.
    pub fn window<A: WindowAssigner>(&self, assigner: A) -> WindowedStream<T, K, TimeWindow> {
        WindowedStream::new(self.clone(), WindowKind::Time(Arc::new(assigner)))
    }

    /// Tumbling count windows: each `size` elements of a key form a window.
    pub fn count_window(&self, size: u64) -> WindowedStream<T, K, GlobalWindow> {
        WindowedStream::new(
            self.clone(),
            WindowKind::Count(CountTrigger::Tumbling { size }),
        )
    }

    /// Sliding count windows: every `slide` elements of a key, a window over its last `size`
    /// elements.
    pub fn count_window_sliding(
        &self,
        size: u64,
        slide: u64,
    ) -> WindowedStream<T, K, GlobalWindow> {
        WindowedStream::new(
            self.clone(),
            WindowKind::Count(CountTrigger::Sliding { size, slide }),
        )
    }
}

#[derive(Clone)]
enum WindowKind {
    Time(Arc<dyn WindowAssigner>),
    Count(CountTrigger),
}

/// A boxed operator over typed records, as the window builders return it.
type BoxedOperator<I, O> = Box<dyn Operator<Batch<I>, Batch<O>>>;

/// How a windowed stream cuts windows. Public only because it appears in
/// [`BuildWindowOperator`]; built by [`KeyedStream::window`] and friends.
#[doc(hidden)]
pub struct WindowStrategy<T> {
    kind: WindowKind,
    allowed_lateness: i64,
    late_data: Option<OutputTag<T>>,
}

impl<T> Clone for WindowStrategy<T> {
    fn clone(&self) -> Self {
        WindowStrategy {
            kind: self.kind.clone(),
            allowed_lateness: self.allowed_lateness,
            late_data: self.late_data.clone(),
        }
    }
}

impl<T> WindowStrategy<T> {
    fn describe(&self) -> String {
        match &self.kind {
            WindowKind::Time(assigner) => {
                let trigger = if assigner.is_event_time() {
                    "EventTimeTrigger"
                } else {
                    "ProcessingTimeTrigger"
                };
                format!("{assigner}, {trigger}")
            }
            WindowKind::Count(trigger) => trigger.describe(),
        }
    }

    fn mismatch(&self) -> Error {
        Error::InvalidJob(format!(
            "window strategy {} does not fit its window type",
            self.describe()
        ))
    }
}

/// Builds the operator for one kind of window: time windows and count (global) windows run
/// different operators. Implemented for [`TimeWindow`] and [`GlobalWindow`] only.
#[doc(hidden)]
pub trait BuildWindowOperator: Window {
    fn build_operator<T, K, F>(
        strategy: &WindowStrategy<T>,
        selector: KeySelector<T, K>,
        function: F,
        info: &TaskInfo,
    ) -> Result<BoxedOperator<T, F::Output>>
    where
        T: StateData,
        K: KeyData,
        F: InternalWindowFunction<K, T, Self>;
}

impl BuildWindowOperator for TimeWindow {
    fn build_operator<T, K, F>(
        strategy: &WindowStrategy<T>,
        selector: KeySelector<T, K>,
        function: F,
        info: &TaskInfo,
    ) -> Result<BoxedOperator<T, F::Output>>
    where
        T: StateData,
        K: KeyData,
        F: InternalWindowFunction<K, T, Self>,
    {
        let WindowKind::Time(assigner) = &strategy.kind else {
            return Err(strategy.mismatch());
        };
        let settings = TimeWindowSettings {
            assigner: Arc::clone(assigner),
            allowed_lateness: strategy.allowed_lateness,
            late_data: strategy.late_data.clone(),
            batch_mode: info.config.runtime_mode() == RuntimeMode::Batch,
        };
        Ok(Box::new(TimeWindowOperator::new(
            settings, selector, function,
        )?))
    }
}

impl BuildWindowOperator for GlobalWindow {
    fn build_operator<T, K, F>(
        strategy: &WindowStrategy<T>,
        selector: KeySelector<T, K>,
        function: F,
        _info: &TaskInfo,
    ) -> Result<BoxedOperator<T, F::Output>>
    where
        T: StateData,
        K: KeyData,
        F: InternalWindowFunction<K, T, Self>,
    {
        let WindowKind::Count(trigger) = strategy.kind else {
            return Err(strategy.mismatch());
        };
        Ok(Box::new(CountWindowOperator::new(
            trigger, selector, function,
        )?))
    }
}

/// A keyed stream cut into windows of type `W`; a window function turns it back into a
/// [`DataStream`].
pub struct WindowedStream<T, K, W> {
    keyed: KeyedStream<T, K>,
    strategy: WindowStrategy<T>,
    _window: PhantomData<fn() -> W>,
}

impl<T, K, W> Clone for WindowedStream<T, K, W> {
    fn clone(&self) -> Self {
        WindowedStream {
            keyed: self.keyed.clone(),
            strategy: self.strategy.clone(),
            _window: PhantomData,
        }
    }
}

impl<T, K, W> WindowedStream<T, K, W>
where
    T: Data + Serialize + DeserializeOwned,
    K: Data + Hash + Eq + Serialize + DeserializeOwned,
    W: BuildWindowOperator,
{
    fn new(keyed: KeyedStream<T, K>, kind: WindowKind) -> Self {
        let strategy = WindowStrategy {
            kind,
            allowed_lateness: 0,
            late_data: None,
        };
        WindowedStream {
            keyed,
            strategy,
            _window: PhantomData,
        }
    }

    /// Keeps event-time windows open for `lateness` after the watermark passes their end: a
    /// late element within it fires the window again with the update. Ignored in processing
    /// time and for count windows, as in Flink.
    pub fn allowed_lateness(mut self, lateness: Duration) -> Self {
        self.strategy.allowed_lateness = duration_millis(lateness);
        self
    }

    /// Sends elements that arrive after their windows were purged to the side output `tag`
    /// (read it with [`DataStream::get_side_output`] on the result) instead of dropping them.
    pub fn side_output_late_data(mut self, tag: &OutputTag<T>) -> Self {
        self.strategy.late_data = Some(tag.clone());
        self
    }

    /// Reduces each window's elements incrementally; emits the reduced element.
    pub fn reduce<F>(&self, reduce: F) -> DataStream<T>
    where
        F: Fn(T, T) -> T + Clone + Send + Sync + 'static,
    {
        let window_function = |_: &K, _: &W, reduced: T| reduced;
        self.apply(
            "Reduce",
            ReduceWindowFunction {
                reduce,
                window_function,
            },
        )
    }

    /// Reduces incrementally, then maps the result with the window's key and bounds (Flink's
    /// `reduce(ReduceFunction, ProcessWindowFunction)`).
    pub fn reduce_with<O, F, WF>(&self, reduce: F, window_function: WF) -> DataStream<O>
    where
        O: Data,
        F: Fn(T, T) -> T + Clone + Send + Sync + 'static,
        WF: Fn(&K, &W, T) -> O + Clone + Send + Sync + 'static,
    {
        self.apply(
            "Reduce",
            ReduceWindowFunction {
                reduce,
                window_function,
            },
        )
    }

    /// Aggregates each window's elements incrementally with an accumulator.
    pub fn aggregate<ACC, O, A>(&self, aggregate: A) -> DataStream<O>
    where
        ACC: StateData,
        O: Data,
        A: AggregateFunction<T, ACC, O> + 'static,
    {
        let window_function = |_: &K, _: &W, result: O| result;
        self.apply(
            "Aggregate",
            AggregateWindowFunction {
                aggregate,
                window_function,
                _types: PhantomData,
            },
        )
    }

    /// Aggregates incrementally, then maps the result with the window's key and bounds (Flink's
    /// `aggregate(AggregateFunction, ProcessWindowFunction)`).
    pub fn aggregate_with<ACC, O, R, A, WF>(
        &self,
        aggregate: A,
        window_function: WF,
    ) -> DataStream<R>
    where
        ACC: StateData,
        O: 'static,
        R: Data,
        A: AggregateFunction<T, ACC, O> + 'static,
        WF: Fn(&K, &W, O) -> R + Clone + Send + Sync + 'static,
    {
        self.apply(
            "Aggregate",
            AggregateWindowFunction {
                aggregate,
                window_function,
                _types: PhantomData,
            },
        )
    }

    /// Evaluates each window over all its elements, with its key and bounds.
    pub fn process<O, P>(&self, function: P) -> DataStream<O>
    where
        O: Data,
        P: ProcessWindowFunction<K, T, O, W> + Clone + Sync + 'static,
    {
        self.apply(
            "Process",
            ProcessWindowFunctionAdapter {
                function,
                _output: PhantomData,
            },
        )
    }

    fn apply<F>(&self, function_name: &str, function: F) -> DataStream<F::Output>
    where
        F: InternalWindowFunction<K, T, W> + Clone + Sync,
    {
        let selector = self.keyed.selector();
        let strategy = self.strategy.clone();
        let name = format!("Window({}, {function_name})", strategy.describe());
        self.keyed
            .stream
            .add_operator("Window", &name, move |info| {
                W::build_operator(&strategy, Arc::clone(&selector), function.clone(), info)
            })
    }
}
