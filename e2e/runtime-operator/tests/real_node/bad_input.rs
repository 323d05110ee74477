//! Bad input on the real node: a FlinkJob whose credentials Secret does not exist, one whose
//! image cannot be had, one whose S3 endpoint nothing listens on, and one with a misspelled
//! configuration key. Within a bounded time each FlinkJob's Degraded condition and a Warning
//! event name the problem: the kubelet's reason and the missing Secret or image, the failing
//! checkpoints and the endpoint, or the invalid spec and the key.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::Context;

use super::{NAMESPACE, RUNTIME_IMAGE, eventually, report, run};

/// A FlinkJob that cannot run as `image` with the credentials Secret `secret`.
fn flinkjob(name: &str, image: &str, secret: &str, bucket: &str, endpoint: &str) -> String {
    format!(
        "apiVersion: flinkrs.dev/v1alpha1
kind: FlinkJob
metadata:
  name: {name}
spec:
  image: {image}
  job:
    builtin: wordcount
    rate: 1
  parallelism: 1
  checkpointing:
    interval: 2s
    storage: s3://{bucket}/{name}
    endpoint: {endpoint}
    credentialsSecret:
      name: {secret}
"
    )
}

/// What the Degraded condition and the Warning events of FlinkJob `name` say.
fn degraded_and_warnings(kubectl: &Path, kubeconfig: &Path, name: &str) -> anyhow::Result<String> {
    let kubectl = |args: &[&str]| {
        run(Command::new(kubectl)
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(["--namespace", NAMESPACE])
            .args(args))
    };
    let condition = kubectl(&[
        "get",
        "flinkjob",
        name,
        "-o",
        "jsonpath={.status.conditions[?(@.type==\"Degraded\")].status} \
         {.status.conditions[?(@.type==\"Degraded\")].reason}: \
         {.status.conditions[?(@.type==\"Degraded\")].message}",
    ])?;
    let events = kubectl(&[
        "get",
        "events",
        "--field-selector",
        &format!("involvedObject.name={name},involvedObject.kind=FlinkJob,type=Warning"),
        "-o",
        "jsonpath={range .items[*]}{.reason}: {.message}{\"\\n\"}{end}",
    ])?;
    Ok(format!("{condition}\n{events}"))
}

/// Scenario: a missing Secret, a bad image, an unreachable S3 endpoint and a misspelled key,
/// side by side.
pub async fn missing_secret_and_bad_image(
    test: &str,
    kubectl: &Path,
    kubeconfig: &Path,
    bucket: &str,
    endpoint: &str,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let missing_image = "local/flinkrs-missing:e2e";
    // The S3 server's host, on a port where nothing listens.
    let host = endpoint
        .rsplit_once(':')
        .map_or(endpoint, |(host, _port)| host);
    let unreachable = format!("{host}:1");
    let manifest = [
        flinkjob(
            "no-secret",
            RUNTIME_IMAGE,
            "no-such-secret",
            bucket,
            endpoint,
        ),
        flinkjob("bad-image", missing_image, "wc-s3", bucket, endpoint),
        flinkjob("no-s3", RUNTIME_IMAGE, "wc-s3", bucket, &unreachable),
        flinkjob("bad-key", RUNTIME_IMAGE, "wc-s3", bucket, endpoint)
            + "  flinkConfiguration:\n    pipeline.max-paralelism: \"4\"\n",
    ]
    .join("---\n");
    let file = tempfile::NamedTempFile::new()?;
    std::fs::write(file.path(), manifest)?;
    run(Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["apply", "--namespace", NAMESPACE, "-f"])
        .arg(file.path()))?;
    let expectations: [(&str, &[&str], &str); 4] = [
        (
            "no-secret",
            &["CreateContainerConfigError"],
            "no-such-secret",
        ),
        (
            "bad-image",
            &["ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull"],
            missing_image,
        ),
        ("no-s3", &["CheckpointFailing"], &unreachable),
        ("bad-key", &["InvalidSpec"], "pipeline.max-paralelism"),
    ];
    for (name, reasons, named) in expectations {
        let said = eventually(
            &format!("FlinkJob {name}'s Degraded condition and a Warning event naming {named}"),
            || async {
                let said = degraded_and_warnings(kubectl, kubeconfig, name)?;
                let (condition, events) = said.split_once('\n').context("two parts")?;
                let tells = |text: &str| {
                    reasons.iter().any(|reason| text.contains(reason)) && text.contains(named)
                };
                Ok(
                    (condition.starts_with("True ") && tells(condition) && tells(events))
                        .then_some(said),
                )
            },
        )
        .await?;
        report(
            test,
            &format!(
                "scenario bad input {name}: reported in {:?}: {}",
                started.elapsed(),
                said.lines().next().unwrap_or_default()
            ),
        );
    }
    run(Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["delete", "--namespace", NAMESPACE, "--wait=false", "-f"])
        .arg(file.path()))?;
    Ok(())
}
