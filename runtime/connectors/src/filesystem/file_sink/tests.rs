//! The file sink driven by hand, one lifecycle call at a time, with a clock moved by hand: the
//! exact files on disk after each step.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use flinkrs_api::sink::SinkFunction;
use flinkrs_core::{Batch, CheckpointId, Configuration, Record};
use flinkrs_dataflow::TaskInfo;

use super::commit::{PendingFile, PendingUpload, decode_state};
use super::*;

/// A clock a test moves by hand.
#[derive(Debug, Default)]
struct ManualClock(AtomicI64);

impl ManualClock {
    fn set(&self, millis: i64) {
        self.0.store(millis, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

fn info(checkpointing: bool) -> TaskInfo {
    let mut config = Configuration::new();
    if checkpointing {
        config
            .set("execution.checkpointing.interval", "1 s")
            .unwrap();
    }
    TaskInfo {
        job_name: "test".into(),
        task_name: "Sink: File Sink".into(),
        operator_name: "Sink: File Sink".into(),
        operator_id: "sink".into(),
        subtask_index: 0,
        parallelism: 1,
        max_parallelism: 128,
        config: Arc::new(config),
        job_id: flinkrs_core::JobId(0),
        attempt_number: 0,
    }
}

/// A sink of run `run` into `dir`, opened, with the clock at 0.
fn open_sink(
    dir: &Path,
    run: &str,
    builder: impl FnOnce(FileSinkBuilder) -> FileSinkBuilder,
) -> (FileSink, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::default());
    let mut sink = builder(
        FileSink::for_row_format(dir)
            .with_unique_id(run)
            .with_clock(Arc::clone(&clock) as Arc<dyn Clock>),
    )
    .build()
    .unwrap();
    SinkFunction::<&str>::initialize_state(&mut sink, &info(true), None).unwrap();
    SinkFunction::<&str>::open(&mut sink, &info(true)).unwrap();
    (sink, clock)
}

fn write(sink: &mut FileSink, lines: &[&'static str]) {
    let mut batch: Batch<&str> = lines.iter().map(|line| Record::new(*line)).collect();
    sink.write_batch(&mut batch).unwrap();
}

fn snapshot(sink: &mut FileSink, checkpoint: u64) -> Vec<Vec<u8>> {
    SinkFunction::<&str>::snapshot_state(sink, CheckpointId(checkpoint)).unwrap()
}

fn complete(sink: &mut FileSink, checkpoint: u64) {
    SinkFunction::<&str>::notify_checkpoint_complete(sink, CheckpointId(checkpoint)).unwrap();
}

/// Every file in `dir` with its contents, sorted by name.
fn files(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            (name, std::fs::read_to_string(entry.path()).unwrap())
        })
        .collect();
    files.sort();
    files
}

fn file(name: &str, content: &str) -> (String, String) {
    (name.to_owned(), content.to_owned())
}

fn pending(part_name: &str) -> PendingFile {
    PendingFile {
        bucket: String::new(),
        part_name: part_name.to_owned(),
        upload: None,
    }
}

#[test]
fn records_stay_hidden_in_progress_then_pending_until_their_checkpoint_completes() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sink, _) = open_sink(dir.path(), "run1", |b| b);
    assert_eq!(
        files(dir.path()),
        vec![],
        "nothing is created before a record"
    );
    write(&mut sink, &["alpha", "beta"]);
    // In progress: hidden, and its contents may still sit in the write buffer.
    let names: Vec<String> = files(dir.path())
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert_eq!(names, vec![".part-run1-0-0.inprogress"]);

    // The checkpoint closes it: pending, complete on disk, named in the sink's state.
    let state = snapshot(&mut sink, 1);
    assert_eq!(
        decode_state(&state[0], "sink").unwrap(),
        vec![pending("part-run1-0-0")]
    );
    write(&mut sink, &["gamma"]);
    SinkFunction::<&str>::on_processing_time(&mut sink, 0).unwrap();
    assert_eq!(
        files(dir.path())[0],
        file(".part-run1-0-0.inprogress", "alpha\nbeta\n")
    );

    // Complete: committed under its visible name; the next file is still in progress.
    complete(&mut sink, 1);
    let mut listing = files(dir.path());
    listing[0].1.clear();
    assert_eq!(
        listing,
        vec![
            file(".part-run1-0-1.inprogress", ""),
            file("part-run1-0-0", "alpha\nbeta\n")
        ]
    );
    let state = snapshot(&mut sink, 2);
    assert_eq!(
        decode_state(&state[0], "sink").unwrap(),
        vec![pending("part-run1-0-1")],
        "committed files leave the state"
    );
    complete(&mut sink, 2);
    SinkFunction::<&str>::close(&mut sink).unwrap();
    assert_eq!(
        files(dir.path()),
        vec![
            file("part-run1-0-0", "alpha\nbeta\n"),
            file("part-run1-0-1", "gamma\n")
        ]
    );
}

