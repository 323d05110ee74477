//! Placement: which TaskManager slot runs each subtask. Pure: a function of the JobGraph and
//! the slots per TaskManager.

use crate::job_graph::JobGraph;

/// Where one subtask runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotAssignment {
    pub vertex: String,
    pub subtask_index: usize,
    pub task_manager: usize,
    pub slot: usize,
}

/// Places every subtask with Flink's slot sharing: subtask `i` of every vertex shares slot
/// `i`, so the job needs as many slots as its largest parallelism, and slots fill
/// TaskManagers in order.
pub fn schedule(job_graph: &JobGraph, slots_per_task_manager: usize) -> Vec<SlotAssignment> {
    let slots = slots_per_task_manager.max(1);
    job_graph
        .vertices
        .iter()
        .flat_map(|vertex| {
            (0..vertex.parallelism).map(move |subtask| SlotAssignment {
                vertex: vertex.name.clone(),
                subtask_index: subtask,
                task_manager: subtask / slots,
                slot: subtask % slots,
            })
        })
        .collect()
}

/// TaskManagers needed to run the job with slot sharing.
pub fn task_managers_needed(job_graph: &JobGraph, slots_per_task_manager: usize) -> usize {
    job_graph
        .required_slots()
        .div_ceil(slots_per_task_manager.max(1))
}

#[cfg(test)]
mod tests {
    use flinkrs_core::{JobId, NodeId, VertexId};

    use super::*;
    use crate::job_graph::JobVertex;

    fn vertex(id: u32, name: &str, parallelism: usize) -> JobVertex {
        JobVertex {
            id: VertexId(id),
            name: name.to_owned(),
            parallelism,
            max_parallelism: 128,
            nodes: vec![NodeId(id)],
            operator_ids: Vec::new(),
        }
    }

    #[test]
    fn subtasks_share_slots_by_index_and_fill_task_managers_in_order() {
        let graph = JobGraph {
            job_id: JobId(1),
            job_name: "j".into(),
            vertices: vec![vertex(0, "Source", 3), vertex(1, "Sink", 1)],
            edges: Vec::new(),
        };
        let placement = schedule(&graph, 2);
        let seen: Vec<(&str, usize, usize, usize)> = placement
            .iter()
            .map(|a| (a.vertex.as_str(), a.subtask_index, a.task_manager, a.slot))
            .collect();
        assert_eq!(
            seen,
            vec![
                ("Source", 0, 0, 0),
                ("Source", 1, 0, 1),
                ("Source", 2, 1, 0),
                ("Sink", 0, 0, 0)
            ]
        );
        assert_eq!(task_managers_needed(&graph, 2), 2);
        assert_eq!(task_managers_needed(&graph, 4), 1);
    }
}
