//! The protocol's rules, driven event by event with a hand-moved clock.

use std::time::{Duration, Instant};

use flinkrs_core::{CheckpointId, Configuration};

use crate::{Action, CheckpointCoordinator, CheckpointSettings, TaskKey};

const SECOND: Duration = Duration::from_secs(1);

fn settings(tolerable_failures: u32) -> CheckpointSettings {
    CheckpointSettings {
        interval: 10 * SECOND,
        min_pause: 3 * SECOND,
        timeout: 60 * SECOND,
        tolerable_failures,
        num_retained: 2,
    }
}

fn tasks() -> Vec<TaskKey> {
    vec![
        TaskKey {
            vertex: 0,
            subtask: 0,
        },
        TaskKey {
            vertex: 1,
            subtask: 0,
        },
        TaskKey {
            vertex: 1,
            subtask: 1,
        },
    ]
}

/// A coordinator, its start time and its tasks.
fn coordinator(tolerable_failures: u32) -> (CheckpointCoordinator<String>, Instant, Vec<TaskKey>) {
    let start = Instant::now();
    (
        CheckpointCoordinator::new(settings(tolerable_failures), tasks(), start),
        start,
        tasks(),
    )
}

fn trigger(id: u64) -> Action<String> {
    Action::TriggerCheckpoint {
        checkpoint: CheckpointId(id),
    }
}

/// Every task acknowledges `id` with a handle naming it; returns the last call's actions.
fn acknowledge_all(
    coordinator: &mut CheckpointCoordinator<String>,
    id: u64,
    tasks: &[TaskKey],
) -> Vec<Action<String>> {
    let mut actions = Vec::new();
    for task in tasks {
        let handle = format!("chk-{id}/{}-{}", task.vertex, task.subtask);
        actions = coordinator.acknowledge(CheckpointId(id), *task, handle);
    }
    actions
}

/// Triggers, acknowledges and persists checkpoint `id` at `at`.
fn complete(
    coordinator: &mut CheckpointCoordinator<String>,
    id: u64,
    tasks: &[TaskKey],
    at: Instant,
) -> Vec<Action<String>> {
    assert_eq!(coordinator.on_time(at), vec![trigger(id)]);
    acknowledge_all(coordinator, id, tasks);
    coordinator.persisted(CheckpointId(id), Ok(()), at)
}

#[test]
fn a_checkpoint_is_triggered_each_interval_and_persisted_once_every_task_acknowledged() {
    let (mut coordinator, start, tasks) = coordinator(0);
    assert!(coordinator.on_time(start + 9 * SECOND).is_empty());
    assert_eq!(coordinator.on_time(start + 10 * SECOND), vec![trigger(1)]);
    assert_eq!(coordinator.pending(), Some(CheckpointId(1)));
    assert!(
        coordinator
            .acknowledge(CheckpointId(1), tasks[0], "a".into())
            .is_empty()
    );
    // Repeated, unknown and stale acknowledgements change nothing.
    assert!(
        coordinator
            .acknowledge(CheckpointId(1), tasks[0], "again".into())
            .is_empty()
    );
    let stranger = TaskKey {
        vertex: 9,
        subtask: 0,
    };
    assert!(
        coordinator
            .acknowledge(CheckpointId(1), stranger, "x".into())
            .is_empty()
    );
    assert!(
        coordinator
            .acknowledge(CheckpointId(7), tasks[1], "x".into())
            .is_empty()
    );
    assert!(
        coordinator
            .acknowledge(CheckpointId(1), tasks[2], "c".into())
            .is_empty()
    );
    assert_eq!(
        coordinator.acknowledge(CheckpointId(1), tasks[1], "b".into()),
        vec![Action::Persist {
            checkpoint: CheckpointId(1),
            acknowledgements: vec![
                (tasks[0], "a".to_owned()),
                (tasks[2], "c".to_owned()),
                (tasks[1], "b".to_owned()),
            ],
        }]
    );
    let done = start + 12 * SECOND;
    assert_eq!(
        coordinator.persisted(CheckpointId(1), Ok(()), done),
        vec![Action::NotifyComplete {
            checkpoint: CheckpointId(1)
        }]
    );
    assert_eq!(coordinator.pending(), None);
    assert_eq!(coordinator.latest_completed(), Some(CheckpointId(1)));
    let completed: Vec<_> = coordinator.completed().copied().collect();
    assert_eq!(completed[0].duration, 2 * SECOND);
}

