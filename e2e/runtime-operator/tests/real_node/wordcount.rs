//! Failure drills on the real node with a job whose committed output shows a duplicate or a
//! gap: the built-in WordCount, in streaming mode, over a text mounted from a ConfigMap and
//! throttled with `job.rate`, writing every updated count `(word,n)` to S3 through the
//! exactly-once file sink. A word's updates come from one keyed subtask, in order, so in
//! exactly-once output each word's counts are `1, 2, ..., k`, each once: a record replayed
//! after a failure and committed twice shows up as a repeated count, a lost one as a gap, and
//! a job that lost its state starts a word again at 1. The word `line` is on every line, so
//! its highest committed count is how far the job has read.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use flinkrs_testbed::S3Server;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;

use super::{NAMESPACE, eventually, job_with_input, report, run};

/// The FlinkJob's name, and its high-availability cluster id.
pub const JOB: &str = "wc";
/// Lines of the input text: far more than a test reads at [`RATE`], so the job never ends.
const LINES: usize = 8_000;
/// Lines per second per source subtask.
const RATE: u64 = 5;
/// How far past a failure the committed output must get before a drill counts as recovered.
const PROGRESS: u64 = 15;

/// The input text: line `i` holds `a<i mod 7> b<i mod 5> c<i mod 3> line`.
fn input_text() -> String {
    (0..LINES)
        .map(|i| format!("a{} b{} c{} line\n", i % 7, i % 5, i % 3))
        .collect()
}

/// The ConfigMap with the text, the Secret with the S3 credentials, and the FlinkJob:
/// parallelism 2 on TaskManagers of one slot (so one TaskManager can be lost), last-state
/// upgrades, checkpoints every 2 s, high availability from the chart's default, and a short
/// heartbeat timeout so a lost TaskManager is noticed within seconds.
pub fn manifest(s3: &S3Server) -> String {
    let spec = format!(
        "  job:
    builtin: wordcount
    input: /opt/flinkrs/input/words.txt
    output: s3://{bucket}/{JOB}/out
    rate: {RATE}
  parallelism: 2
  taskManager:
    slots: 1
  upgradeMode: last-state
  savepointOnDelete: true
  flinkConfiguration:
    heartbeat.timeout: 10s
",
        bucket = s3.bucket
    );
    job_with_input(JOB, "words.txt", &input_text(), &spec, s3)
}

/// Every committed `(word,count)` record under `wc/out/`, as each word's counts.
async fn committed_counts(s3: &S3Server) -> anyhow::Result<BTreeMap<String, Vec<u64>>> {
    let client = s3.client().await;
    let prefix = format!("{JOB}/out/");
    let listed = client
        .list_objects_v2()
        .bucket(&s3.bucket)
        .prefix(&prefix)
        .send()
        .await
        .map_err(|error| anyhow::anyhow!("listing {prefix}: {}", super::aws_error(&error)))?;
    let mut counts: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for key in listed.contents().iter().filter_map(|object| object.key()) {
        let name = key.rsplit('/').next().unwrap_or_default();
        if name.starts_with('.') {
            bail!("a hidden (in-progress) object is visible in S3: {key}");
        }
        let object = client
            .get_object()
            .bucket(&s3.bucket)
            .key(key)
            .send()
            .await
            .map_err(|error| anyhow::anyhow!("reading {key}: {}", super::aws_error(&error)))?;
        let bytes = object.body.collect().await?.into_bytes();
        let text = String::from_utf8(bytes.to_vec()).with_context(|| key.to_owned())?;
        for line in text.lines() {
            let (word, count) = line
                .strip_prefix('(')
                .and_then(|rest| rest.strip_suffix(')'))
                .and_then(|pair| pair.split_once(','))
                .with_context(|| format!("{key}: not a (word,count) record: {line:?}"))?;
            let count: u64 = count.parse().with_context(|| format!("{key}: {line:?}"))?;
            counts.entry(word.to_owned()).or_default().push(count);
        }
    }
    Ok(counts)
}

