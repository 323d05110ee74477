//! Restoring a job from a checkpoint or savepoint: `execution.state-recovery.path`.
//!
//! Only `_metadata` is read up front: it says, for every old subtask, where each operator's
//! state is in its task's state file, key group by key group. Each subtask of the restored
//! job then reads, for each of its operators, only what it restores:
//! - keyed state: the byte ranges of its own key groups in every old subtask's file (one
//!   request per file that has any of them), so keyed state restores at any parallelism
//!   without a subtask reading another's key groups;
//! - operator list state (a source's splits, a sink's pending files): at the same parallelism
//!   the old subtask's of the same index; at another, the items of every old subtask in
//!   subtask order, dealt out in contiguous runs whose sizes differ by at most one (Flink's
//!   `SPLIT_DISTRIBUTE`). A subtask may get no item: it is still told it restores, so a source
//!   reads nothing rather than starting over.
//!
//! State of an operator the job no longer has is an error, unless
//! `execution.state-recovery.ignore-unclaimed-state` is set, as in Flink.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};

use flinkrs_core::config::STATE_RECOVERY_PATH;
use flinkrs_core::{CheckpointId, Configuration, Error, KeyGroupRange, Result};
use flinkrs_state::storage::{
    CheckpointLocation, OperatorStateRequest, S3Settings, StoredCheckpoint,
};

use crate::operator::OperatorSnapshot;

/// What `_metadata` says of one operator's state.
#[derive(Debug, Default)]
struct OperatorState {
    /// How many old subtasks ran the operator.
    old_parallelism: usize,
    /// Whether there is any state to restore; an operator without it claims nothing.
    has_state: bool,
    /// Every old subtask's list state, in subtask order: read once, by the first subtask of a
    /// restore at another parallelism.
    all_items: Mutex<Option<Arc<Vec<Vec<u8>>>>>,
}

/// A checkpoint's state, by operator id, ready to hand to a restored job's subtasks.
#[derive(Debug)]
pub struct RestoredState {
    pub checkpoint: CheckpointId,
    stored: StoredCheckpoint,
    operators: BTreeMap<String, OperatorState>,
}

impl RestoredState {
    /// Reads the `_metadata` of the checkpoint or savepoint at `path` (a `chk-<n>` folder or
    /// its `_metadata`; a local path, `file://` or `s3://`, reached with `config`'s `s3.*`
    /// keys). The task state files are read later, each subtask its own part.
    pub fn read(path: &str, config: &Configuration) -> Result<Self> {
        let location = CheckpointLocation::parse(STATE_RECOVERY_PATH, path)?;
        let stored = StoredCheckpoint::open_at(&location, &S3Settings::from_config(config)?)?;
        let mut operators: BTreeMap<String, OperatorState> = BTreeMap::new();
        for handle in &stored.metadata.tasks {
            for index in &handle.operators {
                let state = operators.entry(index.operator_id.clone()).or_default();
                state.old_parallelism += 1;
                state.has_state |= index.keyed.is_some() || !index.operator_state.is_empty();
            }
        }
        Ok(RestoredState {
            checkpoint: CheckpointId(stored.metadata.checkpoint),
            stored,
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
            .filter(|(id, state)| state.has_state && !operator_ids.contains(*id))
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

    /// The state of operator `operator_id` for subtask `subtask` of `parallelism` in a job of
    /// `max_parallelism` key groups, read from the checkpoint now; `None` when the checkpoint
    /// does not have the operator.
    pub fn for_subtask(
        &self,
        operator_id: &str,
        subtask: usize,
        parallelism: usize,
        max_parallelism: usize,
    ) -> Result<Option<OperatorSnapshot>> {
        let Some(state) = self.operators.get(operator_id) else {
            return Ok(None);
        };
        if parallelism == 0 || parallelism > max_parallelism || subtask >= parallelism {
            return Err(Error::InvalidJob(format!(
                "operator {operator_id}: subtask {subtask} of parallelism {parallelism} cannot \
                 restore keyed state of max parallelism {max_parallelism}; the parallelism \
                 must be between 1 and pipeline.max-parallelism"
            )));
        }
        let same_parallelism = state.old_parallelism == parallelism;
        let restored = self.stored.read_operator_state(&OperatorStateRequest {
            operator_id,
            max_parallelism,
            key_groups: KeyGroupRange::for_operator(max_parallelism, parallelism, subtask),
            operator_state_of: same_parallelism.then_some(subtask),
        })?;
        let operator_state = if same_parallelism {
            restored.operator_state
        } else {
            let items = self.all_items(operator_id, state)?;
            let items: Vec<&Vec<u8>> = items.iter().collect();
            split_distribute(&items, subtask, parallelism)
        };
        Ok(Some(OperatorSnapshot {
            keyed: restored.keyed,
            operator_state,
        }))
    }

    /// Every old subtask's list state of `operator_id`, read on first use.
    fn all_items(&self, operator_id: &str, state: &OperatorState) -> Result<Arc<Vec<Vec<u8>>>> {
        let mut all_items = state
            .all_items
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(items) = &*all_items {
            return Ok(Arc::clone(items));
        }
        let items = Arc::new(self.stored.read_all_operator_state(operator_id)?);
        *all_items = Some(Arc::clone(&items));
        Ok(items)
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
