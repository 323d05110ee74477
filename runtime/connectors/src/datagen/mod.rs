//! The `datagen` connector: generated data for tests, demos and benchmarks.
//!
//! - [`DataGenSource::sequence`] and [`DataGenSource::new`]: the typed, fast path. Filling a
//!   batch calls the generator and pushes; nothing else allocates.
//! - [`DataGenSource::from_options`]: rows from Flink's option names, for SQL and the CLI.
//! - [`ArrowDataGen`]: Arrow batches, a column at a time, for Arrow streams and SQL.

mod arrow;
mod options;
mod rate;
mod row;
mod row_rng;
mod source;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use arrow::{ArrowDataGen, ColumnsFn, RowIndices, mix64};
use flinkrs_core::Result;
pub use options::{DEFAULT_ROWS_PER_SECOND, DataGenOptions, NUMBER_OF_ROWS, ROWS_PER_SECOND};
pub use rand::Rng;
pub use rate::RateLimiter;
pub use row::{FieldGenerator, FieldValue, Row, RowGenerator};
pub use row_rng::RowRng;
pub use source::{DEFAULT_SEED, DataGenSource, Generate, SequenceGenerator};

impl DataGenSource<Row, RowGenerator> {
    /// A row source from Flink's datagen options (see [`DataGenOptions`]); unknown options
    /// and malformed values are rejected with an error naming the option.
    pub fn from_options(options: &BTreeMap<String, String>) -> Result<Self> {
        Ok(Self::from_parsed_options(DataGenOptions::from_options(
            options,
        )?))
    }

    /// A row source from already parsed options.
    pub fn from_parsed_options(options: DataGenOptions) -> Self {
        DataGenSource::with_generator(options.number_of_rows, options.generator)
            .with_rows_per_second(options.rows_per_second)
    }
}