/// Checks that the committed output is exactly once (each word's counts are 1..=k, each
/// once) and only holds the text's words; returns how many lines it covers (the count of
/// `line`).
pub async fn exactly_once_progress(s3: &S3Server) -> anyhow::Result<u64> {
    let counts = committed_counts(s3).await?;
    let vocabulary: Vec<String> = (0..7)
        .map(|i| format!("a{i}"))
        .chain((0..5).map(|i| format!("b{i}")))
        .chain((0..3).map(|i| format!("c{i}")))
        .chain(["line".to_owned()])
        .collect();
    for (word, word_counts) in &counts {
        ensure!(
            vocabulary.contains(word),
            "the output holds a word that is not in the text: {word}"
        );
        let mut sorted = word_counts.clone();
        sorted.sort_unstable();
        let expected: Vec<u64> = (1..=sorted.len() as u64).collect();
        if sorted != expected {
            let duplicates: Vec<u64> = sorted
                .windows(2)
                .filter(|pair| pair[0] == pair[1])
                .map(|pair| pair[0])
                .collect();
            let highest = sorted.last().copied().unwrap_or_default();
            let missing: Vec<u64> = (1..=highest)
                .filter(|count| sorted.binary_search(count).is_err())
                .take(10)
                .collect();
            bail!(
                "the committed output is not exactly once: '{word}' has {} records, counts \
                 repeated {duplicates:?}, counts missing {missing:?}",
                sorted.len()
            );
        }
    }
    Ok(counts.get("line").map_or(0, |counts| counts.len() as u64))
}

/// Waits until the committed output covers at least `lines` lines, checking on every look
/// that it is exactly once.
pub async fn progress_past(s3: &S3Server, lines: u64) -> anyhow::Result<u64> {
    eventually(
        &format!("the committed output exactly once and past line {lines}"),
        || async {
            let covered = exactly_once_progress(s3).await?;
            Ok((covered >= lines).then_some(covered))
        },
    )
    .await
}

/// The names of the pods of `component` that are Running and not being deleted.
pub async fn pod_names(pods: &Api<Pod>, component: &str) -> anyhow::Result<Vec<String>> {
    super::pods_of(pods, JOB, component).await
}

/// The FlinkJob's `status.jobId` and `status.phase`.
pub fn flinkjob_status(kubectl: &Path, kubeconfig: &Path) -> anyhow::Result<(String, String)> {
    let output = run(Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["get", "flinkjob", JOB, "--namespace", NAMESPACE])
        .args(["-o", "jsonpath={.status.jobId} {.status.phase}"]))?;
    let (job_id, phase) = output.trim().split_once(' ').unwrap_or((output.trim(), ""));
    Ok((job_id.to_owned(), phase.to_owned()))
}

/// `url`'s JSON body, from a 200 answer.
async fn get_json(url: &str) -> anyhow::Result<serde_json::Value> {
    let response = flinkrs_testbed::http_client::get(url).await?;
    ensure!(
        response.status == 200,
        "GET {url}: {} {}",
        response.status,
        response.body
    );
    Ok(serde_json::from_str(&response.body)?)
}

/// Everything the drills need.
pub struct Drill<'a> {
    pub kubectl: &'a Path,
    pub kubeconfig: &'a Path,
    pub s3: &'a S3Server,
    pub pods: Api<Pod>,
    pub rest: String,
    pub test: &'a str,
}

