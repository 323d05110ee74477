//! The collection source behind `from_collection`.

use std::sync::Arc;

use flinkrs_core::{Batch, Data, Record, Result};
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
        Ok((self.position as u64).to_le_bytes().to_vec())
    }

    fn restore_state(&mut self, state: &[u8]) -> Result<()> {
        if let Ok(bytes) = <[u8; 8]>::try_from(state) {
            self.position = u64::from_le_bytes(bytes) as usize;
            self.started = true;
        }
        Ok(())
    }
}
