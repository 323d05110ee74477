//! Checkpoints in S3-compatible stores, against real servers of the testbed (s3s-fs, which
//! checks credentials, and moto): the objects land in Flink's layout, a job restored from an
//! `s3://…/chk-<n>` location counts every record exactly once, a checkpoint copied out of the
//! bucket reads the same from a folder, and a store that is misconfigured, unreachable or down
//! for a while fails checkpoints (never the records) with a message that says what to do.

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use crossbeam_channel::RecvTimeoutError;
use flinkrs_api::prelude::*;
use flinkrs_connectors::ConnectorSinks;
use flinkrs_connectors::datagen::{DataGenSource, RowRng};
use flinkrs_connectors::filesystem::FileSink;
use flinkrs_dataflow::CompletedCheckpoint;
use flinkrs_state::storage::{METADATA_FILE, S3Settings, StoredCheckpoint};
use flinkrs_testbed::S3Server;

const KEYS: u64 = 10;
/// A guard against a hang, not a synchronization: each wait ends as soon as its event comes.
const PATIENCE: Duration = Duration::from_secs(60);

/// How the job reaches the store.
struct Store {
    endpoint: String,
    bucket: String,
    access_key: String,
    secret_key: String,
}

impl Store {
    fn of(server: &S3Server) -> Self {
        Store {
            endpoint: server.endpoint.clone(),
            bucket: server.bucket.clone(),
            access_key: server.access_key.clone(),
            secret_key: server.secret_key.clone(),
        }
    }

    /// An endpoint on loopback where nothing listens: every connection is refused.
    fn unreachable() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        Store {
            endpoint: format!("http://127.0.0.1:{port}"),
            bucket: "flinkrs-testbed".into(),
            access_key: "flinkrs-access".into(),
            secret_key: "flinkrs-secret".into(),
        }
    }

    fn root(&self) -> String {
        format!("s3://{}/checkpoints", self.bucket)
    }

    /// The settings of [`configure`](Self::configure), to read checkpoints back.
    fn settings(&self) -> S3Settings {
        let mut settings = S3Settings {
            endpoint: Some(self.endpoint.clone()),
            path_style_access: true,
            ..S3Settings::default()
        };
        settings = settings.with_credentials(&self.access_key, &self.secret_key);
        settings
    }

    /// Checkpoints to `<root>` every 30 ms; Flink's keys, the fallback spelling of one. A
    /// cancelled job keeps its checkpoints, and a failed one fails for good unless a test
    /// picks a restart strategy.
    fn configure(&self, env: &StreamExecutionEnvironment) {
        for (key, value) in [
            ("execution.checkpointing.interval", "30 ms".to_owned()),
            (
                "execution.checkpointing.externalized-checkpoint-retention",
                "RETAIN_ON_CANCELLATION".to_owned(),
            ),
            ("restart-strategy.type", "none".to_owned()),
            ("execution.checkpointing.dir", self.root()),
            ("s3.endpoint", self.endpoint.clone()),
            ("s3.path.style.access", "true".to_owned()),
            ("s3.access-key", self.access_key.clone()),
            ("s3.secret-key", self.secret_key.clone()),
        ] {
            env.set(key, value).unwrap();
        }
    }
}

/// numbers → (number % 10, 1) → running count per key, at parallelism 2, `rows` in all at
/// `rate` rows per second; the count updates are collected.
fn counting_job(
    store: &Store,
    rows: u64,
    rate: u64,
) -> (StreamExecutionEnvironment, CollectHandle<(u64, u64)>) {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2).unwrap();
    store.configure(&env);
    let source =
        DataGenSource::new(rows, |index: u64, _: &mut RowRng| index).with_rows_per_second(rate);
    let updates = env
        .add_source("Numbers", move |_| Ok(source.clone()))
        .map(|n: u64| (n % KEYS, 1u64))
        .key_by(|(key, _): &(u64, u64)| *key)
        .sum(|(_, count)| count)
        .uid("counts")
        .collect();
    (env, updates)
}

