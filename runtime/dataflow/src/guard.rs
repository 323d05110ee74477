//! Runs operator hooks so that a panic or an error names the operator and subtask.

use std::panic::{self, AssertUnwindSafe};

use flinkrs_core::{Error, Result};

use crate::operator::TaskInfo;

pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "unknown panic payload".to_owned()
    }
}

/// Runs one operator hook, turning a panic or an error of the operator itself into an error
/// that names the operator and subtask. Errors already attributed downstream pass through.
pub fn guarded<R>(info: &TaskInfo, hook: impl FnOnce() -> Result<R>) -> Result<R> {
    match panic::catch_unwind(AssertUnwindSafe(hook)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error @ (Error::OperatorFailed { .. } | Error::Cancelled))) => Err(error),
        Ok(Err(error)) => Err(Error::OperatorFailed {
            operator: info.operator_name.clone(),
            subtask: info.subtask_label(),
            message: error.to_string(),
        }),
        Err(payload) => Err(Error::OperatorFailed {
            operator: info.operator_name.clone(),
            subtask: info.subtask_label(),
            message: format!(
                "user function panicked: {}",
                panic_message(payload.as_ref())
            ),
        }),
    }
}
