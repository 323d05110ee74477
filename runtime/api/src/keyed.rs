//! [`KeyedStream`]: a stream partitioned by key, with keyed state and rolling aggregations.

use std::hash::Hash;
use std::ops::Add;
use std::sync::Arc;

use flinkrs_core::{Batch, Data, Error, KeyGroupRange, Result, RuntimeMode};
use flinkrs_dataflow::{Operator, OperatorSnapshot, Output, TaskInfo};
use flinkrs_state::{KeyData, KeyedStateBackend, ValueState};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::process::{KeyedProcessFunction, KeyedProcessOperator};
use crate::stream::DataStream;

/// Extracts the key of a record: borrowed from the record when the key is one of its fields
/// (`key_by_ref`), so partitioning and state lookups need not copy it.
pub type KeySelector<T, K> = Arc<dyn for<'a> Fn(&'a T) -> KeyRef<'a, K> + Send + Sync>;

/// A key, owned or borrowed from its record.
#[derive(Debug)]
pub enum KeyRef<'a, K> {
    Owned(K),
    Borrowed(&'a K),
}

impl<K> std::ops::Deref for KeyRef<'_, K> {
    type Target = K;

    fn deref(&self) -> &K {
        match self {
            KeyRef::Owned(key) => key,
            KeyRef::Borrowed(key) => key,
        }
    }
}

impl<K: Clone> KeyRef<'_, K> {
    /// The key itself, copied only when it was borrowed.
    pub fn into_owned(self) -> K {
        match self {
            KeyRef::Owned(key) => key,
            KeyRef::Borrowed(key) => key.clone(),
        }
    }
}

/// Makes a [`KeySelector`]; a function with this bound lets closures return borrowed keys.
pub fn key_selector<T, K, F>(selector: F) -> KeySelector<T, K>
where
    F: for<'a> Fn(&'a T) -> KeyRef<'a, K> + Send + Sync + 'static,
{
    Arc::new(selector)
}

/// A stream partitioned by a key of type `K`, as Flink's `KeyedStream`.
pub struct KeyedStream<T, K> {
    pub(crate) stream: DataStream<T>,
    pub(crate) selector: KeySelector<T, K>,
}

impl<T, K> Clone for KeyedStream<T, K> {
    fn clone(&self) -> Self {
        KeyedStream {
            stream: self.stream.clone(),
            selector: Arc::clone(&self.selector),
        }
    }
}

/// The keyed state backend for one subtask, restored from `state` when given.
pub(crate) fn keyed_backend<K: KeyData>(
    info: &TaskInfo,
    state: Option<OperatorSnapshot>,
) -> Result<KeyedStateBackend<K>> {
    let range =
        KeyGroupRange::for_operator(info.max_parallelism, info.parallelism, info.subtask_index);
    let mut backend = KeyedStateBackend::new(info.max_parallelism, range);
    if let Some(keyed) = state.and_then(|snapshot| snapshot.keyed) {
        backend.restore(keyed)?;
    }
    Ok(backend)
}

/// The operator snapshot of a keyed operator: its backend's key groups.
pub(crate) fn keyed_snapshot<K: KeyData>(
    backend: Option<&mut KeyedStateBackend<K>>,
) -> Result<OperatorSnapshot> {
    let keyed = backend.map(KeyedStateBackend::snapshot).transpose()?;
    Ok(OperatorSnapshot {
        keyed,
        operator_state: Vec::new(),
    })
}

impl<T, K> KeyedStream<T, K>
where
    T: Data,
    K: Data + Hash + Eq + Serialize + DeserializeOwned,
{
    pub(crate) fn new(stream: DataStream<T>, selector: KeySelector<T, K>) -> Self {
        KeyedStream { stream, selector }
    }

    /// The key selector.
    pub fn selector(&self) -> KeySelector<T, K> {
        Arc::clone(&self.selector)
    }

    /// Applies a [`KeyedProcessFunction`]: per-key state and timers.
    pub fn process<O: Data, P>(&self, function: P) -> DataStream<O>
    where
        P: KeyedProcessFunction<K, T, O> + Clone + Sync + 'static,
    {
        let selector = Arc::clone(&self.selector);
        self.stream
            .transform_as("KeyedProcess", "KeyedProcess", move |_| {
                KeyedProcessOperator::new(function.clone(), Arc::clone(&selector))
            })
    }
}

