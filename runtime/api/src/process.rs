//! Process functions: per-record logic with access to time, side outputs, and (when keyed)
//! state and timers. As Flink's `ProcessFunction` and `KeyedProcessFunction`.

use std::marker::PhantomData;

use flinkrs_core::time::now_millis;
use flinkrs_core::{Batch, CheckpointId, Data, NO_TIMESTAMP, Result, Watermark};
use flinkrs_dataflow::{
    KeyTimers, Operator, OperatorSnapshot, Output, OutputTag, TaskInfo, TimerService,
};
use flinkrs_state::{
    KeyData, KeyedStateBackend, ListState, MapState, ReducingState, StateData, ValueState,
};

use crate::keyed::{KeySelector, keyed_backend, keyed_snapshot};

/// Which clock fired a timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeDomain {
    EventTime,
    ProcessingTime,
}

/// Per-record logic on a non-keyed stream.
pub trait ProcessFunction<I, O>: Send {
    fn open(&mut self, _info: &TaskInfo) -> Result<()> {
        Ok(())
    }

    fn process_element(&mut self, value: I, ctx: &mut ProcessContext<'_, O>) -> Result<()>;
}

/// What a [`ProcessFunction`] can do while processing a record.
pub struct ProcessContext<'a, O> {
    out: &'a mut Output<Batch<O>>,
    timestamp: i64,
    watermark: i64,
}

impl<O: Data> ProcessContext<'_, O> {
    /// The record's event-time timestamp, if it has one.
    pub fn timestamp(&self) -> Option<i64> {
        (self.timestamp != NO_TIMESTAMP).then_some(self.timestamp)
    }

    /// Emits a record with the input record's timestamp.
    pub fn collect(&mut self, value: O) {
        self.out.collect(value, self.timestamp);
    }

    /// Emits a record to a side output.
    pub fn output<X: Data>(&mut self, tag: &OutputTag<X>, value: X) {
        self.out.side_output(tag, value, self.timestamp);
    }

    pub fn current_watermark(&self) -> i64 {
        self.watermark
    }

    pub fn current_processing_time(&self) -> i64 {
        now_millis()
    }
}

pub(crate) struct ProcessOperator<P, I> {
    function: P,
    watermark: i64,
    _input: PhantomData<fn(I)>,
}

impl<P, I> ProcessOperator<P, I> {
    pub(crate) fn new(function: P) -> Self {
        ProcessOperator {
            function,
            watermark: i64::MIN,
            _input: PhantomData,
        }
    }
}

impl<I: Data, O: Data, P: ProcessFunction<I, O>> Operator<Batch<I>, Batch<O>>
    for ProcessOperator<P, I>
{
    fn open(&mut self, info: &TaskInfo) -> Result<()> {
        self.function.open(info)
    }

    fn process_batch(&mut self, batch: &mut Batch<I>, out: &mut Output<Batch<O>>) -> Result<()> {
        for record in batch.drain(..) {
            let mut ctx = ProcessContext {
                out,
                timestamp: record.timestamp,
                watermark: self.watermark,
            };
            self.function.process_element(record.value, &mut ctx)?;
        }
        Ok(())
    }

    fn process_watermark(
        &mut self,
        watermark: Watermark,
        out: &mut Output<Batch<O>>,
    ) -> Result<()> {
        self.watermark = watermark.0;
        out.emit_watermark(watermark)
    }
}

/// Registers keyed state, in [`KeyedProcessFunction::open`].
pub struct RuntimeContext<'a, K> {
    backend: &'a mut KeyedStateBackend<K>,
    info: &'a TaskInfo,
}

impl<K: KeyData> RuntimeContext<'_, K> {
    pub fn task_info(&self) -> &TaskInfo {
        self.info
    }

    pub fn value_state<T: StateData>(&mut self, name: &str) -> Result<ValueState<T>> {
        Ok(ValueState::register(self.backend, name)?)
    }

    pub fn list_state<T: StateData>(&mut self, name: &str) -> Result<ListState<T>> {
        Ok(ListState::register(self.backend, name)?)
    }

    pub fn map_state<UK, UV>(&mut self, name: &str) -> Result<MapState<UK, UV>>
    where
        UK: StateData + std::hash::Hash + Eq,
        UV: StateData,
    {
        Ok(MapState::register(self.backend, name)?)
    }

    pub fn reducing_state<T: StateData>(
        &mut self,
        name: &str,
        reduce: impl Fn(T, T) -> T + Send + Sync + 'static,
    ) -> Result<ReducingState<T>> {
        Ok(ReducingState::register(self.backend, name, reduce)?)
    }
}

