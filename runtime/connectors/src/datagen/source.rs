//! [`DataGenSource`]: a parallel generator source, bounded or unbounded, optionally rate
//! limited.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Instant;

use flinkrs_core::{Batch, Error, Record, Result};
use flinkrs_dataflow::source::{decode_position, encode_position};
use flinkrs_dataflow::{Boundedness, SourceContext, SourceFunction, SourceStatus};
use rand::SeedableRng;
use rand::rngs::SmallRng;

use super::rate::RateLimiter;

/// Makes the value of row `index`. Implemented by every `Fn(u64, &mut SmallRng) -> T`.
pub trait Generate<T>: Send + Sync {
    fn generate(&self, index: u64, rng: &mut SmallRng) -> T;
}

impl<T, F> Generate<T> for F
where
    F: Fn(u64, &mut SmallRng) -> T + Send + Sync,
{
    fn generate(&self, index: u64, rng: &mut SmallRng) -> T {
        self(index, rng)
    }
}

/// Emits the row index itself: the generator behind [`DataGenSource::sequence`].
#[derive(Clone, Copy, Debug, Default)]
pub struct SequenceGenerator;

impl Generate<u64> for SequenceGenerator {
    #[inline]
    fn generate(&self, index: u64, _rng: &mut SmallRng) -> u64 {
        index
    }
}

/// Seed used when none is set, so that two runs of the same job generate the same data.
pub const DEFAULT_SEED: u64 = 0x5EED_F11E_4B5D_A7A6;

/// A generator source, like Flink's `datagen` connector.
///
/// Rows are numbered `first..=last` (or from `first` on, when unbounded). Subtask `i` of `p`
/// generates rows `first + i`, `first + i + p`, … so the subtasks share the range without
/// overlap. Each subtask has its own [`SmallRng`], seeded from the source's seed and the
/// subtask index, so a run is reproducible at a given parallelism.
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
    /// The next row index of this subtask (restored, or set when the share is assigned).
    next: Option<u64>,
    /// Whether `next`, `step`, `rng` and `limiter` are set up for a subtask.
    assigned: bool,
    /// The row numbers ran past `u64::MAX`.
    exhausted: bool,
    step: u64,
    rng: SmallRng,
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
            next: self.next,
            assigned: self.assigned,
            exhausted: self.exhausted,
            step: self.step,
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
            .field("next", &self.next)
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
    F: Fn(u64, &mut SmallRng) -> T + Send + Sync,
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
            next: None,
            assigned: false,
            exhausted: false,
            step: 1,
            rng: SmallRng::seed_from_u64(DEFAULT_SEED),
            limiter: None,
            _output: PhantomData,
        }
    }

    /// Limits the job-wide rate; `0` means as fast as possible.
    pub fn with_rows_per_second(mut self, rows_per_second: u64) -> Self {
        self.rows_per_second = (rows_per_second > 0).then_some(rows_per_second);
        self
    }

    /// Seeds the random generators (each subtask mixes in its index).
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// A copy that generates subtask `subtask`'s share of `parallelism`.
    pub fn for_subtask(&self, subtask: usize, parallelism: usize) -> Self {
        let mut source = self.clone();
        source.assign(subtask, parallelism);
        source
    }

    fn assign(&mut self, subtask: usize, parallelism: usize) {
        let parallelism = parallelism.max(1);
        self.step = parallelism as u64;
        let next = match (self.next, self.first.checked_add(subtask as u64)) {
            (Some(restored), _) => restored,
            (None, Some(first_of_subtask)) => first_of_subtask,
            // More subtasks than row numbers left below u64::MAX: this one has none.
            (None, None) => {
                self.exhausted = true;
                self.first
            }
        };
        self.next = Some(next);
        self.rng = SmallRng::seed_from_u64(mix(self.seed, subtask as u64, next));
        self.limiter = self
            .rows_per_second
            .map(|rate| RateLimiter::new(rate, parallelism));
        self.assigned = true;
    }

    /// Rows of this subtask still to generate, capped at `wanted`; `None` when exhausted.
    fn remaining(&self, next: u64, wanted: usize) -> Option<usize> {
        if self.exhausted {
            return None;
        }
        match self.last {
            None => Some(wanted),
            Some(last) if next > last || next < self.first => None,
            Some(last) => {
                let left = (last - next) / self.step + 1;
                Some(usize::try_from(left).unwrap_or(usize::MAX).min(wanted))
            }
        }
    }
}

/// Spreads a seed, subtask and position over all 64 bits (splitmix64 finaliser), so nearby
/// inputs give unrelated generators.
fn mix(seed: u64, subtask: u64, position: u64) -> u64 {
    let mut z = seed ^ subtask.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ position.rotate_left(32);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl<T, G> SourceFunction<Batch<T>> for DataGenSource<T, G>
where
    T: Send,
    G: Generate<T>,
{
    fn open(&mut self, context: &SourceContext) -> Result<()> {
        if !self.assigned {
            self.assign(context.subtask_index(), context.parallelism());
        }
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
        let Some(mut next) = self.next else {
            return Err(Error::InvalidJob(
                "the datagen source was polled before open".into(),
            ));
        };
        let wanted = context.batch_rows.saturating_sub(batch.len()).max(1);
        let Some(mut count) = self.remaining(next, wanted) else {
            return Ok(SourceStatus::Finished);
        };
        if let Some(limiter) = &mut self.limiter {
            match limiter.permits(count, Instant::now()) {
                Ok(allowed) => count = allowed,
                Err(wait) => return Ok(SourceStatus::Wait(wait)),
            }
            limiter.consume(count);
        }
        batch.reserve(count);
        let generator = &*self.generator;
        for _ in 0..count {
            batch.push(Record::new(generator.generate(next, &mut self.rng)));
            match next.checked_add(self.step) {
                Some(following) => next = following,
                None => {
                    // No row numbers are left past u64::MAX.
                    self.exhausted = true;
                    break;
                }
            }
        }
        self.next = Some(next);
        match self.remaining(next, 1) {
            Some(_) => Ok(SourceStatus::MoreAvailable),
            None => Ok(SourceStatus::Finished),
        }
    }

    /// The next row index of this subtask.
    fn snapshot_state(&mut self) -> Result<Vec<u8>> {
        Ok(encode_position(self.next.unwrap_or(self.first)))
    }

    fn restore_state(&mut self, state: &[u8]) -> Result<()> {
        self.next = Some(decode_position(state, "datagen source")?);
        // Re-seed and re-share at `open`, from the restored position.
        self.assigned = false;
        Ok(())
    }
}
