//! The savepoint operations the REST API started, by job and trigger id, as Flink's
//! `CompletedOperationCache`: a trigger with a known id returns the same operation rather than
//! taking a second savepoint, before and after it completed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use flinkrs_contract::rest::TriggerId;

use super::gateway::{GatewayError, JobManagerGateway, SavepointTrigger};

/// Where an operation is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OperationState {
    InProgress,
    /// The savepoint's location, or why it failed.
    Done(Result<String, String>),
}

#[derive(Clone, Default)]
pub struct SavepointOperations {
    operations: Arc<Mutex<HashMap<(String, TriggerId), OperationState>>>,
}

impl SavepointOperations {
    fn lock(&self) -> MutexGuard<'_, HashMap<(String, TriggerId), OperationState>> {
        // Entries are replaced whole; a panic elsewhere cannot leave one torn.
        self.operations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts the savepoint `trigger` of `job_id` under `trigger_id`, unless an operation with
    /// that id exists: then nothing new starts. Must run inside a tokio runtime (the
    /// completion is awaited on a task of its own).
    pub fn trigger(
        &self,
        gateway: &dyn JobManagerGateway,
        job_id: &str,
        trigger_id: TriggerId,
        trigger: SavepointTrigger,
    ) -> Result<TriggerId, GatewayError> {
        let key = (job_id.to_owned(), trigger_id.clone());
        let mut operations = self.lock();
        if operations.contains_key(&key) {
            return Ok(trigger_id);
        }
        match gateway.trigger_savepoint(job_id, trigger) {
            Ok(completion) => {
                operations.insert(key.clone(), OperationState::InProgress);
                let this = self.clone();
                tokio::spawn(async move {
                    let outcome = completion.await;
                    this.lock().insert(key, OperationState::Done(outcome));
                });
            }
            // Flink accepts the trigger and reports the failure as the operation's outcome.
            Err(GatewayError::NotPossible(reason)) => {
                operations.insert(key, OperationState::Done(Err(reason)));
            }
            Err(unknown @ GatewayError::UnknownJob(_)) => return Err(unknown),
        }
        Ok(trigger_id)
    }

    pub fn state(&self, job_id: &str, trigger_id: &TriggerId) -> Option<OperationState> {
        self.lock()
            .get(&(job_id.to_owned(), trigger_id.clone()))
            .cloned()
    }
}
