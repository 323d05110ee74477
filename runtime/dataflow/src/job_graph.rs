//! StreamGraph → JobGraph: forward edges between nodes of equal parallelism are chained, so
//! those nodes run in one task and hand batches to each other by reference.
//!
//! The JobGraph is plain data and serializable: in application mode every process builds the
//! same program, derives the same JobGraph, and runs the subtasks it is assigned.

use std::collections::BTreeMap;

use flinkrs_core::{Error, JobId, NodeId, OperatorId, Result, VertexId};
use serde::{Deserialize, Serialize};

use crate::graph::{ChainingStrategy, OutputSlot, StreamGraph};
use crate::partition::PartitionerKind;

/// A chain of nodes that runs as one task, `parallelism` times.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobVertex {
    pub id: VertexId,
    /// Flink-style: the chained operators' names joined by " -> ".
    pub name: String,
    pub parallelism: usize,
    pub max_parallelism: usize,
    /// The chained nodes, head first, in topological order.
    pub nodes: Vec<NodeId>,
    /// The id of each chained node's state, in the order of `nodes` (Flink's operator ids of
    /// a JobVertex).
    pub operator_ids: Vec<OperatorId>,
}

impl JobVertex {
    pub fn head(&self) -> NodeId {
        self.nodes[0]
    }

    /// The operator id of `node`, if it is chained into this vertex.
    pub fn operator_id(&self, node: NodeId) -> Option<OperatorId> {
        let position = self.nodes.iter().position(|chained| *chained == node)?;
        self.operator_ids.get(position).copied()
    }
}

/// A data exchange between two vertices.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobEdge {
    pub source: VertexId,
    pub target: VertexId,
    pub source_node: NodeId,
    pub target_node: NodeId,
    /// The index of the StreamEdge among the target node's inputs: with `target_node` it
    /// names the edge, also where two edges join the same outputs (a self-union).
    pub target_input: usize,
    pub partitioner: PartitionerKind,
    pub side_output: Option<String>,
}

/// The chained job: what the scheduler places into slots.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobGraph {
    pub job_id: JobId,
    pub job_name: String,
    pub vertices: Vec<JobVertex>,
    pub edges: Vec<JobEdge>,
}

impl JobGraph {
    /// The vertex a node was chained into.
    pub fn vertex_of(&self, node: NodeId) -> Option<&JobVertex> {
        self.vertices
            .iter()
            .find(|vertex| vertex.nodes.contains(&node))
    }

    /// A fingerprint of the whole graph (its vertices with their operator ids and
    /// parallelism, and its edges with their partitioners), 32 hex digits: every process of a
    /// job builds its graph from the same program, and compares fingerprints to be sure.
    pub fn fingerprint(&self) -> String {
        // Encoding plain data into a Vec cannot fail; an empty encoding still fingerprints.
        let bytes = postcard::to_allocvec(self).unwrap_or_default();
        let hash = flinkrs_core::murmur3::murmur3_x64_128(&bytes, 0);
        hash.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// The slots the job needs with slot sharing: the largest parallelism of any vertex.
    pub fn required_slots(&self) -> usize {
        self.vertices
            .iter()
            .map(|v| v.parallelism)
            .max()
            .unwrap_or(0)
    }
}

fn check_edges(graph: &StreamGraph) -> Result<()> {
    for node in &graph.nodes {
        for edge in &node.inputs {
            let upstream = graph.node(edge.source);
            if edge.partitioner.kind == PartitionerKind::Forward
                && upstream.parallelism != node.parallelism
            {
                return Err(Error::InvalidJob(format!(
                    "forward partitioning does not allow a change of parallelism: '{}' has \
                     parallelism {}, '{}' has {}; use rebalance() or give both the same parallelism",
                    upstream.name, upstream.parallelism, node.name, node.parallelism
                )));
            }
            if node.max_parallelism < node.parallelism {
                return Err(Error::InvalidJob(format!(
                    "'{}' has parallelism {} above its max parallelism {}; raise pipeline.max-parallelism",
                    node.name, node.parallelism, node.max_parallelism
                )));
            }
            if let OutputSlot::Side(tag) = &edge.slot
                && upstream.slot_type(&edge.slot).is_none()
            {
                return Err(Error::InvalidJob(format!(
                    "'{}' reads side output '{tag}' that '{}' does not declare",
                    node.name, upstream.name
                )));
            }
        }
    }
    Ok(())
}

/// Chains the StreamGraph into a JobGraph.
pub fn build_job_graph(graph: &StreamGraph, job_id: JobId) -> Result<JobGraph> {
    check_edges(graph)?;
    if graph.nodes.is_empty() {
        return Err(Error::InvalidJob(
            "the program defines no operators; add a source and a sink".into(),
        ));
    }
    let operator_ids = graph.operator_ids()?;
    let chaining_enabled = graph.config.operator_chaining();
    let mut vertex_of_node: BTreeMap<NodeId, usize> = BTreeMap::new();
    let mut vertices: Vec<JobVertex> = Vec::new();
    for node in &graph.nodes {
        let chained_into = match node.inputs.as_slice() {
            [edge] if chaining_enabled && node.chaining == ChainingStrategy::Always => {
                let upstream = graph.node(edge.source);
                let chainable = edge.partitioner.kind == PartitionerKind::Forward
                    && upstream.parallelism == node.parallelism
                    && upstream.chaining != ChainingStrategy::Never;
                chainable.then(|| vertex_of_node[&edge.source])
            }
            _ => None,
        };
        let vertex_index = match chained_into {
            Some(index) => {
                vertices[index].nodes.push(node.id);
                vertices[index]
                    .operator_ids
                    .push(operator_ids[node.id.0 as usize]);
                index
            }
            None => {
                vertices.push(JobVertex {
                    id: VertexId(vertices.len() as u32),
                    name: String::new(),
                    parallelism: node.parallelism,
                    max_parallelism: node.max_parallelism,
                    nodes: vec![node.id],
                    operator_ids: vec![operator_ids[node.id.0 as usize]],
                });
                vertices.len() - 1
            }
        };
        vertex_of_node.insert(node.id, vertex_index);
    }
    for vertex in &mut vertices {
        let names: Vec<&str> = vertex
            .nodes
            .iter()
            .map(|id| graph.node(*id).name.as_str())
            .collect();
        vertex.name = names.join(" -> ");
    }
    let mut edges = Vec::new();
    for node in &graph.nodes {
        for (target_input, edge) in node.inputs.iter().enumerate() {
            let source = vertex_of_node[&edge.source];
            let target = vertex_of_node[&node.id];
            if source != target {
                edges.push(JobEdge {
                    source: VertexId(source as u32),
                    target: VertexId(target as u32),
                    source_node: edge.source,
                    target_node: node.id,
                    target_input,
                    partitioner: edge.partitioner.kind,
                    side_output: match &edge.slot {
                        OutputSlot::Main => None,
                        OutputSlot::Side(tag) => Some(tag.clone()),
                    },
                });
            }
        }
    }
    Ok(JobGraph {
        job_id,
        job_name: graph.job_name.clone(),
        vertices,
        edges,
    })
}
