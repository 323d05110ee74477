//! `/metrics` of a real running job, scraped over HTTP on loopback: Flink's names and labels,
//! and values that follow the job.

use std::sync::Arc;

use super::support::http::get;
use super::support::job::{RunningJob, wait_for};
use flinkrs_cluster::prometheus::{ProcessLabels, router};
use flinkrs_cluster::rest::HttpServer;

/// The value of the series `name` whose labels contain every one of `labels`, summed over the
/// series that match.
fn sum_of(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    let mut found = None;
    for line in text.lines().filter(|line| !line.starts_with('#')) {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        let Some((labels_text, value)) = rest.strip_prefix('{').and_then(|r| r.rsplit_once("} "))
        else {
            continue;
        };
        if labels
            .iter()
            .all(|label| labels_text.split(',').any(|pair| pair == *label))
        {
            *found.get_or_insert(0.0) += value.parse::<f64>().ok()?;
        }
    }
    found
}

#[test]
fn a_running_jobs_metrics_are_served_with_flinks_names_and_labels() {
    let job = RunningJob::start();
    let job_id = job.job_id();
    let labels = ProcessLabels {
        host: "localhost".into(),
        tm_id: Some("localhost:0-000000".into()),
    };
    let metrics = HttpServer::start(
        router(job.job_manager.metrics_source(), labels),
        "127.0.0.1",
        0,
        "/metrics",
    )
    .unwrap();
    let address = metrics.local_addr();
    let job_label = format!("job_id=\"{job_id}\"");
    let first = wait_for("records counted at the sink", || {
        let scrape = get(address, "/metrics");
        assert_eq!(scrape.status, 200);
        assert_eq!(
            scrape.content_type,
            "text/plain; version=0.0.4; charset=utf-8"
        );
        sum_of(
            &scrape.body,
            "flink_taskmanager_job_task_numRecordsIn",
            &[&job_label],
        )
        .filter(|records| *records > 0.0)
    });
    let text = get(address, "/metrics").body;
    assert!(text.contains(
        "# HELP flink_taskmanager_job_task_numRecordsIn numRecordsIn (scope: taskmanager_job_task)\n\
         # TYPE flink_taskmanager_job_task_numRecordsIn gauge\n"
    ));
    // Every label Flink's reporter gives a subtask's series that the in-process job has.
    for label in [
        "job_name=\"rest_probe\"",
        "subtask_index=\"1\"",
        "task_attempt_num=\"0\"",
        "host=\"localhost\"",
        "tm_id=\"localhost:0_000000\"",
    ] {
        assert!(
            sum_of(
                &text,
                "flink_taskmanager_job_task_numRecordsIn",
                &[&job_label, label]
            )
            .is_some(),
            "no numRecordsIn series with {label}"
        );
    }
    assert!(
        text.contains("task_name=\"Source:_"),
        "task names are sanitized as Flink does"
    );
    for name in [
        "flink_taskmanager_job_task_numRecordsOut",
        "flink_taskmanager_job_task_busyTimeMsPerSecond",
        "flink_taskmanager_job_task_operator_numRecordsIn",
        "flink_jobmanager_job_numRestarts",
        "flink_jobmanager_job_lastCheckpointDuration",
    ] {
        assert!(sum_of(&text, name, &[&job_label]).is_some(), "no {name}");
    }
    // The counts follow the job: checkpoints complete and records keep flowing.
    wait_for("two completed checkpoints in the metrics", || {
        let text = get(address, "/metrics").body;
        sum_of(
            &text,
            "flink_jobmanager_job_numberOfCompletedCheckpoints",
            &[&job_label],
        )
        .filter(|completed| *completed >= 2.0)
    });
    wait_for("the record count to rise", || {
        let text = get(address, "/").body;
        sum_of(
            &text,
            "flink_taskmanager_job_task_numRecordsIn",
            &[&job_label],
        )
        .filter(|records| *records > first)
    });
    drop(Arc::new(metrics));
    drop(job);
}
