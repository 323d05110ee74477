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
/// `savepointTriggerNonce` and `savepointOnDelete` are handled on their own, and
/// removing `restoreFrom` changes nothing (it only matters when it names a path).
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
        spec
    };
    let (old, new) = (comparable(reconciled), comparable(current));
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
