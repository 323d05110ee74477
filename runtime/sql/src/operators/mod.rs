//! The streaming operators of SQL, over Arrow batches on the runtime's executor: the calc
//! (projection and filter with DataFusion's physical expressions) and the group and window
//! aggregates.

pub(crate) mod aggregate;
mod aggregate_state;
pub(crate) mod calc;
pub(crate) mod session;

#[cfg(test)]
mod restore_tests;