/// Per-key logic with state and timers.
pub trait KeyedProcessFunction<K, I, O>: Send {
    /// Register state here.
    fn open(&mut self, _ctx: &mut RuntimeContext<'_, K>) -> Result<()> {
        Ok(())
    }

    fn process_element(&mut self, value: I, ctx: &mut KeyedContext<'_, K, O>) -> Result<()>;

    /// A timer registered for the current key fired at `timestamp`.
    fn on_timer(&mut self, _timestamp: i64, _ctx: &mut KeyedContext<'_, K, O>) -> Result<()> {
        Ok(())
    }
}

/// What a [`KeyedProcessFunction`] can do: read the key, use state, set timers, emit.
pub struct KeyedContext<'a, K, O> {
    backend: &'a mut KeyedStateBackend<K>,
    timers: &'a mut TimerService<K>,
    out: &'a mut Output<Batch<O>>,
    timestamp: i64,
    /// The timestamp [`KeyedContext::collect`] gives records. Differs from `timestamp` in a
    /// processing-time timer, whose output has none (Flink's collector erases it there).
    collect_timestamp: i64,
    time_domain: Option<TimeDomain>,
}

impl<K: KeyData, O: Data> KeyedContext<'_, K, O> {
    /// The key of the record or timer being processed.
    pub fn current_key(&self) -> &K {
        self.backend
            .current_key()
            .expect("a keyed context is only created with a current key")
    }

    /// The keyed state backend, positioned on the current key; pass it to state handles.
    pub fn state(&mut self) -> &mut KeyedStateBackend<K> {
        self.backend
    }

    /// The record's timestamp, or the timer's time in `on_timer`.
    pub fn timestamp(&self) -> Option<i64> {
        (self.timestamp != NO_TIMESTAMP).then_some(self.timestamp)
    }

    /// In `on_timer`: which clock fired.
    pub fn time_domain(&self) -> Option<TimeDomain> {
        self.time_domain
    }

    /// Emits a record with the input record's timestamp; in `on_timer`, with the timer's time
    /// for an event-time timer and no timestamp for a processing-time timer, as in Flink.
    pub fn collect(&mut self, value: O) {
        self.out.collect(value, self.collect_timestamp);
    }

    /// Emits to a side output with [`Self::timestamp`]: in `on_timer` that is the timer's time
    /// in both domains, as Flink's `OnTimerContext.output` does.
    pub fn output<X: Data>(&mut self, tag: &OutputTag<X>, value: X) {
        self.out.side_output(tag, value, self.timestamp);
    }

    pub fn current_watermark(&self) -> i64 {
        self.timers.current_watermark()
    }

    pub fn current_processing_time(&self) -> i64 {
        now_millis()
    }

    /// Timers are kept per key: the current key's, which a keyed context always has. The key
    /// is borrowed, not copied, so registering a timer per record allocates nothing.
    pub fn register_event_time_timer(&mut self, timestamp: i64) {
        if let Some(key) = self.backend.current_key() {
            self.timers.register_event_time_timer(key, timestamp);
        }
    }

    pub fn delete_event_time_timer(&mut self, timestamp: i64) {
        if let Some(key) = self.backend.current_key() {
            self.timers.delete_event_time_timer(key, timestamp);
        }
    }

    pub fn register_processing_time_timer(&mut self, timestamp: i64) {
        if let Some(key) = self.backend.current_key() {
            self.timers.register_processing_time_timer(key, timestamp);
        }
    }

    pub fn delete_processing_time_timer(&mut self, timestamp: i64) {
        if let Some(key) = self.backend.current_key() {
            self.timers.delete_processing_time_timer(key, timestamp);
        }
    }
}

/// The keyed state a checkpoint keeps the timers in, as Flink keeps them in `_timer_state`.
const TIMER_STATE: &str = "_timer_state";

pub(crate) struct KeyedProcessOperator<P, I, K> {
    function: P,
    selector: KeySelector<I, K>,
    backend: Option<KeyedStateBackend<K>>,
    timers: TimerService<K>,
    /// Where the timers go for a checkpoint; empty between checkpoints.
    timer_state: Option<ValueState<KeyTimers>>,
}

