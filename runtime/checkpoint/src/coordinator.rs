//! [`CheckpointCoordinator`]: the checkpoint protocol's state, and its transitions.

use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use flinkrs_core::CheckpointId;

use crate::settings::CheckpointSettings;

/// A subtask that takes part in checkpoints: a JobGraph vertex and a subtask index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskKey {
    pub vertex: usize,
    pub subtask: usize,
}

/// What the coordinator asks the JobManager to do. `H` is a task's state handle: where its
/// snapshot was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action<H> {
    /// Inject barriers for `checkpoint` at every source.
    TriggerCheckpoint { checkpoint: CheckpointId },
    /// Inject savepoint barriers for `checkpoint`, whose state goes to the savepoint's own
    /// folder. A savepoint is numbered as checkpoints are, but retention never counts or
    /// deletes it, and its failure does not count against the tolerated failures.
    TriggerSavepoint { checkpoint: CheckpointId },
    /// Every task has acknowledged: write `_metadata` with these handles, last, then report
    /// the result with [`CheckpointCoordinator::persisted`].
    Persist {
        checkpoint: CheckpointId,
        acknowledgements: Vec<(TaskKey, H)>,
    },
    /// The checkpoint is complete and durable: tell every task (sinks commit now).
    NotifyComplete { checkpoint: CheckpointId },
    /// The checkpoint was aborted: tell every task, and delete what was written for it.
    NotifyAborted {
        checkpoint: CheckpointId,
        reason: String,
    },
    /// Delete a completed checkpoint that retention no longer keeps, or one persisted after it
    /// was aborted.
    Discard { checkpoint: CheckpointId },
    /// Too many consecutive checkpoints failed: fail the job over.
    FailJob { reason: String },
}

/// A completed checkpoint the coordinator retains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompletedCheckpoint {
    pub checkpoint: CheckpointId,
    /// From trigger to completion.
    pub duration: Duration,
}

/// The checkpoint in flight.
struct Pending<H> {
    checkpoint: CheckpointId,
    savepoint: bool,
    started: Instant,
    awaiting: BTreeSet<TaskKey>,
    acknowledgements: Vec<(TaskKey, H)>,
}

/// Flink's checkpoint protocol, with I/O and time at the edges: see the crate docs.
pub struct CheckpointCoordinator<H> {
    settings: CheckpointSettings,
    tasks: BTreeSet<TaskKey>,
    next_checkpoint: u64,
    /// When the next periodic checkpoint is due.
    next_due: Instant,
    /// When a checkpoint was requested ahead of the interval, until one is triggered.
    requested: Option<Instant>,
    /// A savepoint was requested: the next trigger is one, without waiting for the pause.
    savepoint_requested: bool,
    /// When the last checkpoint ended, completed or aborted: the start of the minimum pause.
    last_end: Option<Instant>,
    pending: Option<Pending<H>>,
    completed: VecDeque<CompletedCheckpoint>,
    consecutive_failures: u32,
    failed: bool,
}

impl<H> CheckpointCoordinator<H> {
    /// A coordinator for a job of `tasks`, started at `now`: the first checkpoint is due one
    /// interval later, and is numbered 1.
    pub fn new(
        settings: CheckpointSettings,
        tasks: impl IntoIterator<Item = TaskKey>,
        now: Instant,
    ) -> Self {
        CheckpointCoordinator {
            settings,
            tasks: tasks.into_iter().collect(),
            next_checkpoint: 1,
            next_due: now + settings.interval,
            requested: None,
            savepoint_requested: false,
            last_end: None,
            pending: None,
            completed: VecDeque::new(),
            consecutive_failures: 0,
            failed: false,
        }
    }

    /// Takes over from an earlier attempt of the same job after a restart (or, with nothing
    /// retained, from the checkpoint a job restores from, so it never writes a `chk-<n>` that
    /// exists already), as Flink's
    /// checkpoint id counter and completed-checkpoint store outlive a failover: numbering goes
    /// on at `next_checkpoint` (so no number is used twice, not even that of a checkpoint the
    /// failure aborted), and the checkpoints the earlier attempt retained, oldest first, stay
    /// under `execution.checkpointing.num-retained`: they are deleted in turn as new ones
    /// complete.
    pub fn resume(
        mut self,
        next_checkpoint: CheckpointId,
        retained: impl IntoIterator<Item = CompletedCheckpoint>,
    ) -> Self {
        self.next_checkpoint = self.next_checkpoint.max(next_checkpoint.0);
        self.completed.extend(retained);
        self
    }