#[test]
fn an_aborted_checkpoint_commits_nothing_and_its_files_go_with_the_next_one() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sink, _) = open_sink(dir.path(), "run1", |b| b);
    write(&mut sink, &["one"]);
    snapshot(&mut sink, 1);
    SinkFunction::<&str>::notify_checkpoint_aborted(&mut sink, CheckpointId(1)).unwrap();
    assert_eq!(
        files(dir.path()),
        vec![file(".part-run1-0-0.inprogress", "one\n")]
    );
    write(&mut sink, &["two"]);
    let state = snapshot(&mut sink, 2);
    assert_eq!(
        decode_state(&state[0], "sink").unwrap(),
        vec![pending("part-run1-0-0"), pending("part-run1-0-1")]
    );
    complete(&mut sink, 2);
    assert_eq!(
        files(dir.path()),
        vec![
            file("part-run1-0-0", "one\n"),
            file("part-run1-0-1", "two\n")
        ]
    );
}

#[test]
fn a_failed_run_leaves_no_visible_output_and_keeps_only_what_a_checkpoint_holds() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sink, _) = open_sink(dir.path(), "run1", |b| {
        b.with_rolling_policy(RollingPolicy::default().with_max_part_size(3))
    });
    write(&mut sink, &["held"]);
    snapshot(&mut sink, 1);
    // Rolled by size after the checkpoint, then one more in progress: neither is in one.
    write(&mut sink, &["rolled", "open"]);
    assert_eq!(files(dir.path()).len(), 3);
    // The task fails: close without a completed checkpoint.
    SinkFunction::<&str>::close(&mut sink).unwrap();
    assert_eq!(
        files(dir.path()),
        vec![file(".part-run1-0-0.inprogress", "held\n")],
        "only checkpoint 1's pending file stays, for a restore to commit"
    );
}

#[test]
fn a_restore_commits_the_pending_files_of_its_checkpoint_and_drops_later_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (mut first, _) = open_sink(dir.path(), "run1", |b| b);
    write(&mut first, &["a", "b"]);
    let checkpoint_1 = snapshot(&mut first, 1);
    write(&mut first, &["c"]);
    let checkpoint_2 = snapshot(&mut first, 2);
    write(&mut first, &["d"]);
    // The process dies (nothing runs, not even a flush): checkpoint 1 completed, but its
    // notification never arrived; 2 never completed.
    std::mem::forget(first);
    assert_eq!(
        files(dir.path()),
        vec![
            file(".part-run1-0-0.inprogress", "a\nb\n"),
            file(".part-run1-0-1.inprogress", "c\n"),
            file(".part-run1-0-2.inprogress", ""),
        ]
    );

    // Restored from checkpoint 1: its pending file is committed at once.
    let clock = Arc::new(ManualClock::default());
    let mut second = FileSink::for_row_format(dir.path())
        .with_unique_id("run2")
        .with_clock(clock)
        .build()
        .unwrap();
    SinkFunction::<&str>::initialize_state(&mut second, &info(true), Some(&checkpoint_1)).unwrap();
    SinkFunction::<&str>::open(&mut second, &info(true)).unwrap();
    assert_eq!(files(dir.path())[2], file("part-run1-0-0", "a\nb\n"));
    // The source replays c and d; once a checkpoint completes, run 1's files are gone.
    write(&mut second, &["c", "d"]);
    snapshot(&mut second, 2);
    complete(&mut second, 2);
    assert_eq!(
        files(dir.path()),
        vec![
            file("part-run1-0-0", "a\nb\n"),
            file("part-run2-0-0", "c\nd\n")
        ]
    );

    // Restoring again from the same checkpoint (a second failure) commits nothing twice.
    let mut third = FileSink::for_row_format(dir.path())
        .with_unique_id("run3")
        .build()
        .unwrap();
    SinkFunction::<&str>::initialize_state(&mut third, &info(true), Some(&checkpoint_1)).unwrap();
    // Checkpoint 2 of run 1 names a file the cleanup removed: the restore says so.
    let error =
        SinkFunction::<&str>::initialize_state(&mut third, &info(true), Some(&checkpoint_2))
            .unwrap_err()
            .to_string();
    assert!(error.contains(".part-run1-0-1.inprogress"), "{error}");
    assert!(error.contains("neither it nor"), "{error}");
}

