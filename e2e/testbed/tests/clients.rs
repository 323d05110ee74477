//! helm and kubectl, the real binaries, against the testbed control plane.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, ensure};
use flinkrs_testbed::{KubeControlPlane, helm, kubectl, pinned_version};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Api;

fn chart() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/testbed-chart")
}

/// Runs a command, fails with its stderr unless it succeeds, returns stdout.
fn run(command: &mut Command) -> anyhow::Result<String> {
    let output = command
        .output()
        .with_context(|| format!("running {command:?}"))?;
    ensure!(
        output.status.success(),
        "{command:?} failed with {}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8(output.stdout)?)
}

/// helm with its config, data and cache in a private dir, so tests neither
/// read nor write the user's helm state.
fn helm_command(helm: &Path, home: &Path) -> Command {
    let mut command = Command::new(helm);
    command
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"))
        .env("HELM_CACHE_HOME", home.join("cache"));
    command
}

#[test]
fn helm_lints_and_renders_the_fixture_chart() -> anyhow::Result<()> {
    let Some(helm) = helm("helm_lints_and_renders_the_fixture_chart") else {
        return Ok(());
    };
    let home = tempfile::tempdir()?;
    let lint = run(helm_command(&helm, home.path()).arg("lint").arg(chart()))?;
    assert_eq!(
        lint.trim_end().lines().last(),
        Some("1 chart(s) linted, 0 chart(s) failed")
    );

    let rendered = run(helm_command(&helm, home.path())
        .args(["template", "wordcount"])
        .arg(chart())
        .args(["--set", "runtimeMode=batch"]))?;
    assert_eq!(
        rendered,
        "---
# Source: testbed-chart/templates/configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: wordcount-settings
  labels:
    app.kubernetes.io/managed-by: Helm
data:
  execution.runtime-mode: \"batch\"
"
    );
    Ok(())
}

#[tokio::test]
async fn helm_install_creates_the_chart_objects() -> anyhow::Result<()> {
    let test = "helm_install_creates_the_chart_objects";
    let Some(helm) = helm(test) else {
        return Ok(());
    };
    let Some(control_plane) = KubeControlPlane::start(test).await else {
        return Ok(());
    };
    let home = tempfile::tempdir()?;
    run(helm_command(&helm, home.path())
        .args(["install", "wordcount"])
        .arg(chart())
        .arg("--kubeconfig")
        .arg(control_plane.kubeconfig())
        .args(["--namespace", "default", "--set", "runtimeMode=batch"]))?;

    let client = control_plane.client().await;
    let config_map = Api::<ConfigMap>::namespaced(client.clone(), "default")
        .get("wordcount-settings")
        .await?;
    let data = config_map.data.context("the ConfigMap has data")?;
    assert_eq!(
        data.get("execution.runtime-mode").map(String::as_str),
        Some("batch")
    );
    let labels = config_map
        .metadata
        .labels
        .context("the ConfigMap has labels")?;
    assert_eq!(
        labels
            .get("app.kubernetes.io/managed-by")
            .map(String::as_str),
        Some("Helm")
    );

    // helm 3 records each release revision as a Secret of its own type.
    let release = Api::<Secret>::namespaced(client, "default")
        .get("sh.helm.release.v1.wordcount.v1")
        .await?;
    assert_eq!(release.type_.as_deref(), Some("helm.sh/release.v1"));
    Ok(())
}

#[tokio::test]
async fn kubectl_reaches_the_control_plane_it_was_pointed_at() -> anyhow::Result<()> {
    let test = "kubectl_reaches_the_control_plane_it_was_pointed_at";
    let Some(kubectl) = kubectl(test) else {
        return Ok(());
    };
    let Some(control_plane) = KubeControlPlane::start(test).await else {
        return Ok(());
    };
    let cache = tempfile::tempdir()?;
    let kubectl = |args: &[&str]| {
        run(Command::new(&kubectl)
            .arg("--kubeconfig")
            .arg(control_plane.kubeconfig())
            .arg("--cache-dir")
            .arg(cache.path())
            .args(args))
    };
    let name = kubectl(&[
        "get",
        "namespace",
        "kube-system",
        "-o",
        "jsonpath={.metadata.name}",
    ])?;
    assert_eq!(name, "kube-system");

    let version: serde_json::Value = serde_json::from_str(&kubectl(&["version", "-o", "json"])?)?;
    let expected = format!("v{}", pinned_version("KUBERNETES_VERSION")?);
    assert_eq!(version["serverVersion"]["gitVersion"], expected.as_str());
    Ok(())
}
