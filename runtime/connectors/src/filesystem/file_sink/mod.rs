//! [`FileSink`]: an exactly-once row-format file sink, committed in two phases like Flink's
//! `FileSink.forRowFormat` (architecture decision 9).
//!
//! Each subtask writes each record's `Display` and a line break into a hidden in-progress part
//! file under the base path (the module `part` explains the names). At every checkpoint the
//! in-progress file is closed and becomes pending: the checkpoint's state of the sink lists the
//! pending files not yet committed. When the checkpoint completes, its pending files are
//! committed: renamed, atomically, to their visible names. So the visible output holds exactly
//! what the completed checkpoints cover:
//!
//! - **a checkpoint that is aborted** commits nothing; its files are committed with the next
//!   checkpoint that completes, whose state names them too;
//! - **a failure** leaves only hidden files. On close the sink removes the ones no checkpoint
//!   holds;
//! - **a restore** commits the pending files the restored state names (a file already
//!   committed is fine), and once every subtask has done so (when the first checkpoint after
//!   the restore completes, or at the end of input) removes the hidden files earlier runs left
//!   behind, so the replayed records are written once;
//! - **a bounded job** commits its last files with the final checkpoint at the end of input
//!   (FLIP-147). With checkpointing off, or in batch mode, it commits everything at the end of
//!   input instead, as Flink's batch execution does.
//!
//! Between checkpoints, part files roll by size and time ([`RollingPolicy`]). A record goes to
//! the bucket its [`FileRecord::bucket`] names: a folder under the base path, each with its own
//! part files. A record that is only `Display` goes to the base path itself (like Flink's
//! `BasePathBucketAssigner`).

mod commit;
mod local;
mod part;
mod rolling;
mod s3;
mod target;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt::Display;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use flinkrs_api::sink::SinkFunction;
use flinkrs_core::{Batch, CheckpointId, Error, Result, RuntimeMode};
use flinkrs_dataflow::TaskInfo;

pub use commit::{PendingFile, PendingUpload};
pub use part::{OutputFileConfig, in_progress_name};
pub use rolling::{
    CHECK_INTERVAL, Clock, FILE_SIZE, INACTIVITY_INTERVAL, PartFileInfo, ROLLOVER_INTERVAL,
    RollingPolicy, SystemClock, parse_memory_size,
};

use commit::{decode_state, encode_state};
use part::InProgressPart;
use target::PartTarget;

/// A record a [`FileSink`] writes: its line, and the bucket (a folder under the base path, such
/// as `dt=2024-01-01/hr=10`) its line goes to. Every `Display` type is one, written to the base
/// path.
pub trait FileRecord {
    /// What is written, followed by a line break.
    fn line(&self) -> &dyn Display;
    /// The bucket's folder under the base path; empty for the base path itself.
    fn bucket(&self) -> &str {
        ""
    }
}

impl<T: Display> FileRecord for T {
    fn line(&self) -> &dyn Display {
        self
    }
}

/// What every subtask of one sink shares.
#[derive(Debug)]
struct Settings {
    base_path: PathBuf,
    target: PartTarget,
    output: OutputFileConfig,
    rolling: RollingPolicy,
    clock: Arc<dyn Clock>,
    unique_id: Option<String>,
}

/// An exactly-once file sink of lines: see the [module docs](self). Build it with
/// [`FileSink::for_row_format`]; each parallel subtask gets its own clone.
///
/// ```no_run
/// use flinkrs_api::prelude::*;
/// use flinkrs_connectors::ConnectorSinks;
/// use flinkrs_connectors::filesystem::{FileSink, RollingPolicy};
///
/// let env = StreamExecutionEnvironment::new();
/// let sink = FileSink::for_row_format("/tmp/numbers")
///     .with_rolling_policy(RollingPolicy::default().with_max_part_size(64 * 1024 * 1024))
///     .build()
///     .unwrap();
/// env.from_collection((1..=100u64).collect()).sink_to_files(sink);
/// env.execute("numbers").unwrap();
/// ```
#[derive(Debug)]
pub struct FileSink {
    settings: Arc<Settings>,
    /// The subtask's state, once initialized or opened.
    writer: Option<SubtaskWriter>,
}