#[test]
fn only_one_checkpoint_is_in_flight_and_the_minimum_pause_follows_its_end() {
    let (mut coordinator, start, tasks) = coordinator(0);
    assert_eq!(coordinator.on_time(start + 10 * SECOND), vec![trigger(1)]);
    // Checkpoint 2 is due at 20 s, but 1 is still pending.
    assert!(coordinator.on_time(start + 21 * SECOND).is_empty());
    acknowledge_all(&mut coordinator, 1, &tasks);
    coordinator.persisted(CheckpointId(1), Ok(()), start + 22 * SECOND);
    // Due since 20 s, but the pause runs until 25 s.
    assert_eq!(coordinator.next_wakeup(), Some(start + 25 * SECOND));
    assert!(coordinator.on_time(start + 24 * SECOND).is_empty());
    assert_eq!(coordinator.on_time(start + 25 * SECOND), vec![trigger(2)]);
    // The next is due an interval after that trigger.
    acknowledge_all(&mut coordinator, 2, &tasks);
    coordinator.persisted(CheckpointId(2), Ok(()), start + 26 * SECOND);
    assert_eq!(coordinator.next_wakeup(), Some(start + 35 * SECOND));
}

#[test]
fn a_requested_checkpoint_starts_at_once_and_the_interval_counts_from_it() {
    let (mut coordinator, start, tasks) = coordinator(0);
    // Due at 10 s; requested at 4 s, with nothing pending and no pause to wait for.
    assert_eq!(
        coordinator.request_checkpoint(start + 4 * SECOND),
        vec![trigger(1)]
    );
    // The request is used up: nothing more until an interval after that trigger.
    assert!(coordinator.on_time(start + 10 * SECOND).is_empty());
    acknowledge_all(&mut coordinator, 1, &tasks);
    coordinator.persisted(CheckpointId(1), Ok(()), start + 5 * SECOND);
    assert_eq!(coordinator.next_wakeup(), Some(start + 14 * SECOND));
}

#[test]
fn a_requested_checkpoint_waits_for_the_pending_one_and_the_minimum_pause() {
    let (mut coordinator, start, tasks) = coordinator(0);
    assert_eq!(coordinator.on_time(start + 10 * SECOND), vec![trigger(1)]);
    // Checkpoint 1 started before the request, so it does not satisfy it.
    assert!(
        coordinator
            .request_checkpoint(start + 11 * SECOND)
            .is_empty()
    );
    acknowledge_all(&mut coordinator, 1, &tasks);
    let completed = coordinator.persisted(CheckpointId(1), Ok(()), start + 12 * SECOND);
    assert_eq!(
        completed,
        vec![Action::NotifyComplete {
            checkpoint: CheckpointId(1)
        }]
    );
    // Requested, but the pause after checkpoint 1 runs until 15 s, well before 20 s.
    assert_eq!(coordinator.next_wakeup(), Some(start + 15 * SECOND));
    assert!(coordinator.on_time(start + 14 * SECOND).is_empty());
    assert_eq!(coordinator.on_time(start + 15 * SECOND), vec![trigger(2)]);
}

#[test]
fn a_request_holds_after_an_abort_and_a_failed_job_takes_none() {
    let (mut coordinator, start, tasks) = coordinator(1);
    assert_eq!(
        coordinator.request_checkpoint(start + SECOND),
        vec![trigger(1)]
    );
    // Declined: aborted, and no checkpoint is requested any more.
    let aborted = coordinator.decline(CheckpointId(1), tasks[0], "disk full", start + 2 * SECOND);
    assert!(matches!(aborted[..], [Action::NotifyAborted { .. }]));
    assert_eq!(coordinator.next_wakeup(), Some(start + 11 * SECOND));
    // Asked again, it starts once the pause has passed.
    assert!(
        coordinator
            .request_checkpoint(start + 3 * SECOND)
            .is_empty()
    );
    assert_eq!(coordinator.next_wakeup(), Some(start + 5 * SECOND));
    assert_eq!(coordinator.on_time(start + 5 * SECOND), vec![trigger(2)]);
    // A second failure is one more than tolerated: the job fails, and requests do nothing.
    let failed = coordinator.decline(CheckpointId(2), tasks[1], "disk full", start + 6 * SECOND);
    assert!(matches!(
        failed[..],
        [Action::NotifyAborted { .. }, Action::FailJob { .. }]
    ));
    assert!(
        coordinator
            .request_checkpoint(start + 60 * SECOND)
            .is_empty()
    );
    assert_eq!(coordinator.next_wakeup(), None);
}

