//! Restoring a job from a checkpoint or savepoint: `execution.state-recovery.path`.
//!
//! The checkpoint's task snapshots are regrouped by operator id. Each subtask of the restored
//! job then gets, for each of its operators:
//! - keyed state: the merge of every old subtask's key groups; the operator keeps those of its
//!   own key groups, so keyed state restores at any parallelism;
//! - operator state (a source's position): the old subtask's of the same index. This needs
//!   the same parallelism; redistributing positions comes with source splits.
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
    /// Operator state by old subtask index.
    by_subtask: BTreeMap<usize, Vec<u8>>,
    keyed: Option<KeyedStateSnapshot>,
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
                // Operators without state (most stateless ones) claim nothing.
                if !operator.operator_state.is_empty() {
                    let state = operators.entry(operator_id.clone()).or_default();
                    state
                        .by_subtask
                        .insert(handle.subtask, operator.operator_state);
                }
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
        let unclaimed: Vec<&str> = self
            .operators
            .keys()
            .filter(|id| !operator_ids.contains(*id))
            .map(String::as_str)
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

    /// The state of operator `operator_id` for subtask `subtask` of `parallelism`.
    pub fn for_subtask(
        &self,
        operator_id: &str,
        operator_name: &str,
        subtask: usize,
        parallelism: usize,
    ) -> Result<Option<OperatorSnapshot>> {
        let Some(state) = self.operators.get(operator_id) else {
            return Ok(None);
        };
        let old_parallelism = state.by_subtask.keys().max().map(|max| max + 1);
        if let Some(old) = old_parallelism
            && old != parallelism
        {
            return Err(Error::InvalidJob(format!(
                "operator '{operator_name}' has operator state (such as a source's position) \
                 from {old} subtask(s) and cannot restore it at parallelism {parallelism} yet; \
                 run it at parallelism {old}"
            )));
        }
        Ok(Some(OperatorSnapshot {
            keyed: state.keyed.clone(),
            operator_state: state.by_subtask.get(&subtask).cloned().unwrap_or_default(),
        }))
    }
}
