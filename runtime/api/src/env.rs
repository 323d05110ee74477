//! [`StreamExecutionEnvironment`]: where a program declares its sources and runs its job.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use flinkrs_core::config::{MAX_PARALLELISM, PARALLELISM_DEFAULT, RUNTIME_MODE};
use flinkrs_core::{Batch, Configuration, Data, Error, Result, RuntimeMode};
use flinkrs_dataflow::graph::SourceBuilder;
use flinkrs_dataflow::job_graph::JobGraph;
use flinkrs_dataflow::{
    JobListener, JobResult, LocalExecutor, PipelineExecutor, RunningJob, SourceFunction,
    StreamGraph, TaskInfo,
};

use crate::source::CollectionSource;
use crate::stream::DataStream;

/// The graph under construction, shared by every stream of one environment.
pub(crate) type SharedGraph = Rc<RefCell<StreamGraph>>;

/// Entry point of a DataStream program, as Flink's `StreamExecutionEnvironment`.
///
/// ```
/// use flinkrs_api::prelude::*;
///
/// let env = StreamExecutionEnvironment::new();
/// let doubled = env.from_collection(vec![1, 2, 3]).map(|n| n * 2);
/// assert_eq!(doubled.execute_and_collect("doubling").unwrap(), vec![2, 4, 6]);
/// ```
#[derive(Clone)]
pub struct StreamExecutionEnvironment {
    graph: SharedGraph,
}

impl Default for StreamExecutionEnvironment {
    fn default() -> Self {
        Self::new()
    }
}

impl StreamExecutionEnvironment {
    /// An environment with the default configuration: runs on an in-process local cluster.
    pub fn new() -> Self {
        Self::with_configuration(Configuration::new())
    }

    /// An environment with the given configuration (Flink's keys, e.g. `parallelism.default`).
    pub fn with_configuration(config: Configuration) -> Self {
        let graph = StreamGraph {
            job_name: String::new(),
            config,
            nodes: Vec::new(),
            job_listeners: Vec::new(),
            executor: None,
        };
        StreamExecutionEnvironment {
            graph: Rc::new(RefCell::new(graph)),
        }
    }

    pub fn config(&self) -> Configuration {
        self.graph.borrow().config.clone()
    }

    /// Sets a configuration key; unknown keys and malformed values are rejected.
    pub fn set(&self, key: &str, value: impl Into<String>) -> Result<()> {
        self.graph.borrow_mut().config.set(key, value)
    }

    /// Default parallelism of operators created from now on.
    pub fn set_parallelism(&self, parallelism: usize) -> Result<()> {
        self.set(PARALLELISM_DEFAULT, parallelism.to_string())
    }

    pub fn parallelism(&self) -> usize {
        self.graph.borrow().config.parallelism()
    }

    pub fn set_max_parallelism(&self, max_parallelism: usize) -> Result<()> {
        self.set(MAX_PARALLELISM, max_parallelism.to_string())
    }

    pub fn set_runtime_mode(&self, mode: RuntimeMode) -> Result<()> {
        self.set(RUNTIME_MODE, mode.to_string())
    }

    pub fn runtime_mode(&self) -> RuntimeMode {
        self.graph.borrow().config.runtime_mode()
    }

    /// Registers a listener told when a job of this environment is submitted, with a
    /// [`JobClient`](flinkrs_dataflow::JobClient) to cancel it or follow its checkpoints, as
    /// Flink's `registerJobListener`.
    pub fn register_job_listener(&self, listener: impl JobListener + 'static) {
        self.graph
            .borrow_mut()
            .job_listeners
            .push(Arc::new(listener));
    }

    /// A non-parallel source emitting the given elements, like Flink's `fromData`.
    pub fn from_collection<T: Data + Sync>(&self, elements: Vec<T>) -> DataStream<T> {
        let elements = Arc::new(elements);
        self.add_source_with_parallelism("Collection Source", Some(1), move |_info| {
            Ok(CollectionSource::new(Arc::clone(&elements)))
        })
    }

    /// A parallel source: `build` makes each subtask's instance.
    pub fn add_source<T, S, F>(&self, name: &str, build: F) -> DataStream<T>
    where
        T: Data,
        S: SourceFunction<Batch<T>> + 'static,
        F: Fn(&TaskInfo) -> Result<S> + Send + Sync + 'static,
    {
        self.add_source_with_parallelism(name, None, build)
    }

    /// A source with a fixed parallelism (`Some(1)` for a non-parallel source).
    pub fn add_source_with_parallelism<T, S, F>(
        &self,
        name: &str,
        parallelism: Option<usize>,
        build: F,
    ) -> DataStream<T>
    where
        T: Data,
        S: SourceFunction<Batch<T>> + 'static,
        F: Fn(&TaskInfo) -> Result<S> + Send + Sync + 'static,
    {
        let builder: SourceBuilder<Batch<T>> = Arc::new(move |info: &TaskInfo| {
            let source: Box<dyn SourceFunction<Batch<T>>> = Box::new(build(info)?);
            Ok(source)
        });
        let id = self.graph.borrow_mut().add_source(
            "Source",
            format!("Source: {name}"),
            parallelism,
            builder,
        );
        DataStream::from_node(self.graph.clone(), id)
    }

    /// The declared program, with default partitioners resolved.
    pub fn stream_graph(&self, job_name: &str) -> StreamGraph {
        let mut graph = self.graph.borrow().clone();
        graph.job_name = graph.config.pipeline_name().unwrap_or(job_name).to_owned();
        graph.resolve_default_partitioners();
        graph
    }

    /// The chained JobGraph the program would run as.
    pub fn job_graph(&self, job_name: &str) -> Result<JobGraph> {
        LocalExecutor::new(self.stream_graph(job_name)).job_graph()
    }

    /// Runs the job on an in-process cluster and waits for it to finish. `pipeline.name`
    /// overrides `job_name` when set.
    pub fn execute(&self, job_name: &str) -> Result<JobResult> {
        let graph = self.stream_graph(job_name);
        match graph.executor.clone() {
            Some(executor) => executor.execute(graph),
            None => LocalExecutor::new(graph).execute(),
        }
    }

    /// Runs the program's job with `executor` instead of the in-process local cluster: how
    /// the processes of a cluster run the same program (a JobManager schedules its job, a
    /// TaskManager runs its share of it).
    pub fn set_executor(&self, executor: Arc<dyn PipelineExecutor>) {
        self.graph.borrow_mut().executor = Some(executor);
    }

    /// Starts the job on an in-process cluster and returns at once: the [`RunningJob`]
    /// cancels it, sends checkpoint commands to its tasks, and waits for its result.
    pub fn execute_async(&self, job_name: &str) -> Result<RunningJob> {
        let graph = self.stream_graph(job_name);
        if graph.executor.is_some() {
            return Err(Error::InvalidJob(
                "execute_async runs a job on the in-process local cluster only; use execute \
                 with another executor"
                    .to_owned(),
            ));
        }
        LocalExecutor::new(graph).start()
    }
}

impl StreamExecutionEnvironment {
    pub(crate) fn from_shared(graph: SharedGraph) -> Self {
        StreamExecutionEnvironment { graph }
    }

    pub(crate) fn graph(&self) -> SharedGraph {
        self.graph.clone()
    }
}
