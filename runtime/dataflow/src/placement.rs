//! Where the subtasks of one attempt run, as one TaskManager of a cluster sees it: which
//! subtasks are its own, and the data address of the TaskManager that runs each other one.
//! With it, the exchange between two subtasks is a local channel when both are here, the
//! sending or the receiving half of a [remote channel](crate::channel::remote) when one is,
//! and nothing when neither is.

use std::sync::Arc;

use flinkrs_core::{Error, JobId, Result};

use crate::channel::remote::{ChannelId, NetworkEnvironment};
use crate::job_graph::JobGraph;
use crate::snapshot_writer::CheckpointReports;

/// Where each subtask of an attempt runs, from one TaskManager's point of view.
pub struct TaskPlacement {
    pub job_id: JobId,
    pub attempt: u32,
    /// Per vertex (in JobGraph order), per subtask: the data address (`host:port`) of the
    /// TaskManager that runs it.
    pub locations: Vec<Vec<String>>,
    /// This TaskManager's data address as the locations write it (what it advertises, which
    /// may differ from the address it binds): how its own subtasks are recognized.
    pub own_address: String,
    /// This TaskManager's data plane.
    pub network: Arc<NetworkEnvironment>,
    /// Where the subtasks' checkpoint acknowledgements go, when the job takes checkpoints:
    /// the JobManager. Without it, the subtasks here take none.
    pub checkpoints: Option<Arc<dyn CheckpointReports>>,
    /// The checkpoint or savepoint the attempt restores from (a path or URI).
    pub restore_from: Option<String>,
}

impl TaskPlacement {
    /// Checks that `locations` names a TaskManager for every subtask of `job_graph`.
    pub fn check(&self, job_graph: &JobGraph) -> Result<()> {
        let matches = self.locations.len() == job_graph.vertices.len()
            && job_graph
                .vertices
                .iter()
                .zip(&self.locations)
                .all(|(vertex, subtasks)| subtasks.len() == vertex.parallelism);
        if matches {
            Ok(())
        } else {
            Err(Error::InvalidJob(format!(
                "the deployment of job {} places {} vertices, the job has {}: the processes \
                 built different job graphs (run the same program and version everywhere)",
                self.job_id,
                self.locations.len(),
                job_graph.vertices.len()
            )))
        }
    }

    /// Whether subtask `subtask` of vertex `vertex` runs here.
    pub fn is_local(&self, vertex: usize, subtask: usize) -> bool {
        self.location(vertex, subtask) == Some(self.own_address.as_str())
    }

    /// The data address of the TaskManager running subtask `subtask` of vertex `vertex`.
    pub fn location(&self, vertex: usize, subtask: usize) -> Option<&str> {
        self.locations
            .get(vertex)
            .and_then(|subtasks| subtasks.get(subtask))
            .map(String::as_str)
    }

    /// The id of the channel from `producer` to `consumer` on JobEdge `edge`.
    pub fn channel(&self, edge: usize, producer: usize, consumer: usize) -> ChannelId {
        ChannelId {
            job: self.job_id,
            attempt: self.attempt,
            edge: u32::try_from(edge).unwrap_or(u32::MAX),
            producer_subtask: u32::try_from(producer).unwrap_or(u32::MAX),
            consumer_subtask: u32::try_from(consumer).unwrap_or(u32::MAX),
        }
    }
}
