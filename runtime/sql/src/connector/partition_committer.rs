//! The writers and the committer of a `filesystem` sink with a partition commit policy, as
//! Flink's `StreamingFileWriter` and `PartitionCommitter`:
//! - each writer subtask writes its rows through the [`FileSink`] and notes the partitions
//!   it writes; when a checkpoint completes (its files are committed) it sends the committer
//!   which partitions that checkpoint covers, with the next batch, watermark or timer it
//!   handles (the runtime lets an operator emit only then);
//! - the committer, at parallelism 1, waits for every writer's report of a checkpoint, then
//!   commits the partitions its trigger finds committable ([`CommitSettings`]); at the end of
//!   input it commits every partition left.
//!
//! The writers checkpoint the partitions of the checkpoints they have not reported yet, the
//! committer its pending partitions and the watermark of each checkpoint.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use flinkrs_api::sink::SinkFunction;
use flinkrs_connectors::filesystem::{FileRecord, FileSink};
use flinkrs_core::{Batch, CheckpointId, Error, Result, Watermark};
use flinkrs_dataflow::{Operator, OperatorSnapshot, Output, TaskInfo};
use serde::{Deserialize, Serialize};

use super::partition_commit::CommitSettings;

/// A writer's report: the partitions whose files checkpoint `checkpoint` committed, or, at the
/// end of input (`checkpoint` `None`), every partition it wrote.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct CommitInfo {
    pub checkpoint: Option<u64>,
    pub subtask: usize,
    pub writers: usize,
    pub partitions: Vec<String>,
}

/// The first byte of the writer's state item listing the partitions of each checkpoint not
/// reported yet; the file sink's own items start with their layout version (1 or 2).
const PARTITIONS_TAG: u8 = 0xF1;

/// A writer subtask: the file sink, and the partitions its checkpoints cover. Its checkpoint
/// holds the file sink's items and one item of partitions.
pub(crate) struct PartitionWriter<R> {
    sink: FileSink,
    subtask: usize,
    writers: usize,
    /// The partitions written since the last checkpoint.
    written: HashSet<String>,
    /// The partitions of each checkpoint not complete yet.
    by_checkpoint: BTreeMap<u64, HashSet<String>>,
    /// Reports of completed checkpoints, not sent yet.
    ready: Vec<CommitInfo>,
    _record: std::marker::PhantomData<fn(R)>,
}

impl<R> PartitionWriter<R> {
    pub(crate) fn new(sink: FileSink, info: &TaskInfo) -> Self {
        PartitionWriter {
            sink,
            subtask: info.subtask_index,
            writers: info.parallelism,
            written: HashSet::new(),
            by_checkpoint: BTreeMap::new(),
            ready: Vec::new(),
            _record: std::marker::PhantomData,
        }
    }

    fn send_ready(&mut self, out: &mut Output<Batch<CommitInfo>>) {
        for info in self.ready.drain(..) {
            out.collect_value(info);
        }
    }
}