#[test]
fn completed_checkpoints_beyond_the_retained_number_are_discarded_oldest_first() {
    let (mut coordinator, start, tasks) = coordinator(0);
    complete(&mut coordinator, 1, &tasks, start + 10 * SECOND);
    complete(&mut coordinator, 2, &tasks, start + 20 * SECOND);
    assert_eq!(
        complete(&mut coordinator, 3, &tasks, start + 30 * SECOND),
        vec![
            Action::NotifyComplete {
                checkpoint: CheckpointId(3)
            },
            Action::Discard {
                checkpoint: CheckpointId(1)
            },
        ]
    );
    let retained: Vec<u64> = coordinator.completed().map(|c| c.checkpoint.0).collect();
    assert_eq!(retained, [2, 3]);
}

#[test]
fn an_expired_checkpoint_is_aborted_and_fails_the_job_when_no_failure_is_tolerated() {
    let (mut coordinator, start, tasks) = coordinator(0);
    coordinator.on_time(start + 10 * SECOND);
    coordinator.acknowledge(CheckpointId(1), tasks[0], "a".into());
    assert_eq!(coordinator.next_wakeup(), Some(start + 70 * SECOND));
    assert!(coordinator.on_time(start + 69 * SECOND).is_empty());
    let actions = coordinator.on_time(start + 70 * SECOND);
    let [
        Action::NotifyAborted { checkpoint, reason },
        Action::FailJob { reason: failure },
    ] = actions.as_slice()
    else {
        panic!("expected an abort and a job failure, got {actions:?}");
    };
    assert_eq!(*checkpoint, CheckpointId(1));
    assert!(
        reason.contains("checkpoint 1 expired") && reason.contains("2 task(s)"),
        "{reason}"
    );
    assert!(failure.contains("more than the 0 tolerated"), "{failure}");
    // A failed coordinator does nothing more.
    assert!(coordinator.on_time(start + 200 * SECOND).is_empty());
    assert_eq!(coordinator.next_wakeup(), None);
}

#[test]
fn tolerated_failures_let_the_job_go_on_and_a_completed_checkpoint_resets_the_count() {
    let (mut coordinator, start, tasks) = coordinator(1);
    coordinator.on_time(start + 10 * SECOND);
    let declined = coordinator.decline(CheckpointId(1), tasks[2], "disk full", start + 11 * SECOND);
    assert!(matches!(
        declined.as_slice(),
        [Action::NotifyAborted { reason, .. }]
            if reason == "checkpoint 1 declined by subtask 1 of vertex 1: disk full"
    ));
    assert_eq!(coordinator.consecutive_failures(), 1);
    // Checkpoint 2 completes: the count starts again.
    complete(&mut coordinator, 2, &tasks, start + 21 * SECOND);
    assert_eq!(coordinator.consecutive_failures(), 0);
    // Two failures in a row are one more than tolerated.
    assert_eq!(coordinator.on_time(start + 31 * SECOND), vec![trigger(3)]);
    acknowledge_all(&mut coordinator, 3, &tasks);
    let first = coordinator.persisted(
        CheckpointId(3),
        Err("S3 unreachable".into()),
        start + 32 * SECOND,
    );
    assert!(
        matches!(first.as_slice(), [Action::NotifyAborted { reason, .. }]
        if reason == "checkpoint 3 could not be written to checkpoint storage: S3 unreachable")
    );
    assert_eq!(coordinator.on_time(start + 41 * SECOND), vec![trigger(4)]);
    let second = coordinator.on_time(start + 101 * SECOND);
    assert!(
        matches!(
            second.as_slice(),
            [Action::NotifyAborted { .. }, Action::FailJob { .. }]
        ),
        "{second:?}"
    );
}

#[test]
fn a_checkpoint_persisted_after_it_expired_is_discarded() {
    let (mut coordinator, start, tasks) = coordinator(5);
    coordinator.on_time(start + 10 * SECOND);
    acknowledge_all(&mut coordinator, 1, &tasks);
    coordinator.on_time(start + 70 * SECOND);
    assert_eq!(coordinator.pending(), None);
    assert_eq!(
        coordinator.persisted(CheckpointId(1), Ok(()), start + 71 * SECOND),
        vec![Action::Discard {
            checkpoint: CheckpointId(1)
        }]
    );
    assert_eq!(coordinator.latest_completed(), None);
    // Declines of checkpoints no longer pending change nothing.
    assert!(
        coordinator
            .decline(CheckpointId(1), tasks[0], "late", start + 72 * SECOND)
            .is_empty()
    );
}