impl Clone for FileSink {
    /// A sink for another subtask: the same settings, nothing written yet.
    fn clone(&self) -> Self {
        FileSink {
            settings: Arc::clone(&self.settings),
            writer: None,
        }
    }
}

/// Builds a [`FileSink`].
#[derive(Debug)]
pub struct FileSinkBuilder {
    base_path: PathBuf,
    output: OutputFileConfig,
    rolling: RollingPolicy,
    clock: Arc<dyn Clock>,
    unique_id: Option<String>,
}

impl FileSink {
    /// A sink writing each record's `Display` on its own line into part files under
    /// `base_path`: Flink's `FileSink.forRowFormat` with the `SimpleStringEncoder`.
    /// `base_path` is a local folder, created when missing (`file:///PATH` too), or an S3
    /// prefix, `s3://BUCKET/PREFIX`, reached with the job's `s3.*` keys (`s3.endpoint`,
    /// `s3.access-key`, …) as checkpoint storage is.
    pub fn for_row_format(base_path: impl Into<PathBuf>) -> FileSinkBuilder {
        FileSinkBuilder {
            base_path: base_path.into(),
            output: OutputFileConfig::default(),
            rolling: RollingPolicy::default(),
            clock: Arc::new(SystemClock),
            unique_id: None,
        }
    }

    /// The folder the part files go to.
    pub fn base_path(&self) -> &Path {
        &self.settings.base_path
    }
}

impl FileSinkBuilder {
    /// The part files' prefix and suffix.
    pub fn with_output_file_config(mut self, output: OutputFileConfig) -> Self {
        self.output = output;
        self
    }

    pub fn with_rolling_policy(mut self, rolling: RollingPolicy) -> Self {
        self.rolling = rolling;
        self
    }

    /// Sets a rolling option by the name Flink's SQL filesystem connector gives it, such as
    /// `sink.rolling-policy.file-size` (see [`RollingPolicy::set_option`]).
    pub fn with_option(mut self, key: &str, value: &str) -> Result<Self> {
        self.rolling.set_option(key, value)?;
        Ok(self)
    }

    /// The clock that rolling by time reads; the system clock by default.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Fixes the `<uid>` in part file names (ASCII letters, digits and `_`) instead of drawing one at random per subtask and
    /// run: for tests and reproducible names. Two runs with the same id write the same names,
    /// and the sink refuses to commit over a file that exists, so give each run its own.
    pub fn with_unique_id(mut self, unique_id: impl Into<String>) -> Self {
        self.unique_id = Some(unique_id.into());
        self
    }

    /// The sink; an invalid rolling policy, unique id or output path is an error naming it.
    pub fn build(self) -> Result<FileSink> {
        self.rolling.validate()?;
        let target = PartTarget::parse(&self.base_path)?;
        if let Some(id) = &self.unique_id
            && (id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        {
            return Err(Error::InvalidJob(format!(
                "the file sink's unique id '{id}' must be non-empty and hold only ASCII letters, \
                 digits and '_'"
            )));
        }
        Ok(FileSink {
            settings: Arc::new(Settings {
                base_path: self.base_path,
                target,
                output: self.output,
                rolling: self.rolling,
                clock: self.clock,
                unique_id: self.unique_id,
            }),
            writer: None,
        })
    }
}

/// One subtask's part files.
#[derive(Debug)]
struct SubtaskWriter {
    /// `"<operator> (<subtask>/<parallelism>)"`, for errors.
    name: String,
    subtask: usize,
    parallelism: usize,
    unique_id: String,
    next_counter: u64,
    /// The open part file of each bucket written since its last roll.
    in_progress: Vec<InProgressPart>,
    /// Closed by the rolling policy since the last checkpoint: in no checkpoint yet.
    rolled: Vec<PendingFile>,
    /// Pending files by the checkpoint that closed them, until it (or a later one) completes.
    prepared: BTreeMap<CheckpointId, Vec<PendingFile>>,
    /// No checkpoint will commit the last files: commit at the end of input.
    commit_at_end: bool,
    /// Restored: remove what earlier runs left once every subtask committed its state.
    remove_leftovers: bool,
    /// When the rolling policy's intervals are checked next (epoch ms).
    next_check: i64,
}

impl FileSink {
    /// The subtask's writer, set up on first use: the base path exists and is a folder.
    fn writer_for(&mut self, info: &TaskInfo) -> Result<&mut SubtaskWriter> {
        if self.writer.is_none() {
            let settings = &self.settings;
            settings.target.open(&info.config)?;
            let config = &info.config;
            let now = settings.clock.now_millis();
            self.writer = Some(SubtaskWriter {
                name: format!("{} ({})", info.operator_name, info.subtask_label()),
                subtask: info.subtask_index,
                parallelism: info.parallelism,
                unique_id: settings.unique_id.clone().unwrap_or_else(random_unique_id),
                next_counter: 0,
                in_progress: Vec::new(),
                rolled: Vec::new(),
                prepared: BTreeMap::new(),
                commit_at_end: config.checkpoint_interval().is_none()
                    || config.runtime_mode() == RuntimeMode::Batch,
                remove_leftovers: false,
                next_check: now.saturating_add(millis(settings.rolling.check_interval)),
            });
        }
        self.writer.as_mut().ok_or_else(|| unopened(&self.settings))
    }