impl<R: FileRecord + Send + 'static> Operator<Batch<R>, Batch<CommitInfo>> for PartitionWriter<R> {
    /// Restores the file sink's pending files and the partitions of checkpoints not reported
    /// yet: they are reported with the next checkpoint that completes.
    fn initialize_state(&mut self, info: &TaskInfo, state: Option<OperatorSnapshot>) -> Result<()> {
        let Some(snapshot) = state else {
            return SinkFunction::<R>::initialize_state(&mut self.sink, info, None);
        };
        let mut files = Vec::new();
        for item in snapshot.operator_state {
            match item.split_first() {
                Some((&PARTITIONS_TAG, encoded)) => {
                    let restored: BTreeMap<u64, Vec<String>> = postcard::from_bytes(encoded)
                        .map_err(|e| {
                            Error::state(format!(
                                "{} ({}): the checkpointed partitions cannot be decoded: {e}",
                                info.operator_name,
                                info.subtask_label()
                            ))
                        })?;
                    for (checkpoint, partitions) in restored {
                        self.by_checkpoint
                            .entry(checkpoint)
                            .or_default()
                            .extend(partitions);
                    }
                }
                _ => files.push(item),
            }
        }
        SinkFunction::<R>::initialize_state(&mut self.sink, info, Some(&files))
    }

    fn open(&mut self, info: &TaskInfo) -> Result<()> {
        SinkFunction::<R>::open(&mut self.sink, info)
    }

    fn process_batch(
        &mut self,
        batch: &mut Batch<R>,
        out: &mut Output<Batch<CommitInfo>>,
    ) -> Result<()> {
        for record in batch.iter() {
            let bucket = record.value.bucket();
            if !self.written.contains(bucket) {
                self.written.insert(bucket.to_owned());
            }
        }
        self.sink.write_batch(batch)?;
        self.send_ready(out);
        Ok(())
    }

    fn process_watermark(
        &mut self,
        watermark: Watermark,
        out: &mut Output<Batch<CommitInfo>>,
    ) -> Result<()> {
        self.send_ready(out);
        out.emit_watermark(watermark)
    }

    fn on_processing_time(
        &mut self,
        now_millis: i64,
        out: &mut Output<Batch<CommitInfo>>,
    ) -> Result<()> {
        SinkFunction::<R>::on_processing_time(&mut self.sink, now_millis)?;
        self.send_ready(out);
        Ok(())
    }

    fn snapshot_state(&mut self, checkpoint: CheckpointId) -> Result<OperatorSnapshot> {
        let written = std::mem::take(&mut self.written);
        self.by_checkpoint
            .entry(checkpoint.0)
            .or_default()
            .extend(written);
        let mut items = SinkFunction::<R>::snapshot_state(&mut self.sink, checkpoint)?;
        let partitions: BTreeMap<u64, Vec<&String>> = self
            .by_checkpoint
            .iter()
            .map(|(id, partitions)| (*id, partitions.iter().collect()))
            .collect();
        let encoded = postcard::to_allocvec(&partitions)
            .map_err(|e| Error::Codec(format!("the partitions of checkpoints: {e}")))?;
        let mut item = Vec::with_capacity(encoded.len() + 1);
        item.push(PARTITIONS_TAG);
        item.extend_from_slice(&encoded);
        items.push(item);
        Ok(OperatorSnapshot {
            keyed: None,
            operator_state: items,
        })
    }

    fn notify_checkpoint_complete(&mut self, checkpoint: CheckpointId) -> Result<()> {
        SinkFunction::<R>::notify_checkpoint_complete(&mut self.sink, checkpoint)?;
        let later = match checkpoint.0.checked_add(1) {
            Some(next) => self.by_checkpoint.split_off(&next),
            None => BTreeMap::new(),
        };
        let done = std::mem::replace(&mut self.by_checkpoint, later);
        let partitions: BTreeSet<String> = done.into_values().flatten().collect();
        self.ready.push(CommitInfo {
            checkpoint: Some(checkpoint.0),
            subtask: self.subtask,
            writers: self.writers,
            partitions: partitions.into_iter().collect(),
        });
        Ok(())
    }

    fn notify_checkpoint_aborted(&mut self, checkpoint: CheckpointId) -> Result<()> {
        SinkFunction::<R>::notify_checkpoint_aborted(&mut self.sink, checkpoint)
    }

    /// Commits or flushes the files, then reports every partition not reported yet.
    fn end_input(&mut self, out: &mut Output<Batch<CommitInfo>>) -> Result<()> {
        SinkFunction::<R>::finish(&mut self.sink)?;
        self.send_ready(out);
        let mut partitions: BTreeSet<String> = std::mem::take(&mut self.by_checkpoint)
            .into_values()
            .flatten()
            .collect();
        partitions.extend(self.written.drain());
        out.collect_value(CommitInfo {
            checkpoint: None,
            subtask: self.subtask,
            writers: self.writers,
            partitions: partitions.into_iter().collect(),
        });
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        SinkFunction::<R>::close(&mut self.sink)
    }
}

/// The committer's checkpointed state.
#[derive(Default, Serialize, Deserialize)]
struct CommitterState {
    /// Partitions waiting for their trigger, with the processing time first heard of.
    pending: BTreeMap<String, i64>,
    /// The watermark at each checkpoint whose reports are not all in.
    watermarks: BTreeMap<u64, i64>,
}

/// The committer, at parallelism 1.
pub(crate) struct PartitionCommitter {
    settings: Arc<CommitSettings>,
    name: String,
    state: CommitterState,
    watermark: i64,
    /// Per checkpoint, the writer subtasks that reported it.
    reported: BTreeMap<u64, BTreeSet<usize>>,
}

