//! The Helm chart: `helm template` snapshots, and `helm install` into the
//! testbed's control plane with RBAC checked by SubjectAccessReviews.
//!
//! Re-record the snapshots after an intended chart change:
//! `UPDATE_SNAPSHOTS=1 cargo test -p flinkrs-operator --test helm_chart`

mod support;

use std::{path::Path, process::Command};

use k8s_openapi::api::{
    apps::v1::Deployment,
    authorization::v1::{ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec},
    core::v1::{ConfigMap, ServiceAccount},
    rbac::v1::{ClusterRole, ClusterRoleBinding, Role},
};
use kube::{Api, Client, api::PostParams};

fn chart() -> String {
    support::repo_root()
        .join("charts/flinkrs-operator")
        .display()
        .to_string()
}

fn run(program: &Path, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .expect("the command runs");
    assert!(
        output.status.success(),
        "{} {args:?} failed:\n{}",
        program.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

fn assert_snapshot(name: &str, rendered: &str) {
    let actual = format!(
        "# `helm template` of charts/flinkrs-operator; re-record with\n\
         # UPDATE_SNAPSHOTS=1 cargo test -p flinkrs-operator --test helm_chart\n{rendered}"
    );
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &actual).expect("snapshot written");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        expected == actual,
        "{} is out of date; re-record it if the change is intended:\n{actual}",
        path.display()
    );
}

#[test]
fn helm_template_renders_the_recorded_manifests() {
    let Some(helm) = flinkrs_testbed::helm("helm_template_renders_the_recorded_manifests") else {
        return;
    };
    let chart = chart();
    let default = run(
        &helm,
        &[
            "template",
            "flinkrs-operator",
            &chart,
            "--namespace",
            "flinkrs-system",
        ],
    );
    assert_snapshot("helm-default.yaml", &default);
    let scoped = run(
        &helm,
        &[
            "template",
            "flinkrs-operator",
            &chart,
            "--namespace",
            "flinkrs-system",
            "--set",
            "watchNamespaces={team-a,team-b}",
            "--set",
            "serviceMonitor.enabled=true",
            "--set",
            "podMonitor.enabled=true",
            "--api-versions",
            "monitoring.coreos.com/v1/PodMonitor",
        ],
    );
    assert_snapshot("helm-watch-namespaces.yaml", &scoped);
}

/// Whether the API server's authorizer lets `service_account` do `verb` on `resource`.
async fn allowed(
    client: &Client,
    service_account: &str,
    verb: &str,
    group: &str,
    resource: &str,
    namespace: &str,
) -> bool {
    let (resource, subresource) = match resource.split_once('/') {
        Some((resource, subresource)) => (resource, Some(subresource.to_owned())),
        None => (resource, None),
    };
    let review = SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: Some(service_account.to_owned()),
            groups: Some(vec!["system:serviceaccounts".to_owned()]),
            resource_attributes: Some(ResourceAttributes {
                verb: Some(verb.to_owned()),
                group: Some(group.to_owned()),
                resource: Some(resource.to_owned()),
                subresource,
                namespace: Some(namespace.to_owned()),
                ..ResourceAttributes::default()
            }),
            ..SubjectAccessReviewSpec::default()
        },
        ..SubjectAccessReview::default()
    };
    let api: Api<SubjectAccessReview> = Api::all(client.clone());
    let answer = api
        .create(&PostParams::default(), &review)
        .await
        .expect("the review is answered");
    answer.status.expect("a status").allowed
}

