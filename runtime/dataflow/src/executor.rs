//! The in-process local cluster: places the JobGraph's subtasks into TaskManager slots and
//! runs each subtask on its own thread, with bounded channels between them.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use flinkrs_core::{Data, Error, JobId, NodeId, Result, StreamElement};

use crate::chain::{Counters, Input};
use crate::gate::run_input_task;
use crate::graph::{NodeKind, OutputSlot, StreamGraph};
use crate::job_graph::{JobGraph, build_job_graph};
use crate::operator::TaskInfo;
use crate::partition::{BatchBounds, PartitionerKind};
use crate::source::{SourceContext, SourceFunction, run_source_task};
use crate::type_ops::AnyBox;

/// Shared by every task of a job: cancellation and the processing-time tick.
#[derive(Debug, Clone)]
pub struct TaskControl {
    cancelled: Arc<AtomicBool>,
    pub tick_interval: Duration,
}

impl TaskControl {
    pub fn new(tick_interval: Duration) -> Self {
        TaskControl {
            cancelled: Arc::new(AtomicBool::new(false)),
            tick_interval,
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }
}

/// A subtask ready to run on its thread.
pub trait TaskRunner: Send {
    fn run(self: Box<Self>, control: &TaskControl) -> Result<()>;
}

pub(crate) struct SourceTaskRunner<T> {
    pub source: Box<dyn SourceFunction<T>>,
    pub context: SourceContext,
    pub chain: Box<dyn Input<T>>,
    pub counters: Arc<Counters>,
}

impl<T: Data> TaskRunner for SourceTaskRunner<T> {
    fn run(mut self: Box<Self>, control: &TaskControl) -> Result<()> {
        let result = run_source_task(
            self.source.as_mut(),
            &self.context,
            self.chain.as_mut(),
            control,
            &self.counters,
        );
        let closed = self.chain.close();
        result.and(closed)
    }
}

pub(crate) struct InputTaskRunner<T> {
    pub receivers: Vec<Receiver<StreamElement<T>>>,
    pub chain: Box<dyn Input<T>>,
}

impl<T: Data> TaskRunner for InputTaskRunner<T> {
    fn run(mut self: Box<Self>, control: &TaskControl) -> Result<()> {
        let result = self.chain.open().and_then(|()| {
            run_input_task(
                std::mem::take(&mut self.receivers),
                self.chain.as_mut(),
                control,
            )
        });
        let closed = self.chain.close();
        result.and(closed)
    }
}

/// Where one subtask runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotAssignment {
    pub vertex: String,
    pub subtask_index: usize,
    pub task_manager: usize,
    pub slot: usize,
}

/// Records counted at one node over all its subtasks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeMetrics {
    pub node: NodeId,
    pub name: String,
    pub records_in: u64,
    pub records_out: u64,
    pub is_source: bool,
    /// Nothing consumes this node's output.
    pub is_sink: bool,
}

/// What a finished job reports.
#[derive(Clone, Debug)]
pub struct JobResult {
    pub job_id: JobId,
    pub job_name: String,
    pub duration: Duration,
    pub nodes: Vec<NodeMetrics>,
    pub placement: Vec<SlotAssignment>,
    pub task_managers: usize,
}

impl JobResult {
    /// Records the sources emitted.
    pub fn records_in(&self) -> u64 {
        self.nodes
            .iter()
            .filter(|n| n.is_source)
            .map(|n| n.records_out)
            .sum()
    }

    /// Records the sinks received.
    pub fn records_out(&self) -> u64 {
        self.nodes
            .iter()
            .filter(|n| n.is_sink)
            .map(|n| n.records_in)
            .sum()
    }
}

/// Runs a StreamGraph on an in-process cluster sized to fit it.
pub struct LocalExecutor {
    graph: StreamGraph,
}

struct ExchangeEndpoints {
    /// Per edge index: per upstream subtask, the senders to the consumers.
    senders: HashMap<usize, Vec<Vec<AnyBox>>>,
    /// Per vertex: per subtask, the receivers of all its input channels.
    receivers: HashMap<usize, Vec<Vec<AnyBox>>>,
}

impl LocalExecutor {
    pub fn new(graph: StreamGraph) -> Self {
        LocalExecutor { graph }
    }

    /// Chains the graph and returns the JobGraph without running it.
    pub fn job_graph(&self) -> Result<JobGraph> {
        build_job_graph(&self.graph, JobId(0))
    }

