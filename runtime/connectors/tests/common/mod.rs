//! What the checkpoint tests share: a job environment that checkpoints every 30 ms into a
//! folder and keeps its checkpoints past a cancel, and the run that stops a job after its
//! first checkpoint.

#![allow(
    dead_code,
    reason = "each test binary uses its own part of this module"
)]

pub mod word_count;

use std::path::Path;
use std::time::Duration;

use flinkrs_api::prelude::*;
use flinkrs_dataflow::{CompletedCheckpoint, RunningJob};

/// A guard against a hang, not a synchronization: each wait ends as soon as its event comes.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// An environment at `parallelism` that checkpoints every 30 ms into `checkpoints`, keeps the
/// checkpoints of a cancelled job (RETAIN_ON_CANCELLATION), and restores from `restore_from`
/// (a path or URI, as `-s` takes it) when given one.
pub fn checkpointed(
    parallelism: usize,
    checkpoints: &Path,
    restore_from: Option<&str>,
) -> StreamExecutionEnvironment {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism).unwrap();
    env.set("execution.checkpointing.interval", "30 ms")
        .unwrap();
    env.set(
        "execution.checkpointing.dir",
        checkpoints.display().to_string(),
    )
    .unwrap();
    env.set(
        "execution.checkpointing.externalized-checkpoint-retention",
        "RETAIN_ON_CANCELLATION",
    )
    .unwrap();
    if let Some(location) = restore_from {
        env.set("execution.state-recovery.path", location).unwrap();
    }
    env
}

/// Waits for `job`'s first checkpoint, cancels the job, and returns the checkpoint it
/// retained: the latest, since an earlier one may have been subsumed and deleted meanwhile.
pub fn checkpoint_then_cancel(job: RunningJob) -> CompletedCheckpoint {
    let client = job.client();
    job.completed_checkpoints()
        .recv_timeout(PATIENCE)
        .expect("a checkpoint completes");
    job.cancel();
    assert!(matches!(job.wait(), Err(Error::Cancelled)));
    client
        .retained_checkpoint()
        .expect("RETAIN_ON_CANCELLATION keeps the latest checkpoint")
}

/// Checks the running counts a restored counting job collected, `updates` of `(key, count)`
/// over `keys` keys and `rows` rows in all: every key ends at exactly `rows / keys`, the
/// counts resumed from restored state (a key's first update is above 1), and the rows before
/// the checkpoint were not replayed. Returns each key's first count after the restore.
pub fn assert_resumed_exactly_once(
    updates: &[(u64, u64)],
    keys: u64,
    rows: u64,
) -> std::collections::BTreeMap<u64, u64> {
    let mut last = std::collections::BTreeMap::new();
    let mut first_after_restore = std::collections::BTreeMap::new();
    for &(key, count) in updates {
        first_after_restore.entry(key).or_insert(count);
        last.insert(key, count);
    }
    let expected: std::collections::BTreeMap<u64, u64> =
        (0..keys).map(|key| (key, rows / keys)).collect();
    assert_eq!(last, expected, "every record counted exactly once");
    assert!(
        first_after_restore.values().any(|&count| count > 1),
        "the counts resumed from restored state: {first_after_restore:?}"
    );
    assert!(
        (updates.len() as u64) < rows,
        "records before the checkpoint were not replayed"
    );
    first_after_restore
}
