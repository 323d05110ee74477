//! The children the operator builds for the example FlinkJobs, compared with
//! committed YAML snapshots in `tests/snapshots/`.
//!
//! Re-record after an intended change:
//! `UPDATE_SNAPSHOTS=1 cargo test -p flinkrs-operator --test resource_snapshots`

mod support;

use std::path::PathBuf;

use flinkrs_operator::{
    crd::FlinkJob,
    resources::{ClusterPlan, build_children},
};

fn example_job(file: &str) -> FlinkJob {
    let document = support::example_documents(file)
        .into_iter()
        .find(|document| document["kind"] == "FlinkJob")
        .expect("a FlinkJob document");
    let mut job: FlinkJob = serde_json::from_value(document).expect("a FlinkJob");
    job.metadata.namespace = Some("jobs".to_owned());
    job.metadata.uid = Some("6f0c1d2e-0000-4000-8000-000000000001".to_owned());
    job
}

fn children_yaml(job: &FlinkJob, restore_from: Option<&str>, suspended: bool) -> String {
    let plan = ClusterPlan {
        job,
        spec: &job.spec,
        restore_from,
        suspended,
        cluster_generation: 1,
        high_availability: false,
        default_service_account: None,
    };
    let children = build_children(&plan).expect("the example builds");
    [
        serde_yaml::to_string(&children.config_map),
        serde_yaml::to_string(&children.jobmanager_service),
        serde_yaml::to_string(&children.jobmanager_deployment),
        serde_yaml::to_string(&children.taskmanager_deployment),
    ]
    .into_iter()
    .map(|document| document.expect("serializable"))
    .collect::<Vec<_>>()
    .join("---\n")
}

fn assert_snapshot(name: &str, children: &str) {
    let actual = format!(
        "# Snapshot of the children the operator builds; re-record with\n\
         # UPDATE_SNAPSHOTS=1 cargo test -p flinkrs-operator --test resource_snapshots\n{children}"
    );
    let actual = actual.as_str();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).expect("snapshot written");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        expected == actual,
        "{} differs from what the operator builds; if the change is intended, re-record with \
         UPDATE_SNAPSHOTS=1 cargo test -p flinkrs-operator --test resource_snapshots\n--- actual:\n{actual}",
        path.display()
    );
}

#[test]
fn the_scoreboard_example_builds_the_recorded_children() {
    let job = example_job("scoreboard.yaml");
    assert_snapshot("scoreboard.yaml", &children_yaml(&job, None, false));
}

#[test]
fn the_windowed_sensors_example_restored_from_a_checkpoint_builds_the_recorded_children() {
    let job = example_job("windowed-sensors-s3.yaml");
    let restore = Some("s3://flinkrs-checkpoints/windowed-sensors/0e35/chk-42");
    assert_snapshot(
        "windowed-sensors-restored.yaml",
        &children_yaml(&job, restore, false),
    );
}

#[test]
fn a_suspended_wordcount_builds_children_scaled_to_zero() {
    let job = example_job("wordcount.yaml");
    assert_snapshot("wordcount-suspended.yaml", &children_yaml(&job, None, true));
}
