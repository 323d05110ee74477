//! The streaming operators of SQL, over Arrow batches on the runtime's executor: the calc
//! (projection and filter with DataFusion's physical expressions), the group and window
//! aggregates, the regular and interval joins, Top-N, the OVER aggregate, the
//! changelog normalizer of upsert sources, and the batch sort.

pub(crate) mod aggregate;
mod aggregate_state;
pub(crate) mod calc;
mod extremum;
pub(crate) mod join;
mod join_rows;
mod join_state;
mod keyed_state;
pub(crate) mod normalize;
pub(crate) mod over;
mod over_state;
pub(crate) mod rank;
pub(crate) mod session;
pub(crate) mod sort;
pub(crate) mod window_aggregate;

#[cfg(test)]
mod aggregate_tests;
#[cfg(test)]
mod join_tests;
#[cfg(test)]
mod normalize_tests;
#[cfg(test)]
mod over_tests;
#[cfg(test)]
mod rank_tests;
#[cfg(test)]
mod restore_tests;
#[cfg(test)]
mod test_changes;
