//! The operator behind time windows (tumbling, sliding and merging session windows, in event
//! or processing time), as Flink's `WindowOperator` with the `EventTimeTrigger` or
//! `ProcessingTimeTrigger` its assigners default to.
//!
//! Windows that never merge (tumbling, sliding) are kept window first, in
//! [`WindowContents`]: all keys of such a window fire and are purged together, so the window
//! carries the timers and no per-key timer exists.
//!
//! Merging (session) windows are kept per key: each key's open windows and their accumulators
//! are one value of keyed state (an ordered map from window to accumulator). Their timers are
//! `(key, time)` pairs: when one fires, every window of that key whose end or cleanup time has
//! come is handled. A timer that no window needs any more (its window merged into a session)
//! therefore does nothing, which is why timers are never deleted.
//!
//! Either way the snapshot is the same: per key, its windows and accumulators, in keyed state,
//! so windows are snapshotted by key group and rescale with the job.

use std::collections::BTreeMap;
use std::sync::Arc;

use flinkrs_core::time::now_millis;
use flinkrs_core::{Batch, CheckpointId, Error, KeyGroupRange, NO_TIMESTAMP, Result, Watermark};
use flinkrs_dataflow::{Operator, OperatorSnapshot, Output, OutputTag, TaskInfo, TimerService};
use flinkrs_state::{KeyData, KeyedStateBackend, KeyedStateSnapshot, StateData, ValueState};
use serde::{Deserialize, Serialize};

use super::assigners::WindowAssigner;
use super::contents::{SlotPosition, WindowContents};
use super::functions::{InternalWindowFunction, WindowCollector, WindowContext};
use super::time_window::TimeWindow;
use crate::keyed::{KeySelector, keyed_backend, keyed_snapshot};

/// One open window: its accumulator, and whether its end-of-window firing is behind it (the
/// event-time timer fired, or the window was created after the watermark had passed its end).
/// Kept in state so that a restore does not fire a window on time twice.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct WindowSlot<A> {
    pub(super) accumulator: A,
    pub(super) fired_on_time: bool,
}

/// A key's open windows.
pub(crate) type WindowMap<A> = BTreeMap<TimeWindow, WindowSlot<A>>;

/// The keyed state holding, per key, its windows: the state of merging windows, and the
/// snapshot format of all.
const WINDOW_CONTENTS: &str = "window-contents";

/// The fixed configuration of the operator and the parts user code touches, kept apart from
/// the state backend so both can be borrowed at once.
struct WindowLogic<T, K, F> {
    selector: KeySelector<T, K>,
    assigner: Arc<dyn WindowAssigner>,
    function: F,
    allowed_lateness: i64,
    late_data: Option<OutputTag<T>>,
    event_time: bool,
    /// Sessions: windows are kept per key, with per-key timers. Otherwise window first.
    merging: bool,
    batch_mode: bool,
    clock: fn() -> i64,
    watermark: i64,
    /// Windows a timer purges, reused so firing allocates nothing.
    expired: Vec<TimeWindow>,
    /// The slots an element goes into, reused.
    located: Vec<(TimeWindow, SlotPosition)>,
}

pub(crate) struct TimeWindowOperator<T, K, F: InternalWindowFunction<K, T, TimeWindow>> {
    logic: WindowLogic<T, K, F>,
    backend: Option<KeyedStateBackend<K>>,
    /// Per key, its windows: the state of merging windows, and the snapshot format of all.
    windows: Option<ValueState<WindowMap<F::Accumulator>>>,
    /// The open windows of a non-merging assigner.
    contents: WindowContents<K, F::Accumulator>,
    /// Timers of merging windows.
    timers: TimerService<K>,
    /// Reused for each element's windows, so assignment allocates nothing.
    assigned: Vec<TimeWindow>,
    /// The span of times `assigned` holds the windows of, when the assigner tells one.
    assigned_span: Option<(i64, i64)>,
}

/// Settings of a time-window operator, from the `WindowedStream`.
pub(crate) struct TimeWindowSettings<T> {
    pub assigner: Arc<dyn WindowAssigner>,
    pub allowed_lateness: i64,
    pub late_data: Option<OutputTag<T>>,
    pub batch_mode: bool,
}

