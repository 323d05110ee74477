//! The StreamGraph: the transformations a program declared, before chaining.

use std::sync::Arc;

use flinkrs_core::{Configuration, NodeId, OperatorId, Result};

use crate::batch::StreamBatch;
use crate::chain::OperatorLink;
use crate::executor::JobResult;
use crate::guard::guarded;
use crate::input::Input;
use crate::job_client::JobListener;
use crate::metrics::OperatorIoMetrics;
use crate::operator::{Operator, OperatorSnapshot, TaskInfo};
use crate::output::{Output, SideOutputSink};
use crate::partition::PartitionerSpec;
use crate::source::{SourceContext, SourceFunction};
use crate::task::{SourceTaskRunner, TaskMetrics, TaskRunner};
use crate::type_ops::{AnyBox, StreamType, take, type_ops};

/// Which output of a node an edge reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutputSlot {
    Main,
    /// A side output, by its tag name.
    Side(String),
}

/// An edge into a node.
#[derive(Clone, Debug)]
pub struct StreamEdge {
    pub source: NodeId,
    pub slot: OutputSlot,
    pub partitioner: PartitionerSpec,
}

/// Whether a node may share a task with its neighbours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainingStrategy {
    /// Chain with forward-connected neighbours of equal parallelism.
    Always,
    /// Start a new chain at this node (`start_new_chain`).
    Head,
    /// Never chain (`disable_chaining`).
    Never,
}

/// Builds one subtask's operator, from batches `I` to batches `O`.
pub type OperatorBuilder<I, O> =
    Arc<dyn Fn(&TaskInfo) -> Result<Box<dyn Operator<I, O>>> + Send + Sync>;

/// Builds one subtask's source of batches `B`.
pub type SourceBuilder<B> =
    Arc<dyn Fn(&TaskInfo) -> Result<Box<dyn SourceFunction<B>>> + Send + Sync>;

/// Creates a node's per-subtask instance with its types erased, so the graph can hold nodes of
/// any types.
pub trait OperatorFactory: Send + Sync {
    /// Returns a `Box<dyn Input<I>>` (in an [`AnyBox`]) that feeds `main`, a
    /// `Box<dyn Input<O>>`, where `I` and `O` are the node's batch types. `metrics` are the
    /// operator's in this subtask.
    fn create(
        &self,
        info: &TaskInfo,
        main: AnyBox,
        side_outputs: Vec<(String, Box<dyn SideOutputSink>)>,
        metrics: OperatorIoMetrics,
        restored: Option<OperatorSnapshot>,
    ) -> Result<AnyBox>;
}

/// Creates a source subtask together with its chain.
pub trait SourceFactory: Send + Sync {
    /// `operator_metrics` are the source operator's in this subtask, `task_metrics` the
    /// subtask's own.
    fn create(
        &self,
        info: &TaskInfo,
        main: AnyBox,
        operator_metrics: OperatorIoMetrics,
        task_metrics: TaskMetrics,
        batch_rows: usize,
        restored: Option<OperatorSnapshot>,
    ) -> Result<Box<dyn TaskRunner>>;
}

/// The typed [`OperatorFactory`].
pub struct TypedOperatorFactory<I, O> {
    pub build: OperatorBuilder<I, O>,
}

impl<I: StreamBatch, O: StreamBatch> OperatorFactory for TypedOperatorFactory<I, O> {
    fn create(
        &self,
        info: &TaskInfo,
        main: AnyBox,
        side_outputs: Vec<(String, Box<dyn SideOutputSink>)>,
        metrics: OperatorIoMetrics,
        restored: Option<OperatorSnapshot>,
    ) -> Result<AnyBox> {
        let next: Box<dyn Input<O>> = take(main, &info.operator_name)?;
        let operator = guarded(info, || (self.build)(info))?;
        let link = OperatorLink::new(
            operator,
            Output::new(next, side_outputs),
            info.clone(),
            restored,
            metrics,
        );
        let input: Box<dyn Input<I>> = Box::new(link);
        Ok(Box::new(input))
    }
}

/// The typed [`SourceFactory`].
pub struct TypedSourceFactory<B> {
    pub build: SourceBuilder<B>,
}

impl<B: StreamBatch> SourceFactory for TypedSourceFactory<B> {
    fn create(
        &self,
        info: &TaskInfo,
        main: AnyBox,
        operator_metrics: OperatorIoMetrics,
        task_metrics: TaskMetrics,
        batch_rows: usize,
        restored: Option<OperatorSnapshot>,
    ) -> Result<Box<dyn TaskRunner>> {
        let chain: Box<dyn Input<B>> = take(main, &info.operator_name)?;
        let mut source = guarded(info, || (self.build)(info))?;
        if let Some(restored) = restored {
            guarded(info, || source.restore_state(restored.operator_state))?;
        }
        let context = SourceContext {
            info: info.clone(),
            batch_rows,
        };
        Ok(Box::new(SourceTaskRunner {
            source,
            context,
            chain,
            operator_metrics,
            task_metrics,
        }))
    }
}

/// What a node does.
#[derive(Clone)]
pub enum NodeKind {
    Source(Arc<dyn SourceFactory>),
    Operator(Arc<dyn OperatorFactory>),
}

/// One transformation.
#[derive(Clone)]
pub struct StreamNode {
    pub id: NodeId,
    /// The display name, for logs, metrics and the plan; not part of the operator's id.
    pub name: String,
    /// What kind of transformation this is ("Source", "Map", "Window", ...): part of the
    /// operator's id, so it must never change for a given API call.
    pub transformation: &'static str,
    /// The user's id for the operator's state; its hash is the operator's id. Without it the
    /// id is derived from the topology (see [`crate::operator_ids`]).
    pub uid: Option<String>,
    pub parallelism: usize,
    pub max_parallelism: usize,
    pub kind: NodeKind,
    pub inputs: Vec<StreamEdge>,
    pub output_type: Arc<dyn StreamType>,
    pub side_output_types: Vec<(String, Arc<dyn StreamType>)>,
    pub chaining: ChainingStrategy,
}

