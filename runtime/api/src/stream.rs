//! [`DataStream`]: a stream of records of type `T`, and its transformations.

use std::fmt::Display;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::Arc;

use flinkrs_core::key_hash::key_hash;
use flinkrs_core::{Batch, Data, NodeId, Result};
use flinkrs_dataflow::StreamBatch;
use flinkrs_dataflow::graph::{ChainingStrategy, OperatorBuilder};
use flinkrs_dataflow::partition::KeyHashFn;
use flinkrs_dataflow::type_ops::type_ops;
use flinkrs_dataflow::{
    Operator, OutputSlot, OutputTag, PartitionerSpec, StreamEdge, StreamNode, TaskInfo,
};

use crate::env::SharedGraph;
use crate::functions::{Collector, FilterOperator, FlatMapOperator, MapOperator};
use crate::keyed::{KeyRef, KeySelector, KeyedStream, key_selector};
use crate::process::{ProcessFunction, ProcessOperator};
use crate::sink::{CollectSink, DiscardingSink, PrintSink, SinkFunction, SinkOperator};
use crate::watermark::{TimestampsAndWatermarksOperator, WatermarkStrategy};

/// One upstream of a stream: a node's output, and how records reach the next operator.
#[derive(Clone, Debug)]
pub(crate) struct StreamInput {
    pub node: NodeId,
    pub slot: OutputSlot,
    pub partitioner: PartitionerSpec,
}

/// A stream of records of type `T`, as Flink's `DataStream`.
pub struct DataStream<T> {
    pub(crate) graph: SharedGraph,
    /// One input normally; several after `union`.
    pub(crate) inputs: Vec<StreamInput>,
    _type: PhantomData<fn() -> T>,
}

impl<T> Clone for DataStream<T> {
    fn clone(&self) -> Self {
        DataStream {
            graph: self.graph.clone(),
            inputs: self.inputs.clone(),
            _type: PhantomData,
        }
    }
}

impl<T: Data> DataStream<T> {
    pub(crate) fn from_node(graph: SharedGraph, node: NodeId) -> Self {
        Self::from_slot(graph, node, OutputSlot::Main)
    }

    fn from_slot(graph: SharedGraph, node: NodeId, slot: OutputSlot) -> Self {
        let input = StreamInput {
            node,
            slot,
            partitioner: PartitionerSpec::default_for_edge(),
        };
        DataStream {
            graph,
            inputs: vec![input],
            _type: PhantomData,
        }
    }

    /// The node this stream comes from, when it comes from exactly one.
    fn single_node(&self) -> Option<NodeId> {
        match self.inputs.as_slice() {
            [input] => Some(input.node),
            _ => None,
        }
    }

    fn with_node(self, change: impl FnOnce(&mut StreamNode)) -> Self {
        configure_node(&self.graph, &self.inputs, change);
        self
    }

    /// Adds an operator node reading this stream. `transformation` goes into the operator's
    /// id and must stay the same for an API call across versions; `name` is only displayed.
    pub(crate) fn add_operator<O, F>(
        &self,
        transformation: &'static str,
        name: &str,
        build: F,
    ) -> DataStream<O>
    where
        O: Data,
        F: Fn(&TaskInfo) -> Result<Box<dyn Operator<Batch<T>, Batch<O>>>> + Send + Sync + 'static,
    {
        let builder: OperatorBuilder<Batch<T>, Batch<O>> = Arc::new(build);
        let id = add_operator_node(&self.graph, &self.inputs, transformation, name, builder);
        DataStream::from_node(self.graph.clone(), id)
    }

    /// Applies a custom [`Operator`] to every batch. `name` is for display only: like any
    /// operator, it is told apart in savepoints by its place in the program or its
    /// [`uid`](Self::uid).
    pub fn transform<O, Op, F>(&self, name: &str, build: F) -> DataStream<O>
    where
        O: Data,
        Op: Operator<Batch<T>, Batch<O>> + 'static,
        F: Fn(&TaskInfo) -> Op + Send + Sync + 'static,
    {
        self.transform_as("Transform", name, build)
    }

    /// A transformation of this API, of kind `transformation` (see [`Self::add_operator`]).
    pub(crate) fn transform_as<O, Op, F>(
        &self,
        transformation: &'static str,
        name: &str,
        build: F,
    ) -> DataStream<O>
    where
        O: Data,
        Op: Operator<Batch<T>, Batch<O>> + 'static,
        F: Fn(&TaskInfo) -> Op + Send + Sync + 'static,
    {
        self.add_operator(transformation, name, move |info| {
            let operator: Box<dyn Operator<Batch<T>, Batch<O>>> = Box::new(build(info));
            Ok(operator)
        })
    }

    /// Transforms each record into one record.
    pub fn map<O: Data, F>(&self, function: F) -> DataStream<O>
    where
        F: FnMut(T) -> O + Clone + Send + Sync + 'static,
    {
        self.transform_as("Map", "Map", move |_| MapOperator {
            function: function.clone(),
        })
    }