impl<T, K, F> TimeWindowOperator<T, K, F>
where
    T: StateData,
    K: KeyData,
    F: InternalWindowFunction<K, T, TimeWindow>,
{
    pub(crate) fn new(
        settings: TimeWindowSettings<T>,
        selector: KeySelector<T, K>,
        function: F,
    ) -> Result<Self> {
        settings.assigner.validate()?;
        let event_time = settings.assigner.is_event_time();
        Ok(TimeWindowOperator {
            logic: WindowLogic {
                selector,
                event_time,
                merging: settings.assigner.is_merging(),
                assigner: settings.assigner,
                function,
                // Lateness only exists in event time, as in Flink.
                allowed_lateness: if event_time {
                    settings.allowed_lateness.max(0)
                } else {
                    0
                },
                late_data: settings.late_data,
                batch_mode: settings.batch_mode,
                clock: now_millis,
                watermark: i64::MIN,
                expired: Vec::new(),
                located: Vec::new(),
            },
            backend: None,
            windows: None,
            contents: WindowContents::default(),
            timers: TimerService::default(),
            assigned: Vec::new(),
            assigned_span: None,
        })
    }

    /// Replaces the wall clock, so tests can drive processing time.
    #[cfg(test)]
    pub(crate) fn with_clock(mut self, clock: fn() -> i64) -> Self {
        self.logic.clock = clock;
        self
    }

    /// Takes restored windows out of keyed state: non-merging windows move into the window
    /// contents; merging windows stay, and their timers are registered again (timers are not
    /// part of the keyed snapshot, but each window's timers follow from the window itself).
    fn restore_windows(&mut self) {
        let (Some(backend), Some(state)) = (self.backend.as_mut(), self.windows) else {
            return;
        };
        if !self.logic.merging {
            for (key, windows) in state.drain_all(backend) {
                for (window, slot) in windows {
                    self.contents.restore(window, key.clone(), slot);
                }
            }
            return;
        }
        for (key, windows) in state.drain_all(backend) {
            for (window, slot) in &windows {
                self.logic
                    .register_timers(&mut self.timers, &key, window, slot.fired_on_time);
            }
            state.insert_for_key(backend, key, windows);
        }
    }

    /// Fires the non-merging windows whose end is at or before `time` and purges those whose
    /// cleanup time has come, all keys of a window at once.
    fn fire_windows(&mut self, time: i64, out: &mut Output<Batch<F::Output>>) -> Result<()> {
        let logic = &mut self.logic;
        // One reading of the clock for all windows that fire, as for a batch's records.
        let now = (logic.clock)();
        let watermark = logic.watermark;
        let allowed_lateness = logic.allowed_lateness;
        let function = &mut logic.function;
        self.contents.fire(
            time,
            |window| window.max_timestamp().saturating_add(allowed_lateness),
            |window, key, accumulator| {
                WindowLogic::<T, K, F>::emit(
                    function,
                    key,
                    window,
                    accumulator,
                    watermark,
                    now,
                    out,
                )
            },
        )
    }

    fn fire_event_time_timers(
        &mut self,
        watermark: i64,
        out: &mut Output<Batch<F::Output>>,
    ) -> Result<()> {
        if !self.logic.merging {
            // Processing-time windows do not fire on watermarks.
            if !self.logic.event_time {
                return Ok(());
            }
            return self.fire_windows(watermark, out);
        }
        let (Some(backend), Some(state)) = (self.backend.as_mut(), self.windows) else {
            return Ok(());
        };
        // One reading of the clock for all timers of a watermark, as for a batch's records.
        let now = (self.logic.clock)();
        while let Some((key, time)) = self.timers.pop_event_time_timer(watermark) {
            self.logic.on_timer(backend, state, &key, time, now, out)?;
        }
        Ok(())
    }

    fn fire_processing_time_timers(
        &mut self,
        now: i64,
        out: &mut Output<Batch<F::Output>>,
    ) -> Result<()> {
        if !self.logic.merging {
            if self.logic.event_time {
                return Ok(());
            }
            return self.fire_windows(now, out);
        }
        let (Some(backend), Some(state)) = (self.backend.as_mut(), self.windows) else {
            return Ok(());
        };
        let clock = (self.logic.clock)();
        while let Some((key, time)) = self.timers.pop_processing_time_timer(now) {
            self.logic
                .on_timer(backend, state, &key, time, clock, out)?;
        }
        Ok(())
    }
}