/// The count updates of each key, in the order they came.
fn updates_by_key(updates: &[(u64, u64)]) -> BTreeMap<u64, Vec<u64>> {
    let mut by_key: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for &(key, count) in updates {
        by_key.entry(key).or_default().push(count);
    }
    by_key
}

fn test_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Every key under `prefix` in the server's bucket.
async fn list(server: &S3Server, prefix: &str) -> BTreeSet<String> {
    let listed = server
        .client()
        .await
        .list_objects_v2()
        .bucket(&server.bucket)
        .prefix(prefix)
        .send()
        .await
        .unwrap();
    listed
        .contents()
        .iter()
        .filter_map(|object| object.key().map(str::to_owned))
        .collect()
}

async fn get(server: &S3Server, key: &str) -> Vec<u8> {
    let object = server
        .client()
        .await
        .get_object()
        .bucket(&server.bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    object.body.collect().await.unwrap().into_bytes().to_vec()
}

/// Checkpoints a job into `server`, checks the objects, copies the checkpoint to a folder and
/// reads it there, then restores the job from the `s3://` location: every record counts once.
fn checkpoint_into_s3_and_restore_exactly_once(server: S3Server, tokio: &tokio::runtime::Runtime) {
    const ROWS: u64 = 200_000;
    let store = Store::of(&server);
    let (first, _) = counting_job(&store, ROWS, 100_000);
    let job = first.execute_async("counts into S3").unwrap();
    let job_id = job.job_id();
    let tasks = job.task_count();
    let events = job.completed_checkpoints().clone();
    let mut latest: CompletedCheckpoint = events.recv_timeout(PATIENCE).expect("a checkpoint");
    job.cancel();
    assert!(matches!(job.wait(), Err(Error::Cancelled)));
    // Retention keeps one: the latest, which may have completed while the job was cancelled.
    if let Some(last) = events.try_iter().last() {
        latest = last;
    }
    let chk = format!("chk-{}", latest.checkpoint.0);
    assert_eq!(
        latest.location.to_string(),
        format!("s3://{}/checkpoints/{job_id}/{chk}", server.bucket)
    );

    // Flink's layout, `_metadata` included, and nothing else of the job: retention deleted
    // the older checkpoints, and the one in flight at the cancel was discarded.
    let stored = StoredCheckpoint::open_at(&latest.location, &store.settings()).unwrap();
    assert_eq!(stored.metadata.checkpoint, latest.checkpoint.0);
    assert_eq!(stored.metadata.tasks.len(), tasks);
    let prefix = format!("checkpoints/{job_id}/{chk}/");
    let mut expected: BTreeSet<String> = stored
        .metadata
        .tasks
        .iter()
        .map(|handle| format!("{prefix}{}", handle.file))
        .collect();
    expected.insert(format!("{prefix}{METADATA_FILE}"));
    assert_eq!(
        tokio.block_on(list(&server, &format!("checkpoints/{job_id}/"))),
        expected
    );

    // The same bytes in a folder are the same checkpoint.
    let copy = tempfile::tempdir().unwrap();
    let folder = copy.path().join(&chk);
    std::fs::create_dir(&folder).unwrap();
    for key in &expected {
        let name = key.rsplit('/').next().unwrap();
        std::fs::write(folder.join(name), tokio.block_on(get(&server, key))).unwrap();
    }
    let local = StoredCheckpoint::open(&folder).unwrap();
    assert_eq!(local.metadata, stored.metadata);
    for handle in &stored.metadata.tasks {
        assert_eq!(
            local.read_task_state(handle).unwrap(),
            stored.read_task_state(handle).unwrap()
        );
    }

    let (restored, collected) = counting_job(&store, ROWS, 100_000);
    restored
        .set("execution.state-recovery.path", latest.location.to_string())
        .unwrap();
    restored.execute("counts restored from S3").unwrap();
    let updates = collected.take();
    let by_key = updates_by_key(&updates);
    let last: BTreeMap<u64, u64> = by_key
        .iter()
        .map(|(key, counts)| (*key, *counts.last().unwrap()))
        .collect();
    let expected: BTreeMap<u64, u64> = (0..KEYS).map(|key| (key, ROWS / KEYS)).collect();
    assert_eq!(last, expected, "every record counted exactly once");
    assert!(
        by_key.values().any(|counts| counts[0] > 1),
        "the counts resumed from the checkpoint's state"
    );
    assert!(
        (updates.len() as u64) < ROWS,
        "records before the checkpoint were not replayed"
    );
}

#[test]
fn s3s_fs_holds_checkpoints_in_flinks_layout_and_a_restore_from_them_counts_exactly_once() {
    let tokio = test_runtime();
    let test =
        "s3s_fs_holds_checkpoints_in_flinks_layout_and_a_restore_from_them_counts_exactly_once";
    if let Some(server) = tokio.block_on(S3Server::start_s3s_fs(test)) {
        checkpoint_into_s3_and_restore_exactly_once(server, &tokio);
    }
}

#[test]
fn moto_holds_checkpoints_in_flinks_layout_and_a_restore_from_them_counts_exactly_once() {
    let tokio = test_runtime();
    let test =
        "moto_holds_checkpoints_in_flinks_layout_and_a_restore_from_them_counts_exactly_once";
    if let Some(server) = tokio.block_on(S3Server::start_moto(test)) {
        checkpoint_into_s3_and_restore_exactly_once(server, &tokio);
    }
}

/// Runs a job of 30 s that checkpoints into `store` every 30 ms with no failure tolerated;
/// returns its error. A job that checkpoints fine ends, and the test fails.
fn failed_checkpointing(store: &Store) -> String {
    let (env, _) = counting_job(store, 300_000, 10_000);
    env.set("execution.checkpointing.tolerable-failed-checkpoints", "0")
        .unwrap();
    env.execute("checkpoints that cannot be written")
        .expect_err("the first failed checkpoint fails the job")
        .to_string()
}

#[test]
fn wrong_credentials_fail_the_job_naming_the_object_the_endpoint_and_the_keys_to_check() {
    let tokio = test_runtime();
    let test =
        "wrong_credentials_fail_the_job_naming_the_object_the_endpoint_and_the_keys_to_check";
    let Some(server) = tokio.block_on(S3Server::start_s3s_fs(test)) else {
        return;
    };
    let mut store = Store::of(&server);
    store.secret_key = "not-the-secret".into();
    let error = failed_checkpointing(&store);
    let object = format!(
        "cannot write checkpoint object 's3://{}/checkpoints/",
        server.bucket
    );
    for expected in [
        "checkpointing failed",
        object.as_str(),
        &format!("at S3 endpoint {}: ", server.endpoint),
        "the store refused the credentials (SignatureDoesNotMatch",
        "check s3.access-key and s3.secret-key (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
    ] {
        assert!(error.contains(expected), "{expected:?} in: {error}");
    }
    assert!(
        tokio.block_on(list(&server, "")).is_empty(),
        "nothing was written"
    );
}

/// On moto: s3s-fs makes a bucket's folder on the first PUT into it.
#[test]
fn a_missing_bucket_fails_the_job_naming_the_bucket() {
    let tokio = test_runtime();
    let test = "a_missing_bucket_fails_the_job_naming_the_bucket";
    let Some(server) = tokio.block_on(S3Server::start_moto(test)) else {
        return;
    };
    let mut store = Store::of(&server);
    store.bucket = "no-such-bucket".into();
    let error = failed_checkpointing(&store);
    for expected in [
        "cannot write checkpoint object 's3://no-such-bucket/checkpoints/",
        &format!("at S3 endpoint {}: ", server.endpoint),
        "the bucket 'no-such-bucket' does not exist (NoSuchBucket); create it",
    ] {
        assert!(error.contains(expected), "{expected:?} in: {error}");
    }
}

#[test]
fn an_unreachable_endpoint_fails_checkpoints_in_bounded_time_with_the_endpoint_named() {
    let store = Store::unreachable();
    let started = Instant::now();
    let error = failed_checkpointing(&store);
    for expected in [
        "checkpointing failed",
        "cannot write checkpoint object 's3://flinkrs-testbed/checkpoints/",
        &format!(
            "at S3 endpoint {}: the endpoint cannot be reached",
            store.endpoint
        ),
        "Connection refused",
        "check s3.endpoint and that the store is up and reachable from here",
    ] {
        assert!(error.contains(expected), "{expected:?} in: {error}");
    }
    // Three attempts with short backoffs, not a hang: the bound is generous for a busy machine.
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn restoring_from_an_unreachable_store_fails_naming_the_metadata_object_and_the_endpoint() {
    let store = Store::unreachable();
    let (env, _) = counting_job(&store, 1_000, 0);
    let path = format!("{}/0123/chk-3", store.root());
    env.set("execution.state-recovery.path", path.as_str())
        .unwrap();
    let error = env.execute("restore").unwrap_err().to_string();
    let expected = format!(
        "cannot read checkpoint object '{path}/_metadata' at S3 endpoint {}: the endpoint \
         cannot be reached",
        store.endpoint
    );
    assert!(error.contains(&expected), "{expected:?} in: {error}");
}

#[test]
fn restoring_from_a_prefix_without_metadata_says_the_checkpoint_is_incomplete() {
    let tokio = test_runtime();
    let test = "restoring_from_a_prefix_without_metadata_says_the_checkpoint_is_incomplete";
    let Some(server) = tokio.block_on(S3Server::start_s3s_fs(test)) else {
        return;
    };
    let store = Store::of(&server);
    // A checkpoint cut off before its `_metadata`: a task's state is there, nothing else.
    tokio
        .block_on(async {
            server
                .client()
                .await
                .put_object()
                .bucket(&server.bucket)
                .key("checkpoints/0123/chk-3/task-0-0")
                .body(b"FLRSTASK".to_vec().into())
                .send()
                .await
        })
        .unwrap();
    let (env, _) = counting_job(&store, 1_000, 0);
    for path in [
        format!("{}/0123/chk-3", store.root()),
        format!("{}/0123/chk-3/_metadata", store.root()),
    ] {
        env.set("execution.state-recovery.path", path.as_str())
            .unwrap();
        let error = env.execute("restore").unwrap_err().to_string();
        let expected = format!(
            "cannot open checkpoint 's3://{}/checkpoints/0123/chk-3/_metadata' at S3 endpoint \
             {}: no such object: a checkpoint is complete only once its _metadata is written",
            server.bucket, server.endpoint
        );
        assert!(error.contains(&expected), "{expected:?} in: {error}");
    }
}

/// S3 down for 20 s in the middle of a job that tolerates failed checkpoints: the checkpoints
/// of the outage fail, the job goes on, later checkpoints succeed, and every count comes
/// exactly once and in order, as in a run without an outage.
#[test]
fn an_s3_outage_fails_checkpoints_but_not_the_job_and_later_checkpoints_succeed() {
    const OUTAGE: Duration = Duration::from_secs(20);
    /// A checkpoint in flight when the store stops may still complete within this.
    const IN_FLIGHT: Duration = Duration::from_secs(3);
    // 30 s of input at 1000 rows per second: the outage fits in it with time to spare.
    const ROWS: u64 = 30_000;
    let tokio = test_runtime();
    let test = "an_s3_outage_fails_checkpoints_but_not_the_job_and_later_checkpoints_succeed";
    let Some(mut server) = tokio.block_on(S3Server::start_s3s_fs(test)) else {
        return;
    };
    let store = Store::of(&server);
    let (env, collected) = counting_job(&store, ROWS, 1_000);
    env.set("execution.checkpointing.interval", "100 ms")
        .unwrap();
    env.set(
        "execution.checkpointing.tolerable-failed-checkpoints",
        "1000",
    )
    .unwrap();
    let job = env.execute_async("counts through an S3 outage").unwrap();
    let events = job.completed_checkpoints().clone();
    let before = events
        .recv_timeout(PATIENCE)
        .expect("a checkpoint before the outage");

    server.stop();
    let stopped = Instant::now();
    let mut during_outage = Vec::new();
    while let Some(remaining) = OUTAGE.checked_sub(stopped.elapsed()) {
        match events.recv_timeout(remaining) {
            Ok(checkpoint) => during_outage.push((stopped.elapsed(), checkpoint.checkpoint.0)),
            Err(RecvTimeoutError::Timeout) => break,
            Err(RecvTimeoutError::Disconnected) => panic!("the job ended during the outage"),
        }
    }
    tokio.block_on(server.restart()).unwrap();
    let after = events
        .recv_timeout(PATIENCE)
        .expect("a checkpoint completes after the outage");
    job.wait().expect("the job outlives the outage");

    assert!(
        during_outage.iter().all(|(at, _)| *at < IN_FLIGHT),
        "only a checkpoint in flight at the stop could complete: {during_outage:?}"
    );
    let last_before = during_outage
        .last()
        .map_or(before.checkpoint.0, |(_, id)| *id);
    assert!(
        after.checkpoint.0 > last_before + 1,
        "checkpoints {}..{} failed during the outage",
        last_before + 1,
        after.checkpoint.0
    );
    // Retention keeps the latest: it is in the bucket, complete.
    let latest = events.try_iter().last().unwrap_or(after);
    let stored = StoredCheckpoint::open_at(&latest.location, &store.settings()).unwrap();
    assert_eq!(stored.metadata.checkpoint, latest.checkpoint.0);

    let by_key = updates_by_key(&collected.take());
    let exact: BTreeMap<u64, Vec<u64>> = (0..KEYS)
        .map(|key| (key, (1..=ROWS / KEYS).collect()))
        .collect();
    assert!(by_key == exact, "every count came exactly once, in order");
}

/// The variables the child of the test below reads, besides AWS's own.
/// With no tolerated checkpoint failure, an outage fails the job over; it restarts (and fails
/// to restore while the store is down) until S3 is back, then recovers from its latest
/// checkpoint. The committed output, through the exactly-once file sink, is that of a run
/// without failure: every key's counts 1..n, each once.
#[test]
fn an_s3_outage_without_tolerance_fails_the_job_over_until_s3_is_back_and_loses_nothing() {
    const OUTAGE: Duration = Duration::from_secs(20);
    // 30 s of input at 1000 rows per second: the outage fits in it with time to spare.
    const ROWS: u64 = 30_000;
    let tokio = test_runtime();
    let test =
        "an_s3_outage_without_tolerance_fails_the_job_over_until_s3_is_back_and_loses_nothing";
    let Some(mut server) = tokio.block_on(S3Server::start_s3s_fs(test)) else {
        return;
    };
    let output = tempfile::tempdir().unwrap();
    let store = Store::of(&server);
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2).unwrap();
    store.configure(&env);
    for (key, value) in [
        ("execution.checkpointing.interval", "100 ms"),
        ("execution.checkpointing.tolerable-failed-checkpoints", "0"),
        ("restart-strategy.type", "fixed-delay"),
        ("restart-strategy.fixed-delay.attempts", "1000"),
        ("restart-strategy.fixed-delay.delay", "200 ms"),
    ] {
        env.set(key, value).unwrap();
    }
    let source =
        DataGenSource::new(ROWS, |index: u64, _: &mut RowRng| index).with_rows_per_second(1_000);
    let sink = FileSink::for_row_format(output.path()).build().unwrap();
    env.add_source("Numbers", move |_| Ok(source.clone()))
        .map(|n: u64| (n % KEYS, 1u64))
        .key_by(|(key, _): &(u64, u64)| *key)
        .sum(|(_, count)| count)
        .uid("counts")
        .map(|(key, count): (u64, u64)| format!("{key},{count}"))
        .sink_to_files(sink);
    let job = env
        .execute_async("counts through an S3 outage, failing over")
        .unwrap();
    let client = job.client();
    let events = job.completed_checkpoints().clone();
    events
        .recv_timeout(PATIENCE)
        .expect("a checkpoint before the outage");

    server.stop();
    let stopped = Instant::now();
    // The first checkpoint that fails fails the job over: wait for that restart, a real
    // condition, within the outage.
    while client.restarts() == 0 {
        assert!(
            stopped.elapsed() < OUTAGE,
            "the job did not fail over during the outage"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    if let Some(rest) = OUTAGE.checked_sub(stopped.elapsed()) {
        std::thread::sleep(rest);
    }
    tokio.block_on(server.restart()).unwrap();
    let result = job.wait().expect("the job recovers once S3 is back");
    assert!(result.restarts >= 1, "{} restarts", result.restarts);

    let mut by_key: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for entry in std::fs::read_dir(output.path()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(!name.starts_with('.'), "nothing left uncommitted: {name}");
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let (key, count) = line.split_once(',').unwrap();
            by_key
                .entry(key.parse().unwrap())
                .or_default()
                .push(count.parse().unwrap());
        }
    }
    for counts in by_key.values_mut() {
        counts.sort_unstable();
    }
    let exact: BTreeMap<u64, Vec<u64>> = (0..KEYS)
        .map(|key| (key, (1..=ROWS / KEYS).collect()))
        .collect();
    assert!(by_key == exact, "every count committed exactly once");
}

const CHILD_ENDPOINT: &str = "FLINKRS_TEST_S3_ENDPOINT";
const CHILD_BUCKET: &str = "FLINKRS_TEST_S3_BUCKET";

/// Without `s3.access-key` and `s3.secret-key`, the credentials come from the AWS
/// environment. The environment of a running test cannot be changed safely, so the job runs
/// in a child process of this test binary, with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
/// set: with the right secret its checkpoint lands in s3s-fs, with a wrong one s3s-fs refuses
/// it.
#[test]
fn without_keys_in_the_configuration_the_credentials_come_from_the_aws_environment() {
    let tokio = test_runtime();
    let test = "without_keys_in_the_configuration_the_credentials_come_from_the_aws_environment";
    let Some(server) = tokio.block_on(S3Server::start_s3s_fs(test)) else {
        return;
    };
    // The child test's full name: its module path within the test binary, then its own.
    let child_test = match module_path!().split_once("::") {
        Some((_, module)) => format!("{module}::child_checkpoints_with_the_aws_environment"),
        None => "child_checkpoints_with_the_aws_environment".to_owned(),
    };
    let child = |secret_key: &str| {
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", &child_test])
            .args(["--ignored", "--nocapture", "--test-threads=1"])
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            .env("AWS_ACCESS_KEY_ID", &server.access_key)
            .env("AWS_SECRET_ACCESS_KEY", secret_key)
            // Nothing of the credential chain may reach past loopback.
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env(CHILD_ENDPOINT, &server.endpoint)
            .env(CHILD_BUCKET, &server.bucket)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(output.status.success(), "the child failed:\n{stdout}");
        assert!(
            stdout.contains("1 passed"),
            "the child ran no test:\n{stdout}"
        );
        stdout
    };

    let stdout = child(&server.secret_key);
    let location = stdout
        .lines()
        .find_map(|line| line.split_once("completed: ").map(|(_, location)| location))
        .unwrap_or_else(|| panic!("the child names its checkpoint:\n{stdout}"));
    let objects = tokio.block_on(list(&server, "checkpoints/"));
    let metadata = format!(
        "{}/{METADATA_FILE}",
        location
            .strip_prefix(&format!("s3://{}/", server.bucket))
            .unwrap()
    );
    assert!(objects.contains(&metadata), "{metadata} in {objects:?}");

    let stdout = child("not-the-secret");
    assert!(
        stdout.contains("refused: invalid job: checkpointing failed")
            && stdout.contains("the store refused the credentials (SignatureDoesNotMatch"),
        "{stdout}"
    );
}

/// The child of the test above: a job checkpointing into the store its environment names,
/// with no key in its configuration. It prints the checkpoint, or why the store refused it.
#[test]
#[ignore = "run by without_keys_in_the_configuration_the_credentials_come_from_the_aws_environment"]
fn child_checkpoints_with_the_aws_environment() {
    let (Ok(endpoint), Ok(bucket)) = (std::env::var(CHILD_ENDPOINT), std::env::var(CHILD_BUCKET))
    else {
        panic!("run by its parent test, which sets {CHILD_ENDPOINT} and {CHILD_BUCKET}");
    };
    let env = StreamExecutionEnvironment::new();
    for (key, value) in [
        ("execution.checkpointing.interval", "30 ms".to_owned()),
        (
            "execution.checkpointing.dir",
            format!("s3://{bucket}/checkpoints"),
        ),
        ("s3.endpoint", endpoint),
        (
            "execution.checkpointing.externalized-checkpoint-retention",
            "RETAIN_ON_CANCELLATION".to_owned(),
        ),
        ("restart-strategy.type", "none".to_owned()),
    ] {
        env.set(key, value).unwrap();
    }
    let source = DataGenSource::new(300_000, |index: u64, _: &mut RowRng| index)
        .with_rows_per_second(10_000);
    env.add_source("Numbers", move |_| Ok(source.clone()))
        .key_by(|n: &u64| n % KEYS)
        .reduce(|a, b| a + b)
        .discard();
    let job = env
        .execute_async("credentials from the environment")
        .unwrap();
    let events = job.completed_checkpoints().clone();
    match events.recv_timeout(PATIENCE) {
        Ok(checkpoint) => {
            job.cancel();
            assert!(matches!(job.wait(), Err(Error::Cancelled)));
            let latest = events.try_iter().last().unwrap_or(checkpoint);
            println!("completed: {}", latest.location);
        }
        Err(_) => {
            let error = job.wait().expect_err("no checkpoint: the job failed");
            println!("refused: {error}");
        }
    }
}

#[test]
fn a_malformed_location_fails_the_job_at_start_naming_the_key_and_the_value() {
    let store = Store::unreachable();
    let (env, _) = counting_job(&store, 1_000, 0);
    env.set("execution.checkpointing.dir", "hdfs://namenode/checkpoints")
        .unwrap();
    let error = env.execute("checkpoints to hdfs").unwrap_err().to_string();
    assert_eq!(
        error,
        "configuration key 'execution.checkpointing.dir': 'hdfs://namenode/checkpoints' is not \
         a checkpoint location: the scheme 'hdfs' is not supported; use a local path, \
         file:///PATH or s3://BUCKET/PREFIX"
    );

    let (env, _) = counting_job(&store, 1_000, 0);
    // Flink's older name of the key is reported under the current one.
    env.set("execution.savepoint.path", "s3://Not_A_Bucket/chk-1")
        .unwrap();
    let error = env.execute("restore").unwrap_err().to_string();
    assert!(
        error.starts_with(
            "configuration key 'execution.state-recovery.path': 's3://Not_A_Bucket/chk-1' is not \
             a checkpoint location: 'Not_A_Bucket' is not a bucket name"
        ),
        "{error}"
    );
}