    /// Runs the job to completion (bounded input) or failure.
    pub fn execute(self) -> Result<JobResult> {
        let started = Instant::now();
        let job_id = JobId::generate();
        let job_graph = build_job_graph(&self.graph, job_id)?;
        let config = Arc::new(self.graph.config.clone());
        let slots_per_task_manager = config.slots_per_task_manager();
        let task_managers = job_graph.required_slots().div_ceil(slots_per_task_manager);
        tracing::info!(
            job = %job_graph.job_name, %job_id, task_managers, slots_per_task_manager,
            "starting local cluster"
        );
        let counters: Vec<Arc<Counters>> =
            self.graph.nodes.iter().map(|_| Arc::default()).collect();
        let bounds = BatchBounds {
            max_rows: config.batch_max_rows(),
            max_bytes: config.batch_max_bytes(),
        };
        let mut endpoints = self.create_exchanges(&job_graph, config.channel_capacity())?;

        let mut runners: Vec<(String, Box<dyn TaskRunner>)> = Vec::new();
        let mut placement = Vec::new();
        for (vertex_index, vertex) in job_graph.vertices.iter().enumerate() {
            let mut vertex_receivers = endpoints.receivers.remove(&vertex_index);
            for subtask in 0..vertex.parallelism {
                let builder = ChainBuilder {
                    graph: &self.graph,
                    job_graph: &job_graph,
                    config: &config,
                    counters: &counters,
                    bounds,
                    subtask,
                };
                let head = self.graph.node(vertex.head());
                let runner = match &head.kind {
                    NodeKind::Source(factory) => {
                        let info = builder.task_info(head.id);
                        let main =
                            builder.outputs_of(head.id, &OutputSlot::Main, &mut endpoints)?;
                        factory.create(
                            &info,
                            main,
                            Arc::clone(&counters[head.id.0 as usize]),
                            bounds.rows_for::<u64>(),
                        )?
                    }
                    NodeKind::Operator(_) => {
                        let chain = builder.build_node(head.id, &mut endpoints)?;
                        let receivers = vertex_receivers
                            .as_mut()
                            .map(|per_subtask| std::mem::take(&mut per_subtask[subtask]))
                            .unwrap_or_default();
                        let input_edge = &head.inputs[0];
                        let input_type = self
                            .graph
                            .node(input_edge.source)
                            .slot_type(&input_edge.slot)
                            .ok_or_else(|| {
                                Error::InvalidJob(format!(
                                    "'{}' reads an undeclared output",
                                    head.name
                                ))
                            })?;
                        input_type.input_task(receivers, chain, &vertex.name)?
                    }
                };
                let thread_name =
                    format!("{} ({}/{})", vertex.name, subtask + 1, vertex.parallelism);
                placement.push(SlotAssignment {
                    vertex: vertex.name.clone(),
                    subtask_index: subtask,
                    task_manager: subtask / slots_per_task_manager,
                    slot: subtask % slots_per_task_manager,
                });
                runners.push((thread_name, runner));
            }
        }

        let control = TaskControl::new(
            config
                .buffer_timeout()
                .min(Duration::from_millis(50))
                .max(Duration::from_millis(1)),
        );
        let mut handles = Vec::with_capacity(runners.len());
        for (name, runner) in runners {
            let control = control.clone();
            let handle = std::thread::Builder::new()
                .name(name.clone())
                .spawn(move || {
                    let result = runner.run(&control);
                    if result.is_err() {
                        // Stop every other task: no one waits for a neighbour that failed.
                        control.cancel();
                    }
                    result
                })
                .map_err(|source| {
                    Error::InvalidJob(format!("cannot start a thread for '{name}': {source}"))
                })?;
            handles.push((name, handle));
        }
        let mut root_cause: Option<Error> = None;
        let mut cancelled = false;
        for (name, handle) in handles {
            match handle.join() {
                Ok(Ok(())) => {}
                Ok(Err(Error::Cancelled)) => cancelled = true,
                Ok(Err(error)) => {
                    tracing::error!(task = %name, %error, "task failed");
                    root_cause.get_or_insert(error);
                }
                Err(_) => {
                    root_cause.get_or_insert(Error::OperatorFailed {
                        operator: name,
                        subtask: String::new(),
                        message: "the task thread panicked outside an operator".into(),
                    });
                }
            }
        }
        if let Some(error) = root_cause {
            return Err(error);
        }
        if cancelled {
            return Err(Error::Cancelled);
        }
        let nodes = self
            .graph
            .nodes
            .iter()
            .map(|node| {
                let counter = &counters[node.id.0 as usize];
                NodeMetrics {
                    node: node.id,
                    name: node.name.clone(),
                    records_in: counter.records_in.load(Ordering::Relaxed),
                    records_out: counter.records_out.load(Ordering::Relaxed),
                    is_source: node.is_source(),
                    is_sink: self.graph.out_edges(node.id).is_empty(),
                }
            })
            .collect();
        Ok(JobResult {
            job_id,
            job_name: job_graph.job_name.clone(),
            duration: started.elapsed(),
            nodes,
            placement,
            task_managers,
        })
    }

