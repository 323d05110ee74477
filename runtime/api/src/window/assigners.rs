//! Window assigners: which [`TimeWindow`]s an element belongs to, as Flink's
//! `TumblingEventTimeWindows`, `SlidingEventTimeWindows`, `EventTimeSessionWindows` and their
//! processing-time counterparts.

use std::fmt;
use std::time::Duration;

use flinkrs_core::{Error, Result};

use super::time_window::{TimeWindow, duration_millis};

/// Assigns an element to zero or more time windows.
pub trait WindowAssigner: fmt::Display + fmt::Debug + Send + Sync + 'static {
    /// Appends the windows of an element with event time `timestamp` that arrives at
    /// processing time `now`. Appending to a buffer the caller reuses keeps assignment free of
    /// allocation.
    fn assign_windows(&self, timestamp: i64, now: i64, windows: &mut Vec<TimeWindow>);

    /// Event time (timestamps and watermarks) or processing time (the wall clock).
    fn is_event_time(&self) -> bool;

    /// A span `[from, to)` around `time` (the element's timestamp in event time, the
    /// processing time otherwise) in which every time is assigned the same windows as `time`,
    /// so that consecutive elements can share one assignment. `None` when there is none to
    /// tell.
    fn same_windows_span(&self, _time: i64) -> Option<(i64, i64)> {
        None
    }

    /// Whether overlapping windows of a key are merged (session windows).
    fn is_merging(&self) -> bool {
        false
    }

    /// Rejects parameters Flink rejects; called when the operator is built, so a bad window
    /// fails the job with a clear message instead of producing nonsense.
    fn validate(&self) -> Result<()>;
}

fn invalid(message: String) -> Error {
    Error::InvalidJob(message)
}

fn check_tumbling(name: &str, size: i64, offset: i64) -> Result<()> {
    if size <= 0 || offset >= size {
        return Err(invalid(format!(
            "{name}: size ({size} ms) must be positive and offset ({offset} ms) smaller than it"
        )));
    }
    Ok(())
}

fn check_sliding(name: &str, size: i64, slide: i64, offset: i64) -> Result<()> {
    if size <= 0 || slide <= 0 || offset >= slide {
        return Err(invalid(format!(
            "{name}: size ({size} ms) and slide ({slide} ms) must be positive and offset \
             ({offset} ms) smaller than the slide"
        )));
    }
    Ok(())
}

fn check_gap(name: &str, gap: i64) -> Result<()> {
    if gap <= 0 {
        return Err(invalid(format!(
            "{name}: the session gap ({gap} ms) must be positive"
        )));
    }
    Ok(())
}

fn tumbling(timestamp: i64, size: i64, offset: i64, windows: &mut Vec<TimeWindow>) {
    let start = TimeWindow::window_start_with_offset(timestamp, offset, size);
    windows.push(TimeWindow::new(start, start.saturating_add(size)));
}

/// A tumbling window is the span of times assigned to it, unless it is cut off at either end
/// of time (where assignment clamps).
fn tumbling_span(time: i64, size: i64, offset: i64) -> Option<(i64, i64)> {
    let start = TimeWindow::window_start_with_offset(time, offset, size);
    let end = start.checked_add(size)?;
    (size > 0 && start != i64::MIN && end != i64::MAX).then_some((start, end))
}

/// Every window `[start, start + size)` with `start` on the slide grid that contains the
/// timestamp, latest first as in Flink: `size / slide` windows when the slide divides the size.
fn sliding(timestamp: i64, size: i64, slide: i64, offset: i64, windows: &mut Vec<TimeWindow>) {
    let mut start = TimeWindow::window_start_with_offset(timestamp, offset, slide);
    let earliest_exclusive = timestamp.saturating_sub(size);
    while start > earliest_exclusive {
        windows.push(TimeWindow::new(start, start.saturating_add(size)));
        match start.checked_sub(slide) {
            Some(previous) => start = previous,
            None => break,
        }
    }
}

