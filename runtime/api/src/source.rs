//! The collection source behind `from_collection`.

use std::sync::Arc;

use flinkrs_core::{Batch, Data, Record, Result};
use flinkrs_dataflow::source::SequenceSplits;
use flinkrs_dataflow::{Boundedness, SourceContext, SourceFunction, SourceStatus};

/// Emits the elements of a collection in order, then finishes. On a fresh start each parallel
/// subtask emits every `parallelism`-th element, starting at its own index; those shares are
/// the source's splits, redistributed on a rescaled restore.
#[derive(Debug)]
pub struct CollectionSource<T> {
    elements: Arc<Vec<T>>,
    splits: SequenceSplits,
}

impl<T> CollectionSource<T> {
    pub fn new(elements: Arc<Vec<T>>) -> Self {
        CollectionSource {
            elements,
            splits: SequenceSplits::new(),
        }
    }

    /// The last element's index, or `None` for an empty collection.
    fn last(&self) -> Option<u64> {
        (self.elements.len() as u64).checked_sub(1)
    }
}

impl<T: Data + Sync> SourceFunction<Batch<T>> for CollectionSource<T> {
    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }

    fn open(&mut self, context: &SourceContext) -> Result<()> {
        self.splits
            .assign(context.subtask_index(), context.parallelism(), 0);
        Ok(())
    }

    fn poll_batch(
        &mut self,
        batch: &mut Batch<T>,
        context: &SourceContext,
    ) -> Result<SourceStatus> {
        let Some(last) = self.last() else {
            return Ok(SourceStatus::Finished);
        };
        let wanted = context.batch_rows.saturating_sub(batch.len());
        let Some(run) = self.splits.next_run(wanted, last) else {
            return Ok(SourceStatus::Finished);
        };
        batch.reserve(run.len);
        for index in run.iter() {
            batch.push(Record::new(self.elements[index as usize].clone()));
        }
        Ok(if self.splits.is_finished(last) {
            SourceStatus::Finished
        } else {
            SourceStatus::MoreAvailable
        })
    }

    fn snapshot_state(&mut self) -> Result<Vec<Vec<u8>>> {
        Ok(self.splits.snapshot())
    }

    /// A malformed split fails the restore rather than replaying the collection from the start.
    fn restore_state(&mut self, splits: Vec<Vec<u8>>) -> Result<()> {
        self.splits.restore(&splits, "collection source")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use flinkrs_dataflow::SourceFunction;
    use flinkrs_dataflow::source::SequenceSplit;

    use super::CollectionSource;

    #[test]
    fn a_malformed_split_fails_the_restore_with_its_length() {
        let mut source = CollectionSource::new(Arc::new(vec![1, 2, 3]));
        let error = source
            .restore_state(vec![vec![1, 2, 3]])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("collection source: a checkpointed split has 3 bytes"),
            "{error}"
        );
        let mut restored = CollectionSource::new(Arc::new(vec![1, 2, 3]));
        let split = SequenceSplit {
            index: 0,
            count: 1,
            next: 2,
        }
        .encode();
        restored.restore_state(vec![split.clone()]).unwrap();
        assert_eq!(restored.snapshot_state().unwrap(), vec![split]);
    }
}