impl StreamNode {
    pub fn is_source(&self) -> bool {
        matches!(self.kind, NodeKind::Source(_))
    }

    /// The type of an output slot.
    pub fn slot_type(&self, slot: &OutputSlot) -> Option<&Arc<dyn StreamType>> {
        match slot {
            OutputSlot::Main => Some(&self.output_type),
            OutputSlot::Side(name) => self
                .side_output_types
                .iter()
                .find(|(tag, _)| tag == name)
                .map(|(_, t)| t),
        }
    }
}

/// The program as declared: nodes in creation order, which is a topological order.
#[derive(Clone, Default)]
pub struct StreamGraph {
    pub job_name: String,
    pub config: Configuration,
    pub nodes: Vec<StreamNode>,
    /// Told when the job is submitted (Flink's `registerJobListener`).
    pub job_listeners: Vec<Arc<dyn JobListener>>,
    /// Runs the job instead of the in-process local cluster (Flink's `PipelineExecutor`):
    /// in a cluster, the JobManager's scheduler, or a TaskManager's share of the job.
    pub executor: Option<Arc<dyn PipelineExecutor>>,
}

/// What runs a program's job when it calls `execute` (Flink's `PipelineExecutor`). Every
/// process of a cluster runs the same program; what `execute` does there is its executor's.
pub trait PipelineExecutor: Send + Sync {
    /// Runs the job of `graph` and waits for its end.
    fn execute(&self, graph: StreamGraph) -> Result<JobResult>;
}

impl StreamGraph {
    pub fn node(&self, id: NodeId) -> &StreamNode {
        &self.nodes[id.0 as usize]
    }

    pub fn node_mut(&mut self, id: NodeId) -> &mut StreamNode {
        &mut self.nodes[id.0 as usize]
    }

    pub fn next_id(&self) -> NodeId {
        NodeId(self.nodes.len() as u32)
    }

    pub fn add_node(&mut self, node: StreamNode) -> NodeId {
        let id = node.id;
        debug_assert_eq!(id, self.next_id());
        self.nodes.push(node);
        id
    }

    /// Adds a source of batches `B`, of kind `transformation` (part of its operator id), with the job's max parallelism; `parallelism` `None`
    /// takes `parallelism.default`.
    pub fn add_source<B: StreamBatch>(
        &mut self,
        transformation: &'static str,
        name: String,
        parallelism: Option<usize>,
        build: SourceBuilder<B>,
    ) -> NodeId {
        let node = StreamNode {
            id: self.next_id(),
            name,
            transformation,
            uid: None,
            parallelism: parallelism.unwrap_or_else(|| self.config.parallelism()),
            max_parallelism: self.config.max_parallelism(),
            kind: NodeKind::Source(Arc::new(TypedSourceFactory { build })),
            inputs: Vec::new(),
            output_type: type_ops::<B>(),
            side_output_types: Vec::new(),
            chaining: ChainingStrategy::Always,
        };
        self.add_node(node)
    }

    /// Adds an operator from batches `I` to batches `O` of kind `transformation`, reading
    /// `inputs`, with the job's
    /// default parallelism and max parallelism.
    pub fn add_operator<I: StreamBatch, O: StreamBatch>(
        &mut self,
        transformation: &'static str,
        name: String,
        inputs: Vec<StreamEdge>,
        build: OperatorBuilder<I, O>,
    ) -> NodeId {
        let node = StreamNode {
            id: self.next_id(),
            name,
            transformation,
            uid: None,
            parallelism: self.config.parallelism(),
            max_parallelism: self.config.max_parallelism(),
            kind: NodeKind::Operator(Arc::new(TypedOperatorFactory { build })),
            inputs,
            output_type: type_ops::<O>(),
            side_output_types: Vec::new(),
            chaining: ChainingStrategy::Always,
        };
        self.add_node(node)
    }

    /// The id of every node's state, indexed by node: derived from the topology, or from the
    /// node's `uid`. Fails when two operators end up with the same id (a repeated `uid`).
    pub fn operator_ids(&self) -> Result<Vec<OperatorId>> {
        crate::operator_ids::derive_operator_ids(self)
    }

    /// Turns default forward edges between nodes of different parallelism into rebalance.
    pub fn resolve_default_partitioners(&mut self) {
        let parallelism: Vec<usize> = self.nodes.iter().map(|node| node.parallelism).collect();
        for node in &mut self.nodes {
            for edge in &mut node.inputs {
                if edge.partitioner.is_default
                    && parallelism[edge.source.0 as usize] != node.parallelism
                {
                    // Still marked default: operator ids hash the partitioner the program
                    // declared, so that a change of parallelism keeps them.
                    edge.partitioner = PartitionerSpec {
                        is_default: true,
                        ..PartitionerSpec::rebalance()
                    };
                }
            }
        }
    }

    /// The edges leaving `id`, each with the consuming node and the edge's index among that
    /// node's inputs. The pair identifies the edge: a stream united with itself has two edges
    /// with the same ends.
    pub fn out_edges(&self, id: NodeId) -> Vec<(NodeId, usize, &StreamEdge)> {
        self.nodes
            .iter()
            .flat_map(|node| {
                let inputs = node.inputs.iter().enumerate();
                inputs.map(move |(input_index, edge)| (node.id, input_index, edge))
            })
            .filter(|(_, _, edge)| edge.source == id)
            .collect()
    }
}
