//! The state machine as a table: (spec, status, observed) → action, one row per
//! lifecycle path.

use super::*;
use crate::crd::{BuiltinJob, CheckpointInfo, CheckpointingSpec, JobSource, PendingSavepoint};

const JOB: &str = "00000000000000000000000000000001";

fn spec(mode: UpgradeMode) -> FlinkJobSpec {
    FlinkJobSpec {
        image: "flinkrs:1".to_owned(),
        job: JobSource {
            builtin: Some(BuiltinJob::Wordcount),
            ..Default::default()
        },
        parallelism: 2,
        task_manager: Default::default(),
        job_manager: Default::default(),
        checkpointing: Some(CheckpointingSpec {
            interval: "10s".to_owned(),
            storage: "file:///checkpoints".to_owned(),
            credentials_secret: None,
            anonymous: None,
            endpoint: None,
        }),
        upgrade_mode: mode,
        state: JobLifecycleState::Running,
        restore_from: None,
        savepoint_trigger_nonce: None,
        restart_nonce: None,
        allow_non_restored_state: None,
        last_state_fallback: true,
        max_failed_job_restarts: None,
        savepoint_on_delete: false,
        pod_template: None,
        service_account: None,
        high_availability: None,
        flink_configuration: Default::default(),
    }
}

fn deployed(spec: &FlinkJobSpec, phase: JobPhase) -> FlinkJobStatus {
    FlinkJobStatus {
        phase: Some(phase),
        last_reconciled_spec: Some(serde_json::to_string(spec).expect("a spec serializes")),
        ..Default::default()
    }
}

fn job(state: JobState) -> JobSummary {
    JobSummary {
        id: JOB.to_owned(),
        name: "wordcount".to_owned(),
        state,
        start_time: 1,
    }
}

fn running() -> Observed {
    Observed {
        cluster_deployed: true,
        jobmanager: JobManagerView::Job(job(JobState::Running)),
        ..Default::default()
    }
}

fn pending(purpose: SavepointPurpose, nonce: Option<i64>) -> PendingSavepoint {
    PendingSavepoint {
        trigger_id: "t".repeat(32),
        job_id: JOB.to_owned(),
        purpose,
        nonce,
        triggered_at: None,
    }
}

fn savepoint(path: &str, purpose: SavepointPurpose) -> SavepointInfo {
    SavepointInfo {
        path: path.to_owned(),
        purpose,
    }
}

fn with(mut spec: FlinkJobSpec, change: impl FnOnce(&mut FlinkJobSpec)) -> FlinkJobSpec {
    change(&mut spec);
    spec
}

fn redeploy(reason: RedeployReason, restore_from: Option<&str>, cancel: bool) -> Action {
    Action::Redeploy {
        reason,
        restore_from: restore_from.map(str::to_owned),
        new_savepoint: None,
        cancel_job: cancel.then(|| JOB.to_owned()),
    }
}

