//! The chart's Grafana dashboards against the testbed's real Prometheus scraping the node.
//!
//! A FlinkJob with event time runs on the node. Prometheus then scrapes what the Prometheus
//! Operator would have it scrape from the chart: the PodMonitor and the ServiceMonitor that
//! `helm template` renders are looked up as the operator looks them up (their label
//! selectors, the named container or Service port, the path) against the node's pods and
//! EndpointSlices, and become Prometheus scrape targets. (Debian's Prometheus is built
//! without Kubernetes service discovery, so the test resolves the selectors itself.) Every
//! PromQL expression of both dashboards must answer with data: the job dashboard's with its
//! `$job_name` variable set to a value its own variable query (`label_values`) offers.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use flinkrs_testbed::{KubeNode, Prometheus, S3Server};
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Api;
use kube::api::ListParams;
use serde::Deserialize as _;

use super::{
    NAMESPACE, eventually, job_with_input, jobmanager_rest, report, repository_root, run,
    running_job_id, running_pods,
};

/// The monitored FlinkJob.
const JOB: &str = "monitored";
/// Readings in its input, read at [`RATE`] a second: about two minutes of event time moving.
const READINGS: u64 = 12_000;
const RATE: u64 = 100;
/// The chart's release, as `helm install` named it.
const RELEASE: &str = "flinkrs-operator";
const RELEASE_NAMESPACE: &str = "flinkrs-system";

/// Scenario: both dashboards answer from Prometheus scraping the node's pods.
pub async fn every_expression_answers(
    test: &str,
    node: &KubeNode,
    s3: &S3Server,
    kubectl: &Path,
    helm: &Path,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let kubeconfig = node.kubeconfig();
    let monitors = monitors_of_the_chart(helm)?;
    let manifest = tempfile::NamedTempFile::new()?;
    std::fs::write(manifest.path(), monitored_job(s3))?;
    run(Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["apply", "--namespace", NAMESPACE, "-f"])
        .arg(manifest.path()))?;
    let client = node.client().await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
    running_pods(&pods, JOB, "jobmanager", 1).await?;
    running_pods(&pods, JOB, "taskmanager", 2).await?;
    let rest = jobmanager_rest(&client, JOB).await?;
    let job_id = running_job_id(&rest).await?;
    let mut scrape_configs = String::new();
    for monitor in &monitors {
        let targets = monitor.targets(&client).await?;
        scrape_configs.push_str(&monitor.scrape_config(&targets));
    }
    let Some(prometheus) = Prometheus::start_with(test, &scrape_configs).await else {
        return Ok(());
    };
    let job = flinkrs_testbed::http_client::get(&format!("{rest}/jobs/{job_id}")).await?;
    let job: serde_json::Value = serde_json::from_str(&job.body)?;
    let job_name = job["name"]
        .as_str()
        .with_context(|| format!("GET /jobs/{job_id} names no job: {job}"))?
        .to_owned();

    // The job dashboard's variable offers the running job.
    let variable = &dashboard("flinkrs-job-overview.json")?["templating"]["list"][1];
    let variable_query = variable["query"].as_str().unwrap_or_default();
    let Some(selector) = variable_query
        .strip_prefix("label_values(")
        .and_then(|rest| rest.strip_suffix(", job_name)"))
    else {
        bail!(
            "the job dashboard's variable query is no longer label_values(…, job_name): {variable_query}"
        );
    };
    eventually(&format!("{variable_query} offering {job_name}"), || async {
        let values = prometheus.label_values("job_name", selector).await?;
        Ok(values.contains(&job_name).then_some(()))
    })
    .await?;

    let job_expressions = expressions("flinkrs-job-overview.json")?;
    let operator_expressions = expressions("flinkrs-operator.json")?;
    let variable_value = regex_literal(&job_name);
    for promql in job_expressions
        .iter()
        .map(|promql| promql.replace("$job_name", &variable_value))
        .chain(operator_expressions.iter().cloned())
    {
        eventually(&format!("data for {promql}"), || async {
            let data = prometheus.query(&promql).await?;
            Ok(data["result"]
                .as_array()
                .is_some_and(|result| !result.is_empty())
                .then_some(()))
        })
        .await?;
    }
    report(
        test,
        &format!(
            "scenario dashboards: {} job and {} operator expressions answer for job {job_name} \
             in {:?}",
            job_expressions.len(),
            operator_expressions.len(),
            started.elapsed()
        ),
    );
    run(Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args([
            "delete",
            "--namespace",
            NAMESPACE,
            "--wait=true",
            "--timeout=120s",
        ])
        .arg("-f")
        .arg(manifest.path()))?;
    Ok(())
}

