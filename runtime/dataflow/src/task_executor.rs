//! A TaskManager's share of a job in a cluster (Flink's `TaskExecutor`): the subtasks the
//! JobManager placed in its slots, started from the same StreamGraph every process of the
//! job builds (architecture decision 10), with local channels between them and remote ones
//! to the subtasks of other TaskManagers.

use std::sync::Arc;

use flinkrs_core::{Error, Result};

use crate::attempt::{Attempt, AttemptOutcome, JobContext, start_placed_attempt};
use crate::checkpointing::{CheckpointGauges, CheckpointHistory};
use crate::graph::StreamGraph;
use crate::job_client::JobControl;
use crate::job_graph::build_job_graph;
use crate::metrics::MetricRegistry;
use crate::placement::TaskPlacement;

/// The subtasks of one attempt of a job that run in this process.
pub struct DeployedTasks {
    attempt: Attempt,
    control: Arc<JobControl>,
    task_count: usize,
}

/// Starts the subtasks `placement` puts in this process, one thread each, registering their
/// metrics in `registry`. Fails when the graph built here does not match the placement (the
/// processes run different programs).
pub fn deploy(
    graph: StreamGraph,
    placement: &TaskPlacement,
    registry: &Arc<MetricRegistry>,
) -> Result<DeployedTasks> {
    let job_graph = build_job_graph(&graph, placement.job_id)?;
    placement.check(&job_graph)?;
    let task_count = job_graph
        .vertices
        .iter()
        .enumerate()
        .map(|(vertex, v)| {
            (0..v.parallelism)
                .filter(|&subtask| placement.is_local(vertex, subtask))
                .count()
        })
        .sum();
    let config = Arc::new(graph.config.clone());
    let job_metrics = registry.job_group(placement.job_id, job_graph.job_name.clone());
    // Checkpoint statistics are the JobManager's: kept out of this process's registry.
    let unreported = MetricRegistry::new();
    let checkpoint_gauges = CheckpointGauges::register(
        &unreported.jobmanager_job_group(placement.job_id, job_graph.job_name.clone()),
    );
    let (acknowledge, _) = crossbeam_channel::unbounded();
    let (completed, _) = crossbeam_channel::unbounded();
    let control = Arc::new(JobControl::new());
    let job = JobContext {
        job_id: placement.job_id,
        graph,
        job_graph,
        config,
        job_metrics,
        control: Arc::clone(&control),
        checkpoint_gauges,
        acknowledge,
        completed,
    };
    let attempt = start_placed_attempt(
        &job,
        placement.attempt,
        None,
        CheckpointHistory::starting_after(None),
        Some(placement),
    )?;
    Ok(DeployedTasks {
        attempt,
        control,
        task_count,
    })
}

impl DeployedTasks {
    /// How many subtasks run here.
    pub fn task_count(&self) -> usize {
        self.task_count
    }

    /// Cancels every subtask here.
    pub fn cancel(&self) {
        self.control.cancel();
    }

    /// Waits for every subtask here to end: `Ok` when all finished, [`Error::Cancelled`]
    /// when they were cancelled, or the first failure.
    pub fn wait(self) -> Result<()> {
        match self.attempt.wait().0 {
            AttemptOutcome::Finished => Ok(()),
            AttemptOutcome::Cancelled => Err(Error::Cancelled),
            AttemptOutcome::Failed(error) => Err(error),
        }
    }
}
