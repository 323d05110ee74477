//! The operator and the runtime on a real Kubernetes node ([`KubeNode`]):
//! the chart is `helm install`ed (the operator runs as a pod, from an image
//! built here from `docker/operator.Dockerfile`), an example FlinkJob is
//! `kubectl apply`d (its pods run the image built from
//! `docker/runtime.Dockerfile`), and the job really runs: its pods are Running,
//! its JobManager's REST API says RUNNING, and its checkpoints land in an S3
//! server on the host (s3s-fs on the node's address, which pods reach).
//! Each phase's wall time is printed.
//!
//! The images take the binaries `cargo test` has built (`target/debug/flinkrs`
//! and `target/debug/flinkrs-operator`, next to this test's executable):
//! `cargo test --workspace` builds them; alone, run
//! `cargo build -p flinkrs-cluster --bin flinkrs -p flinkrs-operator --bin flinkrs-operator` first.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

#[path = "real_node/bad_input.rs"]
mod bad_input;
#[path = "real_node/dashboards.rs"]
mod dashboards;
#[path = "real_node/wordcount.rs"]
mod wordcount;
use flinkrs_testbed::{KubeNode, S3Server, base_image_tag, helm, kubectl};
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::Api;
use kube::api::ListParams;

pub const RUNTIME_IMAGE: &str = "local/flinkrs:e2e";
const OPERATOR_IMAGE_REPOSITORY: &str = "local/flinkrs-operator";
const OPERATOR_IMAGE_TAG: &str = "e2e";
/// The example FlinkJob's name (shortened).
const JOB: &str = "ws";
pub const NAMESPACE: &str = "default";
const DEADLINE: Duration = Duration::from_secs(180);