fn dashboard(file: &str) -> anyhow::Result<serde_json::Value> {
    let path = repository_root()
        .join("charts/flinkrs-operator/dashboards")
        .join(file);
    let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
    Ok(serde_json::from_str(&text)?)
}

/// Every panel's PromQL in the chart's dashboard `file`.
fn expressions(file: &str) -> anyhow::Result<Vec<String>> {
    let dashboard = dashboard(file)?;
    let mut expressions = Vec::new();
    for panel in dashboard["panels"].as_array().context("no panels")? {
        for target in panel["targets"]
            .as_array()
            .context("a panel without targets")?
        {
            expressions.push(
                target["expr"]
                    .as_str()
                    .context("a target without expr")?
                    .into(),
            );
        }
    }
    Ok(expressions)
}

/// `text` as a PromQL regular expression that matches it alone (Grafana escapes a variable's
/// value the same way in `=~`).
fn regex_literal(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if r"\.+*?()|[]{}^$".contains(character) {
            escaped.push_str(r"\\");
        }
        escaped.push(character);
    }
    escaped
}

/// Which pods a PodMonitor selects, or which Services a ServiceMonitor does.
#[derive(Debug)]
enum Selects {
    Pods,
    Services,
}

/// A PodMonitor or ServiceMonitor of the chart, as the Prometheus Operator reads it.
#[derive(Debug)]
struct Monitor {
    name: String,
    selects: Selects,
    /// `selector.matchLabels`, as a Kubernetes label selector.
    selector: String,
    /// The named container port (PodMonitor) or Service port (ServiceMonitor).
    port: String,
    path: String,
}

/// The PodMonitor and ServiceMonitor of the chart, with both turned on.
fn monitors_of_the_chart(helm: &Path) -> anyhow::Result<Vec<Monitor>> {
    let rendered = run(Command::new(helm)
        .arg("template")
        .arg(RELEASE)
        .arg(repository_root().join("charts/flinkrs-operator"))
        .args(["--namespace", RELEASE_NAMESPACE])
        .args(["--api-versions", "monitoring.coreos.com/v1/PodMonitor"])
        .args(["--set", "podMonitor.enabled=true"])
        .args(["--set", "serviceMonitor.enabled=true"]))?;
    let mut monitors = Vec::new();
    for document in serde_yaml::Deserializer::from_str(&rendered) {
        let resource = serde_yaml::Value::deserialize(document)?;
        let (selects, endpoints) = match resource["kind"].as_str() {
            Some("PodMonitor") => (Selects::Pods, "podMetricsEndpoints"),
            Some("ServiceMonitor") => (Selects::Services, "endpoints"),
            _ => continue,
        };
        let spec = &resource["spec"];
        let name = resource["metadata"]["name"]
            .as_str()
            .context("a monitor without a name")?;
        if matches!(selects, Selects::Pods)
            && spec["namespaceSelector"]["any"].as_bool() != Some(true)
        {
            bail!("the PodMonitor no longer selects every namespace by default: {spec:?}");
        }
        let endpoint = &spec[endpoints][0];
        let text = |value: &serde_yaml::Value, what: &str| {
            value
                .as_str()
                .map(str::to_owned)
                .with_context(|| format!("{name}: no {what}"))
        };
        monitors.push(Monitor {
            name: name.to_owned(),
            selects,
            selector: label_selector(&spec["selector"]["matchLabels"])?,
            port: text(&endpoint["port"], "endpoint port")?,
            path: text(&endpoint["path"], "endpoint path")?,
        });
    }
    if monitors.len() != 2 {
        bail!("the chart renders no PodMonitor and ServiceMonitor pair: {monitors:?}");
    }
    Ok(monitors)
}

