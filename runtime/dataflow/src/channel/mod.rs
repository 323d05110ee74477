//! Channels: how elements travel from one subtask to another (architecture decision 4).
//!
//! A channel connects one producing subtask to one consuming subtask of a `JobEdge`. It
//! carries [`StreamElement`]s: whole batches of records, and in-band between them the
//! watermarks, watermark statuses, checkpoint barriers and the end of input. Nothing on a
//! channel is ever per record: one send moves one batch.
//!
//! The two halves are traits, so a task neither knows nor cares where its neighbour runs:
//!
//! - [`ChannelSender`], held by the producer's [`ChannelWriter`](crate::partition::ChannelWriter);
//! - [`ChannelReceiver`], held by the consumer's input task, which waits on all its input
//!   channels *and* its mailbox at once through a [`WaitSet`].
//!
//! [`local`] implements both in memory, for subtasks in the same process; [`remote`] over TCP,
//! for subtasks on two TaskManagers.
//!
//! # Credits
//!
//! Flow control is credit-based, as in Flink's network stack: a sender may send only while it
//! holds a credit, and a credit is one free buffer on the receiving side. When the credits are
//! spent, [`ChannelSender::send`] blocks (backpressure) until the receiver frees a buffer, the
//! job is cancelled, or the receiver goes away. A local bounded channel's capacity is exactly
//! its receiver's buffers, so its credits are the free slots of its queue.
//!
//! # Order and end of stream
//!
//! Elements arrive in the order they were sent. Barriers and the end of input are ordinary
//! elements of the stream (in-band), so a barrier separates exactly the records before the
//! checkpoint from those after it, and [`StreamElement::EndOfInput`] is the last element a
//! finished producer sends. A producer that goes away without sending it has failed: its
//! channel reads as [`TryRecv::Closed`] once the buffered elements are taken. A consumer that
//! goes away closes the channel for its producer: [`SendError::Closed`].
//!
//! # Waiting without spinning
//!
//! A task thread that has nothing to read blocks on a [`WaitSet`]: every readable input
//! channel registers what becomes ready when it holds an element (or is closed), next to the
//! task's command queue and the job's [`CancelToken`]. Readiness may be spurious; the task
//! polls its channels again with [`ChannelReceiver::try_recv`] after every wake-up.
//!
//! # The remote implementation (cluster mode)
//!
//! Between TaskManagers, channels go over TCP; tonic carries control only, never data. How that
//! fits these traits:
//!
//! - **One connection per TaskManager pair**, framed, multiplexed: each frame names its channel
//!   (the JobEdge, producing and consuming subtask) and carries either an element encoded with
//!   the edge's codec (decision 3: serde for typed rows, Arrow IPC) or a credit announcement.
//!   The connection is served by the process's tokio runtime, not by task threads.
//! - **The receiving half** owns a fixed number of buffers per channel (its credits). The
//!   network side copies a frame's bytes into a free buffer and pushes it onto an in-memory
//!   queue that holds at most that many batches, which is what the remote receiver registers
//!   in a [`WaitSet`]: to the task it looks exactly like a local channel. The task decodes a
//!   batch when it takes it, on its own thread (as Flink's tasks deserialize their input).
//!   Each [`ChannelReceiver::try_recv`] that takes a batch frees a buffer: one credit back to
//!   the sender (credits are batched into one frame while more batches wait, and announced
//!   at once when the queue runs empty). A connection that drops before the end of input closes the
//!   channel, exactly as a local sender that is dropped.
//! - **The sending half** counts the credits the receiver announced. [`ChannelSender::send`]
//!   with credits left hands the element to the network side (encoding on the task thread,
//!   into a reused buffer) and spends one; without credits it blocks on the next credit
//!   announcement or the [`CancelToken`], whichever comes first, as the local sender blocks
//!   on a full queue. [`ChannelSender::credits`] reports the credits left. Events (barriers,
//!   watermarks, end of input) need no data buffer and pass without a credit. (Flink's
//!   senders also announce their backlog, so that receivers can lend floating buffers to busy
//!   channels; here every channel has its fixed buffers.)
//! - Disconnects map onto the same two outcomes: [`SendError::Closed`] and
//!   [`TryRecv::Closed`]. The reason (an I/O error, a TaskManager lost) goes to the log and the
//!   JobMaster, which fails the job over; the task only learns that its neighbour is gone.

