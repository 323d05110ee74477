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
