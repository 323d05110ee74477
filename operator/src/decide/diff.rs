//! What changed between the recorded spec and the current one.

use crate::crd::FlinkJobSpec;

/// The kind of change that needs a new cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecChange {
    /// Nothing the running cluster depends on changed.
    None,
    /// Only `parallelism` changed.
    Rescale { from: i32, to: i32 },
    /// `restoreFrom` changed to this path: start over from it.
    RestoreFrom(String),
    /// Anything else the cluster is built from changed.
    Upgrade,
}

/// Compares the fields the cluster is built from. `state`,
/// `savepointTriggerNonce`, `savepointOnDelete`, `lastStateFallback` and
/// `maxFailedJobRestarts` are handled on their own; `allowNonRestoredState` matters only
/// when a job next starts from state; removing `restoreFrom` or `restartNonce` changes
/// nothing (only a new value asks for something). A new `restartNonce` is an upgrade with
/// an unchanged cluster: the job restarts, its state carried over as `upgradeMode` says.
pub fn spec_change(reconciled: &FlinkJobSpec, current: &FlinkJobSpec) -> SpecChange {
    if current.restore_from != reconciled.restore_from
        && let Some(path) = &current.restore_from
    {
        return SpecChange::RestoreFrom(path.clone());
    }
    let comparable = |spec: &FlinkJobSpec| {
        let mut spec = spec.clone();
        spec.state = Default::default();
        spec.savepoint_trigger_nonce = None;
        spec.savepoint_on_delete = false;
        spec.restore_from = None;
        spec.last_state_fallback = true;
        spec.max_failed_job_restarts = None;
        spec.allow_non_restored_state = None;
        spec
    };
    let (mut old, new) = (comparable(reconciled), comparable(current));
    if new.restart_nonce.is_none() {
        old.restart_nonce = None;
    }
    if old == new {
        return SpecChange::None;
    }
    let mut rescaled = old.clone();
    rescaled.parallelism = new.parallelism;
    if rescaled == new {
        return SpecChange::Rescale {
            from: old.parallelism,
            to: new.parallelism,
        };
    }
    SpecChange::Upgrade
}