    /// The number the next checkpoint will get.
    pub fn next_checkpoint_id(&self) -> CheckpointId {
        CheckpointId(self.next_checkpoint)
    }

    /// The checkpoint in flight, if any.
    pub fn pending(&self) -> Option<CheckpointId> {
        self.pending.as_ref().map(|pending| pending.checkpoint)
    }

    /// The completed checkpoints retained, oldest first.
    pub fn completed(&self) -> impl Iterator<Item = &CompletedCheckpoint> {
        self.completed.iter()
    }

    /// The latest completed checkpoint: where a restart resumes from.
    pub fn latest_completed(&self) -> Option<CheckpointId> {
        self.completed.back().map(|completed| completed.checkpoint)
    }

    /// Consecutive checkpoints that failed since the last one completed.
    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }

    /// The next moment [`on_time`](Self::on_time) has something to do: the pending
    /// checkpoint's deadline, or when the next one may start. `None` once the job has failed.
    pub fn next_wakeup(&self) -> Option<Instant> {
        if self.failed {
            return None;
        }
        Some(match &self.pending {
            Some(pending) => pending.started + self.settings.timeout,
            None => self.earliest_trigger(),
        })
    }

    fn earliest_trigger(&self) -> Instant {
        // A savepoint is taken as soon as no checkpoint is in flight, as Flink takes one.
        if self.savepoint_requested
            && let Some(requested) = self.requested
        {
            return requested;
        }
        let due = match self.requested {
            Some(requested) => requested.min(self.next_due),
            None => self.next_due,
        };
        match self.last_end {
            Some(end) => due.max(end + self.settings.min_pause),
            None => due,
        }
    }

    /// Asks for a checkpoint now rather than at the next interval, as the JobManager does once
    /// every source of a bounded job has ended (FLIP-147's final checkpoint). The rules still
    /// hold: it starts at once when none is pending and the minimum pause has passed, else as
    /// soon as they allow ([`next_wakeup`](Self::next_wakeup) says when). The request holds
    /// until a checkpoint starts; a pending checkpoint started before it does not count.
    pub fn request_checkpoint(&mut self, now: Instant) -> Vec<Action<H>> {
        if self.failed {
            return Vec::new();
        }
        self.requested.get_or_insert(now);
        self.on_time(now)
    }

    /// Asks for a savepoint: it starts as soon as no checkpoint is in flight, whatever the
    /// interval and the minimum pause. Whether one is already requested or pending is for the
    /// caller to check ([`savepoint_pending`](Self::savepoint_pending)).
    pub fn request_savepoint(&mut self, now: Instant) -> Vec<Action<H>> {
        if self.failed {
            return Vec::new();
        }
        self.savepoint_requested = true;
        self.requested = Some(self.requested.map_or(now, |requested| requested.min(now)));
        self.on_time(now)
    }

    /// Whether a savepoint is requested or in flight.
    pub fn savepoint_pending(&self) -> bool {
        self.savepoint_requested || self.pending.as_ref().is_some_and(|p| p.savepoint)
    }

    /// Time passed: aborts a pending checkpoint past its timeout, and starts the next one when
    /// it is due, none is pending and the minimum pause has passed.
    pub fn on_time(&mut self, now: Instant) -> Vec<Action<H>> {
        let mut actions = Vec::new();
        if self.failed {
            return actions;
        }
        if let Some(pending) = &self.pending
            && now >= pending.started + self.settings.timeout
        {
            let reason = format!(
                "checkpoint {} expired: not complete after the timeout of {:?} \
                 (execution.checkpointing.timeout); {} task(s) had not acknowledged",
                pending.checkpoint.0,
                self.settings.timeout,
                pending.awaiting.len()
            );
            self.abort(reason, now, &mut actions);
        }
        if self.failed || self.pending.is_some() || now < self.earliest_trigger() {
            return actions;
        }
        let checkpoint = CheckpointId(self.next_checkpoint);
        let savepoint = std::mem::take(&mut self.savepoint_requested);
        self.next_checkpoint += 1;
        // A savepoint leaves the periodic schedule as it was.
        if !savepoint {
            self.next_due = now + self.settings.interval;
        }
        self.requested = None;
        self.pending = Some(Pending {
            checkpoint,
            savepoint,
            started: now,
            awaiting: self.tasks.clone(),
            acknowledgements: Vec::with_capacity(self.tasks.len()),
        });
        actions.push(if savepoint {
            Action::TriggerSavepoint { checkpoint }
        } else {
            Action::TriggerCheckpoint { checkpoint }
        });
        actions
    }

    /// A task wrote its snapshot for `checkpoint`. Acknowledgements of another checkpoint, of
    /// an unknown task, or repeated ones are ignored, as Flink ignores late messages.
    pub fn acknowledge(
        &mut self,
        checkpoint: CheckpointId,
        task: TaskKey,
        handle: H,
    ) -> Vec<Action<H>> {
        let Some(pending) = self.pending.as_mut() else {
            return Vec::new();
        };
        if pending.checkpoint != checkpoint || !pending.awaiting.remove(&task) {
            return Vec::new();
        }
        pending.acknowledgements.push((task, handle));
        if !pending.awaiting.is_empty() {
            return Vec::new();
        }
        let acknowledgements = std::mem::take(&mut pending.acknowledgements);
        vec![Action::Persist {
            checkpoint,
            acknowledgements,
        }]
    }

    /// A task could not take its part of `checkpoint`: the checkpoint is aborted.
    pub fn decline(
        &mut self,
        checkpoint: CheckpointId,
        task: TaskKey,
        reason: &str,
        now: Instant,
    ) -> Vec<Action<H>> {
        let mut actions = Vec::new();
        if self.pending() != Some(checkpoint) || self.failed {
            return actions;
        }
        let reason = format!(
            "checkpoint {} declined by subtask {} of vertex {}: {reason}",
            checkpoint.0, task.subtask, task.vertex
        );
        self.abort(reason, now, &mut actions);
        actions
    }

    /// The edge wrote (or failed to write) `_metadata` of `checkpoint`. Success completes the
    /// checkpoint; a failure aborts it. A checkpoint persisted after it was aborted (it timed
    /// out meanwhile) is discarded.
    pub fn persisted(
        &mut self,
        checkpoint: CheckpointId,
        result: Result<(), String>,
        now: Instant,
    ) -> Vec<Action<H>> {
        let mut actions = Vec::new();
        let ready = self
            .pending
            .as_ref()
            .is_some_and(|p| p.checkpoint == checkpoint && p.awaiting.is_empty());
        if !ready || self.failed {
            if result.is_ok() {
                actions.push(Action::Discard { checkpoint });
            }
            return actions;
        }
        match result {
            Ok(()) => {
                let pending = self.pending.take().expect("checked above");
                if pending.savepoint {
                    // Complete; neither retained nor deleted by retention.
                    actions.push(Action::NotifyComplete { checkpoint });
                    return actions;
                }
                self.last_end = Some(now);
                self.consecutive_failures = 0;
                self.completed.push_back(CompletedCheckpoint {
                    checkpoint,
                    duration: now.saturating_duration_since(pending.started),
                });
                actions.push(Action::NotifyComplete { checkpoint });
                while self.completed.len() > self.settings.num_retained {
                    if let Some(old) = self.completed.pop_front() {
                        actions.push(Action::Discard {
                            checkpoint: old.checkpoint,
                        });
                    }
                }
            }
            Err(error) => {
                let reason = format!(
                    "checkpoint {} could not be written to checkpoint storage: {error}",
                    checkpoint.0
                );
                self.abort(reason, now, &mut actions);
            }
        }
        actions
    }

    /// Aborts the pending checkpoint and counts the failure; fails the job past the tolerance.
    fn abort(&mut self, reason: String, now: Instant, actions: &mut Vec<Action<H>>) {
        let Some(pending) = self.pending.take() else {
            return;
        };
        if pending.savepoint {
            // A failed savepoint fails only itself.
            actions.push(Action::NotifyAborted {
                checkpoint: pending.checkpoint,
                reason,
            });
            return;
        }
        self.last_end = Some(now);
        self.consecutive_failures += 1;
        actions.push(Action::NotifyAborted {
            checkpoint: pending.checkpoint,
            reason: reason.clone(),
        });
        if self.consecutive_failures > self.settings.tolerable_failures {
            self.failed = true;
            actions.push(Action::FailJob {
                reason: format!(
                    "{} consecutive checkpoint failure(s), more than the {} tolerated \
                     (execution.checkpointing.tolerable-failed-checkpoints); the last: {reason}",
                    self.consecutive_failures, self.settings.tolerable_failures
                ),
            });
        }
    }
}