fn session(timestamp: i64, gap: i64, windows: &mut Vec<TimeWindow>) {
    windows.push(TimeWindow::new(timestamp, timestamp.saturating_add(gap)));
}

macro_rules! tumbling_assigner {
    ($name:ident, $event_time:expr, $doc:literal) => {
        #[doc = $doc]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name {
            size: i64,
            offset: i64,
        }

        impl $name {
            /// Windows of `size`, aligned to the epoch.
            pub fn of(size: Duration) -> Self {
                $name {
                    size: duration_millis(size),
                    offset: 0,
                }
            }

            /// Shifts the window grid by `offset`, e.g. to align daily windows to a time zone.
            pub fn with_offset(mut self, offset: Duration) -> Self {
                self.offset = duration_millis(offset);
                self
            }
        }

        impl WindowAssigner for $name {
            fn assign_windows(&self, timestamp: i64, now: i64, windows: &mut Vec<TimeWindow>) {
                let time = if $event_time { timestamp } else { now };
                tumbling(time, self.size, self.offset, windows);
            }

            fn is_event_time(&self) -> bool {
                $event_time
            }

            fn same_windows_span(&self, time: i64) -> Option<(i64, i64)> {
                tumbling_span(time, self.size, self.offset)
            }

            fn validate(&self) -> Result<()> {
                check_tumbling(stringify!($name), self.size, self.offset)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.size)
            }
        }
    };
}

macro_rules! sliding_assigner {
    ($name:ident, $event_time:expr, $doc:literal) => {
        #[doc = $doc]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name {
            size: i64,
            slide: i64,
            offset: i64,
        }

        impl $name {
            /// Windows of `size` starting every `slide`.
            pub fn of(size: Duration, slide: Duration) -> Self {
                $name {
                    size: duration_millis(size),
                    slide: duration_millis(slide),
                    offset: 0,
                }
            }

            /// Shifts the window grid by `offset` (smaller than the slide).
            pub fn with_offset(mut self, offset: Duration) -> Self {
                self.offset = duration_millis(offset);
                self
            }
        }

        impl WindowAssigner for $name {
            fn assign_windows(&self, timestamp: i64, now: i64, windows: &mut Vec<TimeWindow>) {
                let time = if $event_time { timestamp } else { now };
                sliding(time, self.size, self.slide, self.offset, windows);
            }

            fn is_event_time(&self) -> bool {
                $event_time
            }

            fn validate(&self) -> Result<()> {
                check_sliding(stringify!($name), self.size, self.slide, self.offset)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({}, {})", stringify!($name), self.size, self.slide)
            }
        }
    };
}

macro_rules! session_assigner {
    ($name:ident, $event_time:expr, $doc:literal) => {
        #[doc = $doc]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name {
            gap: i64,
        }

        impl $name {
            /// A session closes after `gap` without elements of its key.
            pub fn with_gap(gap: Duration) -> Self {
                $name {
                    gap: duration_millis(gap),
                }
            }
        }

        impl WindowAssigner for $name {
            fn assign_windows(&self, timestamp: i64, now: i64, windows: &mut Vec<TimeWindow>) {
                let time = if $event_time { timestamp } else { now };
                session(time, self.gap, windows);
            }

            fn is_event_time(&self) -> bool {
                $event_time
            }

            fn is_merging(&self) -> bool {
                true
            }

            fn validate(&self) -> Result<()> {
                check_gap(stringify!($name), self.gap)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.gap)
            }
        }
    };
}

