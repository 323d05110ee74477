//! [`Gauge`]: a value that is set rather than summed, such as a watermark.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// The latest value of something, such as the current watermark in milliseconds. Clones
/// share the value; setting and reading are single relaxed atomic operations.
///
/// Flink's `Gauge` is a callback that the reporter polls; here the owner pushes the value
/// instead, so a reporter on another thread never calls into a task.
#[derive(Clone, Debug)]
pub struct Gauge {
    value: Arc<AtomicI64>,
}

impl Gauge {
    pub fn new(initial: i64) -> Self {
        Gauge {
            value: Arc::new(AtomicI64::new(initial)),
        }
    }

    #[inline]
    pub fn set(&self, value: i64) {
        self.value.store(value, Ordering::Relaxed);
    }

    #[inline]
    pub fn get(&self) -> i64 {
        self.value.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clone_sees_the_last_value_set() {
        let gauge = Gauge::new(i64::MIN);
        let clone = gauge.clone();
        assert_eq!(clone.get(), i64::MIN);
        gauge.set(1_000);
        gauge.set(2_000);
        assert_eq!(clone.get(), 2_000);
    }
}
