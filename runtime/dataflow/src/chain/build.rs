//! Assembles the chain of one subtask from the StreamGraph and JobGraph, and creates the
//! channels of every exchange between vertices.

use std::collections::HashMap;
use std::sync::Arc;

use flinkrs_core::{Configuration, Error, NodeId, Result};

use crate::graph::{NodeKind, OutputSlot, StreamGraph};
use crate::job_graph::JobGraph;
use crate::metrics::{OperatorIoMetrics, TaskMetricGroup};
use crate::operator::{OperatorSnapshot, TaskInfo};
use crate::partition::{BatchBounds, PartitionerKind};
use crate::placement::TaskPlacement;
use crate::restore::RestoredState;
use crate::task::{CancelToken, OutputMetrics};
use crate::type_ops::AnyBox;

/// The channels of every exchange, typed behind [`AnyBox`], waiting to be handed to the
/// subtasks that write and read them.
pub struct ExchangeEndpoints {
    /// Per JobEdge index: per upstream subtask, the senders to the consumers.
    senders: HashMap<usize, Vec<Vec<AnyBox>>>,
    /// Per vertex: per subtask, the receivers of all its input channels.
    receivers: HashMap<usize, Vec<Vec<AnyBox>>>,
}

impl ExchangeEndpoints {
    /// Creates the bounded channels of every edge between two vertices, all local.
    pub fn create(graph: &StreamGraph, job_graph: &JobGraph, capacity: usize) -> Result<Self> {
        Self::create_placed(graph, job_graph, capacity, None)
    }

    /// Creates the channels of every edge between two vertices as `placement` places the
    /// subtasks: local between two subtasks of this process, one half of a remote channel
    /// between one of this process and one of another TaskManager, and none between two
    /// elsewhere. Without a placement, every subtask is here.
    pub fn create_placed(
        graph: &StreamGraph,
        job_graph: &JobGraph,
        capacity: usize,
        placement: Option<&TaskPlacement>,
    ) -> Result<Self> {
        let mut endpoints = ExchangeEndpoints {
            senders: HashMap::new(),
            receivers: HashMap::new(),
        };
        for (edge_index, edge) in job_graph.edges.iter().enumerate() {
            let upstream = graph.node(edge.source_node);
            let slot = match &edge.side_output {
                None => OutputSlot::Main,
                Some(tag) => OutputSlot::Side(tag.clone()),
            };
            let batch_type = upstream.slot_type(&slot).ok_or_else(|| {
                Error::InvalidJob(format!("'{}' has no output '{slot:?}'", upstream.name))
            })?;
            let source_vertex = edge.source.0 as usize;
            let upstream_parallelism = job_graph.vertices[source_vertex].parallelism;
            let target_vertex = edge.target.0 as usize;
            let downstream_parallelism = job_graph.vertices[target_vertex].parallelism;
            let receivers = endpoints
                .receivers
                .entry(target_vertex)
                .or_insert_with(|| (0..downstream_parallelism).map(|_| Vec::new()).collect());
            let mut senders: Vec<Vec<AnyBox>> =
                (0..upstream_parallelism).map(|_| Vec::new()).collect();
            for (producer, subtask_senders) in senders.iter_mut().enumerate() {
                let consumers = if edge.partitioner == PartitionerKind::Forward {
                    producer..producer + 1
                } else {
                    0..downstream_parallelism
                };
                for consumer in consumers {
                    let Some(placement) = placement else {
                        let (sender, receiver) = batch_type.channel(capacity);
                        subtask_senders.push(sender);
                        receivers[consumer].push(receiver);
                        continue;
                    };
                    let here = (
                        placement.is_local(source_vertex, producer),
                        placement.is_local(target_vertex, consumer),
                    );
                    let channel = placement.channel(edge_index, producer, consumer);
                    match here {
                        (true, true) => {
                            let (sender, receiver) = batch_type.channel(capacity);
                            subtask_senders.push(sender);
                            receivers[consumer].push(receiver);
                        }
                        (true, false) => {
                            let peer =
                                placement.location(target_vertex, consumer).ok_or_else(|| {
                                    Error::InvalidJob(format!("no TaskManager runs {channel}"))
                                })?;
                            subtask_senders.push(batch_type.remote_sender(
                                &placement.network,
                                channel,
                                peer,
                            )?);
                        }
                        (false, true) => receivers[consumer].push(batch_type.remote_receiver(
                            &placement.network,
                            channel,
                            capacity,
                        )?),
                        (false, false) => {}
                    }
                }
            }
            endpoints.senders.insert(edge_index, senders);
        }
        Ok(endpoints)
    }

    /// The receivers of every input channel of one subtask of `vertex`.
    pub fn take_receivers(&mut self, vertex: usize, subtask: usize) -> Vec<AnyBox> {
        self.receivers
            .get_mut(&vertex)
            .map(|per_subtask| std::mem::take(&mut per_subtask[subtask]))
            .unwrap_or_default()
    }

    fn take_senders(&mut self, edge_index: usize, subtask: usize) -> Vec<AnyBox> {
        self.senders
            .get_mut(&edge_index)
            .map(|per_subtask| std::mem::take(&mut per_subtask[subtask]))
            .unwrap_or_default()
    }
}