/// `matchLabels` as `name=value,…`.
fn label_selector(match_labels: &serde_yaml::Value) -> anyhow::Result<String> {
    let labels = match_labels
        .as_mapping()
        .context("a monitor without selector.matchLabels")?;
    let mut pairs = Vec::new();
    for (name, value) in labels {
        let (Some(name), Some(value)) = (name.as_str(), value.as_str()) else {
            bail!("a matchLabels entry that is not text: {name:?}: {value:?}");
        };
        pairs.push(format!("{name}={value}"));
    }
    Ok(pairs.join(","))
}

impl Monitor {
    /// `address:port` of each Running pod (PodMonitor, every namespace) or each ready
    /// endpoint of the Services (ServiceMonitor, the release's namespace) it selects.
    async fn targets(&self, client: &kube::Client) -> anyhow::Result<Vec<String>> {
        let selected = ListParams::default().labels(&self.selector);
        let mut targets = Vec::new();
        match self.selects {
            Selects::Pods => {
                let pods: Api<Pod> = Api::all(client.clone());
                for pod in pods.list(&selected).await?.items {
                    let running = pod.metadata.deletion_timestamp.is_none()
                        && pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
                    let ip = pod.status.as_ref().and_then(|s| s.pod_ip.clone());
                    let (true, Some(ip), Some(spec)) = (running, ip, pod.spec) else {
                        continue;
                    };
                    let ports = spec
                        .containers
                        .iter()
                        .flat_map(|c| c.ports.iter().flatten());
                    for port in ports.filter(|p| p.name.as_deref() == Some(self.port.as_str())) {
                        targets.push(format!("{ip}:{}", port.container_port));
                    }
                }
            }
            Selects::Services => {
                let services: Api<Service> = Api::namespaced(client.clone(), RELEASE_NAMESPACE);
                let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), RELEASE_NAMESPACE);
                for service in services.list(&selected).await?.items {
                    let owned = ListParams::default().labels(&format!(
                        "kubernetes.io/service-name={}",
                        service.metadata.name.unwrap_or_default()
                    ));
                    for slice in slices.list(&owned).await?.items {
                        let ports = slice.ports.unwrap_or_default();
                        let Some(port) = ports
                            .iter()
                            .find(|p| p.name.as_deref() == Some(self.port.as_str()))
                            .and_then(|p| p.port)
                        else {
                            continue;
                        };
                        for endpoint in slice.endpoints {
                            if endpoint.conditions.and_then(|c| c.ready) == Some(false) {
                                continue;
                            }
                            for address in endpoint.addresses {
                                targets.push(format!("{address}:{port}"));
                            }
                        }
                    }
                }
            }
        }
        if targets.is_empty() {
            bail!(
                "{} ({}) selects no target on the node",
                self.name,
                self.selector
            );
        }
        Ok(targets)
    }

    fn scrape_config(&self, targets: &[String]) -> String {
        let targets: Vec<String> = targets.iter().map(|target| format!("'{target}'")).collect();
        format!(
            "- job_name: '{name}'
  metrics_path: '{path}'
  static_configs:
    - targets: [{targets}]
",
            name = self.name,
            path = self.path,
            targets = targets.join(", "),
        )
    }
}

/// The windowed-sensors job on [`READINGS`] readings a second apart in event time, from a
/// ConfigMap, at parallelism 2, checkpointing to the testbed's S3.
fn monitored_job(s3: &S3Server) -> String {
    let readings: String = (0..READINGS)
        .map(|i| format!("s{},{},{}.5\n", i % 3, 1_000 * i, 20 + i % 7))
        .collect();
    let spec = format!(
        "  job:
    builtin: windowed-sensors
    input: /opt/flinkrs/input/readings.csv
    rate: {RATE}
  parallelism: 2
  taskManager:
    slots: 1
"
    );
    job_with_input(JOB, "readings.csv", &readings, &spec, s3)
}