#[test]
fn a_restored_job_numbers_its_checkpoints_after_the_one_it_restored() {
    let start = Instant::now();
    let mut coordinator: CheckpointCoordinator<String> =
        CheckpointCoordinator::new(settings(0), tasks(), start).resume(CheckpointId(42), []);
    assert_eq!(coordinator.on_time(start + 10 * SECOND), vec![trigger(42)]);
}

#[test]
fn after_a_restart_numbering_goes_on_and_the_earlier_attempts_checkpoints_stay_under_retention() {
    let (mut first, start, tasks) = coordinator(0);
    complete(&mut first, 1, &tasks, start + 10 * SECOND);
    complete(&mut first, 2, &tasks, start + 20 * SECOND);
    // Checkpoint 3 is in flight when the job fails over.
    assert_eq!(first.on_time(start + 30 * SECOND), vec![trigger(3)]);
    let retained: Vec<_> = first.completed().copied().collect();

    let restarted_at = start + 40 * SECOND;
    let mut second: CheckpointCoordinator<String> =
        CheckpointCoordinator::new(settings(0), tasks.clone(), restarted_at)
            .resume(first.next_checkpoint_id(), retained);
    assert_eq!(second.latest_completed(), Some(CheckpointId(2)));
    assert_eq!(
        complete(&mut second, 4, &tasks, restarted_at + 10 * SECOND),
        vec![
            Action::NotifyComplete {
                checkpoint: CheckpointId(4)
            },
            Action::Discard {
                checkpoint: CheckpointId(1)
            },
        ]
    );
    let kept: Vec<u64> = second.completed().map(|c| c.checkpoint.0).collect();
    assert_eq!(kept, [2, 4]);
}

#[test]
fn settings_come_from_flinks_keys_and_checkpointing_is_off_without_an_interval() {
    let mut config = Configuration::new();
    assert_eq!(CheckpointSettings::from_config(&config), None);
    config
        .set("execution.checkpointing.interval", "1 s")
        .unwrap();
    config
        .set("execution.checkpointing.min-pause", "500 ms")
        .unwrap();
    config
        .set("execution.checkpointing.timeout", "2 min")
        .unwrap();
    config
        .set("execution.checkpointing.tolerable-failed-checkpoints", "3")
        .unwrap();
    config.set("state.checkpoints.num-retained", "4").unwrap();
    assert_eq!(
        CheckpointSettings::from_config(&config),
        Some(CheckpointSettings {
            interval: SECOND,
            min_pause: Duration::from_millis(500),
            timeout: 120 * SECOND,
            tolerable_failures: 3,
            num_retained: 4,
        })
    );
}

#[test]
fn a_savepoint_starts_at_once_is_never_retained_and_its_failure_fails_only_itself() {
    let (mut coordinator, start, tasks) = coordinator(0);
    // Checkpoint 1 completes at 10 s; retention keeps two.
    complete(&mut coordinator, 1, &tasks, start + 10 * SECOND);
    // A savepoint requested within the minimum pause starts at once, numbered in turn.
    let asked = start + 11 * SECOND;
    assert_eq!(
        coordinator.request_savepoint(asked),
        vec![Action::TriggerSavepoint {
            checkpoint: CheckpointId(2)
        }]
    );
    assert!(coordinator.savepoint_pending());
    acknowledge_all(&mut coordinator, 2, &tasks);
    assert_eq!(
        coordinator.persisted(CheckpointId(2), Ok(()), asked),
        vec![Action::NotifyComplete {
            checkpoint: CheckpointId(2)
        }]
    );
    assert!(!coordinator.savepoint_pending());
    let retained: Vec<u64> = coordinator.completed().map(|c| c.checkpoint.0).collect();
    assert_eq!(
        retained,
        vec![1],
        "the savepoint is not a retained checkpoint"
    );
    // The periodic schedule is untouched: checkpoint 3 is due at 20 s.
    assert_eq!(coordinator.on_time(start + 19 * SECOND), vec![]);
    complete(&mut coordinator, 3, &tasks, start + 20 * SECOND);
    // A savepoint that fails does not fail the job, even with no failure tolerated.
    let asked = start + 21 * SECOND;
    coordinator.request_savepoint(asked);
    let actions = coordinator.decline(CheckpointId(4), tasks[0], "disk full", asked);
    assert_eq!(
        actions,
        vec![Action::NotifyAborted {
            checkpoint: CheckpointId(4),
            reason: "checkpoint 4 declined by subtask 0 of vertex 0: disk full".into()
        }]
    );
    assert_eq!(coordinator.consecutive_failures(), 0);
    assert!(coordinator.next_wakeup().is_some(), "the job goes on");
}
