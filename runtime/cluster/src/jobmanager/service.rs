//! The JobManager's gRPC service: registrations, heartbeats and task reports from TaskManagers.
//! Clients submit, follow and cancel jobs over the REST API instead.

use std::sync::Arc;
use std::time::Instant;

use tonic::{Request, Response, Status};

use super::Shared;
use super::resource_manager::RegistrationRefused;
use crate::rpc::checkpoints::acknowledgement_of;
use crate::rpc::jobmanager::job_manager_server::JobManager;
use crate::rpc::messages::{
    Ack, CheckpointAcknowledgement, HeartbeatReply, RegistrationSuccess, SourceInputEnded,
    TaskManagerHeartbeat, TaskManagerRegistration, TasksEnded,
};

#[derive(Debug)]
pub(crate) struct JobManagerService {
    pub shared: Arc<Shared>,
}

#[tonic::async_trait]
impl JobManager for JobManagerService {
    async fn register_task_manager(
        &self,
        request: Request<TaskManagerRegistration>,
    ) -> Result<Response<RegistrationSuccess>, Status> {
        let registration = request.into_inner();
        let (resource_id, slots, rpc_address) = (
            registration.resource_id.clone(),
            registration.slots,
            registration.rpc_address.clone(),
        );
        let mut resource_manager = self.shared.resource_manager();
        match resource_manager.register(registration, Instant::now()) {
            Ok(()) => {
                tracing::info!(%resource_id, %rpc_address, slots, "TaskManager registered");
                self.shared.membership_changed(&resource_manager);
                Ok(Response::new(RegistrationSuccess {
                    jobmanager_session: self.shared.session.clone(),
                    heartbeat_interval_ms: millis(self.shared.heartbeat_interval),
                    heartbeat_timeout_ms: millis(self.shared.heartbeat_timeout),
                }))
            }
            Err(refused) => {
                tracing::warn!(%resource_id, %rpc_address, %refused, "TaskManager refused");
                Err(match refused {
                    RegistrationRefused::VersionMismatch { .. } => {
                        Status::failed_precondition(refused.to_string())
                    }
                    _ => Status::invalid_argument(refused.to_string()),
                })
            }
        }
    }

    async fn heartbeat(
        &self,
        request: Request<TaskManagerHeartbeat>,
    ) -> Result<Response<HeartbeatReply>, Status> {
        let heartbeat = request.into_inner();
        // A heartbeat meant for an earlier run of the JobManager: register again.
        if heartbeat.jobmanager_session != self.shared.session {
            return Err(Status::not_found(format!(
                "TaskManager {} registered with another JobManager session; register again",
                heartbeat.resource_id
            )));
        }
        self.shared
            .resource_manager()
            .heartbeat(&heartbeat, Instant::now())
            .map_err(|refused| Status::not_found(refused.to_string()))?;
        Ok(Response::new(HeartbeatReply {
            jobmanager_session: self.shared.session.clone(),
        }))
    }

    async fn tasks_ended(&self, request: Request<TasksEnded>) -> Result<Response<Ack>, Status> {
        let report = request.into_inner();
        let (job, resource_id) = (report.job_id.clone(), report.resource_id.clone());
        if !self.shared.jobs.report(report) {
            tracing::debug!(%job, %resource_id, "a report for a job that is not running");
        }
        Ok(Response::new(Ack {}))
    }

    async fn acknowledge_checkpoint(
        &self,
        request: Request<CheckpointAcknowledgement>,
    ) -> Result<Response<Ack>, Status> {
        let message = request.into_inner();
        let acknowledgement = acknowledgement_of(&message);
        let (job, attempt) = (&message.job_id, message.attempt);
        if !self
            .shared
            .jobs
            .checkpoint_acknowledged(job, attempt, acknowledgement)
        {
            // A late acknowledgement of an attempt that was replaced: nothing waits for it.
            tracing::debug!(%job, attempt, checkpoint = message.checkpoint, "acknowledgement for no running attempt");
        }
        Ok(Response::new(Ack {}))
    }

    async fn source_input_ended(
        &self,
        request: Request<SourceInputEnded>,
    ) -> Result<Response<Ack>, Status> {
        let message = request.into_inner();
        let (job, attempt) = (&message.job_id, message.attempt);
        if !self
            .shared
            .jobs
            .source_input_ended(job, attempt, message.task_index as usize)
        {
            tracing::debug!(%job, attempt, "end of input for no running attempt");
        }
        Ok(Response::new(Ack {}))
    }
}

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
