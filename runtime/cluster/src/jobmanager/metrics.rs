//! The JobManager's own series for `/metrics`, with the names Flink's JobManager reports:
//! the cluster's (`numRegisteredTaskManagers`, `taskSlotsTotal`, `taskSlotsAvailable`,
//! `numRunningJobs`, scope `jobmanager`) and each job's while it runs (`uptime`,
//! `numRestarts`, and the checkpoints' `lastCheckpointDuration`, `lastCheckpointSize` and
//! counts, scope `jobmanager.job`), labelled with `host`, and `job_id` and `job_name`
//! for a job's. The subtasks' series are the TaskManagers' to serve.

use flinkrs_dataflow::metrics::names::{
    LAST_CHECKPOINT_DURATION, LAST_CHECKPOINT_SIZE, NUM_RESTARTS, NUMBER_OF_COMPLETED_CHECKPOINTS,
    NUMBER_OF_FAILED_CHECKPOINTS, NUMBER_OF_IN_PROGRESS_CHECKPOINTS,
};
use flinkrs_dataflow::metrics::{LABEL_JOB_ID, LABEL_JOB_NAME};

use super::Shared;
use super::jobs::JobStatus;
use crate::prometheus::{Sample, status_samples};
use crate::rest::now_millis;

/// Every series of the JobManager now, labelled with `host`.
pub(crate) fn samples(shared: &Shared, host: &str) -> Vec<Sample> {
    let process = vec![("host", host.to_owned())];
    let (registered, total, available) = {
        let resource_manager = shared.resource_manager();
        (
            resource_manager.task_managers().count(),
            resource_manager.slots_total(),
            resource_manager.slots_available(),
        )
    };
    let jobs: Vec<_> = shared
        .jobs
        .all()
        .into_iter()
        .filter(|(_, job)| !job.status.is_terminal())
        .collect();
    let cluster = |name: &str, value: usize| Sample {
        scope: "jobmanager".to_owned(),
        name: name.to_owned(),
        labels: process.clone(),
        value: value as f64,
    };
    let mut samples = vec![
        cluster("numRegisteredTaskManagers", registered),
        cluster("taskSlotsTotal", total),
        cluster("taskSlotsAvailable", available),
        cluster("numRunningJobs", jobs.len()),
    ];
    let now = now_millis();
    for (job_id, job) in &jobs {
        let labels = vec![
            (LABEL_JOB_ID, job_id.clone()),
            (LABEL_JOB_NAME, job.name.clone()),
            ("host", host.to_owned()),
        ];
        // Flink's uptime: milliseconds since the job went RUNNING, 0 before.
        let uptime = job
            .status_times
            .iter()
            .rev()
            .find(|(status, _)| *status == JobStatus::Running)
            .map_or(0, |(_, since)| now.saturating_sub(*since).max(0));
        let job_sample = |name: &str, value: f64| Sample {
            scope: "jobmanager.job".to_owned(),
            name: name.to_owned(),
            labels: labels.clone(),
            value,
        };
        samples.push(job_sample("uptime", uptime as f64));
        samples.push(job_sample(NUM_RESTARTS, f64::from(job.restarts)));
        if let Some(gauges) = &job.checkpoint_gauges {
            for (name, gauge) in [
                (NUMBER_OF_COMPLETED_CHECKPOINTS, &gauges.completed),
                (NUMBER_OF_FAILED_CHECKPOINTS, &gauges.failed),
                (NUMBER_OF_IN_PROGRESS_CHECKPOINTS, &gauges.in_progress),
                (LAST_CHECKPOINT_DURATION, &gauges.last_duration),
                (LAST_CHECKPOINT_SIZE, &gauges.last_size),
            ] {
                samples.push(job_sample(name, gauge.get() as f64));
            }
        }
    }
    samples.extend(status_samples("jobmanager", &process));
    samples
}