#[tokio::test]
async fn helm_install_creates_the_operator_with_least_privilege_rbac() {
    let test = "helm_install_creates_the_operator_with_least_privilege_rbac";
    let Some(helm) = flinkrs_testbed::helm(test) else {
        return;
    };
    let Some(control_plane) = flinkrs_testbed::KubeControlPlane::start(test).await else {
        return;
    };
    let client = control_plane.client().await;
    let kubeconfig = control_plane.kubeconfig().display().to_string();
    let chart = chart();

    run(
        &helm,
        &[
            "install",
            "flinkrs-operator",
            &chart,
            "--kubeconfig",
            &kubeconfig,
            "--namespace",
            "flinkrs-system",
            "--create-namespace",
        ],
    );

    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "flinkrs-system");
    let deployment = deployments
        .get("flinkrs-operator")
        .await
        .expect("the operator Deployment");
    let pod = deployment
        .spec
        .expect("spec")
        .template
        .spec
        .expect("pod spec");
    assert_eq!(
        pod.service_account_name.as_deref(),
        Some("flinkrs-operator")
    );
    let security = pod.containers[0]
        .security_context
        .clone()
        .expect("a security context");
    assert_eq!(security.read_only_root_filesystem, Some(true));
    assert_eq!(
        pod.security_context
            .and_then(|context| context.run_as_non_root),
        Some(true)
    );
    Api::<ServiceAccount>::namespaced(client.clone(), "flinkrs-system")
        .get("flinkrs-operator")
        .await
        .expect("ServiceAccount");
    Api::<ClusterRole>::all(client.clone())
        .get("flinkrs-operator")
        .await
        .expect("ClusterRole");
    Api::<ClusterRoleBinding>::all(client.clone())
        .get("flinkrs-operator")
        .await
        .expect("ClusterRoleBinding");
    Api::<Role>::namespaced(client.clone(), "flinkrs-system")
        .get("flinkrs-operator-leader-election")
        .await
        .expect("Lease Role");
    let crd = Api::<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>::all(client.clone());
    crd.get("flinkjobs.flinkrs.dev")
        .await
        .expect("the chart installed the CRD");

    let operator = "system:serviceaccount:flinkrs-system:flinkrs-operator";
    for (verb, group, resource, namespace, expected) in [
        ("watch", "flinkrs.dev", "flinkjobs", "jobs", true),
        ("patch", "flinkrs.dev", "flinkjobs/status", "jobs", true),
        ("create", "apps", "deployments", "jobs", true),
        ("patch", "", "configmaps", "jobs", true),
        ("create", "events.k8s.io", "events", "jobs", true),
        (
            "update",
            "coordination.k8s.io",
            "leases",
            "flinkrs-system",
            true,
        ),
        ("update", "coordination.k8s.io", "leases", "jobs", false),
        ("get", "", "secrets", "jobs", false),
        ("delete", "apps", "deployments", "jobs", false),
        ("create", "", "pods", "jobs", false),
        ("list", "", "pods", "jobs", true),
        ("delete", "", "pods", "jobs", false),
    ] {
        assert_eq!(
            allowed(&client, operator, verb, group, resource, namespace).await,
            expected,
            "{verb} {resource} in {namespace}"
        );
    }

    // A second release that watches only team-a gets a Role there and nothing cluster-wide.
    support::create_namespace(&client, "team-a").await;
    run(
        &helm,
        &[
            "install",
            "scoped",
            &chart,
            "--kubeconfig",
            &kubeconfig,
            "--namespace",
            "scoped-system",
            "--create-namespace",
            "--set",
            "watchNamespaces={team-a}",
        ],
    );
    Api::<Role>::namespaced(client.clone(), "team-a")
        .get("scoped-flinkrs-operator")
        .await
        .expect("Role in team-a");
    assert!(
        Api::<ClusterRole>::all(client.clone())
            .get_opt("scoped-flinkrs-operator")
            .await
            .expect("read")
            .is_none()
    );
    let scoped = "system:serviceaccount:scoped-system:scoped-flinkrs-operator";
    assert!(allowed(&client, scoped, "list", "apps", "deployments", "team-a").await);
    assert!(!allowed(&client, scoped, "list", "apps", "deployments", "team-b").await);

    // The job pods' ServiceAccount in the watched namespace, with what HA needs and no more.
    Api::<ServiceAccount>::namespaced(client.clone(), "team-a")
        .get("flinkrs-job")
        .await
        .expect("the job ServiceAccount in team-a");
    let job = "system:serviceaccount:team-a:flinkrs-job";
    for (verb, group, resource, namespace, expected) in [
        ("update", "", "configmaps", "team-a", true),
        ("watch", "", "configmaps", "team-a", true),
        ("create", "coordination.k8s.io", "leases", "team-a", true),
        ("update", "", "configmaps", "team-b", false),
        ("get", "", "secrets", "team-a", false),
        ("create", "", "pods", "team-a", false),
    ] {
        assert_eq!(
            allowed(&client, job, verb, group, resource, namespace).await,
            expected,
            "job pods: {verb} {resource} in {namespace}"
        );
    }

    // The dashboards, as Grafana's sidecar finds them.
    let dashboards = Api::<ConfigMap>::namespaced(client.clone(), "flinkrs-system")
        .get("flinkrs-operator-dashboards")
        .await
        .expect("the dashboards ConfigMap");
    let labels = dashboards.metadata.labels.clone().unwrap_or_default();
    assert_eq!(
        labels.get("grafana_dashboard").map(String::as_str),
        Some("1")
    );
    let data = dashboards.data.unwrap_or_default();
    assert_eq!(
        data.keys().map(String::as_str).collect::<Vec<_>>(),
        ["flinkrs-job-overview.json", "flinkrs-operator.json"]
    );
    for (name, text) in &data {
        let json: serde_json::Value =
            serde_json::from_str(text).unwrap_or_else(|error| panic!("{name}: {error}"));
        assert!(
            json["panels"].as_array().is_some_and(|p| !p.is_empty()),
            "{name}"
        );
    }
}