#[test]
fn a_file_rolls_once_it_has_grown_past_the_size_limit() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sink, _) = open_sink(dir.path(), "u", |b| {
        b.with_option(FILE_SIZE, "10 b").unwrap()
    });
    // Five bytes a line: the third line still goes in (10 is not above 10), the fourth not.
    write(&mut sink, &["aaaa", "bbbb", "cccc", "dddd", "e"]);
    snapshot(&mut sink, 1);
    complete(&mut sink, 1);
    assert_eq!(
        files(dir.path()),
        vec![
            file("part-u-0-0", "aaaa\nbbbb\ncccc\n"),
            file("part-u-0-1", "dddd\ne\n")
        ]
    );
}

#[test]
fn a_file_rolls_after_the_inactivity_interval_checked_every_check_interval() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sink, clock) = open_sink(dir.path(), "u", |b| {
        b.with_option(INACTIVITY_INTERVAL, "30 ms")
            .unwrap()
            .with_option(CHECK_INTERVAL, "20 ms")
            .unwrap()
    });
    let tick = |sink: &mut FileSink, at: i64| {
        clock.set(at);
        SinkFunction::<&str>::on_processing_time(sink, at).unwrap();
    };
    write(&mut sink, &["first"]);
    // Checked at 20 ms: written 20 ms ago, not yet inactive for 30.
    tick(&mut sink, 20);
    tick(&mut sink, 35);
    // Not checked at 35 ms (next check at 40), though inactive for 35 by then.
    write(&mut sink, &["second"]);
    assert_eq!(files(dir.path()).len(), 1);
    clock.set(36);
    write(&mut sink, &["third"]);
    // Checked at 40 ms: written at 36.
    tick(&mut sink, 40);
    tick(&mut sink, 60);
    assert_eq!(files(dir.path()).len(), 1);
    // Checked at 80 ms: unwritten since 36, 44 ms.
    tick(&mut sink, 80);
    write(&mut sink, &["fourth"]);
    snapshot(&mut sink, 1);
    complete(&mut sink, 1);
    assert_eq!(
        files(dir.path()),
        vec![
            file("part-u-0-0", "first\nsecond\nthird\n"),
            file("part-u-0-1", "fourth\n")
        ]
    );
}

#[test]
fn a_file_rolls_after_the_rollover_interval_even_while_written() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sink, clock) = open_sink(dir.path(), "u", |b| {
        b.with_rolling_policy(
            RollingPolicy::default()
                .with_rollover_interval(Duration::from_millis(100))
                .with_check_interval(Duration::from_millis(10)),
        )
    });
    for at in (0..=100).step_by(10) {
        clock.set(at);
        write(&mut sink, &[if at < 100 { "x" } else { "y" }]);
        SinkFunction::<&str>::on_processing_time(&mut sink, at).unwrap();
    }
    write(&mut sink, &["z"]);
    snapshot(&mut sink, 1);
    complete(&mut sink, 1);
    assert_eq!(
        files(dir.path()),
        vec![
            file("part-u-0-0", &format!("{}y\n", "x\n".repeat(10))),
            file("part-u-0-1", "z\n")
        ]
    );
}

