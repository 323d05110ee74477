//! [`CheckpointStatsTracker`]: what a job's checkpoints and savepoints did, for its REST API
//! (`/jobs/:id/checkpoints`), as Flink's `CheckpointStatsTracker` keeps it: counts, the most
//! recent checkpoints, the latest completed, savepoint and failed one, and the figures the
//! summary statistics are computed from.
//!
//! The checkpoint driver records each trigger, completion and failure; readers take a
//! [`CheckpointStatsSnapshot`]. It is shared by every attempt of the job, so the counts go on
//! across failovers. Nothing here is on a task's path: it changes once per checkpoint.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use flinkrs_core::CheckpointId;
use flinkrs_state::storage::CheckpointLocation;

/// How many recent checkpoints the history keeps (Flink's `web.checkpoints.history`, 10).
pub const HISTORY_SIZE: usize = 10;
/// How many completed checkpoints the summary statistics are computed over.
const SUMMARY_SIZE: usize = 1000;

/// Where a checkpoint is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckpointState {
    InProgress,
    Completed,
    Failed,
}

/// One checkpoint or savepoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointRecord {
    pub id: u64,
    pub is_savepoint: bool,
    pub state: CheckpointState,
    /// Milliseconds since the epoch.
    pub trigger_timestamp: i64,
    /// When it completed or failed, milliseconds since the epoch.
    pub end_timestamp: Option<i64>,
    /// The bytes of its task states, once complete.
    pub size: i64,
    /// Subtasks that take part.
    pub num_subtasks: u32,
    /// Its folder, once complete: `file:/…/chk-7` or `s3://…`.
    pub external_path: Option<String>,
    pub failure_message: Option<String>,
}

impl CheckpointRecord {
    /// From trigger to completion or failure, in milliseconds; so far, while in progress.
    pub fn duration(&self, now: i64) -> i64 {
        self.end_timestamp.unwrap_or(now) - self.trigger_timestamp
    }
}

/// The checkpoint the job was restored from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoredRecord {
    pub id: u64,
    pub restore_timestamp: i64,
    pub external_path: String,
}

/// A copy of the statistics at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckpointStatsSnapshot {
    pub total: u64,
    pub in_progress: u64,
    pub completed: u64,
    pub failed: u64,
    pub restored: u64,
    /// Newest first, at most [`HISTORY_SIZE`].
    pub history: Vec<CheckpointRecord>,
    pub latest_completed: Option<CheckpointRecord>,
    pub latest_savepoint: Option<CheckpointRecord>,
    pub latest_failed: Option<CheckpointRecord>,
    pub latest_restored: Option<RestoredRecord>,
    /// Sizes and durations of the recent completed checkpoints, for the summary.
    pub completed_sizes: Vec<i64>,
    pub completed_durations: Vec<i64>,
}

#[derive(Default)]
struct Statistics {
    snapshot: CheckpointStatsSnapshot,
    sizes: VecDeque<i64>,
    durations: VecDeque<i64>,
}

/// The job's checkpoint statistics, shared by the checkpoint driver and the job's clients.
#[derive(Clone, Default)]
pub struct CheckpointStatsTracker(Arc<Mutex<Statistics>>);

impl std::fmt::Debug for CheckpointStatsTracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckpointStatsTracker")
            .finish_non_exhaustive()
    }
}

/// Milliseconds since the epoch.
pub(crate) fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64)
}

/// A folder as Flink's REST API writes it: `file:/path` for a local one.
pub fn external_path(location: &CheckpointLocation) -> String {
    match location.as_local() {
        Some(path) => format!("file:{}", path.display()),
        None => location.to_string(),
    }
}

