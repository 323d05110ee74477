//! A user's own Rust job program on a cluster (application mode with `-- ARGS`): the
//! JobManager runs the program with its arguments, every TaskManager runs it again from the
//! deployment to build the same graph, and the job commits what the program computes.

#[path = "support/cluster.rs"]
#[expect(
    dead_code,
    reason = "the generated input of the shared helpers is not used here"
)]
mod support;

use std::path::PathBuf;

use flinkrs_api::prelude::StreamExecutionEnvironment;
use flinkrs_cluster::jobmanager::JobStatus;
use flinkrs_cluster::program;
use flinkrs_cluster::run::{RunRequest, run_request};
use flinkrs_dataflow::JobResult;
use flinkrs_jobs::{JobOptions, wordcount};
use support::{DEADLINE, cluster, committed_lines, shut_down};

/// The user's program: `<input> <output>`; counts words as WordCount does, its own way of
/// writing them.
fn word_lengths(
    env: &StreamExecutionEnvironment,
    args: &[String],
) -> flinkrs_core::Result<JobResult> {
    let options = JobOptions {
        input: args.first().map(PathBuf::from),
        output: args.get(1).map(PathBuf::from),
        records_per_second: None,
    };
    let counts = wordcount::counts(&wordcount::lines(env, &options)?)
        .map(|(word, count)| format!("{word} has {count}, {} letters", word.len()));
    options.emit(&counts, "part", None)?;
    env.execute("Word lengths")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_program_runs_on_the_jobmanager_and_every_taskmanager() {
    program::register(word_lengths);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.txt");
    std::fs::write(&input, "to be or not to be\nthat is the question\n").unwrap();

    // What the program computes: the built-in WordCount's counts, in the program's words.
    let local = RunRequest {
        example: "wordcount".to_owned(),
        input: Some(input.clone()),
        output: Some(dir.path().join("local")),
        parallelism: Some(2),
        ..RunRequest::default()
    };
    tokio::task::spawn_blocking(move || run_request(&local, |_| {}))
        .await
        .unwrap()
        .unwrap();
    let mut expected: Vec<String> = committed_lines(&dir.path().join("local"))
        .iter()
        .map(|line| {
            let (word, count) = line
                .trim_matches(|c| c == '(' || c == ')')
                .split_once(',')
                .unwrap();
            format!("{word} has {count}, {} letters", word.len())
        })
        .collect();
    expected.sort();
    assert_eq!(expected.len(), 10);

    let (jobmanager, members) = cluster(2, "1").await;
    let output = dir.path().join("cluster");
    let spec = program::program_spec(
        vec![input.display().to_string(), output.display().to_string()],
        vec!["parallelism.default=2".to_owned()],
    );
    let job = jobmanager.submit(spec).unwrap();
    let ended = jobmanager.wait_for_job(job, DEADLINE).await.unwrap();
    assert_eq!(ended.status, JobStatus::Finished, "{:?}", ended.failure);
    assert_eq!(ended.name, "Word lengths");
    assert_eq!(committed_lines(&output), expected);
    assert_eq!(jobmanager.task_managers().len(), 2);
    shut_down(jobmanager, members).await;
}
