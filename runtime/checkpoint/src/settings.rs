//! [`CheckpointSettings`]: the coordinator's configuration, read from Flink's keys.

use std::time::Duration;

use flinkrs_core::Configuration;

/// How often to checkpoint and how much failure to tolerate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckpointSettings {
    /// `execution.checkpointing.interval`.
    pub interval: Duration,
    /// `execution.checkpointing.min-pause`.
    pub min_pause: Duration,
    /// `execution.checkpointing.timeout`.
    pub timeout: Duration,
    /// `execution.checkpointing.tolerable-failed-checkpoints`.
    pub tolerable_failures: u32,
    /// `execution.checkpointing.num-retained`.
    pub num_retained: usize,
}

impl CheckpointSettings {
    /// The settings of `config`, or `None` when checkpointing is off (no interval).
    pub fn from_config(config: &Configuration) -> Option<Self> {
        Some(CheckpointSettings {
            interval: config.checkpoint_interval()?,
            min_pause: config.checkpoint_min_pause(),
            timeout: config.checkpoint_timeout(),
            tolerable_failures: config.tolerable_failed_checkpoints(),
            num_retained: config.checkpoints_num_retained().max(1),
        })
    }
}
