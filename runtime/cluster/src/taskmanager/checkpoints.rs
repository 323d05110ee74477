//! A TaskManager's checkpoint reports to its JobManager: the acknowledgements of the subtasks
//! placed here, once their state is written, and the ends of their sources' input.

use flinkrs_dataflow::checkpoint_participants::WrittenAcknowledgement;
use flinkrs_dataflow::snapshot_writer::CheckpointReports;
use tokio::runtime::Handle;
use tonic::transport::Channel;

use crate::rpc::checkpoints::acknowledgement_message;
use crate::rpc::jobmanager::job_manager_client::JobManagerClient;
use crate::rpc::messages::SourceInputEnded;

/// Sends one deployment's checkpoint reports to the JobManager.
pub(crate) struct JobManagerReports {
    pub job_id: String,
    pub attempt: u32,
    pub jobmanager: JobManagerClient<Channel>,
    pub runtime: Handle,
}

impl CheckpointReports for JobManagerReports {
    fn acknowledge(&self, acknowledgement: WrittenAcknowledgement) {
        let message = acknowledgement_message(&self.job_id, self.attempt, &acknowledgement);
        let mut jobmanager = self.jobmanager.clone();
        // Called on the checkpoint writer's thread, never on the runtime's.
        if let Err(status) = self
            .runtime
            .block_on(jobmanager.acknowledge_checkpoint(message))
        {
            // The JobManager times the checkpoint out.
            tracing::warn!(
                job = %self.job_id, checkpoint = acknowledgement.checkpoint.0,
                "cannot acknowledge the checkpoint to the JobManager: {}", status.message()
            );
        }
    }

    fn input_ended(&self, task_index: usize) {
        let message = SourceInputEnded {
            job_id: self.job_id.clone(),
            attempt: self.attempt,
            task_index: u32::try_from(task_index).unwrap_or(u32::MAX),
        };
        let mut jobmanager = self.jobmanager.clone();
        if let Err(status) = self
            .runtime
            .block_on(jobmanager.source_input_ended(message))
        {
            tracing::warn!(
                job = %self.job_id, task_index,
                "cannot tell the JobManager that a source ended: {}", status.message()
            );
        }
    }
}
