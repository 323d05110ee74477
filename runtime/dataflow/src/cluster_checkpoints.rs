//! The checkpoints of a job on a cluster, as its JobManager drives them: the same
//! coordinator and driver as a local job's ([`checkpointing`](crate::checkpointing)), reaching
//! the tasks through their TaskManagers ([`CheckpointParticipants`]) and taking the
//! acknowledgements the TaskManagers send once they have written their tasks' state
//! ([`WrittenAcknowledgement`]).
//!
//! A job that fails over gets a new coordinator for its new attempt, started from the
//! [`CheckpointHistory`] the last one stopped with.

use std::cell::RefCell;
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};
use flinkrs_checkpoint::{CheckpointSettings, TaskKey};
use flinkrs_core::{Configuration, Error, JobId, Result, RuntimeMode};
use flinkrs_state::storage::S3Settings;

use crate::checkpoint_participants::{CheckpointParticipants, WrittenAcknowledgement};
use crate::checkpointing::{
    self, CheckpointDriver, CheckpointGauges, CheckpointHistory, CompletedCheckpoint,
    CompletedCheckpointStore, DriverContext, checkpoint_storage,
};
use crate::graph::StreamGraph;
use crate::job_client::SavepointRequest;
use crate::job_graph::JobGraph;
use crate::task::CancelToken;

/// Every task of a job in task-index order (vertex by vertex, subtask by subtask), with its
/// key and whether it is a source.
pub fn job_tasks(graph: &StreamGraph, job_graph: &JobGraph) -> Vec<(TaskKey, bool)> {
    job_graph
        .vertices
        .iter()
        .enumerate()
        .flat_map(|(vertex_index, vertex)| {
            let is_source = graph.node(vertex.head()).is_source();
            (0..vertex.parallelism).map(move |subtask| {
                let key = TaskKey {
                    vertex: vertex_index,
                    subtask,
                };
                (key, is_source)
            })
        })
        .collect()
}

/// What the JobManager gives one attempt's coordinator.
pub struct ClusterCheckpointSetup {
    pub job_id: JobId,
    /// Every task of the job, as [`job_tasks`] lists them.
    pub tasks: Vec<(TaskKey, bool)>,
    pub participants: Box<dyn CheckpointParticipants>,
    pub written: Receiver<WrittenAcknowledgement>,
    /// Source tasks whose input ended, by task index.
    pub input_ended: Receiver<usize>,
    pub savepoint_requests: Receiver<SavepointRequest>,
    /// Where the job's earlier attempts left numbering and retention.
    pub history: CheckpointHistory,
    pub gauges: CheckpointGauges,
    pub completed: Sender<CompletedCheckpoint>,
    /// Records each completed checkpoint before the tasks are notified (high availability).
    pub checkpoint_store: Option<Arc<dyn CompletedCheckpointStore>>,
}

/// One attempt's running coordinator.
pub struct ClusterCheckpoints {
    driver: CheckpointDriver,
    cancel: CancelToken,
}

/// Whether a job with `config` takes checkpoints: streaming mode with an interval.
pub fn takes_checkpoints(config: &Configuration) -> bool {
    config.runtime_mode() == RuntimeMode::Streaming
        && CheckpointSettings::from_config(config).is_some()
}

/// Starts the coordinator of an attempt; `None` when the job takes no checkpoints.
pub fn start(
    config: &Configuration,
    setup: ClusterCheckpointSetup,
) -> Result<Option<ClusterCheckpoints>> {
    let Some(settings) = CheckpointSettings::from_config(config) else {
        return Ok(None);
    };
    if config.runtime_mode() != RuntimeMode::Streaming {
        return Ok(None);
    }
    let cancel = CancelToken::default();
    let context = DriverContext {
        settings,
        storage: checkpoint_storage(config)?,
        job_id: setup.job_id.to_string(),
        tasks: setup.tasks,
        participants: setup.participants,
        acknowledgements: crossbeam_channel::never(),
        written: setup.written,
        input_ended: setup.input_ended,
        savepoint_requests: setup.savepoint_requests,
        config_savepoint_dir: config.savepoint_directory().map(str::to_owned),
        s3: S3Settings::from_config(config)?,
        pending_savepoint: RefCell::new(None),
        gauges: setup.gauges,
        cancel: cancel.clone(),
        completed: setup.completed,
        checkpoint_store: setup.checkpoint_store,
        history: setup.history,
    };
    let driver = checkpointing::start(context)?;
    Ok(Some(ClusterCheckpoints { driver, cancel }))
}