impl Drill<'_> {
    fn kubectl(&self, args: &[&str]) -> anyhow::Result<String> {
        run(Command::new(self.kubectl)
            .arg("--kubeconfig")
            .arg(self.kubeconfig)
            .args(["--namespace", NAMESPACE])
            .args(args))
    }

    /// Deletes `pod` and waits for `component` to have `count` Running pods again, none of
    /// them `pod`.
    async fn replace_pod(&self, component: &str, pod: &str, count: usize) -> anyhow::Result<()> {
        self.kubectl(&["delete", "pod", pod, "--wait=false"])?;
        eventually(
            &format!("{count} {component} pod(s) Running that replace {pod}"),
            || async {
                let running = pod_names(&self.pods, component).await?;
                Ok(
                    (running.len() == count && !running.iter().any(|name| name == pod))
                        .then_some(()),
                )
            },
        )
        .await
    }

    /// Scenario: the JobManager pod is deleted. Its Deployment starts a new one, which takes
    /// the lead, finds the job's latest checkpoint in the high-availability ConfigMap and
    /// recovers the job from it under the same job id; the output goes on exactly once.
    pub async fn jobmanager_pod_deleted(&self, job_id: &str) -> anyhow::Result<()> {
        let started = Instant::now();
        let before = exactly_once_progress(self.s3).await?;
        let jobmanager = pod_names(&self.pods, "jobmanager")
            .await?
            .pop()
            .context("no JobManager pod")?;
        self.replace_pod("jobmanager", &jobmanager, 1).await?;
        let recovered = super::running_job_id(&self.rest).await?;
        ensure!(
            recovered == job_id,
            "with high availability the recovered job keeps its id {job_id}, not {recovered}"
        );
        let new_jobmanager = pod_names(&self.pods, "jobmanager")
            .await?
            .pop()
            .context("no JobManager pod")?;
        let logs = self.kubectl(&["logs", &new_jobmanager])?;
        ensure!(
            logs.contains(&format!(
                "High availability: recovering job {job_id} from its latest checkpoint"
            )),
            "the new JobManager {new_jobmanager} did not recover from the high-availability \
             ConfigMap:\n{logs}"
        );
        let after = progress_past(self.s3, before + PROGRESS).await?;
        let (status_job_id, phase) = eventually("the FlinkJob Running again", || async {
            let (id, phase) = flinkjob_status(self.kubectl, self.kubeconfig)?;
            Ok((phase == "Running" && !id.is_empty()).then_some((id, phase)))
        })
        .await?;
        ensure!(
            status_job_id == job_id,
            "status.jobId is {status_job_id}, phase {phase}"
        );
        report(
            self.test,
            &format!(
                "scenario JobManager pod deleted: job {job_id} recovered from its latest \
                 checkpoint, output exactly once from {before} to {after} lines, in {:?}",
                started.elapsed()
            ),
        );
        Ok(())
    }

    /// Scenario: a TaskManager pod is deleted. The job restarts from its latest checkpoint on
    /// the replacement, and the output goes on exactly once.
    pub async fn taskmanager_pod_deleted(&self, job_id: &str) -> anyhow::Result<()> {
        let started = Instant::now();
        let before = exactly_once_progress(self.s3).await?;
        let taskmanager = pod_names(&self.pods, "taskmanager")
            .await?
            .pop()
            .context("no TaskManager pod")?;
        self.replace_pod("taskmanager", &taskmanager, 2).await?;
        let after = progress_past(self.s3, before + PROGRESS).await?;
        let running = super::running_job_id(&self.rest).await?;
        ensure!(running == job_id, "the job is {running}, not {job_id}");
        report(
            self.test,
            &format!(
                "scenario TaskManager pod deleted: output exactly once from {before} to {after} \
                 lines, in {:?}",
                started.elapsed()
            ),
        );
        Ok(())
    }

    /// A field of the FlinkJob, by JSONPath (`{.status.phase}`).
    fn field(&self, path: &str) -> anyhow::Result<String> {
        Ok(self
            .kubectl(&["get", "flinkjob", JOB, "-o", &format!("jsonpath={path}")])?
            .trim()
            .to_owned())
    }

    fn cluster_generation(&self) -> anyhow::Result<i64> {
        let generation = self.field("{.status.clusterGeneration}")?;
        Ok(generation.parse().unwrap_or(0))
    }

    fn patch(&self, patch: &str) -> anyhow::Result<()> {
        self.kubectl(&["patch", "flinkjob", JOB, "--type", "merge", "-p", patch])?;
        Ok(())
    }

    /// Waits for the cluster the operator deployed after `generation` to run the job with
    /// `taskmanagers` TaskManagers, and for the output to go on exactly once from there:
    /// state kept means no word starts again at 1. Returns the lines covered.
    async fn redeployed(
        &self,
        generation: i64,
        taskmanagers: usize,
        job_id: &str,
    ) -> anyhow::Result<(u64, u64)> {
        eventually(
            &format!("the FlinkJob Running on a cluster newer than generation {generation}"),
            || async {
                let redeployed = self.cluster_generation()? > generation
                    && self.field("{.status.phase}")? == "Running";
                Ok(redeployed.then_some(()))
            },
        )
        .await?;
        super::running_pods(&self.pods, JOB, "taskmanager", taskmanagers).await?;
        let running = super::running_job_id(&self.rest).await?;
        ensure!(running == job_id, "the job is {running}, not {job_id}");
        let before = exactly_once_progress(self.s3).await?;
        let after = progress_past(self.s3, before + PROGRESS).await?;
        Ok((before, after))
    }

    /// Scenario: `kubectl scale fj/wc --replicas=3`, the CRD's scale subresource. The
    /// operator rescales in last-state mode: a third TaskManager, the job restored at
    /// parallelism 3 from its latest checkpoint.
    pub async fn scaled(&self, job_id: &str) -> anyhow::Result<()> {
        let started = Instant::now();
        let generation = self.cluster_generation()?;
        self.kubectl(&["scale", &format!("flinkjob/{JOB}"), "--replicas=3"])?;
        let (before, after) = self.redeployed(generation, 3, job_id).await?;
        let details = get_json(&format!("{}/jobs/{job_id}", self.rest)).await?;
        let parallelism: Vec<i64> = details["vertices"]
            .as_array()
            .map(|vertices| {
                vertices
                    .iter()
                    .filter_map(|vertex| vertex["parallelism"].as_i64())
                    .collect()
            })
            .unwrap_or_default();
        ensure!(
            parallelism.contains(&3),
            "no operator runs at parallelism 3 after the rescale: {details}"
        );
        report(
            self.test,
            &format!(
                "scenario kubectl scale --replicas=3: parallelism {parallelism:?}, output exactly \
                 once from {before} to {after} lines, in {:?}",
                started.elapsed()
            ),
        );
        Ok(())
    }

    /// Scenario: upgrades. In last-state mode (a new restartNonce) the new cluster's
    /// JobManager recovers the job from the high-availability ConfigMap; in savepoint mode the
    /// operator stops the job with a savepoint, clears the ConfigMap and starts the new
    /// cluster from the savepoint, which is in S3.
    pub async fn upgraded(&self, job_id: &str, taskmanagers: usize) -> anyhow::Result<()> {
        let started = Instant::now();
        let generation = self.cluster_generation()?;
        self.patch(r#"{"spec":{"restartNonce":1}}"#)?;
        let (before, after) = self.redeployed(generation, taskmanagers, job_id).await?;
        report(
            self.test,
            &format!(
                "scenario last-state upgrade: output exactly once from {before} to {after} \
                 lines, in {:?}",
                started.elapsed()
            ),
        );
        let started = Instant::now();
        let generation = self.cluster_generation()?;
        self.patch(r#"{"spec":{"upgradeMode":"savepoint","restartNonce":2}}"#)?;
        let (before, after) = self.redeployed(generation, taskmanagers, job_id).await?;
        let savepoint = self.field("{.status.lastSavepoint.path}")?;
        self.savepoint_in_s3(&savepoint).await?;
        report(
            self.test,
            &format!(
                "scenario savepoint upgrade: from {savepoint}, output exactly once from \
                 {before} to {after} lines, in {:?}",
                started.elapsed()
            ),
        );
        Ok(())
    }

    /// Checks that `path` (`s3://bucket/key`) is a savepoint with its `_metadata` in S3.
    async fn savepoint_in_s3(&self, path: &str) -> anyhow::Result<()> {
        let key = path
            .strip_prefix(&format!("s3://{}/", self.s3.bucket))
            .with_context(|| format!("the savepoint {path:?} is not in the test's bucket"))?;
        let metadata = format!("{}/_metadata", key.trim_end_matches('/'));
        self.s3
            .client()
            .await
            .head_object()
            .bucket(&self.s3.bucket)
            .key(&metadata)
            .send()
            .await
            .map_err(|error| {
                anyhow::anyhow!("savepoint {path}: {metadata}: {}", super::aws_error(&error))
            })?;
        Ok(())
    }

    /// Scenario: suspend (spec.state suspended: in savepoint mode a savepoint, then no pods)
    /// and resume from it.
    pub async fn suspended_and_resumed(
        &self,
        job_id: &str,
        taskmanagers: usize,
    ) -> anyhow::Result<()> {
        let started = Instant::now();
        self.patch(r#"{"spec":{"state":"suspended"}}"#)?;
        eventually("the FlinkJob Suspended with no pods", || async {
            let suspended = self.field("{.status.phase}")? == "Suspended"
                && pod_names(&self.pods, "jobmanager").await?.is_empty()
                && pod_names(&self.pods, "taskmanager").await?.is_empty();
            Ok(suspended.then_some(()))
        })
        .await?;
        let savepoint = self.field("{.status.lastSavepoint.path}")?;
        self.savepoint_in_s3(&savepoint).await?;
        let generation = self.cluster_generation()?;
        self.patch(r#"{"spec":{"state":"running"}}"#)?;
        let (before, after) = self.redeployed(generation, taskmanagers, job_id).await?;
        report(
            self.test,
            &format!(
                "scenario suspend and resume: savepoint {savepoint}, output exactly once from \
                 {before} to {after} lines, in {:?}",
                started.elapsed()
            ),
        );
        Ok(())
    }

    /// Scenario: the operator pod is deleted in the middle of a savepoint upgrade (its
    /// savepoint triggered and recorded in the status); the new operator pod finishes it.
    pub async fn operator_killed_during_upgrade(
        &self,
        job_id: &str,
        taskmanagers: usize,
    ) -> anyhow::Result<()> {
        let started = Instant::now();
        let generation = self.cluster_generation()?;
        self.patch(r#"{"spec":{"restartNonce":3}}"#)?;
        eventually("the upgrade's savepoint pending in the status", || async {
            let pending = self.field("{.status.pendingSavepoint.triggerId}")?;
            Ok((!pending.is_empty() || self.cluster_generation()? > generation).then_some(()))
        })
        .await?;
        let in_the_middle = self.cluster_generation()? == generation;
        run(Command::new(self.kubectl)
            .arg("--kubeconfig")
            .arg(self.kubeconfig)
            .args(["delete", "pod", "--namespace", "flinkrs-system"])
            .args([
                "-l",
                "app.kubernetes.io/name=flinkrs-operator",
                "--wait=false",
            ]))?;
        let (before, after) = self.redeployed(generation, taskmanagers, job_id).await?;
        let reconciled = self.field("{.status.lastReconciledSpec}")?;
        ensure!(
            reconciled.contains("\"restartNonce\":3"),
            "the new operator did not record the upgraded spec: {reconciled}"
        );
        report(
            self.test,
            &format!(
                "scenario operator pod deleted during a savepoint upgrade (savepoint pending: \
                 {in_the_middle}): converged, output exactly once from {before} to {after} \
                 lines, in {:?}",
                started.elapsed()
            ),
        );
        Ok(())
    }

    /// Scenario: `kubectl delete flinkjob` with savepointOnDelete: a final savepoint lands in
    /// S3, and the FlinkJob, its pods and its high-availability ConfigMap go.
    pub async fn deleted_with_a_final_savepoint(&self) -> anyhow::Result<()> {
        let started = Instant::now();
        let before = self.field("{.status.lastSavepoint.path}")?;
        let committed_before = exactly_once_progress(self.s3).await?;
        self.kubectl(&["delete", "flinkjob", JOB, "--wait=true", "--timeout=120s"])?;
        let events = self.kubectl(&[
            "get",
            "events",
            "--field-selector",
            &format!("involvedObject.name={JOB}"),
            "-o",
            "jsonpath={range .items[*]}{.message}{\"\\n\"}{end}",
        ])?;
        let savepoint = events
            .lines()
            .filter_map(|line| {
                line.split_whitespace()
                    .find(|word| word.starts_with("s3://"))
            })
            .map(|path| path.trim_end_matches([',', '.', ';', ')']))
            .rfind(|path| path.contains("/savepoints/") && *path != before)
            .with_context(|| format!("no event names the final savepoint:\n{events}"))?
            .to_owned();
        self.savepoint_in_s3(&savepoint).await?;
        eventually(
            "the FlinkJob's pods and high-availability ConfigMap gone",
            || async {
                let pods_gone = pod_names(&self.pods, "jobmanager").await?.is_empty()
                    && pod_names(&self.pods, "taskmanager").await?.is_empty();
                let config_maps = self.kubectl(&["get", "configmaps", "-o", "name"])?;
                Ok(
                    (pods_gone && !config_maps.contains(&format!("{JOB}-cluster-config-map")))
                        .then_some(()),
                )
            },
        )
        .await?;
        let committed = exactly_once_progress(self.s3).await?;
        ensure!(
            committed >= committed_before,
            "committed output went missing"
        );
        report(
            self.test,
            &format!(
                "scenario delete with a final savepoint: {savepoint}, output exactly once up to \
                 {committed} lines, in {:?}",
                started.elapsed()
            ),
        );
        Ok(())
    }
}
