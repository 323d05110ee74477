//! Record counters of one StreamGraph node, summed over its subtasks.

use std::sync::atomic::{AtomicU64, Ordering};

/// Records in and out of one node, over all its subtasks; updated once per batch.
#[derive(Debug, Default)]
pub struct Counters {
    pub records_in: AtomicU64,
    pub records_out: AtomicU64,
}

impl Counters {
    pub fn add_in(&self, count: usize) {
        self.records_in.fetch_add(count as u64, Ordering::Relaxed);
    }

    pub fn add_out(&self, count: usize) {
        self.records_out.fetch_add(count as u64, Ordering::Relaxed);
    }
}