/// Every row: a name, the inputs and the expected action.
fn table() -> Vec<(&'static str, FlinkJobSpec, FlinkJobStatus, Observed, Action)> {
    let stateless = spec(UpgradeMode::Stateless);
    let savepoint_mode = spec(UpgradeMode::Savepoint);
    let last_state = spec(UpgradeMode::LastState);
    let new_image = |s: &FlinkJobSpec| with(s.clone(), |s| s.image = "flinkrs:2".to_owned());
    let checkpoint = LatestCheckpoint {
        id: 7,
        external_path: "file:///checkpoints/chk-7".into(),
    };
    let suspended = |s: &FlinkJobSpec| with(s.clone(), |s| s.state = JobLifecycleState::Suspended);
    let sp_done = |p: &str| {
        Some(SavepointStatus::Completed {
            location: p.to_owned(),
        })
    };
    vec![
        (
            "a new FlinkJob is deployed",
            stateless.clone(),
            FlinkJobStatus::default(),
            Observed::default(),
            Action::Deploy { restore_from: None },
        ),
        (
            "a new FlinkJob with restoreFrom starts from that savepoint",
            with(stateless.clone(), |s| {
                s.restore_from = Some("s3://b/sp-1".into())
            }),
            FlinkJobStatus::default(),
            Observed::default(),
            Action::Deploy {
                restore_from: Some("s3://b/sp-1".into()),
            },
        ),
        (
            "a new FlinkJob created suspended is recorded without running",
            suspended(&stateless),
            FlinkJobStatus::default(),
            Observed::default(),
            Action::Suspend {
                new_savepoint: None,
                cancel_job: None,
                restore_from: None,
            },
        ),
        (
            "a running job with an unchanged spec is only observed",
            stateless.clone(),
            deployed(&stateless, JobPhase::Running),
            running(),
            Action::Observe,
        ),
        (
            "a stateless upgrade cancels the job and redeploys without state",
            new_image(&stateless),
            deployed(&stateless, JobPhase::Running),
            running(),
            redeploy(RedeployReason::Upgrade, None, true),
        ),
        (
            "a savepoint upgrade first triggers a savepoint that stops the job",
            new_image(&savepoint_mode),
            deployed(&savepoint_mode, JobPhase::Running),
            running(),
            Action::TriggerSavepoint {
                job_id: JOB.into(),
                purpose: SavepointPurpose::Upgrade,
                nonce: None,
            },
        ),
        (
            "a savepoint upgrade waits while the savepoint is in progress",
            new_image(&savepoint_mode),
            FlinkJobStatus {
                pending_savepoint: Some(pending(SavepointPurpose::Upgrade, None)),
                ..deployed(&savepoint_mode, JobPhase::Upgrading)
            },
            Observed {
                savepoint: Some(SavepointStatus::InProgress),
                ..running()
            },
            Action::AwaitSavepoint {
                purpose: SavepointPurpose::Upgrade,
            },
        ),
        (
            "a savepoint upgrade redeploys from the completed savepoint",
            new_image(&savepoint_mode),
            FlinkJobStatus {
                pending_savepoint: Some(pending(SavepointPurpose::Upgrade, None)),
                ..deployed(&savepoint_mode, JobPhase::Upgrading)
            },
            Observed {
                savepoint: sp_done("file:///sp/1"),
                ..running()
            },
            Action::Redeploy {
                reason: RedeployReason::Upgrade,
                restore_from: Some("file:///sp/1".into()),
                new_savepoint: Some(savepoint("file:///sp/1", SavepointPurpose::Upgrade)),
                cancel_job: None,
            },
        ),
        (
            "a failed upgrade savepoint is reported",
            new_image(&savepoint_mode),
            FlinkJobStatus {
                pending_savepoint: Some(pending(SavepointPurpose::Upgrade, None)),
                ..deployed(&savepoint_mode, JobPhase::Upgrading)
            },
            Observed {
                savepoint: Some(SavepointStatus::Failed {
                    cause: "disk full".into(),
                }),
                ..running()
            },
            Action::SavepointFailed {
                purpose: SavepointPurpose::Upgrade,
                cause: "disk full".into(),
            },
        ),
        (
            "a savepoint upgrade of a job that is not running falls back to its latest checkpoint, not an old savepoint",
            new_image(&savepoint_mode),
            FlinkJobStatus {
                last_savepoint: Some(savepoint("file:///sp/0", SavepointPurpose::OnDemand)),
                restore_path: Some("file:///sp/0".into()),
                job_id: Some(JOB.into()),
                ..deployed(&savepoint_mode, JobPhase::Running)
            },
            Observed {
                jobmanager: JobManagerView::Job(job(JobState::Restarting)),
                latest_checkpoint: Some(checkpoint.clone()),
                ..running()
            },
            redeploy(
                RedeployReason::Upgrade,
                Some("file:///checkpoints/chk-7"),
                false,
            ),
        ),
        (
            "a savepoint upgrade of a job that is not running waits when lastStateFallback is off",
            with(new_image(&savepoint_mode), |s| {
                s.last_state_fallback = false
            }),
            FlinkJobStatus {
                restore_path: Some("file:///sp/0".into()),
                job_id: Some(JOB.into()),
                ..deployed(&savepoint_mode, JobPhase::Running)
            },
            Observed {
                jobmanager: JobManagerView::Job(job(JobState::Failed)),
                latest_checkpoint: Some(checkpoint.clone()),
                ..running()
            },
            Action::Wait {
                reason: "UpgradeWaiting",
                message: format!(
                    "the upgrade waits: job {JOB} is FAILED, not RUNNING, so no savepoint can be \
                     taken, and spec.lastStateFallback is false, so the operator does not start \
                     from the latest checkpoint instead; bring the job back to RUNNING, or set \
                     lastStateFallback to true"
                ),
            },
        ),
        (
            "a savepoint upgrade of a job that never ran starts from what its deployment started from",
            new_image(&savepoint_mode),
            FlinkJobStatus {
                last_savepoint: Some(savepoint("file:///sp/0", SavepointPurpose::OnDemand)),
                restore_path: Some("file:///sp/1".into()),
                ..deployed(&savepoint_mode, JobPhase::Deploying)
            },
            Observed {
                cluster_deployed: true,
                jobmanager: JobManagerView::Unreachable("connection refused".into()),
                ..Default::default()
            },
            redeploy(RedeployReason::Upgrade, Some("file:///sp/1"), false),
        ),
        (
            "a savepoint upgrade of a job that ran waits while the JobManager is unreachable",
            new_image(&savepoint_mode),
            FlinkJobStatus {
                job_id: Some(JOB.into()),
                ..deployed(&savepoint_mode, JobPhase::Running)
            },
            Observed {
                cluster_deployed: true,
                jobmanager: JobManagerView::Unreachable("connection refused".into()),
                ..Default::default()
            },
            Action::Wait {
                reason: "UpgradeWaiting",
                message: "the upgrade waits: the JobManager is unreachable (connection refused), \
                          so the job's latest checkpoint is unknown"
                    .into(),
            },
        ),
        (
            "a last-state upgrade redeploys from the latest checkpoint without cancelling the job",
            new_image(&last_state),
            deployed(&last_state, JobPhase::Running),
            Observed {
                latest_checkpoint: Some(checkpoint.clone()),
                ..running()
            },
            redeploy(
                RedeployReason::Upgrade,
                Some("file:///checkpoints/chk-7"),
                false,
            ),
        ),
        (
            "a last-state upgrade without a fresh checkpoint uses the recorded one",
            new_image(&last_state),
            FlinkJobStatus {
                last_checkpoint: Some(CheckpointInfo {
                    id: 3,
                    path: "file:///c/chk-3".into(),
                }),
                ..deployed(&last_state, JobPhase::Running)
            },
            running(),
            redeploy(RedeployReason::Upgrade, Some("file:///c/chk-3"), false),
        ),
        (
            "a stateless rescale redeploys at the new parallelism",
            with(stateless.clone(), |s| s.parallelism = 5),
            deployed(&stateless, JobPhase::Running),
            running(),
            redeploy(RedeployReason::Rescale { from: 2, to: 5 }, None, true),
        ),
        (
            "a savepoint rescale takes a savepoint first",
            with(savepoint_mode.clone(), |s| s.parallelism = 5),
            deployed(&savepoint_mode, JobPhase::Running),
            running(),
            Action::TriggerSavepoint {
                job_id: JOB.into(),
                purpose: SavepointPurpose::Upgrade,
                nonce: None,
            },
        ),
        (
            "a savepoint rescale redeploys from its savepoint as a rescale",
            with(savepoint_mode.clone(), |s| s.parallelism = 5),
            FlinkJobStatus {
                pending_savepoint: Some(pending(SavepointPurpose::Upgrade, None)),
                ..deployed(&savepoint_mode, JobPhase::Upgrading)
            },
            Observed {
                savepoint: sp_done("file:///sp/2"),
                ..running()
            },
            Action::Redeploy {
                reason: RedeployReason::Rescale { from: 2, to: 5 },
                restore_from: Some("file:///sp/2".into()),
                new_savepoint: Some(savepoint("file:///sp/2", SavepointPurpose::Upgrade)),
                cancel_job: None,
            },
        ),
        (
            "a last-state rescale starts from the latest checkpoint",
            with(last_state.clone(), |s| s.parallelism = 1),
            deployed(&last_state, JobPhase::Running),
            Observed {
                latest_checkpoint: Some(checkpoint.clone()),
                ..running()
            },
            redeploy(
                RedeployReason::Rescale { from: 2, to: 1 },
                Some("file:///checkpoints/chk-7"),
                false,
            ),
        ),
        (
            "a changed restoreFrom redeploys from the new path",
            with(stateless.clone(), |s| {
                s.restore_from = Some("s3://b/sp-9".into())
            }),
            deployed(&stateless, JobPhase::Running),
            running(),
            redeploy(RedeployReason::Restore, Some("s3://b/sp-9"), true),
        ),
        (
            "removing restoreFrom changes nothing",
            stateless.clone(),
            deployed(
                &with(stateless.clone(), |s| {
                    s.restore_from = Some("s3://b/sp-1".into())
                }),
                JobPhase::Running,
            ),
            running(),
            Action::Observe,
        ),
        (
            "a stateless suspend cancels the job",
            suspended(&stateless),
            deployed(&stateless, JobPhase::Running),
            running(),
            Action::Suspend {
                new_savepoint: None,
                cancel_job: Some(JOB.into()),
                restore_from: None,
            },
        ),
        (
            "a savepoint-mode suspend takes a savepoint first",
            suspended(&savepoint_mode),
            deployed(&savepoint_mode, JobPhase::Running),
            running(),
            Action::TriggerSavepoint {
                job_id: JOB.into(),
                purpose: SavepointPurpose::Suspend,
                nonce: None,
            },
        ),
        (
            "a savepoint-mode suspend finishes once the savepoint completed",
            suspended(&savepoint_mode),
            FlinkJobStatus {
                pending_savepoint: Some(pending(SavepointPurpose::Suspend, None)),
                ..deployed(&savepoint_mode, JobPhase::Suspending)
            },
            Observed {
                savepoint: sp_done("file:///sp/3"),
                ..running()
            },
            Action::Suspend {
                new_savepoint: Some(savepoint("file:///sp/3", SavepointPurpose::Suspend)),
                cancel_job: None,
                restore_from: Some("file:///sp/3".into()),
            },
        ),
        (
            "a savepoint-mode suspend of a job that never ran keeps the state it was to start from",
            suspended(&savepoint_mode),
            FlinkJobStatus {
                restore_path: Some("file:///sp/1".into()),
                ..deployed(&savepoint_mode, JobPhase::Deploying)
            },
            Observed {
                cluster_deployed: true,
                ..Default::default()
            },
            Action::Suspend {
                new_savepoint: None,
                cancel_job: None,
                restore_from: Some("file:///sp/1".into()),
            },
        ),
        (
            "a last-state suspend keeps the job's checkpoints: no cancel, resume from the latest",
            suspended(&last_state),
            deployed(&last_state, JobPhase::Running),
            Observed {
                latest_checkpoint: Some(checkpoint.clone()),
                ..running()
            },
            Action::Suspend {
                new_savepoint: None,
                cancel_job: None,
                restore_from: Some("file:///checkpoints/chk-7".into()),
            },
        ),
        (
            "a suspended job stays suspended",
            suspended(&stateless),
            deployed(&suspended(&stateless), JobPhase::Suspended),
            Observed {
                cluster_deployed: true,
                ..Default::default()
            },
            Action::Observe,
        ),
        (
            "a stateless resume starts without state",
            stateless.clone(),
            deployed(&suspended(&stateless), JobPhase::Suspended),
            Observed {
                cluster_deployed: true,
                ..Default::default()
            },
            redeploy(RedeployReason::Resume, None, false),
        ),
        (
            "a savepoint-mode resume starts from the suspend savepoint",
            savepoint_mode.clone(),
            FlinkJobStatus {
                last_savepoint: Some(savepoint("file:///sp/3", SavepointPurpose::Suspend)),
                restore_path: Some("file:///sp/3".into()),
                ..deployed(&suspended(&savepoint_mode), JobPhase::Suspended)
            },
            Observed {
                cluster_deployed: true,
                ..Default::default()
            },
            redeploy(RedeployReason::Resume, Some("file:///sp/3"), false),
        ),
        (
            "a last-state resume starts from the checkpoint its suspension recorded",
            last_state.clone(),
            FlinkJobStatus {
                restore_path: Some("file:///c/chk-9".into()),
                ..deployed(&suspended(&last_state), JobPhase::Suspended)
            },
            Observed {
                cluster_deployed: true,
                ..Default::default()
            },
            redeploy(RedeployReason::Resume, Some("file:///c/chk-9"), false),
        ),
        (
            "a resume of a job created suspended starts from restoreFrom",
            with(savepoint_mode.clone(), |s| {
                s.restore_from = Some("s3://b/sp-1".into())
            }),
            FlinkJobStatus {
                restore_path: Some("s3://b/sp-1".into()),
                ..deployed(
                    &with(suspended(&savepoint_mode), |s| {
                        s.restore_from = Some("s3://b/sp-1".into())
                    }),
                    JobPhase::Suspended,
                )
            },
            Observed {
                cluster_deployed: true,
                ..Default::default()
            },
            redeploy(RedeployReason::Resume, Some("s3://b/sp-1"), false),
        ),
        (
            "a new savepointTriggerNonce takes a savepoint of the running job",
            with(stateless.clone(), |s| s.savepoint_trigger_nonce = Some(4)),
            deployed(&stateless, JobPhase::Running),
            running(),
            Action::TriggerSavepoint {
                job_id: JOB.into(),
                purpose: SavepointPurpose::OnDemand,
                nonce: Some(4),
            },
        ),
        (
            "a nonce already acted on takes no savepoint",
            with(stateless.clone(), |s| s.savepoint_trigger_nonce = Some(4)),
            FlinkJobStatus {
                last_savepoint_trigger_nonce: Some(4),
                ..deployed(&stateless, JobPhase::Running)
            },
            running(),
            Action::Observe,
        ),
        (
            "a new nonce waits while the job is not running",
            with(stateless.clone(), |s| s.savepoint_trigger_nonce = Some(5)),
            deployed(&stateless, JobPhase::Deploying),
            Observed {
                jobmanager: JobManagerView::Job(job(JobState::Initializing)),
                ..running()
            },
            Action::Observe,
        ),
        (
            "a completed on-demand savepoint is recorded",
            with(stateless.clone(), |s| s.savepoint_trigger_nonce = Some(4)),
            FlinkJobStatus {
                pending_savepoint: Some(pending(SavepointPurpose::OnDemand, Some(4))),
                ..deployed(&stateless, JobPhase::Running)
            },
            Observed {
                savepoint: sp_done("file:///sp/4"),
                ..running()
            },
            Action::RecordSavepoint {
                savepoint: savepoint("file:///sp/4", SavepointPurpose::OnDemand),
            },
        ),
        (
            "a failed job is restarted from its latest checkpoint when maxFailedJobRestarts allows",
            with(last_state.clone(), |s| s.max_failed_job_restarts = Some(2)),
            FlinkJobStatus {
                failed_job_restarts: 1,
                ..deployed(&last_state, JobPhase::Running)
            },
            Observed {
                jobmanager: JobManagerView::Job(job(JobState::Failed)),
                latest_checkpoint: Some(checkpoint.clone()),
                ..running()
            },
            redeploy(
                RedeployReason::RestartFailed,
                Some("file:///checkpoints/chk-7"),
                false,
            ),
        ),
        (
            "a failed stateless job is restarted without state when maxFailedJobRestarts allows",
            with(stateless.clone(), |s| s.max_failed_job_restarts = Some(1)),
            deployed(&stateless, JobPhase::Running),
            Observed {
                jobmanager: JobManagerView::Job(job(JobState::Failed)),
                ..running()
            },
            redeploy(RedeployReason::RestartFailed, None, false),
        ),
        (
            "a failed job stays failed by default",
            last_state.clone(),
            deployed(&last_state, JobPhase::Running),
            Observed {
                jobmanager: JobManagerView::Job(job(JobState::Failed)),
                latest_checkpoint: Some(checkpoint.clone()),
                ..running()
            },
            Action::Observe,
        ),
        (
            "a failed job stays failed once its restarts are used up",
            with(last_state.clone(), |s| s.max_failed_job_restarts = Some(2)),
            FlinkJobStatus {
                failed_job_restarts: 2,
                ..deployed(&last_state, JobPhase::Running)
            },
            Observed {
                jobmanager: JobManagerView::Job(job(JobState::Failed)),
                ..running()
            },
            Action::Observe,
        ),
        (
            "a canceled job gets a new restartNonce: it starts again from its latest checkpoint",
            with(last_state.clone(), |s| s.restart_nonce = Some(1)),
            deployed(&last_state, JobPhase::Failed),
            Observed {
                jobmanager: JobManagerView::Job(job(JobState::Canceled)),
                latest_checkpoint: Some(checkpoint.clone()),
                ..running()
            },
            redeploy(
                RedeployReason::Upgrade,
                Some("file:///checkpoints/chk-7"),
                false,
            ),
        ),
        (
            "a deleted JobManager Deployment is recreated from the newest state, not an old savepoint",
            savepoint_mode.clone(),
            FlinkJobStatus {
                last_savepoint: Some(savepoint("file:///sp/5", SavepointPurpose::OnDemand)),
                restore_path: Some("file:///sp/4".into()),
                last_checkpoint: Some(CheckpointInfo {
                    id: 3,
                    path: "file:///c/chk-3".into(),
                }),
                ..deployed(&savepoint_mode, JobPhase::Running)
            },
            Observed::default(),
            redeploy(RedeployReason::Recover, Some("file:///c/chk-3"), false),
        ),
        (
            "an unreadable lastReconciledSpec keeps the running job and says why",
            stateless.clone(),
            FlinkJobStatus {
                last_reconciled_spec: Some("{\"image\": ".into()),
                phase: Some(JobPhase::Running),
                ..Default::default()
            },
            running(),
            Action::Wait {
                reason: "UnreadableLastReconciledSpec",
                message: "status.lastReconciledSpec cannot be read (EOF while parsing a value at \
                          line 1 column 10); the operator leaves the job and its cluster as they \
                          are instead of redeploying it without state. Restore the field, or \
                          remove it from the status to deploy the spec as a new job"
                    .into(),
            },
        ),
        (
            "an upgrade savepoint that the JobManager never answers times out as a failure",
            new_image(&savepoint_mode),
            FlinkJobStatus {
                pending_savepoint: Some(pending(SavepointPurpose::Upgrade, None)),
                ..deployed(&savepoint_mode, JobPhase::Upgrading)
            },
            Observed {
                cluster_deployed: true,
                jobmanager: JobManagerView::Unreachable("connection refused".into()),
                savepoint_timed_out: Some("no answer within 600s".into()),
                ..Default::default()
            },
            Action::SavepointFailed {
                purpose: SavepointPurpose::Upgrade,
                cause: "no answer within 600s".into(),
            },
        ),
        (
            "a savepoint upgrade pauses after a failed savepoint before it triggers the next",
            new_image(&savepoint_mode),
            deployed(&savepoint_mode, JobPhase::Running),
            Observed {
                savepoint_failed_recently: true,
                ..running()
            },
            Action::PauseBeforeRetry,
        ),
        (
            "deleting a job that is not running with savepointOnDelete says no savepoint was taken",
            with(stateless.clone(), |s| s.savepoint_on_delete = true),
            deployed(&stateless, JobPhase::Running),
            Observed {
                deleting: true,
                cluster_deployed: true,
                jobmanager: JobManagerView::Job(job(JobState::Failed)),
                ..Default::default()
            },
            Action::Finalize {
                new_savepoint: None,
                warning: Some(
                    "the job is not RUNNING, so no final savepoint could be taken".into(),
                ),
            },
        ),
        (
            "deleting does not wait forever for a final savepoint",
            with(stateless.clone(), |s| s.savepoint_on_delete = true),
            FlinkJobStatus {
                pending_savepoint: Some(pending(SavepointPurpose::Delete, None)),
                ..deployed(&stateless, JobPhase::Deleting)
            },
            Observed {
                deleting: true,
                cluster_deployed: true,
                jobmanager: JobManagerView::Unreachable("connection refused".into()),
                savepoint_timed_out: Some("no answer within 600s".into()),
                ..Default::default()
            },
            Action::Finalize {
                new_savepoint: None,
                warning: Some("the final savepoint did not complete: no answer within 600s".into()),
            },
        ),
        (
            "a finished bounded job is left alone",
            stateless.clone(),
            deployed(&stateless, JobPhase::Finished),
            Observed {
                jobmanager: JobManagerView::Job(job(JobState::Finished)),
                ..running()
            },
            Action::Observe,
        ),
        (
            "an upgrade interrupted after recording the spec is continued after a restart",
            new_image(&savepoint_mode),
            FlinkJobStatus {
                restore_path: Some("file:///sp/6".into()),
                ..deployed(&new_image(&savepoint_mode), JobPhase::Upgrading)
            },
            running(),
            redeploy(RedeployReason::Continue, Some("file:///sp/6"), false),
        ),
        (
            "a recovery interrupted after recording the spec is continued after a restart",
            stateless.clone(),
            deployed(&stateless, JobPhase::Recovering),
            Observed::default(),
            redeploy(RedeployReason::Continue, None, false),
        ),
        (
            "deleting without savepointOnDelete finalizes at once",
            stateless.clone(),
            deployed(&stateless, JobPhase::Running),
            Observed {
                deleting: true,
                ..running()
            },
            Action::Finalize {
                new_savepoint: None,
                warning: None,
            },
        ),
        (
            "deleting with savepointOnDelete takes a savepoint first",
            with(stateless.clone(), |s| s.savepoint_on_delete = true),
            deployed(&stateless, JobPhase::Running),
            Observed {
                deleting: true,
                ..running()
            },
            Action::TriggerSavepoint {
                job_id: JOB.into(),
                purpose: SavepointPurpose::Delete,
                nonce: None,
            },
        ),
        (
            "deleting waits for the savepoint",
            with(stateless.clone(), |s| s.savepoint_on_delete = true),
            FlinkJobStatus {
                pending_savepoint: Some(pending(SavepointPurpose::Delete, None)),
                ..deployed(&stateless, JobPhase::Deleting)
            },
            Observed {
                deleting: true,
                savepoint: Some(SavepointStatus::InProgress),
                ..running()
            },
            Action::AwaitSavepoint {
                purpose: SavepointPurpose::Delete,
            },
        ),
        (
            "deleting finalizes with the completed savepoint",
            with(stateless.clone(), |s| s.savepoint_on_delete = true),
            FlinkJobStatus {
                pending_savepoint: Some(pending(SavepointPurpose::Delete, None)),
                ..deployed(&stateless, JobPhase::Deleting)
            },
            Observed {
                deleting: true,
                savepoint: sp_done("file:///sp/7"),
                ..running()
            },
            Action::Finalize {
                new_savepoint: Some(savepoint("file:///sp/7", SavepointPurpose::Delete)),
                warning: None,
            },
        ),
        (
            "deleting a suspended job with savepointOnDelete finalizes (no job to savepoint)",
            with(suspended(&stateless), |s| s.savepoint_on_delete = true),
            deployed(&suspended(&stateless), JobPhase::Suspended),
            Observed {
                deleting: true,
                cluster_deployed: true,
                ..Default::default()
            },
            Action::Finalize {
                new_savepoint: None,
                warning: None,
            },
        ),
    ]
}

