//! The operator behind count windows, as Flink's `countWindow`:
//!
//! - tumbling (`count_window(size)`): `GlobalWindows` with a purging `CountTrigger(size)`. The
//!   accumulator grows incrementally and the window fires and is purged at `size` elements;
//! - sliding (`count_window_sliding(size, slide)`): `GlobalWindows` with `CountEvictor(size)`
//!   and `CountTrigger(slide)`. The elements are kept; every `slide` elements the window keeps
//!   only its last `size` elements and fires over them.
//!
//! Count windows ignore time: watermarks pass through, and at the end of input incomplete
//! windows are not fired, as in Flink. Results carry `GlobalWindow`'s `max_timestamp()`,
//! `i64::MAX`, as Flink's do.

use flinkrs_core::time::now_millis;
use flinkrs_core::{Batch, CheckpointId, Error, Result, Watermark};
use flinkrs_dataflow::{Operator, OperatorSnapshot, Output, TaskInfo};
use flinkrs_state::{KeyData, KeyedStateBackend, StateData, ValueState};
use serde::{Deserialize, Serialize};

use super::functions::{InternalWindowFunction, WindowCollector, WindowContext};
use super::time_window::{GlobalWindow, Window};
use crate::keyed::{KeySelector, keyed_backend, keyed_snapshot};

/// How a count window fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CountTrigger {
    Tumbling { size: u64 },
    Sliding { size: u64, slide: u64 },
}

impl CountTrigger {
    pub(crate) fn describe(self) -> String {
        match self {
            CountTrigger::Tumbling { size } => {
                format!("GlobalWindows, PurgingTrigger(CountTrigger({size}))")
            }
            CountTrigger::Sliding { size, slide } => {
                format!("GlobalWindows, CountTrigger({slide}), CountEvictor({size})")
            }
        }
    }

    fn validate(self) -> Result<()> {
        let (size, slide) = match self {
            CountTrigger::Tumbling { size } => (size, size),
            CountTrigger::Sliding { size, slide } => (size, slide),
        };
        if size == 0 || slide == 0 {
            return Err(Error::InvalidJob(format!(
                "count window: size ({size}) and slide ({slide}) must be positive"
            )));
        }
        Ok(())
    }
}

/// A key's tumbling count window: the accumulator and how many elements it holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Counted<A> {
    accumulator: A,
    count: u64,
}

/// A key's sliding count window: its elements, and how many arrived since it last fired.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Buffered<T> {
    elements: Vec<T>,
    since_firing: u64,
}

pub(crate) struct CountWindowOperator<T, K, F: InternalWindowFunction<K, T, GlobalWindow>> {
    selector: KeySelector<T, K>,
    trigger: CountTrigger,
    function: F,
    watermark: i64,
    backend: Option<KeyedStateBackend<K>>,
    tumbling: Option<ValueState<Counted<F::Accumulator>>>,
    sliding: Option<ValueState<Buffered<T>>>,
}

impl<T, K, F> CountWindowOperator<T, K, F>
where
    T: StateData,
    K: KeyData,
    F: InternalWindowFunction<K, T, GlobalWindow>,
{
    pub(crate) fn new(
        trigger: CountTrigger,
        selector: KeySelector<T, K>,
        function: F,
    ) -> Result<Self> {
        trigger.validate()?;
        Ok(CountWindowOperator {
            selector,
            trigger,
            function,
            watermark: i64::MIN,
            backend: None,
            tumbling: None,
            sliding: None,
        })
    }
}

fn emit<K, T, F: InternalWindowFunction<K, T, GlobalWindow>>(
    function: &mut F,
    key: &K,
    accumulator: &F::Accumulator,
    watermark: i64,
    out: &mut Output<Batch<F::Output>>,
) -> Result<()> {
    let context = WindowContext {
        window: &GlobalWindow,
        watermark,
        processing_time: now_millis(),
    };
    let mut collector = WindowCollector {
        out,
        timestamp: GlobalWindow.max_timestamp(),
    };
    function.emit(key, &context, accumulator, &mut collector)
}

impl<T, K, F> Operator<Batch<T>, Batch<F::Output>> for CountWindowOperator<T, K, F>
where
    T: StateData,
    K: KeyData,
    F: InternalWindowFunction<K, T, GlobalWindow>,
{
    fn initialize_state(&mut self, info: &TaskInfo, state: Option<OperatorSnapshot>) -> Result<()> {
        let mut backend = keyed_backend(info, state)?;
        match self.trigger {
            CountTrigger::Tumbling { .. } => {
                self.tumbling = Some(ValueState::register(&mut backend, "count-window")?);
            }
            CountTrigger::Sliding { .. } => {
                self.sliding = Some(ValueState::register(&mut backend, "count-window-elements")?);
            }
        }
        self.backend = Some(backend);
        Ok(())
    }

    fn process_batch(
        &mut self,
        batch: &mut Batch<T>,
        out: &mut Output<Batch<F::Output>>,
    ) -> Result<()> {
        let Some(backend) = self.backend.as_mut() else {
            return Ok(());
        };
        for record in batch.drain(..) {
            let key = (self.selector)(&record.value).into_owned();
            match (self.trigger, self.tumbling, self.sliding) {
                (CountTrigger::Tumbling { size }, Some(state), _) => {
                    if state.get_mut_for_key(backend, &key).is_none() {
                        let empty = Counted {
                            accumulator: self.function.create(),
                            count: 0,
                        };
                        state.insert_for_key(backend, key.clone(), empty);
                    }
                    let Some(slot) = state.get_mut_for_key(backend, &key) else {
                        continue;
                    };
                    self.function.add(&mut slot.accumulator, record.value);
                    slot.count += 1;
                    if slot.count >= size {
                        // Fire and purge: the next element starts a new window.
                        if let Some((key, full)) = state.remove_entry_for_key(backend, &key) {
                            emit(
                                &mut self.function,
                                &key,
                                &full.accumulator,
                                self.watermark,
                                out,
                            )?;
                        }
                    }
                }
                (CountTrigger::Sliding { size, slide }, _, Some(state)) => {
                    if state.get_mut_for_key(backend, &key).is_none() {
                        let empty = Buffered {
                            elements: Vec::new(),
                            since_firing: 0,
                        };
                        state.insert_for_key(backend, key.clone(), empty);
                    }
                    let Some(buffer) = state.get_mut_for_key(backend, &key) else {
                        continue;
                    };
                    buffer.elements.push(record.value);
                    buffer.since_firing += 1;
                    if buffer.since_firing >= slide {
                        buffer.since_firing = 0;
                        // CountEvictor: keep the last `size` elements, before evaluating.
                        let keep = usize::try_from(size).unwrap_or(usize::MAX);
                        let excess = buffer.elements.len().saturating_sub(keep);
                        buffer.elements.drain(..excess);
                        let mut accumulator = self.function.create();
                        for element in &buffer.elements {
                            self.function.add(&mut accumulator, element.clone());
                        }
                        emit(&mut self.function, &key, &accumulator, self.watermark, out)?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn process_watermark(
        &mut self,
        watermark: Watermark,
        out: &mut Output<Batch<F::Output>>,
    ) -> Result<()> {
        self.watermark = self.watermark.max(watermark.0);
        out.emit_watermark(watermark)
    }

    fn snapshot_state(&mut self, _checkpoint: CheckpointId) -> Result<OperatorSnapshot> {
        keyed_snapshot(self.backend.as_mut())
    }
}
