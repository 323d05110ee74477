//! # flinkrs-dataflow
//!
//! The execution engine: operators, chains, channels, partitioners, input gates, the
//! StreamGraph → JobGraph → ExecutionGraph pipeline, and the in-process local cluster.
//! It sits on `flinkrs-core` and `flinkrs-state`, below the DataStream API, SQL and the
//! connectors; it must not depend on any of those.
//!
//! ## How data moves
//!
//! Records move in batches, never one at a time. Every contract is generic over the batch
//! type ([`StreamBatch`]): typed rows ([`Batch<T>`](flinkrs_core::Batch)) for the DataStream
//! API, or Arrow record batches for SQL. Within a task, chained operators hand a batch to each
//! other by `&mut` reference, so a filter or a map touches no allocator and no lock. Between tasks, a [`ChannelWriter`](partition) splits
//! batches by partitioner (forward, rebalance, hash by key group, broadcast) into bounded
//! per-channel buffers. A buffer is sent when it reaches `taskmanager.network.batch.max-rows`
//! rows or `taskmanager.network.batch.max-bytes` bytes, or when
//! `execution.buffer-timeout.interval` has passed. Channels ([`channel`]) are traits with a
//! local, in-memory implementation; a sender may send only while it holds credits (the
//! receiver's free buffers), so a slow consumer blocks its producers: that is backpressure.
//!
//! ## Tasks
//!
//! Each subtask runs on its own thread as a mailbox loop ([`task`]): it waits on its input
//! channels (or polls its source) and on a control channel at once, so a task blocked on a
//! full output or a source without data still reacts to cancellation and checkpoint commands
//! at once. The runtime mode is applied by the chain, not by each operator: in batch mode no
//! intermediate watermark is delivered, and at the end of input every timer fires once before
//! final results and the final watermark go downstream.
//!
//! ## The operator contract
//!
//! An [`Operator`] is driven by its task, on one thread, through these hooks, in this order:
//!
//! 1. [`Operator::initialize_state`] — once, before anything else, with the operator's state
//!    from the checkpoint or savepoint the job restores from (`None` on a fresh start). Keyed
//!    operators restore their key groups here.
//! 2. [`Operator::open`] — once; register state, start resources.
//! 3. Then, interleaved in the order elements arrive:
//!    - [`Operator::process_batch`] for each batch of records;
//!    - [`Operator::process_watermark`] when the task's input watermark advances (the minimum
//!      over all input channels that are not idle); fire event-time timers here, then forward;
//!    - [`Operator::process_watermark_status`] when all inputs turn idle or active again;
//!    - [`Operator::on_processing_time`] on the task's timer tick: fire processing-time timers;
//!    - [`Operator::snapshot_state`] when a checkpoint barrier has arrived on **every** input
//!      channel (aligned). No record that follows the barrier has been processed, and every
//!      record before it has. The returned [`OperatorSnapshot`] is this operator's part of
//!      the checkpoint; the barrier is forwarded after every operator of the chain has
//!      snapshotted.
//!    - [`Operator::notify_checkpoint_complete`] once the whole checkpoint is durable: the
//!      point where two-phase-commit sinks commit.
//! 4. [`Operator::end_input`] — once, when every input has ended (bounded input). Batch-mode
//!    operators emit their final results here. The watermark `MAX` always reaches the
//!    operator before it; downstream, the operator's final results come before `MAX` in batch
//!    mode.
//! 5. With checkpointing on (streaming mode), the final checkpoint of FLIP-147: after
//!    `end_input` the task stays, [`Operator::snapshot_state`] is called for each checkpoint
//!    triggered, and the task ends once one of them completes, after
//!    [`Operator::notify_checkpoint_complete`]. So a two-phase-commit sink commits its last
//!    output before `close`.
//! 6. [`Operator::close`] — once, also after a failure of another operator in the task.
//!
//! A hook returns an error to fail the task; a panic in a hook is caught and reported as a
//! failure of that operator, naming it and its subtask. Either way the job stops: no task
//! waits forever on a neighbour that failed.

mod attempt;
pub mod batch;
pub mod chain;
pub mod channel;
pub mod checkpoint_participants;
pub mod checkpoint_stats;
pub mod checkpointing;
pub mod cluster_checkpoints;
pub mod collect;
pub mod executor;
pub mod gate;
pub mod graph;
pub mod guard;
pub mod input;
pub mod job_client;
pub mod job_graph;
mod job_master;
pub mod metrics;
pub mod operator;
pub mod operator_ids;
pub mod output;
pub mod partition;
pub mod placement;
pub mod restart_strategy;
pub mod restore;
pub mod schedule;
pub mod snapshot_writer;
pub mod source;
pub mod task;
pub mod task_executor;
pub mod timers;
pub mod type_ops;

pub use batch::{BatchBuilder, StreamBatch};
pub use checkpointing::{CompletedCheckpoint, CompletedCheckpointStore};
pub use executor::{JobResult, LocalExecutor, NodeMetrics, RunningJob};
pub use graph::{NodeKind, OutputSlot, PipelineExecutor, StreamEdge, StreamGraph, StreamNode};
pub use input::{ControlInput, Input};
pub use job_client::{JobClient, JobFailure, JobInfo, JobListener, JobStatus};
pub use job_graph::{JobEdge, JobGraph, JobVertex};
pub use operator::{Operator, OperatorSnapshot, TaskInfo};
pub use output::{Output, OutputTag};
pub use partition::{BatchKeyHash, KeyHashFn, PartitionerKind, PartitionerSpec};
pub use source::{Boundedness, SourceContext, SourceFunction, SourceStatus};
pub use timers::{KeyTimers, TimerService};

pub use flinkrs_core::{Error, Result};