    /// Transforms each record into zero or more records, emitted through the collector.
    pub fn flat_map<O: Data, F>(&self, function: F) -> DataStream<O>
    where
        F: FnMut(T, &mut Collector<'_, O>) + Clone + Send + Sync + 'static,
    {
        self.transform_as("Flat Map", "Flat Map", move |info| FlatMapOperator {
            function: function.clone(),
            flush_rows: info.config.batch_max_rows(),
            _output: PhantomData,
        })
    }

    /// Keeps the records for which `predicate` is true.
    pub fn filter<F>(&self, predicate: F) -> DataStream<T>
    where
        F: FnMut(&T) -> bool + Clone + Send + Sync + 'static,
    {
        self.transform_as("Filter", "Filter", move |_| FilterOperator {
            predicate: predicate.clone(),
        })
    }

    /// Applies a [`ProcessFunction`]: per-record logic with side outputs and time access.
    pub fn process<O: Data, P>(&self, function: P) -> DataStream<O>
    where
        P: ProcessFunction<T, O> + Clone + Sync + 'static,
    {
        self.transform_as("Process", "Process", move |_| {
            ProcessOperator::new(function.clone())
        })
    }

    /// Partitions by key: records with the same key go to the same subtask, and keyed state
    /// and timers become available.
    pub fn key_by<K, F>(&self, selector: F) -> KeyedStream<T, K>
    where
        K: Data + Hash + Eq + serde::Serialize + serde::de::DeserializeOwned,
        F: Fn(&T) -> K + Send + Sync + 'static,
    {
        self.key_by_selector(key_selector(move |value: &T| {
            KeyRef::Owned(selector(value))
        }))
    }

    /// Partitions by a key that is a field of the record, returned by reference: like
    /// [`key_by`](Self::key_by), but neither partitioning nor keyed state lookups copy the key.
    pub fn key_by_ref<K, F>(&self, selector: F) -> KeyedStream<T, K>
    where
        K: Data + Hash + Eq + serde::Serialize + serde::de::DeserializeOwned,
        F: for<'a> Fn(&'a T) -> &'a K + Send + Sync + 'static,
    {
        self.key_by_selector(key_selector(move |value: &T| {
            KeyRef::Borrowed(selector(value))
        }))
    }

    fn key_by_selector<K>(&self, selector: KeySelector<T, K>) -> KeyedStream<T, K>
    where
        K: Data + Hash + Eq + serde::Serialize + serde::de::DeserializeOwned,
    {
        let for_hash = Arc::clone(&selector);
        let hash: KeyHashFn<T> = Arc::new(move |value: &T| key_hash(&*for_hash(value)));
        let partitioned = self.partition(PartitionerSpec::hash(hash));
        KeyedStream::new(partitioned, selector)
    }

    fn partition(&self, partitioner: PartitionerSpec) -> DataStream<T> {
        let mut stream = self.clone();
        for input in &mut stream.inputs {
            input.partitioner = partitioner.clone();
        }
        stream
    }

    /// Spreads records round-robin over the next operator's subtasks.
    pub fn rebalance(&self) -> DataStream<T> {
        self.partition(PartitionerSpec::rebalance())
    }

    /// Sends every record to every subtask of the next operator.
    pub fn broadcast(&self) -> DataStream<T> {
        self.partition(PartitionerSpec::broadcast())
    }

    /// Sends subtask i's records to subtask i of the next operator (equal parallelism only).
    pub fn forward(&self) -> DataStream<T> {
        self.partition(PartitionerSpec::forward())
    }

    /// Merges streams of the same type into one.
    pub fn union(&self, others: &[DataStream<T>]) -> DataStream<T> {
        let mut merged = self.clone();
        for other in others {
            merged.inputs.extend(other.inputs.iter().cloned());
        }
        merged
    }

    /// Assigns event-time timestamps and generates watermarks.
    pub fn assign_timestamps_and_watermarks(
        &self,
        strategy: WatermarkStrategy<T>,
    ) -> DataStream<T> {
        self.transform_as(
            "Timestamps/Watermarks",
            "Timestamps/Watermarks",
            move |info| TimestampsAndWatermarksOperator::new(strategy.clone(), info),
        )
    }

    /// The records emitted to the side output `tag` by this stream's operator.
    pub fn get_side_output<X: Data>(&self, tag: &OutputTag<X>) -> DataStream<X> {
        let node = self.single_node().unwrap_or(self.inputs[0].node);
        {
            let mut graph = self.graph.borrow_mut();
            let side_types = &mut graph.node_mut(node).side_output_types;
            if !side_types.iter().any(|(name, _)| name == tag.name()) {
                side_types.push((tag.name().to_owned(), type_ops::<Batch<X>>()));
            }
        }
        DataStream::from_slot(
            self.graph.clone(),
            node,
            OutputSlot::Side(tag.name().to_owned()),
        )
    }

    /// Sets the parallelism of this stream's operator.
    pub fn set_parallelism(self, parallelism: usize) -> Self {
        self.with_node(|node| node.parallelism = parallelism.max(1))
    }

    /// Sets the max parallelism (number of key groups) of this stream's operator.
    pub fn set_max_parallelism(self, max_parallelism: usize) -> Self {
        self.with_node(|node| node.max_parallelism = max_parallelism.max(1))
    }

