//! The windows themselves: [`TimeWindow`] (a half-open interval of event or processing time)
//! and [`GlobalWindow`] (the single window of count windows).

use std::fmt;
use std::hash::Hash;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A window that groups elements. Its contents live in keyed state, so it is serializable,
/// and it is ordered so that a key's windows are kept in a deterministic order.
pub trait Window:
    Clone + Ord + Hash + fmt::Debug + Send + Sync + Serialize + DeserializeOwned + 'static
{
    /// The largest timestamp that still belongs to the window; results carry it as their
    /// timestamp, as in Flink.
    fn max_timestamp(&self) -> i64;
}

/// The half-open interval `[start, end)` in milliseconds, as Flink's `TimeWindow`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TimeWindow {
    pub start: i64,
    pub end: i64,
}

impl TimeWindow {
    pub fn new(start: i64, end: i64) -> Self {
        TimeWindow { start, end }
    }

    /// `end - 1`: the last millisecond inside the window.
    pub fn max_timestamp(&self) -> i64 {
        self.end.saturating_sub(1)
    }

    /// Whether the two windows overlap or touch: Flink merges sessions `[0, 5)` and `[5, 9)`.
    pub fn intersects(&self, other: &TimeWindow) -> bool {
        self.start <= other.end && self.end >= other.start
    }

    /// The smallest window that covers both.
    pub fn cover(&self, other: &TimeWindow) -> TimeWindow {
        TimeWindow {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// The start of the window of length `size` with `offset` that contains `timestamp`, as
    /// Flink's `TimeWindow.getWindowStartWithOffset`. Computed in 128 bits so that timestamps
    /// near the ends of the range do not overflow; `size` must be positive.
    pub fn window_start_with_offset(timestamp: i64, offset: i64, size: i64) -> i64 {
        if size <= 0 {
            return timestamp;
        }
        // The common case in 64 bits: 128-bit division is a slow library call.
        if let Some(shifted) = timestamp.checked_sub(offset)
            && let Some(start) = timestamp.checked_sub(shifted.rem_euclid(size))
        {
            return start;
        }
        let remainder = (i128::from(timestamp) - i128::from(offset)).rem_euclid(i128::from(size));
        clamp_to_i64(i128::from(timestamp) - remainder)
    }
}

impl Window for TimeWindow {
    fn max_timestamp(&self) -> i64 {
        TimeWindow::max_timestamp(self)
    }
}

impl fmt::Display for TimeWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TimeWindow{{start={}, end={}}}", self.start, self.end)
    }
}

/// The one window of a key when windows are formed by count, as Flink's `GlobalWindow`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct GlobalWindow;

impl Window for GlobalWindow {
    fn max_timestamp(&self) -> i64 {
        i64::MAX
    }
}

impl fmt::Display for GlobalWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GlobalWindow")
    }
}

pub(crate) fn clamp_to_i64(value: i128) -> i64 {
    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}

/// Milliseconds of a duration, saturating: durations beyond `i64::MAX` ms mean "forever".
pub(crate) fn duration_millis(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_start_matches_flink_for_negative_and_offset_timestamps() {
        assert_eq!(TimeWindow::window_start_with_offset(7_300, 0, 5_000), 5_000);
        assert_eq!(TimeWindow::window_start_with_offset(5_000, 0, 5_000), 5_000);
        assert_eq!(TimeWindow::window_start_with_offset(-1, 0, 5_000), -5_000);
        assert_eq!(
            TimeWindow::window_start_with_offset(7_300, 1_000, 5_000),
            6_000
        );
        assert_eq!(
            TimeWindow::window_start_with_offset(i64::MIN, 0, 5_000),
            i64::MIN
        );
    }

    #[test]
    fn touching_windows_intersect_and_display_like_flink() {
        let a = TimeWindow::new(0, 5_000);
        let b = TimeWindow::new(5_000, 9_000);
        assert!(a.intersects(&b));
        assert!(!a.intersects(&TimeWindow::new(5_001, 6_000)));
        assert_eq!(a.cover(&b), TimeWindow::new(0, 9_000));
        assert_eq!(a.max_timestamp(), 4_999);
        assert_eq!(a.to_string(), "TimeWindow{start=0, end=5000}");
    }
}
