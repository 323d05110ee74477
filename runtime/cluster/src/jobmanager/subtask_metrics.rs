//! The subtasks of a job on the cluster, with their metrics, as the REST API shows them
//! (`/jobs/:id/vertices/:vid`, `/jobs/:id/vertices/:vid/subtasks/metrics`): the JobManager
//! asks every TaskManager running a share of the job for the metrics of its subtasks there
//! (the `TaskMetrics` call), as Flink's `MetricFetcher` asks its TaskManagers' metric query
//! services.
//!
//! The REST API's calls are synchronous and run on the REST server's own thread, so the
//! questions run on the JobManager's runtime, all at once, and the answer waits at most
//! [`FETCH_TIMEOUT`]: a TaskManager that does not answer in time (or is gone) leaves its
//! subtasks without metrics in that answer, and the API still answers.

use std::sync::mpsc;
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::task::JoinSet;
use tonic::transport::Endpoint;

use crate::rest::{SubtaskView, VertexView, rest_metric_name};
use crate::rpc::messages::{JobRef, TaskMetric};
use crate::rpc::taskmanager::task_manager_client::TaskManagerClient;

/// The longest a REST answer waits for the TaskManagers' metrics.
pub(crate) const FETCH_TIMEOUT: Duration = Duration::from_secs(2);

/// What one TaskManager answered.
pub(crate) struct TaskManagerMetrics {
    pub resource_id: String,
    /// Its control-plane address, the subtasks' endpoint.
    pub address: String,
    pub metrics: Vec<TaskMetric>,
}

/// Asks each of `task_managers` (resource id, control-plane address) for the metrics of its
/// subtasks of `job`, on `runtime`, and returns the answers that came within
/// [`FETCH_TIMEOUT`]. Must not be called on a thread of `runtime` itself.
pub(crate) fn fetch(
    runtime: &Handle,
    job: &str,
    task_managers: &[(String, String)],
) -> Vec<TaskManagerMetrics> {
    if task_managers.is_empty() {
        return Vec::new();
    }
    let (answer, answered) = mpsc::channel();
    let (job, task_managers) = (job.to_owned(), task_managers.to_vec());
    runtime.spawn(async move {
        let mut questions = JoinSet::new();
        for (resource_id, address) in task_managers {
            let job = job.clone();
            questions.spawn(async move {
                match ask(&address, &job).await {
                    Ok(metrics) => Some(TaskManagerMetrics {
                        resource_id,
                        address,
                        metrics,
                    }),
                    Err(error) => {
                        tracing::debug!(
                            %job, %resource_id, %address, error = %format!("{error:#}"),
                            "no subtask metrics from the TaskManager"
                        );
                        None
                    }
                }
            });
        }
        let mut answers = Vec::new();
        while let Some(joined) = questions.join_next().await {
            answers.extend(joined.ok().flatten());
        }
        // The REST call may have stopped waiting.
        let _ = answer.send(answers);
    });
    answered
        .recv_timeout(FETCH_TIMEOUT + Duration::from_millis(100))
        .unwrap_or_default()
}

async fn ask(address: &str, job: &str) -> anyhow::Result<Vec<TaskMetric>> {
    let channel = Endpoint::from_shared(format!("http://{address}"))?
        .connect_timeout(FETCH_TIMEOUT)
        .timeout(FETCH_TIMEOUT)
        .connect()
        .await?;
    let reply = TaskManagerClient::new(channel)
        .task_metrics(JobRef {
            job_id: job.to_owned(),
        })
        .await?
        .into_inner();
    Ok(reply.metrics)
}

/// How a job's subtasks are shown, apart from their metrics.
pub(crate) struct SubtaskState<'a> {
    /// Their execution state, as the job's (`RUNNING`, `FINISHED`, …).
    pub state: &'a str,
    pub start_time: i64,
    pub end_time: i64,
}