    /// Creates the bounded channels of every edge between two vertices.
    fn create_exchanges(&self, job_graph: &JobGraph, capacity: usize) -> Result<ExchangeEndpoints> {
        let mut endpoints = ExchangeEndpoints {
            senders: HashMap::new(),
            receivers: HashMap::new(),
        };
        for (edge_index, edge) in job_graph.edges.iter().enumerate() {
            let upstream = self.graph.node(edge.source_node);
            let slot = match &edge.side_output {
                None => OutputSlot::Main,
                Some(tag) => OutputSlot::Side(tag.clone()),
            };
            let record_type = upstream.slot_type(&slot).ok_or_else(|| {
                Error::InvalidJob(format!("'{}' has no output '{slot:?}'", upstream.name))
            })?;
            let upstream_parallelism = job_graph.vertices[edge.source.0 as usize].parallelism;
            let target_vertex = edge.target.0 as usize;
            let downstream_parallelism = job_graph.vertices[target_vertex].parallelism;
            let receivers = endpoints
                .receivers
                .entry(target_vertex)
                .or_insert_with(|| (0..downstream_parallelism).map(|_| Vec::new()).collect());
            let mut senders: Vec<Vec<AnyBox>> =
                (0..upstream_parallelism).map(|_| Vec::new()).collect();
            for (upstream_subtask, subtask_senders) in senders.iter_mut().enumerate() {
                if edge.partitioner == PartitionerKind::Forward {
                    let (sender, receiver) = record_type.channel(capacity);
                    subtask_senders.push(sender);
                    receivers[upstream_subtask].push(receiver);
                } else {
                    for downstream_receivers in receivers.iter_mut() {
                        let (sender, receiver) = record_type.channel(capacity);
                        subtask_senders.push(sender);
                        downstream_receivers.push(receiver);
                    }
                }
            }
            endpoints.senders.insert(edge_index, senders);
        }
        Ok(endpoints)
    }
}

/// Builds the chain of one subtask, from the tails up to the head.
struct ChainBuilder<'a> {
    graph: &'a StreamGraph,
    job_graph: &'a JobGraph,
    config: &'a Arc<flinkrs_core::Configuration>,
    counters: &'a [Arc<Counters>],
    bounds: BatchBounds,
    subtask: usize,
}

impl ChainBuilder<'_> {
    fn task_info(&self, node: NodeId) -> TaskInfo {
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
        }
    }

    /// The combined consumer of one output slot of `node`: chained successors and channel
    /// writers.
    fn outputs_of(
        &self,
        node: NodeId,
        slot: &OutputSlot,
        endpoints: &mut ExchangeEndpoints,
    ) -> Result<AnyBox> {
        let stream_node = self.graph.node(node);
        let record_type = stream_node.slot_type(slot).ok_or_else(|| {
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
            let senders = endpoints
                .senders
                .get_mut(&edge_index)
                .map(|per_subtask| std::mem::take(&mut per_subtask[self.subtask]))
                .unwrap_or_default();
            let consumer_node = self.graph.node(consumer);
            consumers.push(record_type.writer(
                senders,
                &edge.partitioner,
                self.bounds,
                consumer_node.max_parallelism,
                self.subtask,
            )?);
        }
        record_type.fan_out(consumers)
    }

    /// Builds `node` and everything chained after it; returns its `Box<dyn Input<I>>`.
    fn build_node(&self, node: NodeId, endpoints: &mut ExchangeEndpoints) -> Result<AnyBox> {
        let stream_node = self.graph.node(node);
        let NodeKind::Operator(factory) = &stream_node.kind else {
            return Err(Error::InvalidJob(format!(
                "source '{}' cannot have inputs",
                stream_node.name
            )));
        };
        let main = self.outputs_of(node, &OutputSlot::Main, endpoints)?;
        let mut side_outputs = Vec::new();
        for (tag, record_type) in &stream_node.side_output_types {
            let consumer = self.outputs_of(node, &OutputSlot::Side(tag.clone()), endpoints)?;
            side_outputs.push((tag.clone(), record_type.side_output(consumer)?));
        }
        let info = self.task_info(node);
        factory.create(
            &info,
            main,
            side_outputs,
            Arc::clone(&self.counters[node.0 as usize]),
            None,
        )
    }
}

fn side_name(slot: &OutputSlot) -> Option<&String> {
    match slot {
        OutputSlot::Main => None,
        OutputSlot::Side(tag) => Some(tag),
    }
}
