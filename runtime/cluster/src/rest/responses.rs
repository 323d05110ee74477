//! Flink's JSON from the gateway's views: the bodies of the REST API's GET endpoints.

use std::collections::BTreeMap;

use flinkrs_contract::rest::{self, FLINK_VERSION, JobState};
use flinkrs_dataflow::checkpoint_stats::{CheckpointRecord, CheckpointState};

use super::gateway::{CheckpointsView, JobView, SubtaskView, TaskManagerView, VertexView};

/// The execution states Flink counts subtasks by, in the order it lists them.
const EXECUTION_STATES: [&str; 10] = [
    "CREATED",
    "SCHEDULED",
    "DEPLOYING",
    "RUNNING",
    "FINISHED",
    "CANCELING",
    "CANCELED",
    "FAILED",
    "RECONCILING",
    "INITIALIZING",
];

pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64)
}

pub fn dashboard_configuration() -> rest::DashboardConfiguration {
    rest::DashboardConfiguration {
        refresh_interval: 3000,
        timezone_name: "Coordinated Universal Time".into(),
        timezone_offset: 0,
        flink_version: FLINK_VERSION.into(),
        flink_revision: format!("flinkrs {}", env!("CARGO_PKG_VERSION")),
        features: rest::DashboardFeatures {
            web_submit: false,
            web_cancel: true,
            web_rescale: false,
            web_history: false,
        },
    }
}

pub fn cluster_overview(
    task_managers: &[TaskManagerView],
    jobs: &[JobView],
) -> rest::ClusterOverview {
    let count = |state: JobState| jobs.iter().filter(|job| job.state == state).count() as u32;
    let slots_total: u32 = task_managers.iter().map(|tm| tm.slots).sum();
    let slots_used: u32 = task_managers
        .iter()
        .map(|tm| tm.allocated_slots.len() as u32)
        .sum();
    rest::ClusterOverview {
        taskmanagers: task_managers.len() as u32,
        slots_total,
        slots_available: slots_total.saturating_sub(slots_used),
        jobs_running: jobs.iter().filter(|job| !job.state.is_terminal()).count() as u32,
        jobs_finished: count(JobState::Finished),
        jobs_cancelled: count(JobState::Canceled),
        jobs_failed: count(JobState::Failed),
        flink_version: FLINK_VERSION.into(),
        flink_commit: "flinkrs".into(),
    }
}

fn execution_state_counts(job: &JobView) -> BTreeMap<String, u32> {
    let mut counts: BTreeMap<String, u32> = EXECUTION_STATES
        .iter()
        .map(|state| ((*state).to_owned(), 0))
        .collect();
    for subtask in job.vertices.iter().flat_map(|vertex| &vertex.subtasks) {
        *counts.entry(subtask.state.clone()).or_default() += 1;
    }
    counts
}

fn vertex_state_counts(vertex: &VertexView) -> BTreeMap<String, u32> {
    let mut counts: BTreeMap<String, u32> = EXECUTION_STATES
        .iter()
        .map(|state| ((*state).to_owned(), 0))
        .collect();
    for subtask in &vertex.subtasks {
        *counts.entry(subtask.state.clone()).or_default() += 1;
    }
    counts
}

pub fn job_summary(job: &JobView, now: i64) -> rest::JobSummary {
    let counts = execution_state_counts(job);
    let count = |state: &str| counts.get(state).copied().unwrap_or(0);
    let end_time = job.end_time();
    rest::JobSummary {
        jid: job.id.clone(),
        name: job.name.clone(),
        job_type: job_type(job).into(),
        scheduler_type: "Default".into(),
        start_time: job.start_time(),
        end_time,
        duration: duration(job.start_time(), end_time, now),
        state: job.state,
        last_modification: job
            .state_times
            .iter()
            .map(|(_, time)| *time)
            .max()
            .unwrap_or(0),
        tasks: rest::TaskCounts {
            running: count("RUNNING"),
            canceling: count("CANCELING"),
            canceled: count("CANCELED"),
            total: counts.values().sum(),
            created: count("CREATED"),
            scheduled: count("SCHEDULED"),
            deploying: count("DEPLOYING"),
            reconciling: count("RECONCILING"),
            finished: count("FINISHED"),
            initializing: count("INITIALIZING"),
            failed: count("FAILED"),
        },
        pending_operators: 0,
    }
}