/// The subtasks of each of `vertices`, with the metrics the TaskManagers answered: a subtask
/// is shown in the TaskManager that reported it, and as `(unassigned)` without metrics when
/// none did.
pub(crate) fn fill_subtasks(
    vertices: &mut [VertexView],
    answers: &[TaskManagerMetrics],
    shown: &SubtaskState<'_>,
) {
    for vertex in vertices {
        vertex.subtasks = (0..vertex.parallelism)
            .map(|index| {
                let mut subtask = SubtaskView {
                    index,
                    attempt: 0,
                    state: shown.state.to_owned(),
                    start_time: shown.start_time,
                    end_time: shown.end_time,
                    taskmanager_id: "(unassigned)".to_owned(),
                    endpoint: "(unassigned)".to_owned(),
                    metrics: Vec::new(),
                };
                for answer in answers {
                    for metric in answer.metrics.iter().filter(|metric| {
                        metric.task_name == vertex.name && metric.subtask_index == index
                    }) {
                        subtask.taskmanager_id.clone_from(&answer.resource_id);
                        subtask.endpoint.clone_from(&answer.address);
                        subtask.attempt = subtask.attempt.max(metric.attempt_number);
                        let operator =
                            (!metric.operator_name.is_empty()).then_some(&*metric.operator_name);
                        subtask
                            .metrics
                            .push((rest_metric_name(operator, &metric.name), metric.value));
                    }
                }
                subtask
            })
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(task: &str, subtask: u32, operator: &str, name: &str, value: f64) -> TaskMetric {
        TaskMetric {
            task_name: task.to_owned(),
            subtask_index: subtask,
            attempt_number: 0,
            operator_id: String::new(),
            operator_name: operator.to_owned(),
            name: name.to_owned(),
            value,
        }
    }

    #[test]
    fn each_subtask_shows_the_metrics_of_the_task_manager_that_runs_it() {
        let mut vertices = vec![VertexView {
            id: "a".repeat(32),
            name: "Tokenizer".to_owned(),
            parallelism: 3,
            max_parallelism: 128,
            inputs: Vec::new(),
            subtasks: Vec::new(),
        }];
        let answers = [
            TaskManagerMetrics {
                resource_id: "tm-1".to_owned(),
                address: "127.0.0.1:1".to_owned(),
                metrics: vec![
                    metric("Tokenizer", 0, "", "numRecordsIn", 10.0),
                    metric("Tokenizer", 0, "Tokenizer: split", "numRecordsOut", 30.0),
                    metric("Counter", 0, "", "numRecordsIn", 99.0),
                ],
            },
            TaskManagerMetrics {
                resource_id: "tm-2".to_owned(),
                address: "127.0.0.1:2".to_owned(),
                metrics: vec![metric("Tokenizer", 1, "", "numRecordsIn", 12.0)],
            },
        ];
        let shown = SubtaskState {
            state: "RUNNING",
            start_time: 5,
            end_time: -1,
        };
        fill_subtasks(&mut vertices, &answers, &shown);
        let subtasks = &vertices[0].subtasks;
        assert_eq!(subtasks.len(), 3);
        assert_eq!(
            (
                subtasks[0].taskmanager_id.as_str(),
                subtasks[0].endpoint.as_str()
            ),
            ("tm-1", "127.0.0.1:1")
        );
        assert_eq!(
            subtasks[0].metrics,
            [
                ("numRecordsIn".to_owned(), 10.0),
                ("Tokenizer__split.numRecordsOut".to_owned(), 30.0)
            ]
        );
        assert_eq!(subtasks[1].taskmanager_id, "tm-2");
        assert_eq!(subtasks[1].metric("numRecordsIn"), Some(12.0));
        // Nobody reported subtask 2 (its TaskManager did not answer).
        assert_eq!(subtasks[2].taskmanager_id, "(unassigned)");
        assert_eq!(subtasks[2].metrics, []);
        assert!(
            subtasks
                .iter()
                .all(|subtask| subtask.state == "RUNNING" && subtask.start_time == 5)
        );
    }

    #[test]
    fn task_managers_that_cannot_be_reached_leave_the_answer_empty_in_time() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        // A port nobody listens on: the listener is closed before the question.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = closed.local_addr().unwrap().to_string();
        drop(closed);
        let started = std::time::Instant::now();
        let answers = fetch(
            runtime.handle(),
            &"0".repeat(32),
            &[("tm-gone".to_owned(), address)],
        );
        assert!(answers.is_empty());
        assert!(started.elapsed() <= FETCH_TIMEOUT + Duration::from_millis(500));
    }
}