impl ClusterCheckpoints {
    /// Becomes ready (disconnected) once checkpointing failed the job (too many failed
    /// checkpoints): for `select`.
    pub fn failed(&self) -> &Receiver<()> {
        self.cancel.watch()
    }

    /// Stops the coordinator; returns why it failed the job, if it did, and where the
    /// checkpoints stand for a next attempt.
    pub fn stop(self) -> (Option<Error>, CheckpointHistory) {
        self.driver.stop()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use crossbeam_channel::Sender;
    use flinkrs_core::Configuration;

    use super::*;
    use crate::CompletedCheckpoint;
    use crate::checkpoint_participants::CheckpointCommand;
    use crate::metrics::MetricRegistry;

    /// One task that acknowledges every trigger at once with an empty state file.
    struct InstantTask(Sender<WrittenAcknowledgement>);

    impl CheckpointParticipants for InstantTask {
        fn send(&self, _: &[usize], command: &CheckpointCommand) {
            if let CheckpointCommand::Trigger { barrier, .. } = command {
                let _ = self.0.send(WrittenAcknowledgement {
                    task_index: 0,
                    checkpoint: barrier.id,
                    state: Ok(flinkrs_state::storage::TaskStateHandle {
                        vertex: 0,
                        subtask: 0,
                        file: String::new(),
                        length: 0,
                        operators: Vec::new(),
                    }),
                    input_ended: false,
                });
            }
        }
    }

    /// A store that cannot record anything.
    struct BrokenStore {
        panics: bool,
    }

    impl CompletedCheckpointStore for BrokenStore {
        fn add(&self, checkpoint: &CompletedCheckpoint) -> Result<()> {
            assert!(
                !self.panics,
                "the store broke at checkpoint {}",
                checkpoint.checkpoint.0
            );
            Err(Error::InvalidJob("the store is read-only".into()))
        }
    }

    /// Runs a coordinator of one task with `store` until it fails the job; returns why.
    fn failure_with(store: BrokenStore) -> String {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Configuration::new();
        config
            .set("execution.checkpointing.interval", "10 ms")
            .unwrap();
        config
            .set(
                "execution.checkpointing.dir",
                dir.path().display().to_string(),
            )
            .unwrap();
        let (written, written_in) = crossbeam_channel::unbounded();
        let registry = MetricRegistry::new();
        let group = registry.jobmanager_job_group(JobId(7), "job".to_owned());
        let setup = ClusterCheckpointSetup {
            job_id: JobId(7),
            tasks: vec![(
                TaskKey {
                    vertex: 0,
                    subtask: 0,
                },
                true,
            )],
            participants: Box::new(InstantTask(written)),
            written: written_in,
            input_ended: crossbeam_channel::never(),
            savepoint_requests: crossbeam_channel::never(),
            history: CheckpointHistory::starting_after(None),
            gauges: CheckpointGauges::register(&group),
            completed: crossbeam_channel::unbounded().0,
            checkpoint_store: Some(Arc::new(store)),
        };
        let coordinator = start(&config, setup).unwrap().unwrap();
        // Disconnects when the coordinator fails the job.
        let _ = coordinator.failed().recv_timeout(Duration::from_secs(30));
        let (failure, history) = coordinator.stop();
        assert_eq!(history.latest(), None, "nothing completed");
        failure.expect("the job fails").to_string()
    }

    #[test]
    fn a_checkpoint_the_store_cannot_record_fails_and_completes_nothing() {
        let failure = failure_with(BrokenStore { panics: false });
        assert!(failure.contains("the store is read-only"), "{failure}");
    }

    #[test]
    fn a_panicking_store_fails_the_job_instead_of_stopping_checkpoints() {
        let failure = failure_with(BrokenStore { panics: true });
        assert!(
            failure
                .contains("the checkpoint coordinator panicked: the store broke at checkpoint 1"),
            "{failure}"
        );
    }
}
