//! The chart's operator dashboard: every PromQL expression in it answers with data from the
//! real Prometheus of the testbed scraping the operator's `/metrics`. (The job dashboard's
//! expressions are checked against a running cluster in the runtime's `prometheus_cluster`
//! test; `helm_chart` checks how the chart renders both.)

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use flinkrs_operator::crd::JobPhase;
use flinkrs_operator::health::ControllerHealth;
use flinkrs_operator::http_server;
use flinkrs_operator::metrics::Metrics;
use flinkrs_testbed::Prometheus;

/// A guard against a hang, not a synchronization: each wait ends when its answer comes.
const DEADLINE: Duration = Duration::from_secs(90);

fn dashboard(file: &str) -> serde_json::Value {
    let path = support::repo_root()
        .join("charts/flinkrs-operator/dashboards")
        .join(file);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_expression_of_the_operator_dashboard_answers_from_prometheus() {
    let metrics = Arc::new(Metrics::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let health = Arc::new(ControllerHealth::new(Duration::from_secs(60)));
    let server = tokio::spawn(http_server::serve(listener, Arc::clone(&metrics), health));
    let Some(prometheus) = Prometheus::start(
        "every_expression_of_the_operator_dashboard_answers_from_prometheus",
        std::slice::from_ref(&address),
    )
    .await
    else {
        return;
    };
    // What a reconcile loop records: reconciles, their time, a failure, the jobs' phases.
    metrics.set_phase("jobs/wordcount", Some(JobPhase::Running));
    let expressions: Vec<String> = dashboard("flinkrs-operator.json")["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|panel| panel["targets"].as_array().unwrap().iter())
        .map(|target| target["expr"].as_str().unwrap().to_owned())
        .collect();
    assert!(expressions.len() >= 4, "{expressions:?}");
    for promql in expressions {
        let deadline = Instant::now() + DEADLINE;
        loop {
            // Rates need two samples that differ: keep the counters moving.
            metrics.reconcile_started();
            metrics.reconcile_finished(Duration::from_millis(20));
            metrics.reconcile_failed("jobmanager");
            let data = prometheus.query(&promql).await.expect("Prometheus answers");
            if data["result"]
                .as_array()
                .is_some_and(|result| !result.is_empty())
            {
                break;
            }
            assert!(Instant::now() < deadline, "{promql} answers no data");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    server.abort();
}
