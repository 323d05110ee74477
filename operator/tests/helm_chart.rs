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
    core::v1::ServiceAccount,
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
}