fn job_type(job: &JobView) -> &'static str {
    if job.batch { "BATCH" } else { "STREAMING" }
}

fn duration(start: i64, end: i64, now: i64) -> i64 {
    if end < 0 { now - start } else { end - start }
}

/// The vertex's subtasks' read and write totals, as `/jobs/:id` shows them.
fn io_metrics(subtasks: &[&SubtaskView]) -> rest::IoMetrics {
    let sum = |name: &str| subtasks.iter().filter_map(|s| s.metric(name)).sum::<f64>() as i64;
    rest::IoMetrics {
        read_bytes: sum("numBytesIn"),
        read_bytes_complete: true,
        write_bytes: sum("numBytesOut"),
        write_bytes_complete: true,
        read_records: sum("numRecordsIn"),
        read_records_complete: true,
        write_records: sum("numRecordsOut"),
        write_records_complete: true,
        accumulated_backpressured_time: sum("accumulateBackPressuredTimeMs"),
        accumulated_idle_time: sum("accumulateIdleTimeMs"),
        accumulated_busy_time: subtasks
            .iter()
            .filter_map(|s| s.metric("accumulateBusyTimeMs"))
            .sum(),
    }
}

/// The vertex's state: the least advanced of its subtasks', as Flink aggregates it.
fn vertex_state(vertex: &VertexView) -> String {
    let order = [
        "FAILED",
        "CANCELING",
        "CANCELED",
        "CREATED",
        "SCHEDULED",
        "DEPLOYING",
        "INITIALIZING",
        "RUNNING",
        "FINISHED",
    ];
    order
        .iter()
        .find(|state| {
            vertex
                .subtasks
                .iter()
                .any(|subtask| subtask.state == **state)
        })
        .map_or("CREATED", |state| state)
        .to_owned()
}

pub fn job_plan(job: &JobView) -> rest::JobPlan {
    rest::JobPlan {
        jid: job.id.clone(),
        name: job.name.clone(),
        job_type: job_type(job).into(),
        // Flink lists the sinks first and the sources last.
        nodes: job
            .vertices
            .iter()
            .rev()
            .map(|vertex| rest::PlanNode {
                id: vertex.id.clone(),
                operator: String::new(),
                parallelism: vertex.parallelism,
                operator_strategy: String::new(),
                description: vertex.name.replace(" -> ", "<br/>+- ") + "<br/>",
                optimizer_properties: BTreeMap::new(),
                inputs: (!vertex.inputs.is_empty()).then(|| {
                    vertex
                        .inputs
                        .iter()
                        .enumerate()
                        .map(|(num, (id, ship_strategy))| rest::PlanInput {
                            id: id.clone(),
                            num: num as u32,
                            exchange: "pipelined_bounded".into(),
                            ship_strategy: ship_strategy.clone(),
                        })
                        .collect()
                }),
            })
            .collect(),
    }
}

pub fn job_details(job: &JobView, now: i64) -> rest::JobDetails {
    let end_time = job.end_time();
    let timestamps = JobState::ALL
        .iter()
        .map(|state| {
            let time = job
                .state_times
                .iter()
                .find(|(entered, _)| entered == state)
                .map_or(0, |(_, time)| *time);
            (state.as_str().to_owned(), time)
        })
        .collect();
    let vertices = job
        .vertices
        .iter()
        .map(|vertex| {
            let subtasks: Vec<&SubtaskView> = vertex.subtasks.iter().collect();
            let start = subtasks.iter().map(|s| s.start_time).min().unwrap_or(-1);
            let end = if subtasks.iter().all(|s| s.end_time >= 0) && !subtasks.is_empty() {
                subtasks.iter().map(|s| s.end_time).max().unwrap_or(-1)
            } else {
                -1
            };
            rest::JobVertexSummary {
                id: vertex.id.clone(),
                slot_sharing_group_id: "00000000000000000000000000000000".into(),
                name: vertex.name.clone(),
                max_parallelism: i64::from(vertex.max_parallelism),
                parallelism: vertex.parallelism,
                status: vertex_state(vertex),
                start_time: start,
                end_time: end,
                duration: if start < 0 {
                    -1
                } else {
                    duration(start, end, now)
                },
                tasks: vertex_state_counts(vertex),
                metrics: io_metrics(&subtasks),
            }
        })
        .collect();
    rest::JobDetails {
        jid: job.id.clone(),
        application_id: job.id.clone(),
        name: job.name.clone(),
        is_stoppable: false,
        state: job.state,
        job_type: job_type(job).into(),
        scheduler_type: "Default".into(),
        start_time: job.start_time(),
        end_time,
        duration: duration(job.start_time(), end_time, now),
        max_parallelism: job.max_parallelism.map_or(-1, i64::from),
        now,
        timestamps,
        vertices,
        status_counts: execution_state_counts(job),
        plan: job_plan(job),
        pending_operators: 0,
    }
}

