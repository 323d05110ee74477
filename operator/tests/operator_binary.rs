//! The `flinkrs-operator` binary itself against the testbed's API server: its
//! flags and environment, leader election, `/healthz` and `/metrics`.

mod support;

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use flinkrs_operator::crd::{FlinkJob, JobPhase};

/// Kills the operator process when the test ends, however it ends.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn http_get(port: u16, path: &str) -> Option<String> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: operator\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    Some(response)
}

#[tokio::test]
async fn the_operator_binary_takes_the_lease_reconciles_and_serves_metrics() {
    let test = "the_operator_binary_takes_the_lease_reconciles_and_serves_metrics";
    let Some(control_plane) = flinkrs_testbed::KubeControlPlane::start(test).await else {
        return;
    };
    let client = control_plane.client().await;
    support::install_crd(&client).await;
    support::create_namespace(&client, "jobs").await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a port")
        .local_addr()
        .expect("address")
        .port();

    let operator = Command::new(env!("CARGO_BIN_EXE_flinkrs-operator"))
        .env("KUBECONFIG", control_plane.kubeconfig())
        .env("FLINKRS_LEADER_ELECTION", "true")
        .env("POD_NAMESPACE", "default")
        .env("POD_NAME", "operator-0")
        .env("FLINKRS_WATCH_NAMESPACES", "jobs")
        .env("FLINKRS_LOG_FORMAT", "json")
        .env("FLINKRS_HTTP_ADDRESS", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the operator binary starts");
    let _operator = KillOnDrop(operator);
    let health_port = port;

    let leases: Api<Lease> = Api::namespaced(client.clone(), "default");
    support::eventually(
        "operator-0 to hold the Lease",
        Duration::from_secs(60),
        || {
            let leases = leases.clone();
            async move {
                let lease = leases.get_opt("flinkrs-operator").await.ok()??;
                (lease.spec?.holder_identity.as_deref() == Some("operator-0")).then_some(())
            }
        },
    )
    .await;
    let health = support::eventually(
        "/healthz to answer ok",
        Duration::from_secs(30),
        || async move {
            http_get(health_port, "/healthz")
                .await
                .filter(|health| health.starts_with("HTTP/1.1 200 OK\r\n"))
        },
    )
    .await;
    assert!(
        health.starts_with("HTTP/1.1 200 OK\r\n") && health.ends_with("ok\n"),
        "{health}"
    );

    support::apply_example(&client, "jobs", "wordcount.yaml").await;
    let jobs: Api<FlinkJob> = Api::namespaced(client.clone(), "jobs");
    // The binary speaks HTTP to the JobManager's Service, which no pod serves here (there is
    // no kubelet): the FlinkJob is deployed and says the JobManager is unreachable.
    let status = support::eventually(
        "wordcount deployed, its JobManager unreachable",
        Duration::from_secs(60),
        || {
            let jobs = jobs.clone();
            async move {
                let status = jobs.get("wordcount").await.ok()?.status?;
                let degraded = status.condition("Degraded")?;
                (degraded.status == "True" && degraded.reason == "JobManagerUnreachable")
                    .then_some(status)
            }
        },
    )
    .await;
    assert_eq!(status.phase, Some(JobPhase::Deploying));
    // Expected while a cluster starts: in the status, not as a Warning event (the readiness
    // timeout reports it if it lasts).
    let events = Api::<k8s_openapi::api::events::v1::Event>::namespaced(client.clone(), "jobs")
        .list(&Default::default())
        .await
        .expect("events listed");
    let warnings: Vec<String> = events
        .items
        .into_iter()
        .filter(|event| event.type_.as_deref() == Some("Warning"))
        .filter_map(|event| event.reason)
        .collect();
    assert_eq!(warnings, Vec::<String>::new());
    let message = &status.condition("Degraded").expect("Degraded").message;
    assert!(
        message.starts_with(
            "JobManager at http://wordcount-jobmanager.jobs.svc:8081/jobs/overview is unreachable: "
        ),
        "{message}"
    );
    let metrics = support::eventually(
        "the Deploying job in /metrics",
        Duration::from_secs(10),
        || async {
            http_get(port, "/metrics")
                .await
                .filter(|m| m.contains("flinkrs_operator_jobs{phase=\"Deploying\"} 1\n"))
        },
    )
    .await;
    assert!(
        metrics.contains("flinkrs_operator_reconcile_duration_seconds_bucket{le=\"0.01\"}"),
        "{metrics}"
    );

    // SIGTERM, as Kubernetes sends it: the operator releases the Lease and exits cleanly.
    let pid = _operator.0.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let mut operator = _operator;
    let exit = support::eventually("the operator to exit", Duration::from_secs(30), || {
        let exited = operator.0.try_wait().ok().flatten();
        async move { exited }
    })
    .await;
    assert!(exit.success(), "{exit:?}");
    let lease = leases.get("flinkrs-operator").await.expect("the Lease");
    let spec = lease.spec.expect("a spec");
    assert_eq!(spec.holder_identity, None, "the Lease was released");
    assert_eq!(spec.lease_duration_seconds, Some(1));
}