impl CheckpointStatsTracker {
    fn lock(&self) -> MutexGuard<'_, Statistics> {
        // Every change replaces whole values, so a panic elsewhere leaves them consistent.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn snapshot(&self) -> CheckpointStatsSnapshot {
        let statistics = self.lock();
        let mut snapshot = statistics.snapshot.clone();
        snapshot.completed_sizes = statistics.sizes.iter().copied().collect();
        snapshot.completed_durations = statistics.durations.iter().copied().collect();
        snapshot
    }

    pub(crate) fn restored(&self, checkpoint: CheckpointId, location: &str) {
        let mut statistics = self.lock();
        statistics.snapshot.restored += 1;
        statistics.snapshot.latest_restored = Some(RestoredRecord {
            id: checkpoint.0,
            restore_timestamp: now_millis(),
            external_path: location.to_owned(),
        });
    }

    pub(crate) fn triggered(&self, checkpoint: CheckpointId, is_savepoint: bool, subtasks: usize) {
        let mut statistics = self.lock();
        let snapshot = &mut statistics.snapshot;
        snapshot.total += 1;
        snapshot.in_progress += 1;
        snapshot.history.insert(
            0,
            CheckpointRecord {
                id: checkpoint.0,
                is_savepoint,
                state: CheckpointState::InProgress,
                trigger_timestamp: now_millis(),
                end_timestamp: None,
                size: 0,
                num_subtasks: u32::try_from(subtasks).unwrap_or(u32::MAX),
                external_path: None,
                failure_message: None,
            },
        );
        snapshot.history.truncate(HISTORY_SIZE);
    }

    /// Marks `checkpoint` complete, with its size and folder.
    pub(crate) fn completed(
        &self,
        checkpoint: CheckpointId,
        size: i64,
        location: &CheckpointLocation,
    ) {
        let now = now_millis();
        let mut statistics = self.lock();
        let Some(record) = finish(&mut statistics.snapshot, checkpoint, now) else {
            return;
        };
        record.state = CheckpointState::Completed;
        record.size = size;
        record.external_path = Some(external_path(location));
        let record = record.clone();
        let snapshot = &mut statistics.snapshot;
        snapshot.completed += 1;
        if record.is_savepoint {
            snapshot.latest_savepoint = Some(record.clone());
        } else {
            snapshot.latest_completed = Some(record.clone());
        }
        statistics.sizes.push_back(size);
        statistics.durations.push_back(record.duration(now));
        if statistics.sizes.len() > SUMMARY_SIZE {
            statistics.sizes.pop_front();
            statistics.durations.pop_front();
        }
    }

    /// Marks `checkpoint` failed, with the reason.
    pub(crate) fn failed(&self, checkpoint: CheckpointId, reason: &str) {
        let now = now_millis();
        let mut statistics = self.lock();
        let Some(record) = finish(&mut statistics.snapshot, checkpoint, now) else {
            return;
        };
        record.state = CheckpointState::Failed;
        record.failure_message = Some(reason.to_owned());
        let record = record.clone();
        statistics.snapshot.failed += 1;
        statistics.snapshot.latest_failed = Some(record);
    }
}

/// The in-progress record of `checkpoint`, ended at `now`; `None` if it was never triggered
/// or has left the history.
fn finish(
    snapshot: &mut CheckpointStatsSnapshot,
    checkpoint: CheckpointId,
    now: i64,
) -> Option<&mut CheckpointRecord> {
    let record = snapshot
        .history
        .iter_mut()
        .find(|record| record.id == checkpoint.0 && record.state == CheckpointState::InProgress)?;
    snapshot.in_progress = snapshot.in_progress.saturating_sub(1);
    record.end_timestamp = Some(now);
    Some(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_history_and_latest_follow_triggers_completions_and_failures() {
        let tracker = CheckpointStatsTracker::default();
        tracker.triggered(CheckpointId(1), false, 4);
        tracker.triggered(CheckpointId(2), false, 4);
        let folder = CheckpointLocation::local("/tmp/ck/job/chk-1");
        tracker.completed(CheckpointId(1), 512, &folder);
        tracker.failed(CheckpointId(2), "declined by subtask 3");
        tracker.triggered(CheckpointId(3), true, 4);
        let snapshot = tracker.snapshot();
        assert_eq!(
            (
                snapshot.total,
                snapshot.in_progress,
                snapshot.completed,
                snapshot.failed
            ),
            (3, 1, 1, 1)
        );
        let ids: Vec<u64> = snapshot.history.iter().map(|record| record.id).collect();
        assert_eq!(ids, [3, 2, 1]);
        let completed = snapshot.latest_completed.unwrap();
        assert_eq!(
            completed.external_path.as_deref(),
            Some("file:/tmp/ck/job/chk-1")
        );
        assert_eq!(completed.size, 512);
        assert_eq!(snapshot.completed_sizes, [512]);
        let failed = snapshot.latest_failed.unwrap();
        assert_eq!(
            failed.failure_message.as_deref(),
            Some("declined by subtask 3")
        );
        assert!(snapshot.latest_savepoint.is_none());
        assert!(snapshot.history[0].is_savepoint);
    }

    #[test]
    fn the_history_keeps_the_ten_most_recent() {
        let tracker = CheckpointStatsTracker::default();
        for id in 1..=12 {
            tracker.triggered(CheckpointId(id), false, 1);
            tracker.completed(CheckpointId(id), 1, &CheckpointLocation::local("/x"));
        }
        let snapshot = tracker.snapshot();
        assert_eq!(snapshot.history.len(), HISTORY_SIZE);
        assert_eq!(snapshot.history[0].id, 12);
        assert_eq!(snapshot.completed, 12);
        assert_eq!(snapshot.completed_sizes.len(), 12);
    }
}