impl<T, K, F> WindowLogic<T, K, F>
where
    T: StateData,
    K: KeyData,
    F: InternalWindowFunction<K, T, TimeWindow>,
{
    /// When a window's state is purged: `max_timestamp + allowed_lateness` (Flink's
    /// `cleanupTime`), saturating so that a huge lateness means "never".
    fn cleanup_time(&self, window: &TimeWindow) -> i64 {
        window.max_timestamp().saturating_add(self.allowed_lateness)
    }

    /// Flink's `isWindowLate`: the window was (or would have been) purged already.
    fn is_window_late(&self, window: &TimeWindow) -> bool {
        self.event_time && self.cleanup_time(window) <= self.watermark
    }

    /// Flink's `isElementLate`: decides whether a dropped element goes to the late-data output.
    fn is_element_late(&self, timestamp: i64) -> bool {
        self.event_time && timestamp.saturating_add(self.allowed_lateness) <= self.watermark
    }

    /// The trigger's timer at the window's end (unless that firing is behind it) and the
    /// cleanup timer. In processing time both are the same timer.
    fn register_timers(
        &self,
        timers: &mut TimerService<K>,
        key: &K,
        window: &TimeWindow,
        fired_on_time: bool,
    ) {
        if !self.event_time {
            timers.register_processing_time_timer(key, window.max_timestamp());
            return;
        }
        if !fired_on_time {
            timers.register_event_time_timer(key, window.max_timestamp());
        }
        let cleanup = self.cleanup_time(window);
        // As in Flink, a window whose cleanup would be at the end of time is never cleaned.
        // Without lateness the cleanup timer is the end-of-window timer, registered just above.
        if cleanup != i64::MAX && (fired_on_time || cleanup != window.max_timestamp()) {
            timers.register_event_time_timer(key, cleanup);
        }
    }

    fn emit(
        function: &mut F,
        key: &K,
        window: &TimeWindow,
        accumulator: &F::Accumulator,
        watermark: i64,
        now: i64,
        out: &mut Output<Batch<F::Output>>,
    ) -> Result<()> {
        let context = WindowContext {
            window,
            watermark,
            processing_time: now,
        };
        // In processing time too: Flink's WindowOperator stamps every result with the window's
        // `maxTimestamp()`, unlike a processing-time timer of a process function.
        let mut collector = WindowCollector {
            out,
            timestamp: window.max_timestamp(),
        };
        function.emit(key, &context, accumulator, &mut collector)
    }

    /// Adds an element to its non-merging windows. Returns the element back when no window
    /// took it.
    fn add_to_windows(
        &mut self,
        contents: &mut WindowContents<K, F::Accumulator>,
        assigned: &[TimeWindow],
        value: T,
        now: i64,
        out: &mut Output<Batch<F::Output>>,
    ) -> Result<Option<T>> {
        // The common case of one window (tumbling windows) needs no list of slots.
        if let [window] = assigned {
            if self.is_window_late(window) {
                return Ok(Some(value));
            }
            let position = {
                let key = (self.selector)(&value);
                let function = &self.function;
                contents.locate(*window, &key, || function.create())
            };
            self.add_at(contents, window, position, value, now, out)?;
            return Ok(None);
        }
        // The element moves into the last window that can take it and is copied into the
        // others.
        let Some(last_taker) = assigned
            .iter()
            .rposition(|window| !self.is_window_late(window))
        else {
            return Ok(Some(value));
        };
        // The slots are found first, with the key borrowed from the value: it is copied only
        // when it enters a window.
        let mut located = std::mem::take(&mut self.located);
        located.clear();
        {
            let key = (self.selector)(&value);
            let function = &self.function;
            for window in &assigned[..=last_taker] {
                if !self.is_window_late(window) {
                    located.push((
                        *window,
                        contents.locate(*window, &key, || function.create()),
                    ));
                }
            }
        }
        let mut value = Some(value);
        let last = located.len() - 1;
        for (index, (window, position)) in located.iter().enumerate() {
            let element = if index == last {
                value.take()
            } else {
                value.clone()
            };
            if let Some(element) = element {
                self.add_at(contents, window, *position, element, now, out)?;
            }
        }
        self.located = located;
        Ok(None)
    }

    /// Adds an element to its slot in `window`. Inlined into the record loop, as it was before
    /// the slots became chunked.
    #[inline(always)]
    fn add_at(
        &mut self,
        contents: &mut WindowContents<K, F::Accumulator>,
        window: &TimeWindow,
        position: SlotPosition,
        element: T,
        now: i64,
        out: &mut Output<Batch<F::Output>>,
    ) -> Result<()> {
        let slot = contents.slot_mut(position);
        self.function.add(&mut slot.accumulator, element);
        // Flink's EventTimeTrigger: a window whose end the watermark has passed already (but
        // which is within the allowed lateness) fires again at once, with the update.
        if self.event_time && window.max_timestamp() <= self.watermark {
            let (key, slot) = contents.slot(position);
            slot.fired_on_time = true;
            Self::emit(
                &mut self.function,
                key,
                window,
                &slot.accumulator,
                self.watermark,
                now,
                out,
            )?;
        }
        Ok(())
    }

    /// Adds an element to its merging (session) windows. Returns the element back when no
    /// window took it.
    #[expect(
        clippy::too_many_arguments,
        reason = "the operator's parts, borrowed apart"
    )]
    fn add_to_sessions(
        &mut self,
        backend: &mut KeyedStateBackend<K>,
        state: ValueState<WindowMap<F::Accumulator>>,
        timers: &mut TimerService<K>,
        assigned: &[TimeWindow],
        key: &K,
        value: T,
        now: i64,
        out: &mut Output<Batch<F::Output>>,
    ) -> Result<Option<T>> {
        if state.get_mut_for_key(backend, key).is_none() {
            state.insert_for_key(backend, key.clone(), BTreeMap::new());
        }
        let Some(windows) = state.get_mut_for_key(backend, key) else {
            return Ok(Some(value));
        };
        // Merging windows are only known to be late after merging, so the element moves into
        // the last assigned window (sessions assign exactly one) and is copied into the others.
        let Some(last_taker) = assigned.len().checked_sub(1) else {
            return Ok(Some(value));
        };
        let mut value = Some(value);
        let mut accepted = false;
        for (index, proposed) in assigned.iter().enumerate() {
            let window = self.merge_into(windows, *proposed);
            if self.is_window_late(&window) {
                continue;
            }
            let element = if index == last_taker {
                value.take()
            } else {
                value.clone()
            };
            let Some(element) = element else {
                continue;
            };
            accepted = true;
            let function = &mut self.function;
            let slot = windows.entry(window).or_insert_with(|| WindowSlot {
                accumulator: function.create(),
                fired_on_time: false,
            });
            function.add(&mut slot.accumulator, element);
            // As for non-merging windows: a window whose end has passed fires again at once.
            let late_firing = self.event_time && window.max_timestamp() <= self.watermark;
            if late_firing {
                slot.fired_on_time = true;
                Self::emit(
                    function,
                    key,
                    &window,
                    &slot.accumulator,
                    self.watermark,
                    now,
                    out,
                )?;
            }
            // A merged session window is built inside `merge_into`, so it always registers.
            self.register_timers(timers, key, &window, slot.fired_on_time);
        }
        if windows.is_empty() {
            state.remove_entry_for_key(backend, key);
        }
        // Flink's `isSkippedElement`: only an element no window took may count as late.
        Ok(if accepted { None } else { value })
    }

    /// Merges the session window `proposed` with every open window of the key it touches, as
    /// Flink's `MergingWindowSet`: their accumulators are combined (in window order) into the
    /// covering window, which is returned. When the covering window is late, nothing changes
    /// and the caller drops the element, as Flink retires such a window.
    fn merge_into(
        &self,
        windows: &mut WindowMap<F::Accumulator>,
        proposed: TimeWindow,
    ) -> TimeWindow {
        let merged = windows
            .keys()
            .filter(|window| window.intersects(&proposed))
            .fold(proposed, |cover, window| cover.cover(window));
        if self.is_window_late(&merged) {
            return merged;
        }
        let mut combined: Option<WindowSlot<F::Accumulator>> = None;
        while let Some(window) = windows.keys().find(|w| w.intersects(&proposed)).copied() {
            let Some(slot) = windows.remove(&window) else {
                break;
            };
            combined = Some(match combined {
                None => slot,
                Some(previous) => WindowSlot {
                    accumulator: self.function.merge(previous.accumulator, slot.accumulator),
                    fired_on_time: false,
                },
            });
        }
        if let Some(mut slot) = combined {
            // The merged window's end-of-window firing is ahead whenever its end is ahead of
            // the watermark (Flink's EventTimeTrigger.onMerge registers that timer).
            slot.fired_on_time = self.event_time && merged.max_timestamp() <= self.watermark;
            windows.insert(merged, slot);
        }
        merged
    }

    /// A timer of `key` fired at `time`: fire the windows whose end has come (once), then
    /// purge the windows whose cleanup time has come.
    fn on_timer(
        &mut self,
        backend: &mut KeyedStateBackend<K>,
        state: ValueState<WindowMap<F::Accumulator>>,
        key: &K,
        time: i64,
        now: i64,
        out: &mut Output<Batch<F::Output>>,
    ) -> Result<()> {
        let Some(windows) = state.get_mut_for_key(backend, key) else {
            return Ok(());
        };
        self.expired.clear();
        // Windows are ordered by start, and a window starting after `time` can neither fire nor
        // be purged by this timer: stop there instead of scanning every open window.
        for (window, slot) in windows.iter_mut() {
            if window.start > time {
                break;
            }
            if window.max_timestamp() <= time && !slot.fired_on_time {
                slot.fired_on_time = true;
                let watermark = self.watermark;
                Self::emit(
                    &mut self.function,
                    key,
                    window,
                    &slot.accumulator,
                    watermark,
                    now,
                    out,
                )?;
            }
            // Lateness is zero in processing time, so there the cleanup time is the window's end.
            let cleanup = self.cleanup_time(window);
            if cleanup <= time && cleanup != i64::MAX {
                self.expired.push(*window);
            }
        }
        for window in &self.expired {
            windows.remove(window);
        }
        if windows.is_empty() {
            state.remove_entry_for_key(backend, key);
        }
        Ok(())
    }
}

