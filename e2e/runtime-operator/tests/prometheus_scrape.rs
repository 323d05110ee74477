//! The testbed's real Prometheus scrapes a running job's `/metrics`, and PromQL on Flink's
//! metric names returns the records the job counted.

use std::time::{Duration, Instant};

use flinkrs_e2e_runtime_operator::RunningJob;
use flinkrs_testbed::Prometheus;

const PATIENCE: Duration = Duration::from_secs(60);

fn value(data: &serde_json::Value) -> Option<f64> {
    data["result"][0]["value"][1].as_str()?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_queries_flinks_metric_names_of_a_running_job() {
    let job = RunningJob::start(2_000).expect("the job starts");
    let target = job.metrics_address().to_string();
    let Some(prometheus) = Prometheus::start(
        "prometheus_queries_flinks_metric_names_of_a_running_job",
        std::slice::from_ref(&target),
    )
    .await
    else {
        return;
    };
    let job_id = loop {
        if let Some(id) = job.job_id() {
            break id;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let records = format!(
        "sum(flink_taskmanager_job_task_operator_numRecordsOut{{job_id=\"{job_id}\",operator_name=~\"Source.*\"}})"
    );
    let sink_records = format!(
        "sum(flink_taskmanager_job_task_numRecordsIn{{job_id=\"{job_id}\",job_name=\"e2e\"}})"
    );
    let checkpoints =
        format!("flink_jobmanager_job_numberOfCompletedCheckpoints{{job_id=\"{job_id}\"}}");
    let deadline = Instant::now() + PATIENCE;
    let (mut emitted, mut completed) = (0.0, 0.0);
    while (emitted <= 0.0 || completed < 2.0) && Instant::now() < deadline {
        emitted = value(&prometheus.query(&records).await.expect("a query")).unwrap_or(0.0);
        completed = value(&prometheus.query(&checkpoints).await.expect("a query")).unwrap_or(0.0);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(emitted > 0.0, "no records in Prometheus after {PATIENCE:?}");
    assert!(
        completed >= 2.0,
        "{completed} completed checkpoints in Prometheus"
    );
    let read = value(&prometheus.query(&sink_records).await.expect("a query")).unwrap_or(0.0);
    assert!(read > 0.0, "the tasks' numRecordsIn is not in Prometheus");
    let up = prometheus
        .query("up{job=\"testbed\"}")
        .await
        .expect("a query");
    assert_eq!(value(&up), Some(1.0));

    // What Prometheus holds is what the endpoint served: the sources' count read from the
    // endpoint before a scrape is at most what Prometheus answers after it, and that is at
    // most the count read after the query (the counters only grow).
    let address = job.metrics_address();
    let before = direct_source_records(address, &job_id).await;
    let scraped = loop {
        let scraped = value(&prometheus.query(&records).await.expect("a query")).unwrap_or(0.0);
        if scraped >= before {
            break scraped;
        }
        assert!(
            Instant::now() < deadline + PATIENCE,
            "Prometheus never caught up with {before}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let after = direct_source_records(address, &job_id).await;
    assert!(
        before <= scraped && scraped <= after,
        "{before} <= {scraped} <= {after}"
    );
    drop(job);
}

/// The sources' numRecordsOut, summed, read from `/metrics` directly.
async fn direct_source_records(address: std::net::SocketAddr, job_id: &str) -> f64 {
    let job_label = format!("job_id=\"{job_id}\"");
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(address).expect("connects");
        write!(
            stream,
            "GET /metrics HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
        )
        .expect("sends");
        let mut text = String::new();
        stream.read_to_string(&mut text).expect("reads");
        text.lines()
            .filter(|line| line.starts_with("flink_taskmanager_job_task_operator_numRecordsOut{"))
            .filter(|line| line.contains(&job_label) && line.contains("operator_name=\"Source"))
            .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
            .sum()
    })
    .await
    .expect("the read ends")
}