#[test]
fn every_lifecycle_path_decides_the_expected_action() {
    let mut failures = Vec::new();
    for (name, spec, status, observed, expected) in table() {
        let actual = decide(&spec, &status, &observed);
        if actual != expected {
            failures.push(format!(
                "{name}:\n  expected {expected:?}\n  actual   {actual:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} rows failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_table_covers_every_action_and_redeploy_reason() {
    let rows = table();
    let names: Vec<String> = rows
        .iter()
        .map(|(_, _, _, _, action)| match action {
            Action::Redeploy { reason, .. } => format!("Redeploy::{}", reason.event_reason()),
            other => format!("{other:?}")
                .split([' ', '{'])
                .next()
                .unwrap_or_default()
                .to_owned(),
        })
        .collect();
    for expected in [
        "Deploy",
        "Redeploy::Upgrading",
        "Redeploy::Rescaling",
        "Redeploy::Resuming",
        "Redeploy::Recovering",
        "Redeploy::RestartingFailedJob",
        "Redeploy::Restoring",
        "Redeploy::ContinuingRedeploy",
        "TriggerSavepoint",
        "AwaitSavepoint",
        "SavepointFailed",
        "RecordSavepoint",
        "Suspend",
        "Finalize",
        "Observe",
        "PauseBeforeRetry",
        "Wait",
    ] {
        assert!(
            names.iter().any(|name| name == expected),
            "no table row decides {expected}"
        );
    }
}

#[test]
fn spec_change_tells_rescale_from_upgrade() {
    let base = spec(UpgradeMode::Stateless);
    assert_eq!(spec_change(&base, &base), SpecChange::None);
    assert_eq!(
        spec_change(&base, &with(base.clone(), |s| s.parallelism = 8)),
        SpecChange::Rescale { from: 2, to: 8 }
    );
    assert_eq!(
        spec_change(
            &base,
            &with(base.clone(), |s| {
                s.parallelism = 8;
                s.image = "x".into()
            })
        ),
        SpecChange::Upgrade
    );
    assert_eq!(
        spec_change(
            &base,
            &with(base.clone(), |s| s.state = JobLifecycleState::Suspended)
        ),
        SpecChange::None
    );
    assert_eq!(
        spec_change(
            &base,
            &with(base.clone(), |s| s.savepoint_trigger_nonce = Some(1))
        ),
        SpecChange::None
    );
    let restarted = with(base.clone(), |s| s.restart_nonce = Some(1));
    assert_eq!(spec_change(&base, &restarted), SpecChange::Upgrade);
    assert_eq!(
        spec_change(&restarted, &base),
        SpecChange::None,
        "removing the nonce"
    );
    assert_eq!(
        spec_change(
            &base,
            &with(base.clone(), |s| {
                s.max_failed_job_restarts = Some(3);
                s.last_state_fallback = false;
                s.allow_non_restored_state = Some(true);
            })
        ),
        SpecChange::None
    );
}

#[test]
fn only_a_redeploy_that_carries_the_newest_state_over_lets_high_availability_recover_the_job() {
    use RedeployReason::*;
    for mode in [
        UpgradeMode::Stateless,
        UpgradeMode::Savepoint,
        UpgradeMode::LastState,
    ] {
        assert!(!Restore.keeps_high_availability_state(mode), "{mode:?}");
        assert!(Recover.keeps_high_availability_state(mode), "{mode:?}");
        assert!(
            RestartFailed.keeps_high_availability_state(mode),
            "{mode:?}"
        );
        for reason in [Upgrade, Rescale { from: 1, to: 2 }, Resume, Continue] {
            assert_eq!(
                reason.keeps_high_availability_state(mode),
                mode == UpgradeMode::LastState,
                "{reason:?} in {mode:?}"
            );
        }
    }
}
