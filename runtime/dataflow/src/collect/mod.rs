//! Results a job collects for a client: Flink's collect sink, through which the SQL client
//! shows the rows of a `SELECT` that runs on a cluster.
//!
//! The job's collect sink (one subtask) [`open`]s a [`ResultBuffer`] in its TaskManager's
//! process and [`push`](ResultBuffer::push)es its rows into it, a chunk of encoded rows per
//! batch. The JobManager fetches pages of chunks for the client over the TaskManager's data
//! port ([`wire`]): records never travel over the control plane (architecture decision 4).
//!
//! - **Offsets count chunks.** A fetch from offset `n` acknowledges the chunks before `n`,
//!   which the buffer then drops: one reader, at the pace it reads.
//! - **Backpressure.** A buffer holding [`CAPACITY_BYTES`] or more makes the sink wait until
//!   the client has read, so a client that reads slowly slows the job down rather than
//!   filling the TaskManager's memory.
//! - **Attempts.** A restarted job opens a new buffer under its new attempt number, and the
//!   reader sees the attempt change: what the job emits again after a restart from a
//!   checkpoint may repeat rows shown before it.
//! - **The end.** Once the sink has finished, the buffer stays until its last chunk is read
//!   (for at most [`RETENTION`] after that no one read it), so a bounded query's rows outlive
//!   its job.

pub mod wire;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use flinkrs_core::{Error, JobId, Result};

/// The bytes a buffer holds before its sink waits for the client.
pub const CAPACITY_BYTES: usize = 8 << 20;

/// How long a finished buffer that nobody reads is kept.
pub const RETENTION: Duration = Duration::from_secs(600);

/// How often a sink waiting for space checks whether its buffer was released.
const WAIT_STEP: Duration = Duration::from_millis(50);

/// The rows one attempt of a job has collected and the client has not read yet.
#[derive(Debug)]
pub struct ResultBuffer {
    job: JobId,
    attempt: u32,
    state: Mutex<BufferState>,
    /// Signalled when chunks are read or the buffer is released.
    space: Condvar,
}

#[derive(Debug, Default)]
struct BufferState {
    chunks: VecDeque<Vec<u8>>,
    /// The offset of `chunks[0]`.
    first: u64,
    bytes: usize,
    /// The sink has finished: no chunk follows.
    finished: Option<Instant>,
    /// The job was cancelled, or a later attempt replaced this one: pushes fail.
    released: bool,
}

/// Chunks from a buffer, for one fetch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    /// The attempt whose rows these are.
    pub attempt: u32,
    /// The offset of the first chunk.
    pub offset: u64,
    pub chunks: Vec<Vec<u8>>,
    /// No chunk follows these: the sink finished.
    pub finished: bool,
}

impl ResultBuffer {
    fn new(job: JobId, attempt: u32) -> Self {
        ResultBuffer {
            job,
            attempt,
            state: Mutex::default(),
            space: Condvar::new(),
        }
    }

    fn state(&self) -> MutexGuard<'_, BufferState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a chunk, after waiting while the buffer is full. Fails once the buffer is
    /// released (the job was cancelled or restarted).
    pub fn push(&self, chunk: Vec<u8>) -> Result<()> {
        let mut state = self.state();
        loop {
            if state.released {
                return Err(Error::Cancelled);
            }
            if state.bytes < CAPACITY_BYTES || state.chunks.is_empty() {
                break;
            }
            state = self
                .space
                .wait_timeout(state, WAIT_STEP)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        state.bytes += chunk.len();
        state.chunks.push_back(chunk);
        Ok(())
    }

    /// The sink has finished: what it pushed is all there is.
    pub fn finish(&self) {
        self.state().finished.get_or_insert_with(Instant::now);
    }

    /// The chunks from `offset` on, up to `max_bytes` (at least one chunk when there is one);
    /// the chunks before `offset` are dropped as read.
    pub fn fetch(&self, offset: u64, max_bytes: usize) -> Page {
        let mut state = self.state();
        let read = offset
            .saturating_sub(state.first)
            .min(state.chunks.len() as u64);
        for _ in 0..read {
            if let Some(chunk) = state.chunks.pop_front() {
                state.bytes -= chunk.len();
                state.first += 1;
            }
        }
        if read > 0 {
            self.space.notify_all();
        }
        let mut page = Page {
            attempt: self.attempt,
            offset: state.first,
            chunks: Vec::new(),
            finished: false,
        };
        let mut bytes = 0;
        for chunk in &state.chunks {
            if !page.chunks.is_empty() && bytes + chunk.len() > max_bytes {
                break;
            }
            bytes += chunk.len();
            page.chunks.push(chunk.clone());
        }
        page.finished = state.finished.is_some() && page.chunks.len() == state.chunks.len();
        page
    }

    /// Whether everything was read after the sink finished.
    fn drained(&self) -> bool {
        let state = self.state();
        state.finished.is_some() && state.chunks.is_empty()
    }

    /// Whether the sink finished longer than [`RETENTION`] ago.
    fn expired(&self, now: Instant) -> bool {
        self.state()
            .finished
            .is_some_and(|finished| now.duration_since(finished) > RETENTION)
    }

    fn release(&self) {
        self.state().released = true;
        self.space.notify_all();
    }
}

/// The buffers of this process, by job.
static BUFFERS: LazyLock<Mutex<HashMap<JobId, Arc<ResultBuffer>>>> = LazyLock::new(Mutex::default);

fn buffers() -> MutexGuard<'static, HashMap<JobId, Arc<ResultBuffer>>> {
    BUFFERS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The buffer of attempt `attempt` of `job` in this process: a new one, which replaces (and
/// releases) an earlier attempt's. Finished buffers nobody read for [`RETENTION`] go too.
pub fn open(job: JobId, attempt: u32) -> Arc<ResultBuffer> {
    let mut buffers = buffers();
    let now = Instant::now();
    buffers.retain(|_, buffer| !buffer.expired(now));
    if let Some(existing) = buffers.get(&job)
        && existing.attempt == attempt
    {
        return Arc::clone(existing);
    }
    let buffer = Arc::new(ResultBuffer::new(job, attempt));
    if let Some(earlier) = buffers.insert(job, Arc::clone(&buffer)) {
        earlier.release();
    }
    buffer
}

/// Releases the buffer of `job` (it was cancelled, or is restarting): its sink stops waiting,
/// and its rows are dropped.
pub fn release(job: JobId) {
    if let Some(buffer) = buffers().remove(&job) {
        buffer.release();
    }
}

/// A page of `job`'s results from `offset`, if this process holds its buffer. A buffer read
/// to its end after its sink finished is dropped.
pub fn fetch(job: JobId, offset: u64, max_bytes: usize) -> Option<Page> {
    let buffer = buffers().get(&job).map(Arc::clone)?;
    let page = buffer.fetch(offset, max_bytes);
    if page.finished && page.chunks.is_empty() && buffer.drained() {
        let mut buffers = buffers();
        if buffers
            .get(&job)
            .is_some_and(|current| Arc::ptr_eq(current, &buffer))
        {
            buffers.remove(&buffer.job);
        }
    }
    Some(page)
}

#[cfg(test)]
mod tests;