#[test]
fn without_checkpointing_the_end_of_input_commits_everything() {
    let dir = tempfile::tempdir().unwrap();
    let mut sink = FileSink::for_row_format(dir.path())
        .with_unique_id("batch")
        .with_option(FILE_SIZE, "1")
        .unwrap()
        .build()
        .unwrap();
    SinkFunction::<&str>::open(&mut sink, &info(false)).unwrap();
    write(&mut sink, &["one", "two"]);
    SinkFunction::<&str>::finish(&mut sink).unwrap();
    SinkFunction::<&str>::close(&mut sink).unwrap();
    assert_eq!(
        files(dir.path()),
        vec![
            file("part-batch-0-0", "one\n"),
            file("part-batch-0-1", "two\n")
        ]
    );
}

#[test]
fn with_checkpointing_the_end_of_input_only_flushes_for_the_final_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sink, _) = open_sink(dir.path(), "u", |b| b);
    write(&mut sink, &["last"]);
    SinkFunction::<&str>::finish(&mut sink).unwrap();
    assert_eq!(
        files(dir.path()),
        vec![file(".part-u-0-0.inprogress", "last\n")]
    );
    snapshot(&mut sink, 7);
    complete(&mut sink, 7);
    SinkFunction::<&str>::close(&mut sink).unwrap();
    assert_eq!(files(dir.path()), vec![file("part-u-0-0", "last\n")]);
}

#[test]
fn an_output_path_that_is_a_file_is_refused_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.txt");
    std::fs::write(&path, "a file").unwrap();
    let mut sink = FileSink::for_row_format(&path).build().unwrap();
    let error = SinkFunction::<&str>::open(&mut sink, &info(true))
        .unwrap_err()
        .to_string();
    assert!(error.contains("results.txt"), "{error}");
    assert!(error.contains("is not a directory"), "{error}");
}

#[test]
fn a_state_that_is_not_the_sinks_is_refused_naming_the_sink() {
    let dir = tempfile::tempdir().unwrap();
    let restore = |state: &[u8]| {
        let mut sink = FileSink::for_row_format(dir.path()).build().unwrap();
        SinkFunction::<&str>::initialize_state(&mut sink, &info(true), Some(&[state.to_vec()]))
            .unwrap_err()
            .to_string()
    };
    let error = restore(&[9, 1, 2]);
    assert!(error.contains("Sink: File Sink (1/1)"), "{error}");
    assert!(error.contains("layout version 9"), "{error}");
    let error = restore(&[1, 200]);
    assert!(error.contains("cannot be decoded"), "{error}");
    let error = restore(&[]);
    assert!(error.contains("the checkpointed state is empty"), "{error}");
}

#[test]
fn a_committed_name_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("part-u-0-0"), "earlier run\n").unwrap();
    let (mut sink, _) = open_sink(dir.path(), "u", |b| b);
    write(&mut sink, &["later run"]);
    snapshot(&mut sink, 1);
    let error = SinkFunction::<&str>::notify_checkpoint_complete(&mut sink, CheckpointId(1))
        .unwrap_err()
        .to_string();
    assert!(error.contains("exists already"), "{error}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("part-u-0-0")).unwrap(),
        "earlier run\n"
    );
}

#[test]
fn rolling_options_take_flinks_names_and_bad_ones_are_refused_by_name() {
    let mut policy = RollingPolicy::default();
    assert_eq!(policy.max_part_size, 128 * 1024 * 1024);
    assert_eq!(policy.rollover_interval, Duration::from_secs(1800));
    assert_eq!(policy.inactivity_interval, Duration::from_secs(1800));
    assert_eq!(policy.check_interval, Duration::from_secs(60));
    policy.set_option(FILE_SIZE, "64 KiB").unwrap();
    policy.set_option(ROLLOVER_INTERVAL, "10 min").unwrap();
    policy.set_option(INACTIVITY_INTERVAL, "5 s").unwrap();
    policy.set_option(CHECK_INTERVAL, "1s").unwrap();
    assert_eq!(
        policy,
        RollingPolicy {
            max_part_size: 64 * 1024,
            rollover_interval: Duration::from_secs(600),
            inactivity_interval: Duration::from_secs(5),
            check_interval: Duration::from_secs(1),
        }
    );
    let error = |key: &str, value: &str| {
        RollingPolicy::default()
            .set_option(key, value)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        error(FILE_SIZE, "12 parsecs"),
        "configuration key 'sink.rolling-policy.file-size': 'parsecs' is not a memory unit in \
         '12 parsecs'; use b, kb, mb, gb or tb"
    );
    assert!(error(ROLLOVER_INTERVAL, "soon").contains("is not a duration"));
    assert_eq!(
        error(CHECK_INTERVAL, "0 s"),
        "configuration key 'sink.rolling-policy.check-interval': must be greater than zero"
    );
    assert!(error("sink.rolling-policy.file-sise", "1mb").contains("not an option"));
    assert_eq!(parse_memory_size("1gb"), Ok(1 << 30));
    assert_eq!(parse_memory_size("7"), Ok(7));
    assert_eq!(parse_memory_size(" 2 Mebibytes "), Ok(2 << 20));
}

