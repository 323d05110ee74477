//! A real Prometheus scrapes a target served by the test and answers PromQL.

use std::time::{Duration, Instant};

use anyhow::bail;
use flinkrs_testbed::Prometheus;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const DEADLINE: Duration = Duration::from_secs(60);
const EXPOSITION: &str = "# HELP flinkrs_testbed_records_in Records read by the test source.
# TYPE flinkrs_testbed_records_in counter
flinkrs_testbed_records_in{operator=\"source\"} 4217
";

/// Serves EXPOSITION at any path, one connection at a time, forever (the
/// task ends with the test's runtime).
async fn serve_metrics(listener: TcpListener) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let mut request = Vec::new();
        let mut buffer = [0_u8; 1024];
        while !request.windows(4).any(|window| window == b"\r\n\r\n") {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(read) => request.extend_from_slice(&buffer[..read]),
            }
        }
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{EXPOSITION}",
            EXPOSITION.len()
        );
        let _ = stream.write_all(response.as_bytes()).await;
    }
}

#[tokio::test]
async fn a_scraped_counter_is_queryable_with_its_exact_value() -> anyhow::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let target = listener.local_addr()?.to_string();
    tokio::spawn(serve_metrics(listener));
    let Some(prometheus) = Prometheus::start(
        "a_scraped_counter_is_queryable_with_its_exact_value",
        std::slice::from_ref(&target),
    )
    .await
    else {
        return Ok(());
    };

    let started = Instant::now();
    let data = loop {
        let data = prometheus.query("flinkrs_testbed_records_in").await?;
        if data["result"]
            .as_array()
            .is_some_and(|result| !result.is_empty())
        {
            break data;
        }
        if started.elapsed() > DEADLINE {
            bail!("Prometheus had no sample after {DEADLINE:?}: {data}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(data["resultType"], "vector");
    let series = &data["result"][0];
    assert_eq!(
        series["metric"],
        serde_json::json!({
            "__name__": "flinkrs_testbed_records_in",
            "instance": target,
            "job": "testbed",
            "operator": "source",
        })
    );
    assert_eq!(series["value"][1], "4217");

    let up = prometheus.query("up{job=\"testbed\"}").await?;
    assert_eq!(up["result"][0]["value"][1], "1");
    Ok(())
}