    fn parts(&mut self) -> Result<(&Settings, &mut SubtaskWriter)> {
        match &mut self.writer {
            Some(writer) => Ok((&self.settings, writer)),
            None => Err(unopened(&self.settings)),
        }
    }
}

fn unopened(settings: &Settings) -> Error {
    Error::InvalidJob(format!(
        "the file sink for '{}' was used before open",
        settings.target
    ))
}

/// 16 hex digits drawn from the process's random hashing keys, the time and the process id.
fn random_unique_id() -> String {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default();
    hasher.write_u128(nanos);
    hasher.write_u32(std::process::id());
    format!("{:016x}", hasher.finish())
}

fn millis(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl SubtaskWriter {
    /// Writes one line into its bucket's part file, rolling that file first when it has grown
    /// past the limit.
    fn write(
        &mut self,
        settings: &Settings,
        record: &(impl FileRecord + ?Sized),
        now: i64,
    ) -> Result<()> {
        let bucket = record.bucket();
        let index = match self
            .in_progress
            .iter()
            .position(|part| part.bucket == bucket)
        {
            Some(index)
                if settings
                    .rolling
                    .should_roll_on_event(&self.in_progress[index].info) =>
            {
                let part = self.in_progress.swap_remove(index);
                self.rolled.push(part.close_for_commit()?);
                None
            }
            found => found,
        };
        let index = match index {
            Some(index) => index,
            None => {
                let name =
                    settings
                        .output
                        .part_name(&self.unique_id, self.subtask, self.next_counter);
                self.next_counter += 1;
                self.in_progress
                    .push(settings.target.create(bucket, name, now)?);
                self.in_progress.len() - 1
            }
        };
        let part = &mut self.in_progress[index];
        part.write_line(record.line())?;
        part.info.last_written_at = now;
        Ok(())
    }

    /// Closes every in-progress part file: they become pending.
    fn roll(&mut self) -> Result<()> {
        for part in self.in_progress.drain(..) {
            self.rolled.push(part.close_for_commit()?);
        }
        Ok(())
    }

    /// Closes the part files the rolling policy's intervals say are due at `now`.
    fn roll_due(&mut self, settings: &Settings, now: i64) -> Result<()> {
        let mut index = 0;
        while index < self.in_progress.len() {
            if settings
                .rolling
                .should_roll_on_processing_time(&self.in_progress[index].info, now)
            {
                let part = self.in_progress.swap_remove(index);
                self.rolled.push(part.close_for_commit()?);
            } else {
                index += 1;
            }
        }
        Ok(())
    }

    /// Commits the pending files of every checkpoint up to `checkpoint`.
    fn commit_up_to(&mut self, settings: &Settings, checkpoint: CheckpointId) -> Result<()> {
        let later = match checkpoint.0.checked_add(1) {
            Some(next) => self.prepared.split_off(&CheckpointId(next)),
            None => BTreeMap::new(),
        };
        let committed = std::mem::replace(&mut self.prepared, later);
        for file in committed.values().flatten() {
            settings.target.commit(file)?;
        }
        self.remove_leftovers_once(settings)
    }

    fn remove_leftovers_once(&mut self, settings: &Settings) -> Result<()> {
        if std::mem::take(&mut self.remove_leftovers) {
            settings.target.remove_leftovers(
                &settings.output,
                self.subtask,
                self.parallelism,
                &self.unique_id,
            )?;
        }
        Ok(())
    }
}

impl<T: FileRecord> SinkFunction<T> for FileSink {
    /// Commits the pending files of the restored items: this subtask's own, or on a rescaled
    /// restore its share of every old subtask's.
    fn initialize_state(&mut self, info: &TaskInfo, state: Option<&[Vec<u8>]>) -> Result<()> {
        let settings = Arc::clone(&self.settings);
        let writer = self.writer_for(info)?;
        let Some(items) = state else {
            return Ok(());
        };
        for item in items {
            for file in decode_state(item, &writer.name)? {
                settings.target.commit(&file)?;
            }
        }
        writer.remove_leftovers = true;
        Ok(())
    }

    fn open(&mut self, info: &TaskInfo) -> Result<()> {
        self.writer_for(info).map(|_| ())
    }

    fn write_batch(&mut self, batch: &mut Batch<T>) -> Result<()> {
        let (settings, writer) = self.parts()?;
        // One clock read per batch: its records share the write time.
        let now = settings.clock.now_millis();
        for record in batch.iter() {
            writer.write(settings, &record.value, now)?;
        }
        Ok(())
    }

    /// Rolls the in-progress file: the checkpoint holds every pending file not committed yet.
    fn snapshot_state(&mut self, checkpoint: CheckpointId) -> Result<Vec<Vec<u8>>> {
        let (_, writer) = self.parts()?;
        writer.roll()?;
        let closed = std::mem::take(&mut writer.rolled);
        if !closed.is_empty() {
            writer
                .prepared
                .entry(checkpoint)
                .or_default()
                .extend(closed);
        }
        let pending: Vec<&PendingFile> = writer.prepared.values().flatten().collect();
        Ok(vec![encode_state(&pending)?])
    }

    fn notify_checkpoint_complete(&mut self, checkpoint: CheckpointId) -> Result<()> {
        let (settings, writer) = self.parts()?;
        writer.commit_up_to(settings, checkpoint)
    }

    fn on_processing_time(&mut self, _now_millis: i64) -> Result<()> {
        let (settings, writer) = self.parts()?;
        let now = settings.clock.now_millis();
        if now < writer.next_check {
            return Ok(());
        }
        writer.next_check = now.saturating_add(millis(settings.rolling.check_interval));
        writer.roll_due(settings, now)
    }

    /// Without a final checkpoint ahead, commits everything now; with one, only flushes.
    fn finish(&mut self) -> Result<()> {
        let (settings, writer) = self.parts()?;
        if !writer.commit_at_end {
            return writer
                .in_progress
                .iter_mut()
                .try_for_each(|part| part.flush());
        }
        writer.roll()?;
        let rolled = std::mem::take(&mut writer.rolled);
        for file in writer.prepared.values().flatten().chain(&rolled) {
            settings.target.commit(file)?;
        }
        writer.prepared.clear();
        writer.remove_leftovers_once(settings)
    }

    /// Removes the files no checkpoint holds: the in-progress one and those rolled since the
    /// last checkpoint. After a normal end there are none.
    fn close(&mut self) -> Result<()> {
        let Some(mut writer) = self.writer.take() else {
            return Ok(());
        };
        let discarded = writer
            .in_progress
            .drain(..)
            .try_for_each(|part| part.discard());
        let target = &self.settings.target;
        let removed = writer
            .rolled
            .iter()
            .try_for_each(|file| target.discard(file));
        discarded.and(removed)
    }
}