pub fn job_config(job: &JobView) -> rest::JobConfig {
    rest::JobConfig {
        jid: job.id.clone(),
        name: job.name.clone(),
        execution_config: rest::ExecutionConfig {
            restart_strategy: job.restart_strategy.clone(),
            job_parallelism: job.parallelism,
            object_reuse_mode: false,
            user_config: job.configuration.iter().cloned().collect(),
        },
    }
}

pub fn job_exceptions(job: &JobView) -> rest::JobExceptions {
    rest::JobExceptions {
        exception_history: rest::ExceptionHistory {
            entries: job
                .failures
                .iter()
                .map(|failure| rest::ExceptionEntry {
                    exception_name: failure.exception_name.clone(),
                    stacktrace: failure.message.clone(),
                    timestamp: failure.timestamp,
                    failure_labels: BTreeMap::new(),
                    task_name: None,
                    endpoint: None,
                    task_manager_id: None,
                    concurrent_exceptions: Some(Vec::new()),
                })
                .collect(),
            truncated: false,
        },
    }
}

fn checkpoint_statistics(record: &CheckpointRecord, now: i64) -> rest::CheckpointStatistics {
    let (class_name, status) = match record.state {
        CheckpointState::InProgress => ("in_progress", "IN_PROGRESS"),
        CheckpointState::Completed => ("completed", "COMPLETED"),
        CheckpointState::Failed => ("failed", "FAILED"),
    };
    let completed = record.state == CheckpointState::Completed;
    let failed = record.state == CheckpointState::Failed;
    rest::CheckpointStatistics {
        class_name: class_name.into(),
        id: record.id,
        status: status.into(),
        is_savepoint: record.is_savepoint,
        savepoint_format: record.is_savepoint.then(|| "CANONICAL".to_owned()),
        trigger_timestamp: record.trigger_timestamp,
        latest_ack_timestamp: if completed {
            record.end_timestamp.unwrap_or(-1)
        } else {
            -1
        },
        checkpointed_size: record.size,
        state_size: record.size,
        end_to_end_duration: record.duration(now),
        alignment_buffered: 0,
        processed_data: 0,
        persisted_data: 0,
        num_subtasks: record.num_subtasks,
        num_acknowledged_subtasks: if completed { record.num_subtasks } else { 0 },
        checkpoint_type: if record.is_savepoint {
            "SAVEPOINT"
        } else {
            "CHECKPOINT"
        }
        .into(),
        tasks: BTreeMap::new(),
        external_path: if completed {
            record.external_path.clone()
        } else {
            None
        },
        discarded: completed.then_some(false),
        failure_timestamp: if failed { record.end_timestamp } else { None },
        failure_message: if failed {
            record.failure_message.clone()
        } else {
            None
        },
    }
}