    /// Names this stream's operator, for logs, metrics and the plan. The name is not part of
    /// the operator's id: renaming keeps its state in a savepoint.
    pub fn name(self, name: &str) -> Self {
        self.with_node(|node| node.name = name.to_owned())
    }

    /// Gives this stream's operator a stable id: the key of its state in savepoints. Its
    /// operator id is the hash of `uid` (the same `OperatorID` Flink derives from it), and the
    /// ids of the operators after it derive from that, whatever comes before.
    ///
    /// Without a uid, an operator's id is derived from its place in the program: its kind,
    /// its inputs' ids and partitioners, and its rank among identical siblings (see
    /// `flinkrs_dataflow::operator_ids`). Inserting, removing or changing an operator
    /// therefore changes the id of every operator downstream of it (and of later identical
    /// siblings), whose state then no longer maps from a savepoint, as in Flink. Set a uid on
    /// every stateful operator of a job that will be upgraded. A uid must be unique within a
    /// job.
    pub fn uid(self, uid: &str) -> Self {
        self.with_node(|node| node.uid = Some(uid.to_owned()))
    }

    /// Never chain this operator with its neighbours.
    pub fn disable_chaining(self) -> Self {
        self.with_node(|node| node.chaining = ChainingStrategy::Never)
    }

    /// Start a new chain at this operator.
    pub fn start_new_chain(self) -> Self {
        self.with_node(|node| node.chaining = ChainingStrategy::Head)
    }

    /// Writes the stream to a sink.
    pub fn add_sink<S>(&self, name: &str, sink: S) -> DataStreamSink
    where
        S: SinkFunction<T> + Clone + Sync + 'static,
    {
        let stream = self.transform_as("Sink", &format!("Sink: {name}"), move |_| SinkOperator {
            sink: sink.clone(),
        });
        DataStreamSink { stream }
    }

    /// Prints each record to standard output, as Flink's `print()`.
    pub fn print(&self) -> DataStreamSink
    where
        T: Display,
    {
        self.add_sink("Print to Std. Out", PrintSink::new())
    }

    /// Prints with an identifier before each line.
    pub fn print_with_identifier(&self, identifier: &str) -> DataStreamSink
    where
        T: Display,
    {
        self.add_sink("Print to Std. Out", PrintSink::with_identifier(identifier))
    }

    /// Prints each record to standard error.
    pub fn print_to_err(&self) -> DataStreamSink
    where
        T: Display,
    {
        self.add_sink("Print to Std. Err", PrintSink::new().to_stderr())
    }

    /// Drops every record.
    pub fn discard(&self) -> DataStreamSink {
        self.add_sink("Discard", DiscardingSink)
    }

    /// Collects the stream into memory; read it with [`CollectHandle::take`] after the job.
    ///
    /// [`CollectHandle::take`]: crate::sink::CollectHandle::take
    pub fn collect(&self) -> crate::sink::CollectHandle<T> {
        let (sink, handle) = CollectSink::new();
        self.add_sink("Collect", sink);
        handle
    }

    /// Runs the job and returns every record of this stream, as Flink's `executeAndCollect`.
    pub fn execute_and_collect(&self, job_name: &str) -> Result<Vec<T>> {
        let handle = self.collect();
        crate::env::StreamExecutionEnvironment::from_shared(self.graph.clone())
            .execute(job_name)?;
        Ok(handle.take())
    }
}

/// Adds an operator node reading `inputs` to the graph: what every stream type's
/// transformations come down to.
pub(crate) fn add_operator_node<I: StreamBatch, O: StreamBatch>(
    graph: &SharedGraph,
    inputs: &[StreamInput],
    transformation: &'static str,
    name: &str,
    builder: OperatorBuilder<I, O>,
) -> NodeId {
    let edges = inputs
        .iter()
        .map(|input| StreamEdge {
            source: input.node,
            slot: input.slot.clone(),
            partitioner: input.partitioner.clone(),
        })
        .collect();
    graph
        .borrow_mut()
        .add_operator(transformation, name.to_owned(), edges, builder)
}

/// Applies `change` to the node a stream comes from; a union has none of its own.
pub(crate) fn configure_node(
    graph: &SharedGraph,
    inputs: &[StreamInput],
    change: impl FnOnce(&mut StreamNode),
) {
    match inputs {
        [input] => change(graph.borrow_mut().node_mut(input.node)),
        _ => tracing::warn!("a union of streams has no operator of its own to configure; ignored"),
    }
}

/// The end of a stream: a sink, whose parallelism and name can still be set.
pub struct DataStreamSink {
    stream: DataStream<()>,
}

impl DataStreamSink {
    pub fn set_parallelism(self, parallelism: usize) -> Self {
        DataStreamSink {
            stream: self.stream.set_parallelism(parallelism),
        }
    }

    pub fn name(self, name: &str) -> Self {
        DataStreamSink {
            stream: self.stream.name(name),
        }
    }

    /// The sink's stable id; see [`DataStream::uid`].
    pub fn uid(self, uid: &str) -> Self {
        DataStreamSink {
            stream: self.stream.uid(uid),
        }
    }
}