pub mod local;
pub mod remote;

use std::time::Instant;

use crossbeam_channel::{Receiver, Select};
use flinkrs_core::{Error, StreamElement};

use crate::batch::StreamBatch;
use crate::metrics::Counter;
use crate::task::CancelToken;

/// The producing half of a channel.
pub trait ChannelSender<B: StreamBatch>: Send {
    /// Credits held now: how many elements may be sent before a send has to wait for the
    /// receiver to free a buffer.
    fn credits(&self) -> usize;

    /// Sends `element` if a credit is held, without blocking; otherwise hands it back.
    /// `bytes` is a batch's true size as its writer measured it (zero for an event): a local
    /// receiver counts it into its task's numBytesIn.
    fn try_send(&mut self, element: StreamElement<B>, bytes: usize) -> Result<(), TrySendError<B>>;

    /// Sends `element`, waiting for a credit if none is held (backpressure). Returns early
    /// with [`SendError::Cancelled`] when `cancel` fires during the wait, and with
    /// [`SendError::Closed`] when the receiver is gone. `bytes` as for
    /// [`try_send`](Self::try_send).
    fn send(
        &mut self,
        element: StreamElement<B>,
        bytes: usize,
        cancel: &CancelToken,
    ) -> Result<(), SendError>;
}

/// The consuming half of a channel.
pub trait ChannelReceiver<B: StreamBatch>: Send {
    /// The next element, if one has arrived. Taking it frees its buffer: one credit for the
    /// sender.
    fn try_recv(&mut self) -> TryRecv<B>;

    /// Registers in `waits` what becomes ready when this channel holds an element or is
    /// closed, so the task can block on it next to its other inputs and its mailbox.
    fn register<'a>(&'a self, waits: &mut WaitSet<'a>) -> WaitKey;

    /// From now on, adds the bytes of every batch taken to `counter`, the consuming task's
    /// numBytesIn: the size its writer measured for a local channel, the encoded batch's size for a
    /// remote one (what crossed the network).
    fn count_bytes_into(&mut self, counter: Counter);
}

/// What [`ChannelReceiver::try_recv`] found.
#[derive(Debug)]
pub enum TryRecv<B> {
    Element(StreamElement<B>),
    /// Nothing yet; the sender is still there.
    Empty,
    /// Every element was taken and the sender is gone.
    Closed,
}

/// Why [`ChannelSender::try_send`] handed the element back.
#[derive(Debug)]
pub enum TrySendError<B> {
    /// No credit: the receiver's buffers are all in use.
    Full(StreamElement<B>),
    /// The receiver is gone.
    Closed(StreamElement<B>),
}

/// Why [`ChannelSender::send`] did not send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("the receiving task is gone")]
    Closed,
    #[error("the job was cancelled while waiting for a credit")]
    Cancelled,
}

/// A closed channel means the consumer stopped: it failed (the job reports that failure) or
/// the job was cancelled. Either way the producer stops as cancelled.
impl From<SendError> for Error {
    fn from(_: SendError) -> Self {
        Error::Cancelled
    }
}

/// Identifies one registration in a [`WaitSet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitKey(usize);

/// What a task thread blocks on when it has nothing to do: its readable input channels, its
/// command queue and the job's cancellation, all at once, until a deadline.
pub struct WaitSet<'a> {
    select: Select<'a>,
}

impl Default for WaitSet<'_> {
    fn default() -> Self {
        WaitSet {
            select: Select::new(),
        }
    }
}

impl<'a> WaitSet<'a> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers an in-memory queue: ready when it holds an element or all its senders are
    /// gone. Channel implementations register the queue their elements arrive on.
    pub fn add_queue<T>(&mut self, queue: &'a Receiver<T>) -> WaitKey {
        WaitKey(self.select.recv(queue))
    }

    /// Registers the job's cancellation: ready once the job is cancelled.
    pub fn add_cancel(&mut self, cancel: &'a CancelToken) -> WaitKey {
        self.add_queue(cancel.watch())
    }

    /// Blocks until a registration is ready, or `deadline`: `None` then. A wake-up may be
    /// spurious; the caller polls what it waits on again.
    pub fn wait_until(mut self, deadline: Instant) -> Option<WaitKey> {
        self.select.ready_deadline(deadline).ok().map(WaitKey)
    }
}