/// The keyed snapshot of an operator with non-merging windows: the backend's states, with the
/// window contents frozen as the state [`WINDOW_CONTENTS`].
pub(crate) fn snapshot_contents<K: KeyData, A: StateData>(
    contents: &mut WindowContents<K, A>,
    backend: &mut KeyedStateBackend<K>,
) -> Result<KeyedStateSnapshot> {
    let frozen = contents.freeze(
        WINDOW_CONTENTS,
        backend.max_parallelism(),
        backend.key_group_range(),
    );
    Ok(backend.snapshot_replacing(WINDOW_CONTENTS, frozen.into_state())?)
}

/// The synchronous phase of a tumbling-window operator's checkpoint, for the benchmark of
/// snapshot phases: window contents of `u64` keys counting into `u64` accumulators, snapshotted
/// as the operator snapshots them.
#[doc(hidden)]
pub struct WindowSnapshotProbe {
    contents: WindowContents<u64, u64>,
    backend: KeyedStateBackend<u64>,
}

impl WindowSnapshotProbe {
    pub fn new(max_parallelism: usize, range: KeyGroupRange) -> Result<Self> {
        let mut backend = KeyedStateBackend::new(max_parallelism, range);
        ValueState::<WindowMap<u64>>::register(&mut backend, WINDOW_CONTENTS)?;
        Ok(WindowSnapshotProbe {
            contents: WindowContents::default(),
            backend,
        })
    }