/// Polls `check` until it returns `Some`, for at most [`DEADLINE`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = check().await? {
            return Ok(value);
        }
        if started.elapsed() > DEADLINE {
            bail!("{what}: not within {DEADLINE:?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `target/<profile>/<name>`: this test runs from `target/<profile>/deps/`.
fn built_binary(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .context("the test executable is not in target/<profile>/deps")?;
    let binary = profile_dir.join(name);
    if !binary.is_file() {
        bail!(
            "{} is missing: build it with `cargo build -p flinkrs-cluster --bin flinkrs \
             -p flinkrs-operator --bin flinkrs-operator` (`cargo test --workspace` does)",
            binary.display()
        );
    }
    Ok(binary)
}

/// Runs a command to completion; fails with its stderr.
pub fn run(command: &mut Command) -> anyhow::Result<String> {
    let output = command.output().with_context(|| format!("{command:?}"))?;
    if !output.status.success() {
        bail!(
            "{command:?} failed with {}: {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Builds `dockerfile` with BINARY=prebuilt from a context that holds only
/// `binary`, on the local Debian base image, and loads it into the node.
fn build_image(node: &KubeNode, tag: &str, dockerfile: &str, binary: &Path) -> anyhow::Result<()> {
    let context = tempfile::tempdir()?;
    let name = binary
        .file_name()
        .and_then(|name| name.to_str())
        .context("a binary without a file name")?;
    std::fs::copy(binary, context.path().join(name))?;
    let base = base_image_tag();
    node.build_image(
        tag,
        &repository_root().join("docker").join(dockerfile),
        context.path(),
        &[
            ("BINARY", "prebuilt"),
            ("PREBUILT_PATH", name),
            ("BASE_IMAGE", &base),
        ],
        None,
    )?;
    Ok(())
}

/// examples/flinkjobs/windowed-sensors-s3.yaml with the local image, the
/// testbed's S3 server and a short checkpoint interval.
fn flinkjob_manifest(s3: &S3Server) -> anyhow::Result<String> {
    let example = std::fs::read_to_string(
        repository_root().join("examples/flinkjobs/windowed-sensors-s3.yaml"),
    )?;
    let replacements = [
        (
            "metadata:\n  name: windowed-sensors\n",
            format!("metadata:\n  name: {JOB}\n"),
        ),
        ("image: flinkrs:0.1.0", format!("image: {RUNTIME_IMAGE}")),
        (
            "access-key: minioadmin",
            format!("access-key: {}", s3.access_key),
        ),
        (
            "secret-key: minioadmin",
            format!("secret-key: {}", s3.secret_key),
        ),
        ("interval: 30s", "interval: 2s".to_owned()),
        (
            "storage: s3://flinkrs-checkpoints/windowed-sensors",
            format!("storage: s3://{}/{JOB}", s3.bucket),
        ),
        (
            "endpoint: http://minio.minio.svc:9000",
            format!("endpoint: {}", s3.endpoint),
        ),
    ];
    let mut manifest = example;
    for (from, to) in replacements {
        if !manifest.contains(from) {
            bail!("examples/flinkjobs/windowed-sensors-s3.yaml no longer contains {from:?}");
        }
        manifest = manifest.replace(from, &to);
    }
    if !manifest.ends_with("  savepointOnDelete: true\n") {
        bail!(
            "examples/flinkjobs/windowed-sensors-s3.yaml no longer ends with the FlinkJob's spec"
        );
    }
    Ok(manifest)
}

/// A FlinkJob `name` whose input file `file` (`text`) comes from a ConfigMap mounted at
/// `/opt/flinkrs/input`, checkpointing every 2 s to `s3` with the credentials of a Secret of
/// its own; `spec` holds the rest of its spec (`job`, `parallelism`, …), each line indented
/// as under `spec:`.
pub fn job_with_input(name: &str, file: &str, text: &str, spec: &str, s3: &S3Server) -> String {
    let text: String = text.lines().map(|line| format!("    {line}\n")).collect();
    format!(
        "apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}-input
data:
  {file}: |
{text}---
apiVersion: v1
kind: Secret
metadata:
  name: {name}-s3
type: Opaque
stringData:
  access-key: {access_key}
  secret-key: {secret_key}
---
apiVersion: flinkrs.dev/v1alpha1
kind: FlinkJob
metadata:
  name: {name}
spec:
  image: {RUNTIME_IMAGE}
{spec}  checkpointing:
    interval: 2s
    storage: s3://{bucket}/{name}/checkpoints
    endpoint: {endpoint}
    credentialsSecret:
      name: {name}-s3
  podTemplate:
    spec:
      volumes:
        - name: input
          configMap:
            name: {name}-input
      containers:
        - name: flink-main-container
          volumeMounts:
            - name: input
              mountPath: /opt/flinkrs/input
",
        access_key = s3.access_key,
        secret_key = s3.secret_key,
        bucket = s3.bucket,
        endpoint = s3.endpoint,
    )
}

/// The names of `instance`'s `component` pods that are Running and not being deleted.
async fn pods_of(pods: &Api<Pod>, instance: &str, component: &str) -> anyhow::Result<Vec<String>> {
    let selector =
        format!("app.kubernetes.io/instance={instance},app.kubernetes.io/component={component}");
    let listed = pods.list(&ListParams::default().labels(&selector)).await?;
    Ok(listed
        .items
        .into_iter()
        .filter(|pod| pod.metadata.deletion_timestamp.is_none())
        .filter(|pod| {
            pod.status
                .as_ref()
                .and_then(|status| status.phase.as_deref())
                == Some("Running")
        })
        .filter_map(|pod| pod.metadata.name)
        .collect())
}

/// The names of `instance`'s `component` pods once `count` of them are Running.
async fn running_pods(
    pods: &Api<Pod>,
    instance: &str,
    component: &str,
    count: usize,
) -> anyhow::Result<Vec<String>> {
    eventually(
        &format!("{count} {instance} {component} pod(s) Running"),
        || async {
            let running = pods_of(pods, instance, component).await?;
            Ok((running.len() == count).then_some(running))
        },
    )
    .await
}

/// The REST URL of `instance`'s JobManager: its Service's ClusterIP (kube-proxy).
async fn jobmanager_rest(client: &kube::Client, instance: &str) -> anyhow::Result<String> {
    let services: Api<Service> = Api::namespaced(client.clone(), NAMESPACE);
    let service = services.get(&format!("{instance}-jobmanager")).await?;
    let cluster_ip = service
        .spec
        .and_then(|spec| spec.cluster_ip)
        .context("the JobManager Service has no ClusterIP")?;
    Ok(format!("http://{cluster_ip}:8081"))
}

/// The REST URL of the JobManager pod `name` itself: its pod IP, reachable from the node over
/// its network bridge as soon as the pod runs, without waiting for kube-proxy's rules for the
/// Service. The example's bounded job runs for less than a minute, which kube-proxy, on a
/// loaded machine, has been seen to take.
async fn jobmanager_pod_rest(pods: &Api<Pod>, name: &str) -> anyhow::Result<String> {
    let pod = pods.get(name).await?;
    let ip = pod
        .status
        .and_then(|status| status.pod_ip)
        .context("the Running JobManager pod has no IP")?;
    Ok(format!("http://{ip}:8081"))
}

/// The job's id once the JobManager's REST API lists it as RUNNING.
pub async fn running_job_id(rest: &str) -> anyhow::Result<String> {
    job_id_in_state(rest, &["RUNNING"]).await
}

/// The job's id once the JobManager's REST API lists it in one of `states`.
async fn job_id_in_state(rest: &str, states: &[&str]) -> anyhow::Result<String> {
    let url = format!("{rest}/jobs/overview");
    let last = std::cell::RefCell::new(String::from("no answer yet"));
    let what = format!("the job {} over REST", states.join(" or "));
    let outcome = eventually(&what, || async {
        let response = match flinkrs_testbed::http_client::get(&url).await {
            Ok(response) => response,
            Err(error) => {
                *last.borrow_mut() = error.to_string();
                return Ok(None);
            }
        };
        *last.borrow_mut() = format!("{} {}", response.status, response.body);
        if response.status != 200 {
            return Ok(None);
        }
        let overview: serde_json::Value = serde_json::from_str(&response.body)?;
        let jobs = overview["jobs"].as_array().cloned().unwrap_or_default();
        if jobs.len() > 1 {
            bail!("the JobManager runs {} jobs: {overview}", jobs.len());
        }
        Ok(jobs
            .first()
            .filter(|job| {
                job["state"]
                    .as_str()
                    .is_some_and(|state| states.contains(&state))
            })
            .and_then(|job| job["jid"].as_str().map(str::to_owned)))
    })
    .await;
    outcome.with_context(|| format!("GET {url}, last answer: {}", last.borrow()))
}

/// Completed checkpoint numbers of `job_id` in S3 (`<job>/<id>/chk-<n>/_metadata`).
async fn completed_checkpoints(s3: &S3Server, job_id: &str) -> anyhow::Result<Vec<u64>> {
    let prefix = format!("{JOB}/{job_id}/");
    let listed = s3
        .client()
        .await
        .list_objects_v2()
        .bucket(&s3.bucket)
        .prefix(&prefix)
        .send()
        .await
        .map_err(|error| anyhow::anyhow!("{}", aws_error(&error)))?;
    let mut checkpoints: Vec<u64> = listed
        .contents()
        .iter()
        .filter_map(|object| object.key())
        .filter_map(|key| key.strip_prefix(&prefix)?.strip_suffix("/_metadata"))
        .filter_map(|directory| directory.strip_prefix("chk-")?.parse().ok())
        .collect();
    checkpoints.sort_unstable();
    Ok(checkpoints)
}

pub fn aws_error(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

pub fn report(test: &str, line: &str) {
    let _ = writeln!(std::io::stderr(), "{test}: {line}");
}

#[tokio::test]
async fn a_flinkjob_installed_with_helm_runs_on_the_real_node_and_checkpoints_to_s3()
-> anyhow::Result<()> {
    let test = "a_flinkjob_installed_with_helm_runs_on_the_real_node_and_checkpoints_to_s3";
    let (Some(kubectl), Some(helm)) = (kubectl(test), helm(test)) else {
        return Ok(());
    };
    let started = Instant::now();
    let Some(node) = KubeNode::start(test).await else {
        return Ok(());
    };
    let node_ready = started.elapsed();
    let Some(s3) = S3Server::start_s3s_fs_at(test, node.node_ip()).await else {
        return Ok(());
    };
    let flinkrs = built_binary("flinkrs")?;
    let operator = built_binary("flinkrs-operator")?;
    build_image(&node, RUNTIME_IMAGE, "runtime.Dockerfile", &flinkrs)?;
    let operator_image = format!("{OPERATOR_IMAGE_REPOSITORY}:{OPERATOR_IMAGE_TAG}");
    build_image(&node, &operator_image, "operator.Dockerfile", &operator)?;
    let images_built = started.elapsed();

    // The operator, as a user installs it: the chart, with the local image.
    let kubeconfig = node.kubeconfig().to_owned();
    run(Command::new(&helm)
        .arg("install")
        .arg("flinkrs-operator")
        .arg(repository_root().join("charts/flinkrs-operator"))
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["--namespace", "flinkrs-system", "--create-namespace"])
        .args([
            "--set",
            &format!("image.repository={OPERATOR_IMAGE_REPOSITORY}"),
        ])
        .args(["--set", &format!("image.tag={OPERATOR_IMAGE_TAG}")])
        .args(["--set", "image.pullPolicy=Never"])
        // The job pods' ServiceAccount (high availability's RBAC) in the jobs' namespace.
        .args([
            "--set",
            &format!("jobServiceAccount.namespaces={{{NAMESPACE}}}"),
        ])
        .args(["--wait", "--timeout", "180s"]))?;
    let operator_running = started.elapsed();

    // The example FlinkJob, as a user applies it.
    let manifest = tempfile::NamedTempFile::new()?;
    std::fs::write(manifest.path(), flinkjob_manifest(&s3)?)?;
    run(Command::new(&kubectl)
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["apply", "--namespace", NAMESPACE, "-f"])
        .arg(manifest.path()))?;

    let mut outcome = job_runs_and_checkpoints(
        test,
        &node,
        &s3,
        started,
        node_ready,
        images_built,
        operator_running,
    )
    .await;
    if outcome.is_ok() {
        outcome = wordcount_drills(test, &node, &s3, &kubectl).await;
    }
    if outcome.is_ok() {
        outcome = bad_input::missing_secret_and_bad_image(
            test,
            &kubectl,
            &kubeconfig,
            &s3.bucket,
            &s3.endpoint,
        )
        .await;
    }
    if outcome.is_ok() {
        outcome = dashboards::every_expression_answers(test, &node, &s3, &kubectl, &helm).await;
    }
    if outcome.is_err() {
        print_diagnostics(&kubectl, &kubeconfig);
    }
    outcome
}

/// The example's job is bounded: once it has FINISHED, its JobManager stays up serving it (the
/// operator sets `execution.shutdown-on-application-finish: false`), so its pod is not
/// restarted into running the job again, and the FlinkJob says Finished.
async fn the_finished_example_stays_finished(
    test: &str,
    kubectl: &Path,
    kubeconfig: &Path,
    client: &kube::Client,
    pods: &Api<Pod>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    eventually("the example FlinkJob Finished", || async {
        let phase = run(Command::new(kubectl)
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(["get", "flinkjob", JOB, "--namespace", NAMESPACE])
            .args(["-o", "jsonpath={.status.phase}"]))?;
        Ok((phase.trim() == "Finished").then_some(()))
    })
    .await?;
    let rest = jobmanager_rest(client, JOB).await?;
    let overview = flinkrs_testbed::http_client::get(&format!("{rest}/jobs/overview")).await?;
    let jobs: serde_json::Value = serde_json::from_str(&overview.body)?;
    let states: Vec<&str> = jobs["jobs"]
        .as_array()
        .map(|jobs| {
            jobs.iter()
                .filter_map(|job| job["state"].as_str())
                .collect()
        })
        .unwrap_or_default();
    if states != ["FINISHED"] {
        bail!("the finished example's JobManager reports {jobs}");
    }
    let selector =
        format!("app.kubernetes.io/instance={JOB},app.kubernetes.io/component=jobmanager");
    for pod in pods
        .list(&ListParams::default().labels(&selector))
        .await?
        .items
    {
        let restarts: i32 = pod
            .status
            .and_then(|status| status.container_statuses)
            .unwrap_or_default()
            .iter()
            .map(|container| container.restart_count)
            .sum();
        if restarts != 0 {
            bail!("the finished example's JobManager restarted {restarts} time(s)");
        }
    }
    report(
        test,
        &format!(
            "the finished example stays Finished, its JobManager up and not restarted ({:?})",
            started.elapsed()
        ),
    );
    Ok(())
}

/// The failure drills of [`wordcount`] on one FlinkJob, one after the other, once the example
/// is deleted (two cores run one job at a time well).
async fn wordcount_drills(
    test: &str,
    node: &KubeNode,
    s3: &S3Server,
    kubectl: &Path,
) -> anyhow::Result<()> {
    let kubeconfig = node.kubeconfig();
    let client = node.client().await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
    the_finished_example_stays_finished(test, kubectl, kubeconfig, &client, &pods).await?;
    run(Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["delete", "flinkjob", JOB, "--namespace", NAMESPACE])
        .args(["--wait=true", "--timeout=120s"]))?;
    let started = Instant::now();
    let manifest = tempfile::NamedTempFile::new()?;
    std::fs::write(manifest.path(), wordcount::manifest(s3))?;
    run(Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["apply", "--namespace", NAMESPACE, "-f"])
        .arg(manifest.path()))?;
    running_pods(&pods, wordcount::JOB, "jobmanager", 1).await?;
    running_pods(&pods, wordcount::JOB, "taskmanager", 2).await?;
    let rest = jobmanager_rest(&client, wordcount::JOB).await?;
    let job_id = running_job_id(&rest).await?;
    let first = wordcount::progress_past(s3, 10).await?;
    report(
        test,
        &format!(
            "wordcount job {job_id} RUNNING, output exactly once past {first} lines, in {:?}",
            started.elapsed()
        ),
    );
    let drill = wordcount::Drill {
        kubectl,
        kubeconfig,
        s3,
        pods,
        rest,
        test,
    };
    drill.jobmanager_pod_deleted(&job_id).await?;
    drill.taskmanager_pod_deleted(&job_id).await?;
    drill.scaled(&job_id).await?;
    drill.upgraded(&job_id, 3).await?;
    drill.suspended_and_resumed(&job_id, 3).await?;
    drill.operator_killed_during_upgrade(&job_id, 3).await?;
    drill.deleted_with_a_final_savepoint().await?;
    report(
        test,
        &format!("wordcount drills done in {:?}", started.elapsed()),
    );
    Ok(())
}

/// What the cluster says, for a failed run: pods, the FlinkJob, events and logs.
fn print_diagnostics(kubectl: &Path, kubeconfig: &Path) {
    let commands: [&[&str]; 5] = [
        &["get", "pods", "--all-namespaces", "-o", "wide"],
        &["get", "flinkjobs", "-o", "yaml"],
        &["get", "events", "--all-namespaces"],
        &[
            "logs",
            "--all-containers",
            "--prefix",
            "--tail=60",
            "-l",
            "app.kubernetes.io/name=flinkrs",
        ],
        &[
            "logs",
            "--namespace",
            "flinkrs-system",
            "--tail=60",
            "deployment/flinkrs-operator",
        ],
    ];
    for args in commands {
        let output = Command::new(kubectl)
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(args)
            .output();
        let text = match output {
            Ok(output) => format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
            Err(error) => error.to_string(),
        };
        let _ = writeln!(
            std::io::stderr(),
            "---- kubectl {} ----\n{text}",
            args.join(" ")
        );
    }
}

async fn job_runs_and_checkpoints(
    test: &str,
    node: &KubeNode,
    s3: &S3Server,
    started: Instant,
    node_ready: Duration,
    images_built: Duration,
    operator_running: Duration,
) -> anyhow::Result<()> {
    let client = node.client().await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
    let jobmanagers = running_pods(&pods, JOB, "jobmanager", 1).await?;
    // parallelism 3 at 2 slots per TaskManager: 2 TaskManagers.
    running_pods(&pods, JOB, "taskmanager", 2).await?;
    let pods_running = started.elapsed();

    let rest = jobmanager_pod_rest(&pods, &jobmanagers[0]).await?;
    // The built-in job is bounded (a few seconds of readings): it may have FINISHED by the
    // time the pods are seen Running. Either way it completed checkpoints, and a finished
    // job keeps its latest ones (FLIP-147's final checkpoint among them).
    let job_id = job_id_in_state(&rest, &["RUNNING", "FINISHED"]).await?;
    let job_running = started.elapsed();
    let checkpoints = eventually("a completed checkpoint of the job in S3", || async {
        let checkpoints = completed_checkpoints(s3, &job_id).await?;
        Ok((!checkpoints.is_empty()).then_some(checkpoints))
    })
    .await?;
    let checkpointed = started.elapsed();
    report(
        test,
        &format!(
            "node Ready {node_ready:?}, images built {images_built:?}, operator Running \
             {operator_running:?}, job pods Running {pods_running:?}, job {job_id} RUNNING or \
             FINISHED {job_running:?}, checkpoints {checkpoints:?} in S3 at {checkpointed:?}"
        ),
    );
    Ok(())
}