/// `/jobs/:id/checkpoints`; a job without checkpointing has all counts zero.
pub fn checkpointing_statistics(
    checkpoints: Option<&CheckpointsView>,
    now: i64,
) -> rest::CheckpointingStatistics {
    let statistics = checkpoints
        .map(|view| view.statistics.clone())
        .unwrap_or_default();
    let sizes = rest::StatisticsSummary::of(&statistics.completed_sizes);
    rest::CheckpointingStatistics {
        counts: rest::CheckpointCounts {
            restored: statistics.restored,
            total: statistics.total,
            in_progress: statistics.in_progress,
            completed: statistics.completed,
            failed: statistics.failed,
        },
        summary: rest::CheckpointSummary {
            checkpointed_size: sizes.clone(),
            state_size: sizes,
            end_to_end_duration: rest::StatisticsSummary::of(&statistics.completed_durations),
            alignment_buffered: rest::StatisticsSummary::of(&[]),
            processed_data: rest::StatisticsSummary::of(&[]),
            persisted_data: rest::StatisticsSummary::of(&[]),
        },
        latest: rest::LatestCheckpoints {
            completed: statistics
                .latest_completed
                .as_ref()
                .map(|r| checkpoint_statistics(r, now)),
            savepoint: statistics
                .latest_savepoint
                .as_ref()
                .map(|r| checkpoint_statistics(r, now)),
            failed: statistics
                .latest_failed
                .as_ref()
                .map(|r| checkpoint_statistics(r, now)),
            restored: statistics.latest_restored.as_ref().map(|restored| {
                rest::RestoredCheckpoint {
                    id: restored.id,
                    restore_timestamp: restored.restore_timestamp,
                    is_savepoint: false,
                    external_path: restored.external_path.clone(),
                }
            }),
        },
        history: statistics
            .history
            .iter()
            .map(|r| checkpoint_statistics(r, now))
            .collect(),
    }
}

/// `/jobs/:id/checkpoints/config`; `None` when the job takes no checkpoints (Flink answers
/// 404 then).
pub fn checkpoint_config(checkpoints: &CheckpointsView) -> rest::CheckpointConfig {
    rest::CheckpointConfig {
        mode: "exactly_once".into(),
        interval: checkpoints.interval,
        timeout: checkpoints.timeout,
        min_pause: checkpoints.min_pause,
        max_concurrent: 1,
        externalization: rest::Externalization {
            enabled: checkpoints.retained,
            delete_on_cancellation: checkpoints.delete_on_cancellation,
        },
        state_backend: "HashMapStateBackend".into(),
        checkpoint_storage: checkpoints.checkpoint_storage.clone(),
        unaligned_checkpoints: false,
        tolerable_failed_checkpoints: checkpoints.tolerable_failed_checkpoints,
        aligned_checkpoint_timeout: 0,
        checkpoints_after_tasks_finish: true,
        state_changelog_enabled: false,
        changelog_periodic_materialization_interval: 600_000,
        changelog_storage: "memory".into(),
    }
}

pub fn vertex_details(vertex: &VertexView, now: i64) -> rest::JobVertexDetails {
    let subtasks: Vec<rest::SubtaskDetails> = vertex
        .subtasks
        .iter()
        .map(|subtask| rest::SubtaskDetails {
            subtask: subtask.index,
            status: subtask.state.clone(),
            attempt: subtask.attempt,
            endpoint: subtask.endpoint.clone(),
            start_time: subtask.start_time,
            end_time: subtask.end_time,
            duration: duration(subtask.start_time, subtask.end_time, now),
            metrics: io_metrics(&[subtask]),
            taskmanager_id: subtask.taskmanager_id.clone(),
            status_duration: BTreeMap::from([(
                subtask.state.clone(),
                duration(subtask.start_time, subtask.end_time, now),
            )]),
            start_time_again: subtask.start_time,
        })
        .collect();
    let statistic = |pick: &dyn Fn(&rest::IoMetrics) -> i64| {
        let values: Vec<i64> = subtasks.iter().map(|s| pick(&s.metrics)).collect();
        rest::AggregatedStatistics::of(&values)
    };
    let metrics = BTreeMap::from([
        ("read-bytes".to_owned(), statistic(&|m| m.read_bytes)),
        ("write-bytes".to_owned(), statistic(&|m| m.write_bytes)),
        ("read-records".to_owned(), statistic(&|m| m.read_records)),
        ("write-records".to_owned(), statistic(&|m| m.write_records)),
        (
            "accumulated-backpressured-time".to_owned(),
            statistic(&|m| m.accumulated_backpressured_time),
        ),
        (
            "accumulated-idle-time".to_owned(),
            statistic(&|m| m.accumulated_idle_time),
        ),
        (
            "accumulated-busy-time".to_owned(),
            statistic(&|m| m.accumulated_busy_time as i64),
        ),
    ]);
    let mut status_duration = BTreeMap::new();
    for subtask in &subtasks {
        for (state, millis) in &subtask.status_duration {
            status_duration
                .entry(state.clone())
                .or_insert_with(Vec::new)
                .push(*millis);
        }
    }
    rest::JobVertexDetails {
        id: vertex.id.clone(),
        name: vertex.name.clone(),
        parallelism: vertex.parallelism,
        max_parallelism: i64::from(vertex.max_parallelism),
        now,
        subtasks,
        aggregated: rest::VertexAggregated {
            metrics,
            status_duration: status_duration
                .into_iter()
                .map(|(state, values)| (state, rest::AggregatedStatistics::of(&values)))
                .collect(),
        },
    }
}