/// Every PromQL expression of the dashboards: (dashboard file, panel title, expression).
fn dashboard_expressions() -> Vec<(String, String, String)> {
    let folder = support::repo_root().join("charts/flinkrs-operator/dashboards");
    let mut files: Vec<_> = std::fs::read_dir(&folder)
        .expect("the dashboards folder")
        .map(|entry| entry.expect("an entry").path())
        .collect();
    files.sort();
    let mut expressions = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable");
        let json: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|error| panic!("{}: {error}", file.display()));
        let name = file
            .file_name()
            .expect("a name")
            .to_string_lossy()
            .into_owned();
        for panel in json["panels"].as_array().expect("panels") {
            for target in panel["targets"].as_array().expect("targets") {
                expressions.push((
                    name.clone(),
                    panel["title"].as_str().expect("a title").to_owned(),
                    target["expr"].as_str().expect("an expr").to_owned(),
                ));
            }
        }
    }
    expressions
}

/// The metric names in a PromQL expression.
fn metric_names(expression: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = expression;
    while let Some(start) = rest.find("flink") {
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.push(tail[..end].to_owned());
        rest = &tail[end..];
    }
    names
}

#[test]
fn the_dashboards_ask_for_metrics_the_runtime_and_the_operator_serve() {
    let root = support::repo_root();
    // Flink's metric identifiers as the runtime spells them, and its JobManager gauges.
    let runtime_names = [
        "runtime/dataflow/src/metrics/names.rs",
        "runtime/cluster/src/jobmanager/metrics.rs",
    ]
    .map(|file| std::fs::read_to_string(root.join(file)).expect("a runtime source"))
    .join("\n");
    let metrics = flinkrs_operator::metrics::Metrics::new();
    // A labelled family appears once it has a series.
    metrics.reconcile_failed("jobmanager");
    let operator_metrics = metrics.encode();
    // The runtime's Prometheus scopes (flink_<scope>_<name>), longest first.
    let scopes = [
        "flink_taskmanager_job_task_operator_",
        "flink_taskmanager_job_task_",
        "flink_jobmanager_job_",
        "flink_jobmanager_",
    ];
    let expressions = dashboard_expressions();
    assert!(expressions.len() >= 14, "{expressions:?}");
    for (file, title, expression) in expressions {
        let names = metric_names(&expression);
        assert!(
            !names.is_empty(),
            "{file} / {title}: no metric in {expression}"
        );
        for name in names {
            if let Some(base) = name.strip_prefix("flinkrs_operator_") {
                let base = base.trim_end_matches("_bucket").trim_end_matches("_total");
                assert!(
                    operator_metrics.contains(&format!("flinkrs_operator_{base}")),
                    "{file} / {title}: the operator serves no {name}"
                );
                continue;
            }
            let metric = scopes
                .iter()
                .find_map(|scope| name.strip_prefix(scope))
                .unwrap_or_else(|| panic!("{file} / {title}: {name} has no runtime scope"));
            assert!(
                runtime_names.contains(&format!("\"{metric}\"")),
                "{file} / {title}: the runtime names no metric {metric} ({name})"
            );
        }
    }
}
