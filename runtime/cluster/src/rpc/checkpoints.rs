//! Checkpoint messages between the JobManager's coordinator and the TaskManagers, and how
//! they map to the runtime's own types.

use flinkrs_core::element::SnapshotKind;
use flinkrs_core::{CheckpointBarrier, CheckpointId};
use flinkrs_dataflow::checkpoint_participants::{CheckpointCommand, WrittenAcknowledgement};
use flinkrs_state::storage::{CheckpointLocation, TaskStateHandle};

use super::messages::{CheckpointAcknowledgement, CheckpointAction, CheckpointCommandRequest};

/// The request that carries `command` to the subtasks `task_indices` of attempt `attempt`.
pub fn command_request(
    job_id: &str,
    attempt: u32,
    task_indices: &[usize],
    command: &CheckpointCommand,
) -> CheckpointCommandRequest {
    let mut request = CheckpointCommandRequest {
        job_id: job_id.to_owned(),
        attempt,
        task_indices: task_indices
            .iter()
            .map(|&index| u32::try_from(index).unwrap_or(u32::MAX))
            .collect(),
        ..CheckpointCommandRequest::default()
    };
    match command {
        CheckpointCommand::Trigger { barrier, folder } => {
            request.action = CheckpointAction::Trigger as i32;
            request.checkpoint = barrier.id.0;
            request.timestamp = barrier.timestamp;
            request.savepoint = barrier.kind == SnapshotKind::Savepoint;
            request.folder = folder.to_string();
        }
        CheckpointCommand::Complete(checkpoint) => {
            request.action = CheckpointAction::Complete as i32;
            request.checkpoint = checkpoint.0;
        }
        CheckpointCommand::Aborted(checkpoint) => {
            request.action = CheckpointAction::Abort as i32;
            request.checkpoint = checkpoint.0;
        }
    }
    request
}

/// The command a request carries, and the subtasks it is for.
pub fn command_of(
    request: &CheckpointCommandRequest,
) -> Result<(CheckpointCommand, Vec<usize>), String> {
    let checkpoint = CheckpointId(request.checkpoint);
    let command = match CheckpointAction::try_from(request.action) {
        Ok(CheckpointAction::Trigger) => CheckpointCommand::Trigger {
            barrier: CheckpointBarrier {
                id: checkpoint,
                timestamp: request.timestamp,
                kind: if request.savepoint {
                    SnapshotKind::Savepoint
                } else {
                    SnapshotKind::Checkpoint
                },
            },
            folder: CheckpointLocation::parse("checkpoint folder", &request.folder)
                .map_err(|error| error.to_string())?,
        },
        Ok(CheckpointAction::Complete) => CheckpointCommand::Complete(checkpoint),
        Ok(CheckpointAction::Abort) => CheckpointCommand::Aborted(checkpoint),
        Err(_) => return Err(format!("unknown checkpoint action {}", request.action)),
    };
    let task_indices = request
        .task_indices
        .iter()
        .map(|&index| index as usize)
        .collect();
    Ok((command, task_indices))
}

/// The message that carries `acknowledgement` of a subtask of attempt `attempt`.
pub fn acknowledgement_message(
    job_id: &str,
    attempt: u32,
    acknowledgement: &WrittenAcknowledgement,
) -> CheckpointAcknowledgement {
    let (handle, decline_reason) = match &acknowledgement.state {
        Ok(handle) => match serde_json::to_vec(handle) {
            Ok(bytes) => (bytes, String::new()),
            Err(error) => (
                Vec::new(),
                format!("cannot encode the state's handle: {error}"),
            ),
        },
        Err(reason) => (Vec::new(), reason.clone()),
    };
    CheckpointAcknowledgement {
        job_id: job_id.to_owned(),
        attempt,
        task_index: u32::try_from(acknowledgement.task_index).unwrap_or(u32::MAX),
        checkpoint: acknowledgement.checkpoint.0,
        handle,
        decline_reason,
        input_ended: acknowledgement.input_ended,
    }
}

/// The acknowledgement a message carries.
pub fn acknowledgement_of(message: &CheckpointAcknowledgement) -> WrittenAcknowledgement {
    let state = if message.decline_reason.is_empty() {
        serde_json::from_slice::<TaskStateHandle>(&message.handle)
            .map_err(|error| format!("the TaskManager sent a handle that does not parse: {error}"))
    } else {
        Err(message.decline_reason.clone())
    };
    WrittenAcknowledgement {
        task_index: message.task_index as usize,
        checkpoint: CheckpointId(message.checkpoint),
        state,
        input_ended: message.input_ended,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trigger_crosses_the_wire_unchanged() {
        let command = CheckpointCommand::Trigger {
            barrier: CheckpointBarrier {
                id: CheckpointId(7),
                timestamp: 1_700_000_000_123,
                kind: SnapshotKind::Savepoint,
            },
            folder: CheckpointLocation::parse("dir", "s3://bucket/savepoints/savepoint-ab12cd-1")
                .expect("an s3 URI"),
        };
        let request = command_request("00ff", 2, &[0, 3, 5], &command);
        assert_eq!(request.attempt, 2);
        assert_eq!(command_of(&request), Ok((command, vec![0, 3, 5])));
        for command in [
            CheckpointCommand::Complete(CheckpointId(9)),
            CheckpointCommand::Aborted(CheckpointId(10)),
        ] {
            let request = command_request("00ff", 0, &[1], &command);
            assert_eq!(command_of(&request), Ok((command, vec![1])));
        }
    }

    #[test]
    fn an_unknown_action_is_refused_with_its_number() {
        let request = CheckpointCommandRequest {
            action: 42,
            ..CheckpointCommandRequest::default()
        };
        assert_eq!(
            command_of(&request),
            Err("unknown checkpoint action 42".to_owned())
        );
    }

    #[test]
    fn acknowledgements_and_declines_cross_the_wire_unchanged() {
        let acknowledged = WrittenAcknowledgement {
            task_index: 4,
            checkpoint: CheckpointId(3),
            state: Ok(TaskStateHandle {
                vertex: 1,
                subtask: 2,
                file: "task-1-2".to_owned(),
                length: 1234,
                operators: Vec::new(),
            }),
            input_ended: true,
        };
        let declined = WrittenAcknowledgement {
            state: Err("cannot write the state of 'Map (3/4)': disk full".to_owned()),
            input_ended: false,
            ..acknowledged.clone()
        };
        for acknowledgement in [acknowledged, declined] {
            let message = acknowledgement_message("00ff", 1, &acknowledgement);
            assert_eq!(acknowledgement_of(&message), acknowledgement);
        }
    }

    #[test]
    fn a_handle_that_does_not_parse_declines_the_checkpoint() {
        let message = CheckpointAcknowledgement {
            handle: b"{not json".to_vec(),
            ..CheckpointAcknowledgement::default()
        };
        let acknowledgement = acknowledgement_of(&message);
        let reason = acknowledgement.state.expect_err("a decline");
        assert!(
            reason.starts_with("the TaskManager sent a handle that does not parse:"),
            "{reason}"
        );
    }
}