#[test]
fn part_names_follow_the_output_file_config_and_parse_back() {
    let config = OutputFileConfig::new("sensors", ".csv").unwrap();
    let name = config.part_name("a1b2", 3, 17);
    assert_eq!(name, "sensors-a1b2-3-17.csv");
    assert_eq!(in_progress_name(&name), ".sensors-a1b2-3-17.csv.inprogress");
    assert_eq!(
        config.parse_in_progress(".sensors-a1b2-3-17.csv.inprogress"),
        Some(("a1b2", 3))
    );
    // Finished files, other prefixes, and a sink whose prefix extends this one's are not ours.
    assert_eq!(config.parse_in_progress("sensors-a1b2-3-17.csv"), None);
    assert_eq!(
        config.parse_in_progress(".part-a1b2-3-17.csv.inprogress"),
        None
    );
    assert_eq!(
        config.parse_in_progress(".sensors-late-a1b2-3-17.csv.inprogress"),
        None
    );
    for (prefix, suffix) in [
        ("", ""),
        (".hidden", ""),
        ("_tmp", ""),
        ("a/b", ""),
        ("p", "x/y"),
    ] {
        assert!(
            OutputFileConfig::new(prefix, suffix).is_err(),
            "{prefix:?} {suffix:?}"
        );
    }
    let error = FileSink::for_row_format("out")
        .with_unique_id("has-dash")
        .build()
        .unwrap_err()
        .to_string();
    assert!(error.contains("'has-dash'"), "{error}");
}

#[test]
fn an_output_path_with_an_unknown_scheme_or_no_bucket_is_refused_by_name() {
    let error = FileSink::for_row_format("hdfs://namenode/out")
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("'hdfs://namenode/out' has the unsupported scheme 'hdfs'"),
        "{error}"
    );
    assert!(error.contains("s3://BUCKET/PREFIX"), "{error}");
    let error = FileSink::for_row_format("s3:///out")
        .build()
        .unwrap_err()
        .to_string();
    assert!(error.contains("'s3:///out' names no bucket"), "{error}");
}

#[test]
fn a_file_uri_writes_into_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("file://{}", dir.path().join("out").display());
    let mut sink = FileSink::for_row_format(uri.as_str())
        .with_unique_id("run1")
        .build()
        .unwrap();
    SinkFunction::<&str>::open(&mut sink, &info(false)).unwrap();
    write(&mut sink, &["alpha"]);
    SinkFunction::<&str>::finish(&mut sink).unwrap();
    assert_eq!(
        files(&dir.path().join("out")),
        vec![file("part-run1-0-0", "alpha\n")]
    );
}

#[test]
fn a_state_of_layout_version_1_still_restores() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".part-old-0-0.inprogress"), "kept\n").unwrap();
    // Version 1: the list of (bucket, part name), before uploads were recorded.
    let mut state = vec![1u8];
    state.extend(postcard::to_allocvec(&Vec::from([("", "part-old-0-0")])).unwrap());
    let mut sink = FileSink::for_row_format(dir.path()).build().unwrap();
    SinkFunction::<&str>::initialize_state(&mut sink, &info(true), Some(&[state])).unwrap();
    assert_eq!(files(dir.path()), vec![file("part-old-0-0", "kept\n")]);
}

