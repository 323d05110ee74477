//! Flink's metric identifiers. Dashboards and alerts written for Flink look these names up, so
//! they are spelled exactly as Flink spells them.

/// Records a task or operator received.
pub const NUM_RECORDS_IN: &str = "numRecordsIn";
/// Records a task or operator emitted.
pub const NUM_RECORDS_OUT: &str = "numRecordsOut";
/// Bytes a task or operator received.
pub const NUM_BYTES_IN: &str = "numBytesIn";
/// Bytes a task or operator emitted.
pub const NUM_BYTES_OUT: &str = "numBytesOut";

pub const NUM_RECORDS_IN_PER_SECOND: &str = "numRecordsInPerSecond";
pub const NUM_RECORDS_OUT_PER_SECOND: &str = "numRecordsOutPerSecond";
pub const NUM_BYTES_IN_PER_SECOND: &str = "numBytesInPerSecond";
pub const NUM_BYTES_OUT_PER_SECOND: &str = "numBytesOutPerSecond";

/// Milliseconds per second the task spent processing.
pub const BUSY_TIME_MS_PER_SECOND: &str = "busyTimeMsPerSecond";
/// Milliseconds per second the task waited for room in its output channels.
pub const BACK_PRESSURED_TIME_MS_PER_SECOND: &str = "backPressuredTimeMsPerSecond";
/// Milliseconds per second the task waited for input.
pub const IDLE_TIME_MS_PER_SECOND: &str = "idleTimeMsPerSecond";

/// The running totals behind the three rates above; Flink exposes them too.
pub const ACCUMULATE_BUSY_TIME_MS: &str = "accumulateBusyTimeMs";
pub const ACCUMULATE_BACK_PRESSURED_TIME_MS: &str = "accumulateBackPressuredTimeMs";
pub const ACCUMULATE_IDLE_TIME_MS: &str = "accumulateIdleTimeMs";

/// The last watermark a task or operator received, in milliseconds.
pub const CURRENT_INPUT_WATERMARK: &str = "currentInputWatermark";
/// The last watermark an operator emitted, in milliseconds.
pub const CURRENT_OUTPUT_WATERMARK: &str = "currentOutputWatermark";

/// Times the job restarted since it was submitted: a JobManager job metric (a gauge in
/// Flink).
pub const NUM_RESTARTS: &str = "numRestarts";
/// The same count under its deprecated name, which Flink still reports.
pub const FULL_RESTARTS: &str = "fullRestarts";

/// Checkpoints of the job that completed: a JobManager job metric, as Flink's checkpoint
/// statistics report them.
pub const NUMBER_OF_COMPLETED_CHECKPOINTS: &str = "numberOfCompletedCheckpoints";
/// Checkpoints of the job that failed (aborted, timed out or declined).
pub const NUMBER_OF_FAILED_CHECKPOINTS: &str = "numberOfFailedCheckpoints";
/// Checkpoints in flight: 0 or 1.
pub const NUMBER_OF_IN_PROGRESS_CHECKPOINTS: &str = "numberOfInProgressCheckpoints";
/// The last completed checkpoint's time from trigger to completion, in milliseconds.
pub const LAST_CHECKPOINT_DURATION: &str = "lastCheckpointDuration";
/// The last completed checkpoint's size: the bytes of its task states, in bytes.
pub const LAST_CHECKPOINT_SIZE: &str = "lastCheckpointSize";
