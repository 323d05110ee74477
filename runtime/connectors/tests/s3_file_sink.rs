//! The exactly-once file sink writing into S3-compatible stores, against real servers of the
//! testbed (s3s-fs, which checks credentials and part sizes, and moto): part files are
//! multipart uploads that appear only when their checkpoint completes, a bounded job commits
//! all of its output, a job cancelled after a checkpoint and restored from it leaves exactly
//! the output of a run without failure, a part file larger than S3's smallest part goes up in
//! several parts and reads back whole, and a missing bucket fails the job naming it.

use std::collections::BTreeSet;
use std::path::Path;

use flinkrs_api::prelude::*;
use flinkrs_connectors::ConnectorSinks;
use flinkrs_connectors::datagen::{DataGenSource, RowRng};
use flinkrs_connectors::filesystem::{FILE_SIZE, FileSink};
use flinkrs_testbed::S3Server;

mod common;

use common::word_count;

fn test_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Points `env` at `server` with Flink's `s3.*` keys.
fn reach(env: &StreamExecutionEnvironment, server: &S3Server) {
    for (key, value) in [
        ("s3.endpoint", server.endpoint.as_str()),
        ("s3.path.style.access", "true"),
        ("s3.access-key", server.access_key.as_str()),
        ("s3.secret-key", server.secret_key.as_str()),
    ] {
        env.set(key, value).unwrap();
    }
}

/// WordCount at parallelism 2, checkpointing every 30 ms into a local folder, writing into
/// `s3://<bucket>/<prefix>`.
fn word_count_into_s3(
    server: &S3Server,
    input: &Path,
    prefix: &str,
    checkpoints: &Path,
    restore_from: Option<&str>,
) -> StreamExecutionEnvironment {
    let env = common::checkpointed(2, checkpoints, restore_from);
    reach(&env, server);
    word_count::into_files(env, input, &format!("s3://{}/{prefix}", server.bucket))
}

/// The keys under `prefix/`, and every line of their objects, sorted.
fn committed(server: &S3Server, tokio: &tokio::runtime::Runtime, prefix: &str) -> Committed {
    tokio.block_on(async {
        let client = server.client().await;
        let listed = client
            .list_objects_v2()
            .bucket(&server.bucket)
            .prefix(format!("{prefix}/"))
            .send()
            .await
            .unwrap();
        let keys: BTreeSet<String> = listed
            .contents()
            .iter()
            .filter_map(|object| object.key().map(str::to_owned))
            .collect();
        let mut lines = Vec::new();
        for key in &keys {
            let object = client
                .get_object()
                .bucket(&server.bucket)
                .key(key)
                .send()
                .await
                .unwrap();
            let bytes = object.body.collect().await.unwrap().into_bytes();
            let text = String::from_utf8(bytes.to_vec()).unwrap();
            assert!(text.ends_with('\n'), "'{key}' ends mid-line");
            lines.extend(text.lines().map(str::to_owned));
        }
        lines.sort();
        Committed { keys, lines }
    })
}

struct Committed {
    keys: BTreeSet<String>,
    lines: Vec<String>,
}

/// The multipart uploads under `prefix/` nobody completed or aborted; `None` from a store
/// that does not list them (s3s-fs).
fn open_uploads(
    server: &S3Server,
    tokio: &tokio::runtime::Runtime,
    prefix: &str,
) -> Option<Vec<String>> {
    tokio.block_on(async {
        let listed = server
            .client()
            .await
            .list_multipart_uploads()
            .bucket(&server.bucket)
            .prefix(format!("{prefix}/"))
            .send()
            .await
            .ok()?;
        Some(
            listed
                .uploads()
                .iter()
                .filter_map(|upload| upload.key().map(str::to_owned))
                .collect(),
        )
    })
}