#[test]
fn a_local_sink_refuses_a_checkpoint_that_names_an_s3_upload() {
    let dir = tempfile::tempdir().unwrap();
    let file = PendingFile {
        upload: Some(PendingUpload {
            upload_id: "u1".into(),
            parts: vec![(1, "e1".into())],
        }),
        ..pending("part-old-0-0")
    };
    let state = encode_state(&[&file]).unwrap();
    let mut sink = FileSink::for_row_format(dir.path()).build().unwrap();
    let error = SinkFunction::<&str>::initialize_state(&mut sink, &info(true), Some(&[state]))
        .unwrap_err()
        .to_string();
    assert!(error.contains("names an S3 upload"), "{error}");
    assert!(error.contains("restore with the output path"), "{error}");
}

/// A record with its bucket, as a partitioned table's row is.
#[derive(Clone, Copy)]
struct InFolder(&'static str, &'static str);

impl FileRecord for InFolder {
    fn line(&self) -> &dyn Display {
        &self.1
    }

    fn bucket(&self) -> &str {
        self.0
    }
}

/// Every file under `dir`, with its folder: `(folder/name, content)`.
fn files_in_buckets(dir: &Path) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else {
                let name = path.strip_prefix(dir).unwrap().display().to_string();
                found.push((name, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    found.sort();
    found
}

#[test]
fn each_bucket_has_its_own_part_files_committed_and_cleaned_with_the_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::default());
    let mut first = FileSink::for_row_format(dir.path())
        .with_unique_id("run1")
        .with_clock(clock)
        .build()
        .unwrap();
    SinkFunction::<InFolder>::initialize_state(&mut first, &info(true), None).unwrap();
    SinkFunction::<InFolder>::open(&mut first, &info(true)).unwrap();
    let mut batch: Batch<InFolder> = [
        InFolder("dt=1", "a"),
        InFolder("dt=2/hr=3", "b"),
        InFolder("dt=1", "c"),
        InFolder("", "d"),
    ]
    .into_iter()
    .map(Record::new)
    .collect();
    first.write_batch(&mut batch).unwrap();
    let checkpoint_1 =
        SinkFunction::<InFolder>::snapshot_state(&mut first, CheckpointId(1)).unwrap();
    let mut batch: Batch<InFolder> = [InFolder("dt=2/hr=3", "e")]
        .into_iter()
        .map(Record::new)
        .collect();
    first.write_batch(&mut batch).unwrap();
    SinkFunction::<InFolder>::snapshot_state(&mut first, CheckpointId(2)).unwrap();
    // Checkpoint 1 completes; checkpoint 2 does not before the process dies.
    SinkFunction::<InFolder>::notify_checkpoint_complete(&mut first, CheckpointId(1)).unwrap();
    std::mem::forget(first);
    assert_eq!(
        files_in_buckets(dir.path()),
        vec![
            file("dt=1/part-run1-0-0", "a\nc\n"),
            file("dt=2/hr=3/.part-run1-0-3.inprogress", "e\n"),
            file("dt=2/hr=3/part-run1-0-1", "b\n"),
            file("part-run1-0-2", "d\n"),
        ]
    );

    // A restore from checkpoint 1 removes what checkpoint 2 held in its bucket folder.
    let mut second = FileSink::for_row_format(dir.path())
        .with_unique_id("run2")
        .build()
        .unwrap();
    SinkFunction::<InFolder>::initialize_state(&mut second, &info(true), Some(&checkpoint_1))
        .unwrap();
    SinkFunction::<InFolder>::open(&mut second, &info(true)).unwrap();
    SinkFunction::<InFolder>::snapshot_state(&mut second, CheckpointId(2)).unwrap();
    SinkFunction::<InFolder>::notify_checkpoint_complete(&mut second, CheckpointId(2)).unwrap();
    assert_eq!(
        files_in_buckets(dir.path()),
        vec![
            file("dt=1/part-run1-0-0", "a\nc\n"),
            file("dt=2/hr=3/part-run1-0-1", "b\n"),
            file("part-run1-0-2", "d\n"),
        ]
    );
}
