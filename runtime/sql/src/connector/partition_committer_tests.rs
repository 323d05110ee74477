//! The partition writer and committer driven directly: success files appear in exactly the
//! partitions written, only once the checkpoint that commits their files completes, and with
//! the partition-time trigger once the watermark passes the partition's time and the delay.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use flinkrs_connectors::filesystem::{FileRecord, FileSink};
use flinkrs_core::{Batch, CheckpointId, Configuration, Record, Watermark};
use flinkrs_dataflow::chain::Collect;
use flinkrs_dataflow::{Operator, Output, TaskInfo};

use super::partition_commit::{CommitSettings, Trigger};
use super::partition_committer::{CommitInfo, PartitionCommitter, PartitionWriter};

/// A line of partition `folder`.
struct Line {
    folder: &'static str,
    text: &'static str,
}

impl FileRecord for Line {
    fn line(&self) -> &dyn fmt::Display {
        &self.text
    }

    fn bucket(&self) -> &str {
        self.folder
    }
}

fn info(name: &str) -> TaskInfo {
    let mut config = Configuration::new();
    config
        .set("execution.checkpointing.interval", "1 s")
        .unwrap();
    TaskInfo {
        job_name: "test".into(),
        task_name: name.into(),
        operator_name: name.into(),
        operator_id: name.into(),
        subtask_index: 0,
        parallelism: 1,
        max_parallelism: 128,
        config: Arc::new(config),
        job_id: flinkrs_core::JobId(0),
        attempt_number: 0,
    }
}

struct Harness {
    root: PathBuf,
    writer: PartitionWriter<Line>,
    writer_out: Output<Batch<CommitInfo>>,
    reports: Collect<Batch<CommitInfo>>,
    committer: PartitionCommitter,
    committer_out: Output<Batch<()>>,
}

impl Harness {
    fn new(root: &Path, trigger: Trigger, delay_millis: i64) -> Self {
        let sink = FileSink::for_row_format(root)
            .with_unique_id("run")
            .build()
            .unwrap();
        let mut writer = PartitionWriter::new(sink, &info("writer"));
        writer.open(&info("writer")).unwrap();
        let settings = CommitSettings {
            root: root.to_path_buf(),
            trigger,
            delay_millis,
            success_file: Some("_SUCCESS".into()),
            keys: vec!["dt".into(), "hm".into()],
            pattern: Some("$dt $hm:00".into()),
            default_name: "__DEFAULT_PARTITION__".into(),
        };
        let reports = Collect::default();
        Harness {
            root: root.to_path_buf(),
            writer,
            writer_out: Output::new(Box::new(reports.clone()), Vec::new()),
            reports,
            committer: PartitionCommitter::new(Arc::new(settings), &info("committer")),
            committer_out: Output::new(Box::new(Collect::<Batch<()>>::default()), Vec::new()),
        }
    }

    fn write(&mut self, lines: &[(&'static str, &'static str)]) {
        let mut batch: Batch<Line> = lines
            .iter()
            .map(|(folder, text)| Record::new(Line { folder, text }))
            .collect();
        self.writer
            .process_batch(&mut batch, &mut self.writer_out)
            .unwrap();
        self.forward();
    }

    /// Hands the writer's reports to the committer.
    fn forward(&mut self) {
        self.writer_out.flush().unwrap();
        for mut batch in self.reports.take_batches() {
            self.committer
                .process_batch(&mut batch, &mut self.committer_out)
                .unwrap();
        }
    }

    /// A checkpoint: the writer's and the committer's snapshots, at watermark `watermark`.
    fn checkpoint(&mut self, id: u64, watermark: i64) {
        self.writer
            .process_watermark(Watermark(watermark), &mut self.writer_out)
            .unwrap();
        self.committer
            .process_watermark(Watermark(watermark), &mut self.committer_out)
            .unwrap();
        self.writer.snapshot_state(CheckpointId(id)).unwrap();
        self.committer.snapshot_state(CheckpointId(id)).unwrap();
    }

