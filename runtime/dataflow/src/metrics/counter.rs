//! [`Counter`]: a running total, as Flink's `SimpleCounter`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A running total that only grows. Clones share the total.
///
/// Tasks add to it once per batch on the hot path, so an add is one relaxed atomic add: no
/// lock, no allocation. Relaxed is enough because nothing else is ordered by the count; a
/// reader on another thread sees every add eventually, which is all a metric needs.
#[derive(Clone, Debug, Default)]
pub struct Counter {
    count: Arc<AtomicU64>,
}

impl Counter {
    pub fn new() -> Self {
        Counter::default()
    }

    /// Adds `n` (a batch's rows or bytes).
    #[inline]
    pub fn inc(&self, n: u64) {
        self.count.fetch_add(n, Ordering::Relaxed);
    }

    /// The total so far.
    #[inline]
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_add_to_one_total() {
        let counter = Counter::new();
        let clone = counter.clone();
        counter.inc(3);
        clone.inc(4);
        counter.inc(0);
        assert_eq!(counter.count(), 7);
        assert_eq!(clone.count(), 7);
    }

    #[test]
    fn adds_from_several_threads_are_all_counted() {
        let counter = Counter::new();
        std::thread::scope(|scope| {
            for _ in 0..4 {
                let counter = counter.clone();
                scope.spawn(move || {
                    for _ in 0..1000 {
                        counter.inc(2);
                    }
                });
            }
        });
        assert_eq!(counter.count(), 8000);
    }
}
