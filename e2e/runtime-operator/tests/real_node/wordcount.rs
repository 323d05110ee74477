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

use super::{NAMESPACE, RUNTIME_IMAGE, eventually, report, run};

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
    let text: String = input_text()
        .lines()
        .map(|line| format!("    {line}\n"))
        .collect();
    format!(
        "apiVersion: v1
kind: ConfigMap
metadata:
  name: {JOB}-input
data:
  words.txt: |
{text}---
apiVersion: v1
kind: Secret
metadata:
  name: {JOB}-s3
type: Opaque
stringData:
  access-key: {access_key}
  secret-key: {secret_key}
---
apiVersion: flinkrs.dev/v1alpha1
kind: FlinkJob
metadata:
  name: {JOB}
spec:
  image: {RUNTIME_IMAGE}
  job:
    builtin: wordcount
    input: /opt/flinkrs/input/words.txt
    output: s3://{bucket}/{JOB}/out
    rate: {RATE}
  parallelism: 2
  taskManager:
    slots: 1
  checkpointing:
    interval: 2s
    storage: s3://{bucket}/{JOB}/checkpoints
    endpoint: {endpoint}
    credentialsSecret:
      name: {JOB}-s3
  upgradeMode: last-state
  savepointOnDelete: true
  flinkConfiguration:
    heartbeat.timeout: 10s
  podTemplate:
    spec:
      volumes:
        - name: input
          configMap:
            name: {JOB}-input
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
}