tumbling_assigner!(
    TumblingEventTimeWindows,
    true,
    "Fixed-size, non-overlapping windows of event time."
);
tumbling_assigner!(
    TumblingProcessingTimeWindows,
    false,
    "Fixed-size, non-overlapping windows of processing time."
);
sliding_assigner!(
    SlidingEventTimeWindows,
    true,
    "Fixed-size windows of event time that start every `slide`, so they overlap."
);
sliding_assigner!(
    SlidingProcessingTimeWindows,
    false,
    "Fixed-size windows of processing time that start every `slide`, so they overlap."
);
session_assigner!(
    EventTimeSessionWindows,
    true,
    "Sessions of event time: a key's elements closer than the gap fall into one window."
);
session_assigner!(
    ProcessingTimeSessionWindows,
    false,
    "Sessions of processing time: a key's elements closer than the gap fall into one window."
);

#[cfg(test)]
mod tests {
    use super::*;

    fn assign(assigner: &dyn WindowAssigner, timestamp: i64) -> Vec<(i64, i64)> {
        let mut windows = Vec::new();
        assigner.assign_windows(timestamp, 0, &mut windows);
        windows.iter().map(|w| (w.start, w.end)).collect()
    }

    #[test]
    fn each_assigner_gives_flinks_windows() {
        let tumbling = TumblingEventTimeWindows::of(Duration::from_secs(5));
        assert_eq!(assign(&tumbling, 7_300), vec![(5_000, 10_000)]);
        let offset = tumbling.with_offset(Duration::from_secs(1));
        assert_eq!(assign(&offset, 5_500), vec![(1_000, 6_000)]);
        let sliding = SlidingEventTimeWindows::of(Duration::from_secs(10), Duration::from_secs(5));
        assert_eq!(assign(&sliding, 7_300), vec![(5_000, 15_000), (0, 10_000)]);
        let session = EventTimeSessionWindows::with_gap(Duration::from_secs(3));
        assert_eq!(assign(&session, 7_300), vec![(7_300, 10_300)]);
        let mut windows = Vec::new();
        TumblingProcessingTimeWindows::of(Duration::from_secs(5)).assign_windows(
            0,
            12_000,
            &mut windows,
        );
        assert_eq!(windows, vec![TimeWindow::new(10_000, 15_000)]);
    }

    #[test]
    fn bad_parameters_are_rejected_with_their_values() {
        let error = TumblingEventTimeWindows::of(Duration::ZERO)
            .validate()
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid job: TumblingEventTimeWindows: size (0 ms) must be positive and offset \
             (0 ms) smaller than it"
        );
        let sliding = SlidingEventTimeWindows::of(Duration::from_secs(10), Duration::ZERO);
        assert!(sliding.validate().is_err());
        assert!(
            EventTimeSessionWindows::with_gap(Duration::ZERO)
                .validate()
                .is_err()
        );
        assert!(
            TumblingEventTimeWindows::of(Duration::from_secs(1))
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn every_time_of_a_same_windows_span_gets_the_same_windows() {
        let tumbling = TumblingEventTimeWindows::of(Duration::from_millis(10))
            .with_offset(Duration::from_millis(3));
        assert_eq!(tumbling.same_windows_span(27), Some((23, 33)));
        assert_eq!(tumbling.same_windows_span(-5), Some((-7, 3)));
        for time in [-25, -7, -1, 0, 2, 3, 22, 23, 32, 33, 1_000_003] {
            let (from, to) = tumbling.same_windows_span(time).unwrap();
            assert!(from <= time && time < to, "{time}: [{from}, {to})");
            for other in [from, from + 1, to - 1] {
                assert_eq!(assign(&tumbling, other), assign(&tumbling, time), "{other}");
            }
        }
        // Windows cut off at the ends of time are assigned one by one.
        assert_eq!(tumbling.same_windows_span(i64::MIN), None);
        assert_eq!(tumbling.same_windows_span(i64::MAX), None);
        // Sliding and session windows do not tell a span.
        let sliding =
            SlidingEventTimeWindows::of(Duration::from_millis(7), Duration::from_millis(5));
        assert_eq!(sliding.same_windows_span(5), None);
        let sessions = EventTimeSessionWindows::with_gap(Duration::from_millis(5));
        assert_eq!(sessions.same_windows_span(5), None);
    }
}