/// `/jobs/:id/vertices/:vid/watermarks`: each subtask's current input watermark.
pub fn vertex_watermarks(vertex: &VertexView) -> Vec<rest::MetricValue> {
    vertex
        .subtasks
        .iter()
        .filter_map(|subtask| {
            let watermark = subtask.metric("currentInputWatermark")?;
            Some(rest::MetricValue {
                id: format!("{}.currentInputWatermark", subtask.index),
                value: format!("{}", watermark as i64),
            })
        })
        .collect()
}

/// `/jobs/:id/vertices/:vid/subtasks/metrics`: the metric names, or with `get` the
/// statistics of the named ones over the subtasks.
pub fn subtasks_metrics(vertex: &VertexView, get: Option<&str>) -> Vec<rest::AggregatedMetric> {
    let Some(get) = get else {
        let names: std::collections::BTreeSet<&str> = vertex
            .subtasks
            .iter()
            .flat_map(|subtask| subtask.metrics.iter().map(|(name, _)| name.as_str()))
            .collect();
        return names
            .into_iter()
            .map(|name| rest::AggregatedMetric {
                id: name.to_owned(),
                min: None,
                max: None,
                avg: None,
                sum: None,
                skew: None,
            })
            .collect();
    };
    get.split(',')
        .map(str::trim)
        .filter_map(|name| {
            let values: Vec<f64> = vertex
                .subtasks
                .iter()
                .filter_map(|s| s.metric(name))
                .collect();
            if values.is_empty() {
                return None;
            }
            let min = values.iter().copied().fold(f64::INFINITY, f64::min);
            let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = values.iter().sum();
            let avg = sum / values.len() as f64;
            Some(rest::AggregatedMetric {
                id: name.to_owned(),
                min: Some(min),
                max: Some(max),
                avg: Some(avg),
                sum: Some(sum),
                // Flink's skew: how far the largest value is above the mean, relative to it.
                skew: Some(if avg == 0.0 {
                    0.0
                } else {
                    (max - avg) / avg * 100.0
                }),
            })
        })
        .collect()
}

pub fn task_manager_info(task_manager: &TaskManagerView) -> rest::TaskManagerInfo {
    let free = task_manager
        .slots
        .saturating_sub(task_manager.allocated_slots.len() as u32);
    let resources = |slots: u32| rest::ResourceProfile {
        cpu_cores: f64::from(slots),
        ..rest::ResourceProfile::default()
    };
    rest::TaskManagerInfo {
        id: task_manager.id.clone(),
        path: task_manager.address.clone(),
        data_port: task_manager.data_port,
        jmx_port: -1,
        time_since_last_heartbeat: task_manager.last_heartbeat,
        slots_number: task_manager.slots,
        free_slots: free,
        assigned_tasks: task_manager
            .allocated_slots
            .iter()
            .map(|(_, tasks)| tasks)
            .sum(),
        total_resource: resources(task_manager.slots),
        free_resource: resources(free),
        hardware: rest::HardwareDescription {
            cpu_cores: task_manager.cpu_cores,
            physical_memory: task_manager.physical_memory,
            free_memory: 0,
            managed_memory: 0,
        },
        memory_configuration: rest::MemoryConfiguration::default(),
    }
}

pub fn task_manager_details(task_manager: &TaskManagerView) -> rest::TaskManagerDetails {
    rest::TaskManagerDetails {
        info: task_manager_info(task_manager),
        allocated_slots: task_manager
            .allocated_slots
            .iter()
            .map(|(job_id, tasks)| rest::SlotInfo {
                job_id: job_id.clone(),
                resource: rest::ResourceProfile {
                    cpu_cores: 1.0,
                    ..rest::ResourceProfile::default()
                },
                assigned_tasks: *tasks,
            })
            .collect(),
        metrics: rest::TaskManagerMetrics::default(),
    }
}
