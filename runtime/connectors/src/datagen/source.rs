//! [`DataGenSource`]: a parallel generator source, bounded or unbounded, optionally rate
//! limited.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Instant;

use flinkrs_core::{Batch, Record, Result};
use flinkrs_dataflow::source::SequenceSplits;
use flinkrs_dataflow::{Boundedness, SourceContext, SourceFunction, SourceStatus};

use super::rate::RateLimiter;
use super::row_rng::RowRng;

/// Makes the value of row `index`. Implemented by every `Fn(u64, &mut RowRng) -> T`.
pub trait Generate<T>: Send + Sync {
    fn generate(&self, index: u64, rng: &mut RowRng) -> T;
}

impl<T, F> Generate<T> for F
where
    F: Fn(u64, &mut RowRng) -> T + Send + Sync,
{
    fn generate(&self, index: u64, rng: &mut RowRng) -> T {
        self(index, rng)
    }
}

/// Emits the row index itself: the generator behind [`DataGenSource::sequence`].
#[derive(Clone, Copy, Debug, Default)]
pub struct SequenceGenerator;

impl Generate<u64> for SequenceGenerator {
    #[inline]
    fn generate(&self, index: u64, _rng: &mut RowRng) -> u64 {
        index
    }
}

/// Seed used when none is set, so that two runs of the same job generate the same data.
pub const DEFAULT_SEED: u64 = 0x5EED_F11E_4B5D_A7A6;

/// A generator source, like Flink's `datagen` connector.
///
/// Rows are numbered `first..=last` (or from `first` on, when unbounded). On a fresh start
/// subtask `i` of `p` generates rows `first + i`, `first + i + p`, … so the subtasks share the
/// range without overlap; those shares are the source's splits, kept through restores at any
/// parallelism ([`SequenceSplits`]). The value of a row is a pure function of its index and
/// the seed (the generator's [`RowRng`] is seeded per row), so a replay after a restore
/// reproduces the same rows.
///
/// With `rows-per-second`, the job-wide rate is shared between the subtasks; the source
/// returns [`SourceStatus::Wait`] when it is ahead instead of sleeping.
///
/// ```
/// use flinkrs_api::prelude::*;
/// use flinkrs_connectors::datagen::DataGenSource;
///
/// let env = StreamExecutionEnvironment::new();
/// let source = DataGenSource::sequence(1, 5);
/// let numbers = env.add_source("numbers", move |_| Ok(source.clone()));
/// assert_eq!(numbers.execute_and_collect("sequence").unwrap(), vec![1, 2, 3, 4, 5]);
/// ```
pub struct DataGenSource<T, G> {
    generator: Arc<G>,
    first: u64,
    /// Inclusive; `None` for an unbounded source.
    last: Option<u64>,
    rows_per_second: Option<u64>,
    seed: u64,
    /// This subtask's splits (restored, or set when the subtask opens).
    splits: SequenceSplits,
    rng: RowRng,
    limiter: Option<RateLimiter>,
    _output: PhantomData<fn() -> T>,
}

impl<T, G> Clone for DataGenSource<T, G> {
    fn clone(&self) -> Self {
        DataGenSource {
            generator: Arc::clone(&self.generator),
            first: self.first,
            last: self.last,
            rows_per_second: self.rows_per_second,
            seed: self.seed,
            splits: self.splits.clone(),
            rng: self.rng.clone(),
            limiter: self.limiter.clone(),
            _output: PhantomData,
        }
    }
}

impl<T, G> std::fmt::Debug for DataGenSource<T, G> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataGenSource")
            .field("first", &self.first)
            .field("last", &self.last)
            .field("rows_per_second", &self.rows_per_second)
            .field("seed", &self.seed)
            .field("splits", &self.splits)
            .finish_non_exhaustive()
    }
}

impl DataGenSource<u64, SequenceGenerator> {
    /// Emits every number from `start` to `end`, both included, like Flink's `fromSequence`.
    /// An empty range (`start > end`) emits nothing.
    pub fn sequence(start: u64, end: u64) -> Self {
        if start > end {
            return Self::with_range(SequenceGenerator, 1, Some(0));
        }
        Self::with_range(SequenceGenerator, start, Some(end))
    }
}