    /// Checkpoint `id` completes; its report reaches the committer with the next watermark.
    fn complete(&mut self, id: u64, next_watermark: i64) {
        self.writer
            .notify_checkpoint_complete(CheckpointId(id))
            .unwrap();
        self.forward();
        self.writer
            .process_watermark(Watermark(next_watermark), &mut self.writer_out)
            .unwrap();
        self.forward();
    }

    /// The success files under the root, as their folders.
    fn successes(&self) -> Vec<String> {
        let mut found = Vec::new();
        let mut folders = vec![self.root.clone()];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    folders.push(path);
                } else if path.file_name().unwrap() == "_SUCCESS" {
                    let folder = path.parent().unwrap().strip_prefix(&self.root).unwrap();
                    found.push(folder.display().to_string());
                }
            }
        }
        found.sort();
        found
    }
}

#[test]
fn success_files_appear_in_the_partitions_written_once_their_checkpoint_completes() {
    let dir = tempfile::tempdir().unwrap();
    let mut harness = Harness::new(dir.path(), Trigger::ProcessTime, 0);
    harness.write(&[("dt=1/hm=a", "x"), ("dt=1/hm=b", "y"), ("dt=1/hm=a", "z")]);
    harness.checkpoint(1, 0);
    harness.write(&[("dt=2/hm=a", "w")]);
    // Checkpoint 1 is taken but not complete: nothing is committed.
    assert!(harness.successes().is_empty());
    harness.complete(1, 1);
    assert_eq!(harness.successes(), ["dt=1/hm=a", "dt=1/hm=b"]);
    // The end of input commits the partition written after the last checkpoint.
    harness.writer.end_input(&mut harness.writer_out).unwrap();
    harness.forward();
    harness
        .committer
        .end_input(&mut harness.committer_out)
        .unwrap();
    assert_eq!(harness.successes(), ["dt=1/hm=a", "dt=1/hm=b", "dt=2/hm=a"]);
}

#[test]
fn partition_time_commits_once_the_watermark_passes_the_partition_time_and_the_delay() {
    let dir = tempfile::tempdir().unwrap();
    // One minute of delay, as Nexmark q10.
    let mut harness = Harness::new(dir.path(), Trigger::PartitionTime, 60_000);
    // 2015-07-15 00:01 and 00:02 UTC.
    let minute_one = 1_436_918_460_000;
    harness.write(&[
        ("dt=2015-07-15/hm=00%3A01", "a"),
        ("dt=2015-07-15/hm=00%3A02", "b"),
    ]);
    // At checkpoint 1 the watermark is at the delay's end of minute one: not past it.
    harness.checkpoint(1, minute_one + 60_000);
    harness.complete(1, minute_one + 60_000);
    assert!(harness.successes().is_empty());
    // At checkpoint 2 it is past minute one's, not minute two's.
    harness.checkpoint(2, minute_one + 60_001);
    harness.complete(2, minute_one + 60_001);
    assert_eq!(harness.successes(), ["dt=2015-07-15/hm=00%3A01"]);
    harness
        .committer
        .end_input(&mut harness.committer_out)
        .unwrap();
    assert_eq!(
        harness.successes(),
        ["dt=2015-07-15/hm=00%3A01", "dt=2015-07-15/hm=00%3A02"]
    );
}

#[test]
fn a_restored_writer_reports_the_partitions_of_its_checkpoint_with_the_next_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut harness = Harness::new(dir.path(), Trigger::ProcessTime, 0);
    harness.write(&[("dt=1/hm=a", "x")]);
    harness.checkpoint(1, 0);
    let snapshot = harness.writer.snapshot_state(CheckpointId(2)).unwrap();
    // The job fails before checkpoint 2's completion is known; a new run restores it.
    let mut restored = Harness::new(dir.path(), Trigger::ProcessTime, 0);
    restored
        .writer
        .initialize_state(&info("writer"), Some(snapshot))
        .unwrap();
    assert!(restored.successes().is_empty());
    restored.write(&[("dt=2/hm=b", "y")]);
    restored.checkpoint(3, 0);
    restored.complete(3, 1);
    assert_eq!(restored.successes(), ["dt=1/hm=a", "dt=2/hm=b"]);
}
