//! Event time: timestamps in epoch milliseconds and watermarks.

use serde::{Deserialize, Serialize};

/// The timestamp of a record that has none (processing-time pipelines).
pub const NO_TIMESTAMP: i64 = i64::MIN;

/// A watermark asserts that no record with a timestamp at or below it will arrive any more.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Watermark(pub i64);

impl Watermark {
    /// Before any watermark has been seen.
    pub const MIN: Watermark = Watermark(i64::MIN);
    /// Sent when a bounded input ends: every timer fires and every window closes.
    pub const MAX: Watermark = Watermark(i64::MAX);

    pub fn timestamp(self) -> i64 {
        self.0
    }
}

/// Milliseconds since the epoch, from the system clock: the processing time.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}