impl<T, F> DataGenSource<T, F>
where
    F: Fn(u64, &mut RowRng) -> T + Send + Sync,
{
    /// Generates `rows` rows, numbered `0..rows`; the value of row `index` is
    /// `generator(index, rng)`.
    ///
    /// ```
    /// use flinkrs_connectors::datagen::{DataGenSource, Rng};
    ///
    /// let squares = DataGenSource::new(1_000, |index, _| index * index);
    /// let dice = DataGenSource::new(1_000, |_, rng| rng.random_range(1..=6u8)).with_seed(42);
    /// # let _ = (squares, dice);
    /// ```
    pub fn new(rows: u64, generator: F) -> Self {
        Self::with_generator(Some(rows), generator)
    }

    /// Generates rows until the job is cancelled.
    pub fn unbounded(generator: F) -> Self {
        Self::with_generator(None, generator)
    }
}

impl<T, G: Generate<T>> DataGenSource<T, G> {
    /// Generates `rows` rows (unbounded when `None`) with any [`Generate`] implementation.
    pub fn with_generator(rows: Option<u64>, generator: G) -> Self {
        match rows.map(|rows| rows.checked_sub(1)) {
            None => Self::with_range(generator, 0, None),
            Some(Some(last)) => Self::with_range(generator, 0, Some(last)),
            // Zero rows: an empty range.
            Some(None) => Self::with_range(generator, 1, Some(0)),
        }
    }

    /// Generates the rows numbered `first..=last`, or from `first` on when `last` is `None`.
    pub fn with_range(generator: G, first: u64, last: Option<u64>) -> Self {
        DataGenSource {
            generator: Arc::new(generator),
            first,
            last,
            rows_per_second: None,
            seed: DEFAULT_SEED,
            splits: SequenceSplits::new(),
            rng: RowRng::new(DEFAULT_SEED),
            limiter: None,
            _output: PhantomData,
        }
    }

    /// Limits the job-wide rate; `0` means as fast as possible.
    pub fn with_rows_per_second(mut self, rows_per_second: u64) -> Self {
        self.rows_per_second = (rows_per_second > 0).then_some(rows_per_second);
        self
    }

    /// Seeds the random generators (each row mixes in its index).
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self.rng = RowRng::new(seed);
        self
    }

    /// A copy that generates subtask `subtask`'s share of `parallelism`.
    pub fn for_subtask(&self, subtask: usize, parallelism: usize) -> Self {
        let mut source = self.clone();
        source.assign(subtask, parallelism);
        source
    }

    fn assign(&mut self, subtask: usize, parallelism: usize) {
        self.splits.assign(subtask, parallelism, self.first);
        self.limiter = self
            .rows_per_second
            .map(|rate| RateLimiter::new(rate, parallelism));
    }

    /// The last row number: `u64::MAX` for an unbounded source.
    fn last_row(&self) -> u64 {
        self.last.unwrap_or(u64::MAX)
    }
}

impl<T, G> SourceFunction<Batch<T>> for DataGenSource<T, G>
where
    T: Send,
    G: Generate<T>,
{
    fn open(&mut self, context: &SourceContext) -> Result<()> {
        self.assign(context.subtask_index(), context.parallelism());
        Ok(())
    }

    /// Bounded when it has a last row (`number-of-rows` or an end of sequence).
    fn boundedness(&self) -> Boundedness {
        if self.last.is_some() {
            Boundedness::Bounded
        } else {
            Boundedness::ContinuousUnbounded
        }
    }

    fn poll_batch(
        &mut self,
        batch: &mut Batch<T>,
        context: &SourceContext,
    ) -> Result<SourceStatus> {
        let mut wanted = context.batch_rows.saturating_sub(batch.len()).max(1);
        if let Some(limiter) = &mut self.limiter {
            match limiter.permits(wanted, Instant::now()) {
                Ok(allowed) => wanted = allowed,
                Err(wait) => return Ok(SourceStatus::Wait(wait)),
            }
        }
        let last = self.last_row();
        let Some(run) = self.splits.next_run(wanted, last) else {
            return Ok(SourceStatus::Finished);
        };
        if let Some(limiter) = &mut self.limiter {
            limiter.consume(run.len);
        }
        batch.reserve(run.len);
        let generator = &*self.generator;
        for index in run.iter() {
            self.rng.start_row(index);
            batch.push(Record::new(generator.generate(index, &mut self.rng)));
        }
        Ok(if self.splits.is_finished(last) {
            SourceStatus::Finished
        } else {
            SourceStatus::MoreAvailable
        })
    }

    /// The unfinished splits, each with its next row index.
    fn snapshot_state(&mut self) -> Result<Vec<Vec<u8>>> {
        Ok(self.splits.snapshot())
    }

    fn restore_state(&mut self, splits: Vec<Vec<u8>>) -> Result<()> {
        self.splits.restore(&splits, "datagen source")
    }
}