    /// Counts one record of `key` in the window `[start, start + size)`.
    pub fn add(&mut self, start: i64, size: i64, key: u64) {
        let position = self
            .contents
            .locate(TimeWindow::new(start, start + size), &key, || 0);
        self.contents.slot(position).1.accumulator += 1;
    }

    /// The operator's snapshot: the synchronous phase; materialize it for the asynchronous one.
    pub fn snapshot(&mut self) -> Result<KeyedStateSnapshot> {
        snapshot_contents(&mut self.contents, &mut self.backend)
    }
}

fn missing_timestamp(assigner: &Arc<dyn WindowAssigner>) -> Error {
    Error::InvalidJob(format!(
        "{assigner} got a record without a timestamp: call assign_timestamps_and_watermarks \
         before an event-time window, or use a processing-time window"
    ))
}

impl<T, K, F> Operator<Batch<T>, Batch<F::Output>> for TimeWindowOperator<T, K, F>
where
    T: StateData,
    K: KeyData,
    F: InternalWindowFunction<K, T, TimeWindow>,
{
    fn initialize_state(&mut self, info: &TaskInfo, state: Option<OperatorSnapshot>) -> Result<()> {
        let mut backend = keyed_backend(info, state)?;
        self.windows = Some(ValueState::register(&mut backend, WINDOW_CONTENTS)?);
        self.backend = Some(backend);
        self.restore_windows();
        Ok(())
    }

    fn process_batch(
        &mut self,
        batch: &mut Batch<T>,
        out: &mut Output<Batch<F::Output>>,
    ) -> Result<()> {
        let (Some(backend), Some(state)) = (self.backend.as_mut(), self.windows) else {
            return Ok(());
        };
        let logic = &mut self.logic;
        // One reading of the clock per batch: a batch is processed within an instant.
        let now = (logic.clock)();
        for record in batch.drain(..) {
            if logic.event_time && record.timestamp == NO_TIMESTAMP {
                return Err(missing_timestamp(&logic.assigner));
            }
            let time = if logic.event_time {
                record.timestamp
            } else {
                now
            };
            if !self
                .assigned_span
                .is_some_and(|(from, to)| from <= time && time < to)
            {
                self.assigned.clear();
                logic
                    .assigner
                    .assign_windows(record.timestamp, now, &mut self.assigned);
                self.assigned_span = logic.assigner.same_windows_span(time);
            }
            let dropped = if logic.merging {
                let key = (logic.selector)(&record.value).into_owned();
                logic.add_to_sessions(
                    backend,
                    state,
                    &mut self.timers,
                    &self.assigned,
                    &key,
                    record.value,
                    now,
                    out,
                )?
            } else {
                logic.add_to_windows(&mut self.contents, &self.assigned, record.value, now, out)?
            };
            // As Flink: an element no window took goes to the late-data output when it is late;
            // otherwise (or without that output) it is dropped.
            if let (Some(value), Some(tag)) = (dropped, &logic.late_data)
                && logic.is_element_late(record.timestamp)
            {
                out.side_output(tag, value, record.timestamp);
            }
        }
        Ok(())
    }

    fn process_watermark(
        &mut self,
        watermark: Watermark,
        out: &mut Output<Batch<F::Output>>,
    ) -> Result<()> {
        // Batch mode emits final results only: like Flink's batch execution, windows see no
        // watermark but the last one, so nothing is late and each window fires exactly once.
        if self.logic.batch_mode && watermark != Watermark::MAX {
            return Ok(());
        }
        self.logic.watermark = self.logic.watermark.max(watermark.0);
        self.fire_event_time_timers(watermark.0, out)?;
        out.emit_watermark(watermark)
    }

    fn on_processing_time(
        &mut self,
        now_millis: i64,
        out: &mut Output<Batch<F::Output>>,
    ) -> Result<()> {
        self.fire_processing_time_timers(now_millis, out)
    }

    fn snapshot_state(&mut self, _checkpoint: CheckpointId) -> Result<OperatorSnapshot> {
        if self.logic.merging {
            return keyed_snapshot(self.backend.as_mut());
        }
        let (Some(backend), Some(_)) = (self.backend.as_mut(), self.windows) else {
            return keyed_snapshot(self.backend.as_mut());
        };
        // Window contents are snapshotted as merging windows are kept: per key, its windows,
        // in the keyed state "window-contents" (empty between checkpoints). Frozen here, in
        // O(open windows + chunks); grouped per key and encoded when the snapshot is
        // materialized, off the task thread.
        Ok(OperatorSnapshot {
            keyed: Some(snapshot_contents(&mut self.contents, backend)?),
            operator_state: Vec::new(),
        })
    }

    fn end_input(&mut self, out: &mut Output<Batch<F::Output>>) -> Result<()> {
        // Flink's batch execution fires every processing-time timer at the end of input; in
        // streaming mode pending processing-time windows are not fired when input ends.
        if self.logic.batch_mode {
            self.fire_processing_time_timers(i64::MAX, out)?;
        }
        Ok(())
    }
}
