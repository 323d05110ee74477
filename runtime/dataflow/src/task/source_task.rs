//! The loop of a source task: poll the source, push batches into the chain, and serve the
//! mailbox between polls.

use std::time::Instant;

use crossbeam_channel::select;
use flinkrs_core::time::now_millis;
use flinkrs_core::{CheckpointBarrier, Error, Result, RuntimeMode, Watermark};

use super::TaskRunner;
use super::final_checkpoint::wait_for_final_checkpoint;
use super::mailbox::{Deadlines, Mailbox, TaskCommand};
use super::metrics::TaskMetrics;
use crate::batch::StreamBatch;
use crate::guard::guarded;
use crate::input::{Input, TaskSnapshot};
use crate::metrics::OperatorIoMetrics;
use crate::operator::OperatorSnapshot;
use crate::source::{Boundedness, SourceContext, SourceFunction, SourceStatus};

/// A source subtask with the chain it feeds.
pub struct SourceTaskRunner<B> {
    pub source: Box<dyn SourceFunction<B>>,
    pub context: SourceContext,
    pub chain: Box<dyn Input<B>>,
    /// The source operator's metrics: numRecordsOut, currentOutputWatermark.
    pub operator_metrics: OperatorIoMetrics,
    pub task_metrics: TaskMetrics,
}

impl<B: StreamBatch> TaskRunner for SourceTaskRunner<B> {
    fn run(mut self: Box<Self>, mailbox: Mailbox) -> Result<()> {
        let runner = &mut *self;
        runner.task_metrics.start(Instant::now());
        let result = run_source_task(
            runner.source.as_mut(),
            &runner.context,
            runner.chain.as_mut(),
            &mailbox,
            &runner.operator_metrics,
            &mut runner.task_metrics,
        );
        let closed = runner.chain.close();
        runner.task_metrics.report_time(Instant::now());
        result.and(closed)
    }
}

/// Runs a source subtask until its bounded input ends, it fails, or the job is cancelled.
///
/// When the job takes checkpoints, a source whose input ended reports it and stays for the
/// final checkpoint (see the module `final_checkpoint`): it snapshots its final
/// position for each checkpoint triggered, and exits once one of them completes.
pub fn run_source_task<B: StreamBatch>(
    source: &mut dyn SourceFunction<B>,
    context: &SourceContext,
    chain: &mut dyn Input<B>,
    mailbox: &Mailbox,
    operator_metrics: &OperatorIoMetrics,
    task_metrics: &mut TaskMetrics,
) -> Result<()> {
    let info = &context.info;
    if info.config.runtime_mode() == RuntimeMode::Batch
        && source.boundedness() == Boundedness::ContinuousUnbounded
    {
        return Err(Error::InvalidJob(format!(
            "'{}' is an unbounded source, but execution.runtime-mode is batch; bound the \
             source (for example a row count) or run with execution.runtime-mode=streaming",
            info.operator_name
        )));
    }
    guarded(info, || source.open(context))?;
    chain.open()?;
    let mut batch = B::default();
    let mut deadlines = Deadlines::new(mailbox);
    loop {
        while let Ok(command) = mailbox.commands.try_recv() {
            handle_command(command, source, context, chain, mailbox)?;
        }
        if mailbox.cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let status = guarded(info, || source.poll_batch(&mut batch, context))?;
        if !batch.is_empty() {
            operator_metrics
                .records
                .num_records_out
                .inc(batch.num_rows() as u64);
            chain.process_batch(&mut batch)?;
            batch.clear();
        }
        if let Some(status) = source.take_watermark_status() {
            chain.process_watermark_status(status)?;
        }
        if let Some(watermark) = source.take_watermark() {
            operator_metrics.current_output_watermark.set(watermark.0);
            chain.process_watermark(watermark)?;
        }
        match status {
            SourceStatus::MoreAvailable => {}
            SourceStatus::Wait(pause) => {
                // No data yet: wait for it, a command, cancellation or the next deadline.
                let waiting = Instant::now();
                let until = (waiting + pause).min(deadlines.next());
                let timeout = until.saturating_duration_since(waiting);
                // Idle until woken; handling a command is work, so it is not counted.
                select! {
                    recv(mailbox.commands) -> command => {
                        task_metrics.add_idle(waiting.elapsed());
                        if let Ok(command) = command {
                            handle_command(command, source, context, chain, mailbox)?;
                        }
                    }
                    recv(mailbox.cancel.watch()) -> _ => return Err(Error::Cancelled),
                    default(timeout) => task_metrics.add_idle(waiting.elapsed()),
                }
            }
            SourceStatus::Finished => {
                operator_metrics
                    .current_output_watermark
                    .set(Watermark::MAX.0);
                chain.process_watermark(Watermark::MAX)?;
                chain.end_input()?;
                if mailbox.final_checkpoint.is_some() {
                    mailbox.report_end_of_input();
                    wait_for_final_checkpoint(chain, mailbox, None, || {
                        position_snapshot(source, context)
                    })?;
                }
                return guarded(info, || source.close());
            }
        }
        let now = Instant::now();
        if deadlines.tick_due(now) {
            chain.on_processing_time(now_millis())?;
            task_metrics.report_time(now);
        }
        if deadlines.flush_due(now) {
            chain.flush_buffers()?;
        }
    }
}

fn handle_command<B: StreamBatch>(
    command: TaskCommand,
    source: &mut dyn SourceFunction<B>,
    context: &SourceContext,
    chain: &mut dyn Input<B>,
    mailbox: &Mailbox,
) -> Result<()> {
    match command {
        TaskCommand::TriggerCheckpoint(barrier) => {
            trigger_checkpoint(barrier, source, context, chain, mailbox)
        }
        TaskCommand::CheckpointComplete(checkpoint) => {
            guarded(&context.info, || {
                source.notify_checkpoint_complete(checkpoint)
            })?;
            chain.notify_checkpoint_complete(checkpoint)
        }
        TaskCommand::CheckpointAborted(checkpoint) => chain.notify_checkpoint_aborted(checkpoint),
    }
}

/// Snapshots the source's read position, then sends the barrier through the chain, which
/// snapshots every operator and forwards the barrier on every output channel.
fn trigger_checkpoint<B: StreamBatch>(
    barrier: CheckpointBarrier,
    source: &mut dyn SourceFunction<B>,
    context: &SourceContext,
    chain: &mut dyn Input<B>,
    mailbox: &Mailbox,
) -> Result<()> {
    let mut snapshot = position_snapshot(source, context)?;
    chain.process_barrier(barrier, &mut snapshot)?;
    mailbox.acknowledge(barrier, snapshot);
    Ok(())
}

/// A task snapshot that starts with the source's read position.
fn position_snapshot<B>(
    source: &mut dyn SourceFunction<B>,
    context: &SourceContext,
) -> Result<TaskSnapshot> {
    let info = &context.info;
    let position = guarded(info, || source.snapshot_state())?;
    Ok(vec![(
        info.operator_id.clone(),
        OperatorSnapshot {
            keyed: None,
            operator_state: position,
        },
    )])
}