/// Builds the chain of one subtask, from the tails up to the head.
pub struct ChainBuilder<'a> {
    pub graph: &'a StreamGraph,
    pub job_graph: &'a JobGraph,
    pub config: &'a Arc<Configuration>,
    /// The subtask's metric group; each operator of the chain gets a group inside it.
    pub metrics: &'a TaskMetricGroup,
    /// What the subtask's channel writers count into.
    pub output_metrics: &'a OutputMetrics,
    pub bounds: BatchBounds,
    pub subtask: usize,
    /// The job's attempt the subtask belongs to.
    pub attempt: u32,
    pub cancel: &'a CancelToken,
    /// The state the job restores from, if any.
    pub restored: Option<&'a RestoredState>,
}

impl ChainBuilder<'_> {
    pub fn task_info(&self, node: NodeId) -> TaskInfo {
        let stream_node = self.graph.node(node);
        let vertex = self.job_graph.vertex_of(node);
        TaskInfo {
            job_name: self.graph.job_name.clone(),
            task_name: vertex.map(|v| v.name.clone()).unwrap_or_default(),
            operator_name: stream_node.name.clone(),
            operator_id: vertex
                .and_then(|v| v.operator_id(node))
                .map(|id| id.to_string())
                .unwrap_or_default(),
            subtask_index: self.subtask,
            parallelism: stream_node.parallelism,
            max_parallelism: stream_node.max_parallelism,
            config: Arc::clone(self.config),
            job_id: self.job_graph.job_id,
            attempt_number: self.attempt,
        }
    }

    /// Registers the standard metrics of the operator described by `info` in this subtask.
    pub fn operator_metrics(&self, info: &TaskInfo) -> OperatorIoMetrics {
        self.metrics
            .operator_group(info.operator_id.clone(), info.operator_name.clone())
            .io_metrics()
    }

    /// The combined consumer of one output slot of `node`: chained successors and channel
    /// writers.
    pub fn outputs_of(
        &self,
        node: NodeId,
        slot: &OutputSlot,
        endpoints: &mut ExchangeEndpoints,
    ) -> Result<AnyBox> {
        let stream_node = self.graph.node(node);
        let batch_type = stream_node.slot_type(slot).ok_or_else(|| {
            Error::InvalidJob(format!("'{}' has no output {slot:?}", stream_node.name))
        })?;
        let own_vertex = self.job_graph.vertex_of(node).map(|v| v.id);
        let mut consumers = Vec::new();
        for (consumer, input_index, edge) in self.graph.out_edges(node) {
            if &edge.slot != slot {
                continue;
            }
            if self.job_graph.vertex_of(consumer).map(|v| v.id) == own_vertex {
                consumers.push(self.build_node(consumer, endpoints)?);
                continue;
            }
            let edge_index = self
                .job_graph
                .edges
                .iter()
                .position(|e| {
                    e.source_node == node
                        && e.target_node == consumer
                        && e.target_input == input_index
                        && e.side_output.as_ref() == side_name(slot)
                })
                .ok_or_else(|| {
                    Error::InvalidJob(format!("no exchange from '{}'", stream_node.name))
                })?;
            let senders = endpoints.take_senders(edge_index, self.subtask);
            let consumer_node = self.graph.node(consumer);
            consumers.push(batch_type.writer(
                senders,
                &edge.partitioner,
                self.bounds,
                consumer_node.max_parallelism,
                self.subtask,
                self.cancel.clone(),
                self.output_metrics.clone(),
            )?);
        }
        batch_type.fan_out(consumers)
    }

    /// Builds `node` and everything chained after it; returns its `Box<dyn Input<I>>`.
    pub fn build_node(&self, node: NodeId, endpoints: &mut ExchangeEndpoints) -> Result<AnyBox> {
        let stream_node = self.graph.node(node);
        let NodeKind::Operator(factory) = &stream_node.kind else {
            return Err(Error::InvalidJob(format!(
                "source '{}' cannot have inputs",
                stream_node.name
            )));
        };
        let main = self.outputs_of(node, &OutputSlot::Main, endpoints)?;
        let mut side_outputs = Vec::new();
        for (tag, batch_type) in &stream_node.side_output_types {
            let consumer = self.outputs_of(node, &OutputSlot::Side(tag.clone()), endpoints)?;
            side_outputs.push((tag.clone(), batch_type.side_output(consumer)?));
        }
        let info = self.task_info(node);
        let metrics = self.operator_metrics(&info);
        let restored = self.restored_state(&info)?;
        factory.create(&info, main, side_outputs, metrics, restored)
    }

    /// The restored state of the operator described by `info` in this subtask.
    pub fn restored_state(&self, info: &TaskInfo) -> Result<Option<OperatorSnapshot>> {
        match self.restored {
            Some(restored) => restored.for_subtask(
                &info.operator_id,
                self.subtask,
                info.parallelism,
                info.max_parallelism,
            ),
            None => Ok(None),
        }
    }
}

fn side_name(slot: &OutputSlot) -> Option<&String> {
    match slot {
        OutputSlot::Main => None,
        OutputSlot::Side(tag) => Some(tag),
    }
}
