//! How the JobManager's checkpoint coordinator reaches the subtasks of an attempt: one queue
//! per TaskManager, so each TaskManager gets the commands in the order the coordinator gave
//! them (a checkpoint's trigger before its completion, one checkpoint after the other),
//! without the coordinator waiting for the network.

use std::collections::BTreeMap;

use flinkrs_dataflow::checkpoint_participants::{CheckpointCommand, CheckpointParticipants};
use tokio::runtime::Handle;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use crate::rpc::checkpoints::command_request;
use crate::rpc::messages::CheckpointCommandRequest;
use crate::rpc::taskmanager::task_manager_client::TaskManagerClient;

/// The TaskManagers of one attempt, as the coordinator's participants.
pub(crate) struct RemoteParticipants {
    job_id: String,
    attempt: u32,
    /// Per task index: the queue of its TaskManager.
    task_queues: Vec<usize>,
    queues: Vec<UnboundedSender<CheckpointCommandRequest>>,
}

impl RemoteParticipants {
    /// `task_addresses`: per task index, the control-plane address of its TaskManager.
    pub(crate) fn start(
        runtime: &Handle,
        job_id: &str,
        attempt: u32,
        task_addresses: &[String],
    ) -> Self {
        let mut by_address: BTreeMap<&str, usize> = BTreeMap::new();
        let mut queues = Vec::new();
        let mut task_queues = Vec::with_capacity(task_addresses.len());
        for address in task_addresses {
            let queue = *by_address.entry(address.as_str()).or_insert_with(|| {
                let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
                runtime.spawn(deliver(address.clone(), receiver));
                queues.push(sender);
                queues.len() - 1
            });
            task_queues.push(queue);
        }
        RemoteParticipants {
            job_id: job_id.to_owned(),
            attempt,
            task_queues,
            queues,
        }
    }
}

impl CheckpointParticipants for RemoteParticipants {
    fn send(&self, task_indices: &[usize], command: &CheckpointCommand) {
        let mut by_queue: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for &task_index in task_indices {
            if let Some(&queue) = self.task_queues.get(task_index) {
                by_queue.entry(queue).or_default().push(task_index);
            }
        }
        for (queue, indices) in by_queue {
            let request = command_request(&self.job_id, self.attempt, &indices, command);
            // A closed queue: the attempt is over.
            let _ = self.queues[queue].send(request);
        }
    }
}

/// Sends one TaskManager's commands in order until the attempt's participants are dropped.
/// A command that does not get through is logged: the checkpoint it belongs to then times
/// out, as in Flink when a TaskExecutor is unreachable.
async fn deliver(address: String, mut requests: UnboundedReceiver<CheckpointCommandRequest>) {
    let mut client = None;
    while let Some(request) = requests.recv().await {
        if client.is_none() {
            client = TaskManagerClient::connect(format!("http://{address}"))
                .await
                .map_err(|error| {
                    tracing::warn!(%address, %error, "cannot reach a TaskManager for a checkpoint");
                })
                .ok();
        }
        let Some(connected) = client.as_mut() else {
            continue;
        };
        let checkpoint = request.checkpoint;
        if let Err(status) = connected.checkpoint_command(request).await {
            if status.code() == tonic::Code::NotFound {
                // The TaskManager's share of the attempt has ended: nothing to tell it.
                tracing::debug!(%address, checkpoint, "{}", status.message());
                continue;
            }
            tracing::warn!(
                %address, checkpoint, "a TaskManager did not take a checkpoint command: {}",
                status.message()
            );
            if status.code() == tonic::Code::Unavailable {
                client = None;
            }
        }
    }
}