impl<P, I, K> KeyedProcessOperator<P, I, K> {
    pub(crate) fn new(function: P, selector: KeySelector<I, K>) -> Self {
        KeyedProcessOperator {
            function,
            selector,
            backend: None,
            timers: TimerService::default(),
            timer_state: None,
        }
    }
}

impl<P, I, K: KeyData> KeyedProcessOperator<P, I, K> {
    fn fire<O>(
        &mut self,
        key: K,
        timestamp: i64,
        domain: TimeDomain,
        out: &mut Output<Batch<O>>,
    ) -> Result<()>
    where
        P: KeyedProcessFunction<K, I, O>,
    {
        let Some(backend) = self.backend.as_mut() else {
            return Ok(());
        };
        backend.set_current_key(key);
        let mut ctx = KeyedContext {
            backend,
            timers: &mut self.timers,
            out,
            timestamp,
            collect_timestamp: match domain {
                TimeDomain::EventTime => timestamp,
                TimeDomain::ProcessingTime => NO_TIMESTAMP,
            },
            time_domain: Some(domain),
        };
        self.function.on_timer(timestamp, &mut ctx)
    }
}

impl<P, I, K, O> Operator<Batch<I>, Batch<O>> for KeyedProcessOperator<P, I, K>
where
    P: KeyedProcessFunction<K, I, O>,
    I: Data,
    O: Data,
    K: KeyData,
{
    fn initialize_state(&mut self, info: &TaskInfo, state: Option<OperatorSnapshot>) -> Result<()> {
        let mut backend = keyed_backend(info, state)?;
        // Restored timers (those of this subtask's key groups) go back into the service.
        let timer_state = ValueState::<KeyTimers>::register(&mut backend, TIMER_STATE)?;
        for (key, timers) in timer_state.drain_all(&mut backend) {
            self.timers.restore_key(&key, &timers);
        }
        self.timer_state = Some(timer_state);
        self.backend = Some(backend);
        Ok(())
    }

    fn open(&mut self, info: &TaskInfo) -> Result<()> {
        match self.backend.as_mut() {
            Some(backend) => self.function.open(&mut RuntimeContext { backend, info }),
            None => Ok(()),
        }
    }

    fn process_batch(&mut self, batch: &mut Batch<I>, out: &mut Output<Batch<O>>) -> Result<()> {
        let Some(backend) = self.backend.as_mut() else {
            return Ok(());
        };
        for record in batch.drain(..) {
            backend.set_current_key((self.selector)(&record.value).into_owned());
            let mut ctx = KeyedContext {
                backend,
                timers: &mut self.timers,
                out,
                timestamp: record.timestamp,
                collect_timestamp: record.timestamp,
                time_domain: None,
            };
            self.function.process_element(record.value, &mut ctx)?;
        }
        Ok(())
    }

    fn process_watermark(
        &mut self,
        watermark: Watermark,
        out: &mut Output<Batch<O>>,
    ) -> Result<()> {
        while let Some((key, timestamp)) = self.timers.pop_event_time_timer(watermark.0) {
            self.fire(key, timestamp, TimeDomain::EventTime, out)?;
        }
        out.emit_watermark(watermark)
    }

    fn on_processing_time(&mut self, now_millis: i64, out: &mut Output<Batch<O>>) -> Result<()> {
        while let Some((key, timestamp)) = self.timers.pop_processing_time_timer(now_millis) {
            self.fire(key, timestamp, TimeDomain::ProcessingTime, out)?;
        }
        Ok(())
    }

    /// Timers are keyed state: they pass through `_timer_state` for the snapshot, so they are
    /// stored by key group with the key's other state.
    fn snapshot_state(&mut self, _checkpoint: CheckpointId) -> Result<OperatorSnapshot> {
        let (Some(backend), Some(timer_state)) = (self.backend.as_mut(), self.timer_state) else {
            return keyed_snapshot(self.backend.as_mut());
        };
        for (key, timers) in self.timers.timers_by_key() {
            timer_state.insert_for_key(backend, key, timers);
        }
        let snapshot = keyed_snapshot(Some(&mut *backend));
        timer_state.clear_all(backend);
        snapshot
    }
}