impl PartitionCommitter {
    pub(crate) fn new(settings: Arc<CommitSettings>, info: &TaskInfo) -> Self {
        PartitionCommitter {
            settings,
            name: format!("{} ({})", info.operator_name, info.subtask_label()),
            state: CommitterState::default(),
            watermark: i64::MIN,
            reported: BTreeMap::new(),
        }
    }

    fn error(&self, message: impl std::fmt::Display) -> Error {
        Error::function(format!("{}: {message}", self.name))
    }

    fn add(&mut self, partitions: &[String]) {
        let now = now_millis();
        for partition in partitions {
            if !partition.is_empty() {
                self.state.pending.entry(partition.clone()).or_insert(now);
            }
        }
    }

    /// Every writer reported `checkpoint`: commits what its trigger allows.
    fn commit_checkpoint(&mut self, checkpoint: u64) -> Result<()> {
        // The watermark the committer had at that checkpoint, as Flink's trigger keeps it.
        let watermark = self
            .state
            .watermarks
            .get(&checkpoint)
            .copied()
            .unwrap_or(self.watermark);
        self.state.watermarks.retain(|id, _| *id > checkpoint);
        let now = now_millis();
        let mut committable = Vec::new();
        for (partition, created) in &self.state.pending {
            if self
                .settings
                .committable(partition, *created, now, watermark)
                .map_err(|message| self.error(message))?
            {
                committable.push(partition.clone());
            }
        }
        for partition in committable {
            self.state.pending.remove(&partition);
            self.commit(&partition)?;
        }
        Ok(())
    }

    /// Applies the commit policy to `partition`: writes its success file.
    fn commit(&self, partition: &str) -> Result<()> {
        let Some(name) = &self.settings.success_file else {
            return Ok(());
        };
        let folder = self.settings.folder(partition);
        std::fs::create_dir_all(&folder)
            .and_then(|()| std::fs::write(folder.join(name), b""))
            .map_err(|e| {
                self.error(format!(
                    "cannot write the success file of partition '{partition}' in '{}': {e}",
                    folder.display()
                ))
            })
    }
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

impl Operator<Batch<CommitInfo>, Batch<()>> for PartitionCommitter {
    fn initialize_state(
        &mut self,
        _info: &TaskInfo,
        state: Option<OperatorSnapshot>,
    ) -> Result<()> {
        let Some(snapshot) = state else {
            return Ok(());
        };
        for item in &snapshot.operator_state {
            let restored: CommitterState = postcard::from_bytes(item).map_err(|e| {
                Error::state(format!(
                    "{}: the checkpointed pending partitions cannot be decoded: {e}",
                    self.name
                ))
            })?;
            self.state.pending.extend(restored.pending);
            self.state.watermarks.extend(restored.watermarks);
        }
        Ok(())
    }

    fn process_batch(
        &mut self,
        batch: &mut Batch<CommitInfo>,
        _out: &mut Output<Batch<()>>,
    ) -> Result<()> {
        for record in batch.iter() {
            let info = &record.value;
            self.add(&info.partitions);
            let Some(checkpoint) = info.checkpoint else {
                continue;
            };
            let reported = self.reported.entry(checkpoint).or_default();
            reported.insert(info.subtask);
            if reported.len() >= info.writers {
                self.reported.retain(|id, _| *id > checkpoint);
                self.commit_checkpoint(checkpoint)?;
            }
        }
        Ok(())
    }

    fn process_watermark(
        &mut self,
        watermark: Watermark,
        out: &mut Output<Batch<()>>,
    ) -> Result<()> {
        self.watermark = self.watermark.max(watermark.0);
        out.emit_watermark(watermark)
    }

    fn snapshot_state(&mut self, checkpoint: CheckpointId) -> Result<OperatorSnapshot> {
        self.state.watermarks.insert(checkpoint.0, self.watermark);
        let encoded = postcard::to_allocvec(&self.state)
            .map_err(|e| Error::Codec(format!("{}: pending partitions: {e}", self.name)))?;
        Ok(OperatorSnapshot {
            keyed: None,
            operator_state: vec![encoded],
        })
    }

    /// The end of a bounded input: every partition left is committed, as Flink's triggers'
    /// `endInput` gives them all.
    fn end_input(&mut self, _out: &mut Output<Batch<()>>) -> Result<()> {
        let pending = std::mem::take(&mut self.state.pending);
        for partition in pending.keys() {
            self.commit(partition)?;
        }
        Ok(())
    }
}
