//! The collection source behind `from_collection`.

use std::sync::Arc;

use flinkrs_core::{Batch, Data, Record, Result};
use flinkrs_dataflow::source::{decode_position, encode_position};
use flinkrs_dataflow::{Boundedness, SourceContext, SourceFunction, SourceStatus};

/// Emits the elements of a collection in order, then finishes. Each parallel subtask emits
/// every `parallelism`-th element, starting at its own index.
#[derive(Debug)]
pub struct CollectionSource<T> {
    elements: Arc<Vec<T>>,
    position: usize,
    started: bool,
}

impl<T> CollectionSource<T> {
    pub fn new(elements: Arc<Vec<T>>) -> Self {
        CollectionSource {
            elements,
            position: 0,
            started: false,
        }
    }
}

impl<T: Data + Sync> SourceFunction<Batch<T>> for CollectionSource<T> {
    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }

    fn poll_batch(
        &mut self,
        batch: &mut Batch<T>,
        context: &SourceContext,
    ) -> Result<SourceStatus> {
        let step = context.parallelism();
        if !self.started {
            self.position = context.subtask_index();
            self.started = true;
        }
        while batch.len() < context.batch_rows {
            match self.elements.get(self.position) {
                Some(element) => batch.push(Record::new(element.clone())),
                None => return Ok(SourceStatus::Finished),
            }
            self.position += step;
        }
        Ok(if self.position < self.elements.len() {
            SourceStatus::MoreAvailable
        } else {
            SourceStatus::Finished
        })
    }

    fn snapshot_state(&mut self) -> Result<Vec<u8>> {
        Ok(encode_position(self.position as u64))
    }

    /// A malformed state fails the restore rather than replaying the collection from the start.
    fn restore_state(&mut self, state: &[u8]) -> Result<()> {
        let position = decode_position(state, "collection source")?;
        self.position = usize::try_from(position)
            .map_err(|_| flinkrs_core::Error::state("collection source: position out of range"))?;
        self.started = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use flinkrs_dataflow::SourceFunction;

    use super::CollectionSource;

    #[test]
    fn a_malformed_position_fails_the_restore_with_its_length() {
        let mut source = CollectionSource::new(Arc::new(vec![1, 2, 3]));
        let error = source.restore_state(&[1, 2, 3]).unwrap_err().to_string();
        assert!(
            error.contains("collection source: the checkpointed state has 3 bytes"),
            "{error}"
        );
        let mut restored = CollectionSource::new(Arc::new(vec![1, 2, 3]));
        let state = flinkrs_dataflow::source::encode_position(2);
        restored.restore_state(&state).unwrap();
        assert_eq!(restored.snapshot_state().unwrap(), state);
    }
}
