//! Partitioned filesystem tables (`PARTITIONED BY`) and the json format of the filesystem sink:
//! rows written into their partitions' folders as Flink lays them out, and read back. Reading
//! a partitioned table is compared with Flink's answers in the differential tests.

use std::path::Path;

use flinkrs_sql::SqlSession;

#[path = "support/sorted_rows.rs"]
mod sorted_rows;

use sorted_rows::sorted_lines;

fn batch_session() -> SqlSession {
    let mut session = SqlSession::new();
    session
        .execute("SET 'execution.runtime-mode' = 'batch'")
        .unwrap();
    session
}

fn rows(session: &mut SqlSession, query: &str) -> Vec<String> {
    sorted_lines(&session.query(query).unwrap().rows)
}

/// Each visible file under `root` as `folder: sorted lines`, sorted.
fn files(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            let name = path.file_name().unwrap().to_str().unwrap();
            assert!(
                !name.starts_with('.'),
                "a hidden file is left: {}",
                path.display()
            );
            let mut lines: Vec<String> = std::fs::read_to_string(&path)
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect();
            lines.sort();
            let folder = path.parent().unwrap().strip_prefix(root).unwrap();
            found.push(format!("{}: {}", folder.display(), lines.join(" ")));
        }
    }
    found.sort();
    found
}

#[test]
fn rows_go_to_their_partition_folders_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut session = batch_session();
    session
        .execute(&format!(
            "CREATE TABLE visits (page STRING, seconds INT, dt STRING, hr INT) \
             PARTITIONED BY (dt, hr) WITH ('connector' = 'filesystem', 'path' = '{}', \
             'format' = 'csv')",
            dir.path().display()
        ))
        .unwrap();
    session
        .execute(
            "INSERT INTO visits SELECT page, seconds, dt, CAST(hr AS INT) FROM (VALUES ('home', \
             3, '2024-01-01', 9), ('cart', 1, '2024-01-01', 9), ('home', 4, '2024-01-01', 10), \
             ('a,b', 2, '2024/01/02', NULL)) AS T(page, seconds, dt, hr)",
        )
        .unwrap();
    session.wait_for_jobs().unwrap();
    assert_eq!(
        files(dir.path()),
        [
            "dt=2024%2F01%2F02/hr=__DEFAULT_PARTITION__: \"a,b\",2",
            "dt=2024-01-01/hr=10: home,4",
            "dt=2024-01-01/hr=9: cart,1 home,3",
        ]
    );
    assert_eq!(
        rows(&mut session, "SELECT * FROM visits"),
        [
            "a,b|2|2024/01/02|<NULL>",
            "cart|1|2024-01-01|9",
            "home|3|2024-01-01|9",
            "home|4|2024-01-01|10",
        ]
    );
}

#[test]
fn the_json_format_writes_one_object_per_line_and_reads_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut session = batch_session();
    session
        .execute(&format!(
            "CREATE TABLE events (id BIGINT, name STRING, ok BOOLEAN, ts TIMESTAMP(3), \
             price DECIMAL(10, 2), dt STRING) PARTITIONED BY (dt) WITH ('connector' = \
             'filesystem', 'path' = '{}', 'format' = 'json')",
            dir.path().display()
        ))
        .unwrap();
    session
        .execute(
            "INSERT INTO events VALUES (1, 'say \"hi\"', TRUE, TIMESTAMP '2024-01-01 \
             10:00:00.500', 1.50, 'a'), (2, CAST(NULL AS STRING), FALSE, TIMESTAMP \
             '2024-01-01 10:00:01', 20.00, 'b')",
        )
        .unwrap();
    session.wait_for_jobs().unwrap();
    assert_eq!(
        files(dir.path()),
        [
            "dt=a: {\"id\":1,\"name\":\"say \\\"hi\\\"\",\"ok\":true,\"ts\":\"2024-01-01 \
             10:00:00.5\",\"price\":1.50}",
            "dt=b: {\"id\":2,\"name\":null,\"ok\":false,\"ts\":\"2024-01-01 10:00:01\",\
             \"price\":20.00}",
        ]
    );
    assert_eq!(
        rows(&mut session, "SELECT * FROM events"),
        [
            "1|say \"hi\"|TRUE|2024-01-01 10:00:00.500|1.50|a",
            "2|<NULL>|FALSE|2024-01-01 10:00:01.000|20.00|b",
        ]
    );
}

#[test]
fn bad_partitions_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut session = batch_session();
    let error = session
        .execute(
            "CREATE TABLE t (a INT) PARTITIONED BY (b) WITH ('connector' = 'filesystem', \
             'path' = '/tmp', 'format' = 'csv')",
        )
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("the partition key 'b' is not a physical column"),
        "{error}"
    );
    session
        .execute(
            "CREATE TABLE gen (a INT, b INT) PARTITIONED BY (b) WITH ('connector' = 'datagen', \
             'number-of-rows' = '1')",
        )
        .unwrap();
    let error = session.query("SELECT * FROM gen").unwrap_err().to_string();
    assert!(
        error.contains(
            "is PARTITIONED BY (b), but the 'datagen' connector does not support partitions"
        ),
        "{error}"
    );

    // A file outside the partition folders, and a folder value that is not an INT.
    std::fs::write(dir.path().join("stray.csv"), "1\n").unwrap();
    session
        .execute(&format!(
            "CREATE TABLE parts (a INT, p INT) PARTITIONED BY (p) WITH ('connector' = \
             'filesystem', 'path' = '{}', 'format' = 'csv')",
            dir.path().display()
        ))
        .unwrap();
    let error = session
        .query("SELECT * FROM parts")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(&format!(
            "file '{}'",
            dir.path().join("stray.csv").display()
        )) && error.contains("is in no folder 'p=<value>'"),
        "{error}"
    );
    std::fs::remove_file(dir.path().join("stray.csv")).unwrap();
    std::fs::create_dir(dir.path().join("p=x")).unwrap();
    std::fs::write(dir.path().join("p=x").join("f.csv"), "1\n").unwrap();
    let error = session
        .query("SELECT * FROM parts")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("its partition folder gives 'p' = 'x', which is not a INT"),
        "{error}"
    );
}

