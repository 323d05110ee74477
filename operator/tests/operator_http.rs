//! The operator's HTTP endpoint: `/healthz` and `/metrics` in Prometheus format.

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use flinkrs_operator::{crd::JobPhase, health::ControllerHealth, http_server, metrics::Metrics};

async fn get(address: std::net::SocketAddr, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connects");
    let request = format!("GET {path} HTTP/1.1\r\nHost: operator\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("request sent");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .expect("response read");
    response
}

#[tokio::test]
async fn healthz_follows_the_controller_loop_and_metrics_serves_the_prometheus_text_format() {
    let metrics = Arc::new(Metrics::new());
    metrics.reconcile_started();
    metrics.set_phase("jobs/wordcount", Some(JobPhase::Running));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let address = listener.local_addr().expect("an address");
    let controller = Arc::new(ControllerHealth::new(std::time::Duration::from_secs(60)));
    let server = tokio::spawn(http_server::serve(
        listener,
        metrics.clone(),
        controller.clone(),
    ));

    let stopped = get(address, "/healthz").await;
    assert!(
        stopped.starts_with("HTTP/1.1 503 Service Unavailable\r\n")
            && stopped.ends_with("\r\n\r\nthe controller loop is not running\n"),
        "{stopped}"
    );
    controller.set_running(true);
    let health = get(address, "/healthz").await;
    assert!(health.starts_with("HTTP/1.1 200 OK\r\n"), "{health}");
    assert!(health.ends_with("\r\n\r\nok\n"), "{health}");

    let scrape = get(address, "/metrics").await;
    assert!(scrape.starts_with("HTTP/1.1 200 OK\r\n"), "{scrape}");
    assert!(
        scrape.contains("content-type: text/plain; version=0.0.4\r\n"),
        "{scrape}"
    );
    for line in [
        "flinkrs_operator_reconciles_total 1\n",
        "flinkrs_operator_jobs{phase=\"Running\"} 1\n",
        "flinkrs_operator_reconcile_duration_seconds_count 0\n",
    ] {
        assert!(scrape.contains(line), "missing {line:?} in:\n{scrape}");
    }
    server.abort();
}
