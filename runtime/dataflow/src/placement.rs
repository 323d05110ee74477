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
    /// The [fingerprint](JobGraph::fingerprint) of the JobManager's graph of the job, when it
    /// sent one: the graph built here must match it.
    pub graph_fingerprint: Option<String>,
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
        if let Some(expected) = &self.graph_fingerprint {
            let built = job_graph.fingerprint();
            if *expected != built {
                return Err(Error::InvalidJob(format!(
                    "the job graph built here (fingerprint {built}) is not the JobManager's \
                     ({expected}): the processes run different programs or versions; start \
                     the JobManager and every TaskManager from the same program and image"
                )));
            }
        }
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

#[cfg(test)]
mod tests {
    use flinkrs_core::VertexId;

    use super::*;
    use crate::job_graph::JobVertex;

    fn graph(parallelism: usize) -> JobGraph {
        JobGraph {
            job_id: JobId(7),
            job_name: "job".to_owned(),
            vertices: vec![JobVertex {
                id: VertexId(0),
                name: "Source".to_owned(),
                parallelism,
                max_parallelism: 128,
                nodes: Vec::new(),
                operator_ids: Vec::new(),
            }],
            edges: Vec::new(),
        }
    }

    #[test]
    fn a_graph_that_is_not_the_jobmanagers_is_refused_with_both_fingerprints() {
        let network = Arc::new(NetworkEnvironment::start("127.0.0.1:0").unwrap());
        let jobmanagers = graph(2);
        let placement = TaskPlacement {
            job_id: JobId(7),
            attempt: 0,
            locations: vec![vec!["a:1".to_owned(), "a:1".to_owned()]],
            own_address: "a:1".to_owned(),
            network,
            checkpoints: None,
            restore_from: None,
            graph_fingerprint: Some(jobmanagers.fingerprint()),
        };
        placement.check(&jobmanagers).unwrap();
        let other = graph(3);
        assert_ne!(other.fingerprint(), jobmanagers.fingerprint());
        let refused = placement.check(&other).unwrap_err().to_string();
        assert!(
            refused.contains(&format!(
                "the job graph built here (fingerprint {}) is not the JobManager's ({})",
                other.fingerprint(),
                jobmanagers.fingerprint()
            )),
            "{refused}"
        );
    }
}
