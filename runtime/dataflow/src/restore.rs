//! Restoring a job from a checkpoint or savepoint: `execution.state-recovery.path`.
//!
//! The checkpoint's task snapshots are regrouped by operator id. Each subtask of the restored
//! job then gets, for each of its operators:
//! - keyed state: the merge of every old subtask's key groups; the operator keeps those of its
//!   own key groups, so keyed state restores at any parallelism;
//! - operator list state (a source's splits, a sink's pending files): at the same parallelism
//!   the old subtask's of the same index; at another, the items of every old subtask in
//!   subtask order, dealt out in contiguous runs whose sizes differ by at most one (Flink's
//!   `SPLIT_DISTRIBUTE`). A subtask may get no item: it is still told it restores, so a source
//!   reads nothing rather than starting over.
//!
//! State of an operator the job no longer has is an error, unless
//! `execution.state-recovery.ignore-unclaimed-state` is set, as in Flink.

use std::collections::{BTreeMap, BTreeSet};

use flinkrs_core::config::STATE_RECOVERY_PATH;
use flinkrs_core::{CheckpointId, Configuration, Error, Result};
use flinkrs_state::KeyedStateSnapshot;
use flinkrs_state::storage::{CheckpointLocation, S3Settings, StoredCheckpoint};

use crate::input::TaskSnapshot;
use crate::operator::OperatorSnapshot;

/// One operator's state in the checkpoint.
#[derive(Debug, Default)]
struct OperatorState {
    /// Operator list state by old subtask index; every old subtask is there, with or without
    /// items.
    by_subtask: BTreeMap<usize, Vec<Vec<u8>>>,
    keyed: Option<KeyedStateSnapshot>,
}

impl OperatorState {
    /// Whether there is any state to restore; an operator without it claims nothing.
    fn has_state(&self) -> bool {
        self.keyed.is_some() || self.by_subtask.values().any(|items| !items.is_empty())
    }
}

/// A checkpoint's state, by operator id, ready to hand to a restored job's subtasks.
#[derive(Debug)]
pub struct RestoredState {
    pub checkpoint: CheckpointId,
    operators: BTreeMap<String, OperatorState>,
}

impl RestoredState {
    /// Reads the checkpoint or savepoint at `path` (a `chk-<n>` folder or its `_metadata`;
    /// a local path, `file://` or `s3://`, reached with `config`'s `s3.*` keys).
    pub fn read(path: &str, config: &Configuration) -> Result<Self> {
        let location = CheckpointLocation::parse(STATE_RECOVERY_PATH, path)?;
        let stored = StoredCheckpoint::open_at(&location, &S3Settings::from_config(config)?)?;
        let mut keyed: BTreeMap<String, Vec<KeyedStateSnapshot>> = BTreeMap::new();
        let mut operators: BTreeMap<String, OperatorState> = BTreeMap::new();
        for handle in &stored.metadata.tasks {
            let payload = stored.read_task_state(handle)?;
            let snapshot: TaskSnapshot = postcard::from_bytes(&payload).map_err(|error| {
                Error::state(format!(
                    "checkpoint '{}': the state of task {} (subtask {}) cannot be decoded: \
                     {error}",
                    stored.location, handle.vertex, handle.subtask
                ))
            })?;
            for (operator_id, operator) in snapshot {
                let state = operators.entry(operator_id.clone()).or_default();
                state
                    .by_subtask
                    .insert(handle.subtask, operator.operator_state);
                if let Some(snapshot) = operator.keyed {
                    keyed.entry(operator_id).or_default().push(snapshot);
                }
            }
        }
        for (operator_id, snapshots) in keyed {
            let merged = KeyedStateSnapshot::merge(snapshots)?;
            operators.entry(operator_id).or_default().keyed = Some(merged);
        }
        Ok(RestoredState {
            checkpoint: CheckpointId(stored.metadata.checkpoint),
            operators,
        })
    }

    /// Checks that every operator with state in the checkpoint is in the job (`operator_ids`),
    /// unless unclaimed state may be ignored.
    pub fn check_claimed(
        &self,
        operator_ids: &BTreeSet<String>,
        ignore_unclaimed: bool,
    ) -> Result<()> {
        // Operators without state (most stateless ones) claim nothing.
        let unclaimed: Vec<&str> = self
            .operators
            .iter()
            .filter(|(id, state)| state.has_state() && !operator_ids.contains(*id))
            .map(|(id, _)| id.as_str())
            .collect();
        if unclaimed.is_empty() || ignore_unclaimed {
            return Ok(());
        }
        Err(Error::InvalidJob(format!(
            "checkpoint {} holds state of operator(s) {} that the job does not have; give those \
             operators the same uid as before, or set \
             execution.state-recovery.ignore-unclaimed-state=true (--allowNonRestoredState) to \
             drop that state",
            self.checkpoint.0,
            unclaimed.join(", ")
        )))
    }

    /// The state of operator `operator_id` for subtask `subtask` of `parallelism`; `None` when
    /// the checkpoint does not have the operator.
    pub fn for_subtask(
        &self,
        operator_id: &str,
        subtask: usize,
        parallelism: usize,
    ) -> Option<OperatorSnapshot> {
        let state = self.operators.get(operator_id)?;
        let operator_state = if state.by_subtask.len() == parallelism {
            state.by_subtask.get(&subtask).cloned().unwrap_or_default()
        } else {
            let items: Vec<&Vec<u8>> = state.by_subtask.values().flatten().collect();
            split_distribute(&items, subtask, parallelism)
        };
        Some(OperatorSnapshot {
            keyed: state.keyed.clone(),
            operator_state,
        })
    }
}

/// Subtask `subtask`'s run of `items` when they are dealt out among `parallelism` subtasks:
/// contiguous runs, the first `items.len() % parallelism` of them one item longer.
fn split_distribute(items: &[&Vec<u8>], subtask: usize, parallelism: usize) -> Vec<Vec<u8>> {
    let parallelism = parallelism.max(1);
    let (base, longer) = (items.len() / parallelism, items.len() % parallelism);
    let start = subtask * base + subtask.min(longer);
    let len = base + usize::from(subtask < longer);
    items
        .iter()
        .skip(start)
        .take(len)
        .map(|item| (*item).clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::split_distribute;

    #[test]
    fn split_distribute_deals_contiguous_runs_longer_first() {
        let items: Vec<Vec<u8>> = (0..5).map(|i| vec![i]).collect();
        let items: Vec<&Vec<u8>> = items.iter().collect();
        let runs: Vec<Vec<Vec<u8>>> = (0..3).map(|s| split_distribute(&items, s, 3)).collect();
        assert_eq!(
            runs,
            vec![
                vec![vec![0], vec![1]],
                vec![vec![2], vec![3]],
                vec![vec![4]]
            ]
        );
        let runs: Vec<usize> = (0..7)
            .map(|s| split_distribute(&items, s, 7).len())
            .collect();
        assert_eq!(runs, vec![1, 1, 1, 1, 1, 0, 0]);
    }
}