/// A bounded run commits everything with its final checkpoint; a run cancelled after a
/// checkpoint shows only committed parts, and its restore completes the output exactly.
fn commit_into_s3_exactly_once(server: S3Server, tokio: &tokio::runtime::Runtime) {
    let dir = tempfile::tempdir().unwrap();
    let input = word_count::write_input(dir.path());
    let checkpoints = dir.path().join("checkpoints");
    let expected = word_count::expected_updates(&input);

    word_count_into_s3(&server, &input, "fault-free", &checkpoints, None)
        .execute("fault-free")
        .unwrap();
    let fault_free = committed(&server, tokio, "fault-free");
    assert_eq!(fault_free.lines, expected);
    for key in &fault_free.keys {
        let name = key.strip_prefix("fault-free/").unwrap();
        assert!(name.starts_with("part-"), "{key}");
    }

    let job = word_count_into_s3(&server, &input, "restored", &checkpoints, None)
        .execute_async("cancelled")
        .unwrap();
    let checkpoint = common::checkpoint_then_cancel(job);
    let visible = committed(&server, tokio, "restored").lines.len();
    assert!(
        visible < word_count::WORDS,
        "{visible} lines visible after the cancel"
    );

    let location = checkpoint.location.to_string();
    word_count_into_s3(&server, &input, "restored", &checkpoints, Some(&location))
        .execute("restored")
        .unwrap();
    assert_eq!(committed(&server, tokio, "restored").lines, expected);
    // The cancelled run's unfinished uploads were aborted, and the restored run's completed.
    if let Some(uploads) = open_uploads(&server, tokio, "restored") {
        assert_eq!(uploads, Vec::<String>::new());
    }
}

#[test]
fn s3s_fs_receives_the_file_sinks_output_exactly_once() {
    let tokio = test_runtime();
    if let Some(server) = tokio.block_on(S3Server::start_s3s_fs(
        "s3s_fs_receives_the_file_sinks_output_exactly_once",
    )) {
        commit_into_s3_exactly_once(server, &tokio);
    }
}

#[test]
fn moto_receives_the_file_sinks_output_exactly_once() {
    let tokio = test_runtime();
    if let Some(server) = tokio.block_on(S3Server::start_moto(
        "moto_receives_the_file_sinks_output_exactly_once",
    )) {
        commit_into_s3_exactly_once(server, &tokio);
    }
}

/// 220,000 lines of 32 bytes: 7 MB, more than S3's smallest part of 5 MiB.
const BIG_LINES: u64 = 220_000;

#[test]
fn a_part_file_larger_than_the_smallest_part_goes_up_in_parts_and_reads_back_whole() {
    let tokio = test_runtime();
    let test = "a_part_file_larger_than_the_smallest_part_goes_up_in_parts_and_reads_back_whole";
    let Some(server) = tokio.block_on(S3Server::start_s3s_fs(test)) else {
        return;
    };
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(1).unwrap();
    reach(&env, &server);
    let sink = FileSink::for_row_format(format!("s3://{}/big", server.bucket))
        .with_option(FILE_SIZE, "64mb")
        .unwrap()
        .build()
        .unwrap();
    let source = DataGenSource::new(BIG_LINES, |index: u64, _: &mut RowRng| index);
    env.add_source("Numbers", move |_| Ok(source.clone()))
        .map(|n: u64| format!("{n:031}"))
        .sink_to_files(sink);
    env.execute("big part").unwrap();

    let big = committed(&server, &tokio, "big");
    assert_eq!(big.keys.len(), 1, "{:?}", big.keys);
    let expected: Vec<String> = (0..BIG_LINES).map(|n| format!("{n:031}")).collect();
    assert_eq!(big.lines, expected);
    let etag = tokio.block_on(async {
        let head = server
            .client()
            .await
            .head_object()
            .bucket(&server.bucket)
            .key(big.keys.first().unwrap())
            .send()
            .await
            .unwrap();
        head.e_tag().unwrap().to_owned()
    });
    // A multipart object's ETag ends in its number of parts.
    assert!(etag.trim_matches('"').ends_with("-2"), "{etag}");
}

#[test]
fn a_missing_bucket_fails_the_job_naming_the_bucket() {
    let tokio = test_runtime();
    let Some(server) = tokio.block_on(S3Server::start_s3s_fs(
        "a_missing_bucket_fails_the_job_naming_the_bucket",
    )) else {
        return;
    };
    let env = StreamExecutionEnvironment::new();
    reach(&env, &server);
    let sink = FileSink::for_row_format("s3://no-such-bucket/out")
        .build()
        .unwrap();
    env.from_collection(vec![1u64, 2, 3]).sink_to_files(sink);
    let error = env.execute("missing bucket").unwrap_err().to_string();
    assert!(error.contains("'no-such-bucket' does not exist"), "{error}");
    assert!(error.contains(&server.endpoint), "{error}");
}