#[test]
fn a_success_file_commits_each_partition_written_at_the_end_of_input() {
    // Without checkpoints the files are committed at the end of input; with them, by the
    // final checkpoint.
    for checkpointing in [false, true] {
        success_files_at_the_end_of_input(checkpointing);
    }
}

fn success_files_at_the_end_of_input(checkpointing: bool) {
    let dir = tempfile::tempdir().unwrap();
    let mut session = SqlSession::new();
    if checkpointing {
        session
            .execute("SET 'execution.checkpointing.interval' = '50 ms'")
            .unwrap();
    }
    session
        .execute(&format!(
            "CREATE TABLE visits (page STRING, dt STRING, hm STRING) PARTITIONED BY (dt, hm) \
             WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv', \
             'sink.partition-commit.trigger' = 'partition-time', \
             'sink.partition-commit.delay' = '1 min', \
             'sink.partition-commit.policy.kind' = 'success-file', \
             'partition.time-extractor.timestamp-pattern' = '$dt $hm:00')",
            dir.path().display()
        ))
        .unwrap();
    session
        .execute(
            "INSERT INTO visits VALUES ('home', '2024-01-01', '10:00'), ('cart', '2024-01-01', \
             '10:01'), ('home', '2024-01-01', '10:00')",
        )
        .unwrap();
    session.wait_for_jobs().unwrap();
    assert_eq!(
        files(dir.path()),
        [
            "dt=2024-01-01/hm=10%3A00: ",
            "dt=2024-01-01/hm=10%3A00: home home",
            "dt=2024-01-01/hm=10%3A01: ",
            "dt=2024-01-01/hm=10%3A01: cart",
        ]
    );
    for partition in ["hm=10%3A00", "hm=10%3A01"] {
        let success = dir
            .path()
            .join("dt=2024-01-01")
            .join(partition)
            .join("_SUCCESS");
        assert_eq!(std::fs::read(&success).unwrap(), b"");
    }
}

#[test]
fn bad_partition_commit_options_are_named() {
    let mut session = SqlSession::new();
    let mut insert_error = |options: &str| {
        session.execute("DROP TABLE IF EXISTS t").unwrap();
        session
            .execute(&format!(
                "CREATE TABLE t (a INT, dt STRING) PARTITIONED BY (dt) WITH ('connector' = \
                 'filesystem', 'path' = '/tmp/flinkrs-never-written', 'format' = 'csv', {options})"
            ))
            .unwrap();
        session
            .execute("INSERT INTO t VALUES (1, 'x')")
            .unwrap_err()
            .to_string()
    };
    let cases = [
        (
            "'sink.partition-commit.policy.kind' = 'metastore'",
            "sink.partition-commit.policy.kind",
            "Can not configure a 'metastore' partition commit policy for a file system table. \
             You can only configure 'metastore' partition commit policy for a hive table.",
        ),
        (
            "'sink.partition-commit.policy.kind' = 'success-file,custom'",
            "sink.partition-commit.policy.kind",
            "the commit policy 'custom' is not supported yet; flinkrs commits partitions with \
             'success-file'",
        ),
        (
            "'sink.partition-commit.policy.kind' = 'sucess-file'",
            "sink.partition-commit.policy.kind",
            "'sucess-file' is not a commit policy; use 'success-file', 'metastore' or 'custom'",
        ),
        (
            "'sink.partition-commit.policy.kind' = 'success-file', \
             'sink.partition-commit.trigger' = 'event-time'",
            "sink.partition-commit.trigger",
            "'event-time' is not a trigger; use 'process-time' or 'partition-time'",
        ),
        (
            "'sink.partition-commit.policy.kind' = 'success-file', \
             'sink.partition-commit.delay' = 'soon'",
            "sink.partition-commit.delay",
            "'soon' is not a duration; write e.g. '200 ms', '10 s', '1 min'",
        ),
        (
            "'sink.partition-commit.policy.kind' = 'success-file', \
             'partition.time-extractor.timestamp-pattern' = '$day 00:00:00'",
            "partition.time-extractor.timestamp-pattern",
            "'$day' is not a partition key; the keys are dt",
        ),
        (
            "'sink.partition-commit.policy.kind' = 'success-file', \
             'sink.partition-commit.watermark-time-zone' = 'Asia/Shanghai'",
            "sink.partition-commit.watermark-time-zone",
            "the time zone 'Asia/Shanghai' is not supported yet; only 'UTC' is",
        ),
    ];
    for (options, key, message) in cases {
        assert_eq!(
            insert_error(options),
            format!("table 'default_catalog.default_database.t': option '{key}': {message}"),
            "{options}"
        );
    }
}