/// Rolling aggregations keep the running record in keyed state, so it must be serializable.
impl<T, K> KeyedStream<T, K>
where
    T: Data + Serialize + DeserializeOwned,
    K: Data + Hash + Eq + Serialize + DeserializeOwned,
{
    /// Combines each record with the running value of its key. Streaming mode emits every
    /// update; batch mode emits one final value per key.
    pub fn reduce<F>(&self, reduce: F) -> DataStream<T>
    where
        F: Fn(T, T) -> T + Clone + Send + Sync + 'static,
    {
        self.fold_into("Keyed Reduce", move |slot: &mut Option<T>, next: T| {
            // The running value is taken out of its slot, so a reduce function that panics
            // leaves the slot empty, and the next record of the key fails instead of combining
            // with a half-updated value.
            let current = slot.take().ok_or_else(failed_earlier)?;
            *slot = Some(reduce(current, next));
            Ok(())
        })
    }

    /// Rolling sum of one field; the other fields keep the key's first record's values, as in
    /// Flink's `sum(position)`.
    pub fn sum<N, G>(&self, field: G) -> DataStream<T>
    where
        N: Copy + Add<Output = N> + Send + 'static,
        G: Fn(&mut T) -> &mut N + Clone + Send + Sync + 'static,
    {
        self.update_field(field, |total, added| *total = *total + added)
    }

    /// Rolling minimum of one field, other fields from the first record.
    pub fn min<N, G>(&self, field: G) -> DataStream<T>
    where
        N: Copy + PartialOrd + Send + 'static,
        G: Fn(&mut T) -> &mut N + Clone + Send + Sync + 'static,
    {
        self.update_field(field, |current, candidate| {
            if candidate < *current {
                *current = candidate;
            }
        })
    }

    /// Rolling maximum of one field, other fields from the first record.
    pub fn max<N, G>(&self, field: G) -> DataStream<T>
    where
        N: Copy + PartialOrd + Send + 'static,
        G: Fn(&mut T) -> &mut N + Clone + Send + Sync + 'static,
    {
        self.update_field(field, |current, candidate| {
            if candidate > *current {
                *current = candidate;
            }
        })
    }

    /// A rolling aggregation of one field, updated in place in the key's running value: the
    /// record is not moved out of state and back for each update.
    fn update_field<N, G, U>(&self, field: G, update: U) -> DataStream<T>
    where
        N: Copy + Send + 'static,
        G: Fn(&mut T) -> &mut N + Clone + Send + Sync + 'static,
        U: Fn(&mut N, N) + Clone + Send + Sync + 'static,
    {
        self.fold_into(
            "Keyed Aggregation",
            move |slot: &mut Option<T>, mut next: T| {
                let current = slot.as_mut().ok_or_else(failed_earlier)?;
                let value = *field(&mut next);
                update(field(current), value);
                Ok(())
            },
        )
    }

    /// The keyed operator that folds each record into its key's running value with `fold`.
    fn fold_into<G>(&self, name: &str, fold: G) -> DataStream<T>
    where
        G: Fn(&mut Option<T>, T) -> Result<()> + Clone + Send + Sync + 'static,
    {
        let selector = Arc::clone(&self.selector);
        self.stream
            .transform_as("Keyed Reduce", name, move |info| ReduceOperator {
                selector: Arc::clone(&selector),
                fold: fold.clone(),
                batch_mode: info.config.runtime_mode() == RuntimeMode::Batch,
                backend: None,
                state: None,
            })
    }

    /// The whole record with the smallest field so far (the first one on ties).
    pub fn min_by<N>(&self, field: fn(&T) -> N) -> DataStream<T>
    where
        N: PartialOrd + Send + 'static,
    {
        self.reduce(move |current, next| {
            if field(&next) < field(&current) {
                next
            } else {
                current
            }
        })
        .name("Keyed Aggregation")
    }

    /// The whole record with the largest field so far (the first one on ties).
    pub fn max_by<N>(&self, field: fn(&T) -> N) -> DataStream<T>
    where
        N: PartialOrd + Send + 'static,
    {
        self.reduce(move |current, next| {
            if field(&next) > field(&current) {
                next
            } else {
                current
            }
        })
        .name("Keyed Aggregation")
    }
}

/// The error of a key whose running value was lost to a reduce function that panicked.
fn failed_earlier() -> Error {
    Error::state("a reduce function failed earlier for this key")
}

/// A rolling aggregation: each record is folded into its key's running value (the first
/// record of a key becomes its value).
struct ReduceOperator<T, K, F> {
    selector: KeySelector<T, K>,
    /// Folds a record into the running value, in place.
    fold: F,
    batch_mode: bool,
    backend: Option<KeyedStateBackend<K>>,
    /// The running value per key; `None` only after a reduce function panicked.
    state: Option<ValueState<Option<T>>>,
}

impl<T, K, F> Operator<Batch<T>, Batch<T>> for ReduceOperator<T, K, F>
where
    T: Data + Serialize + DeserializeOwned,
    K: KeyData,
    F: Fn(&mut Option<T>, T) -> Result<()> + Send,
{
    fn initialize_state(&mut self, info: &TaskInfo, state: Option<OperatorSnapshot>) -> Result<()> {
        let mut backend = keyed_backend(info, state)?;
        self.state = Some(ValueState::register(&mut backend, "reduce")?);
        self.backend = Some(backend);
        Ok(())
    }

    fn process_batch(&mut self, batch: &mut Batch<T>, out: &mut Output<Batch<T>>) -> Result<()> {
        let (Some(backend), Some(state)) = (self.backend.as_mut(), self.state) else {
            return Ok(());
        };
        // The table is borrowed once per batch; each record costs one hash lookup.
        let entries = state.entries_mut(backend);
        for record in batch.drain(..) {
            let key = (self.selector)(&record.value);
            match entries.get_mut(&*key) {
                Some(slot) => {
                    (self.fold)(slot, record.value)?;
                    if !self.batch_mode
                        && let Some(current) = slot
                    {
                        out.collect(current.clone(), record.timestamp);
                    }
                }
                None => {
                    let key = key.into_owned();
                    if !self.batch_mode {
                        out.collect(record.value.clone(), record.timestamp);
                    }
                    entries.insert(key, Some(record.value));
                }
            }
        }
        Ok(())
    }

    fn snapshot_state(
        &mut self,
        _checkpoint: flinkrs_core::CheckpointId,
    ) -> Result<OperatorSnapshot> {
        keyed_snapshot(self.backend.as_mut())
    }

    fn end_input(&mut self, out: &mut Output<Batch<T>>) -> Result<()> {
        if self.batch_mode
            && let (Some(backend), Some(state)) = (self.backend.as_mut(), self.state)
        {
            // As Flink's BatchGroupedReduceOperator: final values carry the end of time, so a
            // downstream event-time window takes them into its last window.
            for (_, value) in state.drain_all(backend) {
                if let Some(value) = value {
                    out.collect(value, i64::MAX);
                }
            }
        }
        Ok(())
    }
}
