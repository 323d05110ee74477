//! The remote channel: subtasks on two TaskManagers, over TCP (see the [parent
//! module](super) for how it fits the channel traits).
//!
//! Each TaskManager process runs one [`NetworkEnvironment`]. It listens on the TaskManager's
//! data port (Flink's `taskmanager.data.port`) and keeps **one connection per peer it sends
//! to**, on which the frames of all its channels to that peer are multiplexed ([`frame`] has
//! the wire format). The connections are served by the process's I/O runtime
//! ([`flinkrs_state::io_runtime`]); task threads never touch a socket.
//!
//! A channel is named by a [`ChannelId`] that both TaskManagers derive from the deployment:
//! the job, its attempt, the JobEdge and the producing and consuming subtasks. The producing
//! TaskManager asks for a [`RemoteSender`] with the consuming TaskManager's data address; the
//! consuming one asks for a [`RemoteReceiver`] with its number of buffers. Either may come
//! first:
//!
//! 1. The sender sends an *open* frame on the connection.
//! 2. Once both the open frame and the receiver are there, the receiver's TaskManager
//!    announces the receiver's buffers as credits.
//! 3. Each batch frame spends a credit; the batch's codec bytes land in one of the
//!    receiver's buffers and wait on its queue. The consuming task decodes it on its own
//!    thread, which frees the buffer: a credit to announce (announcements are batched, and
//!    always made before the task could wait on an empty queue).
//! 4. Events (watermarks, watermark statuses, barriers, end of input) pass without credits.
//! 5. A sender that is dropped sends *sender closed*; a receiver that is dropped sends
//!    *receiver closed*. A connection that breaks closes every channel on it.
//!
//! Per batch, the sending task encodes into a buffer it reuses, then appends it to the
//! connection's outgoing buffer under one lock; the receiving side copies the frame into a
//! buffer of the channel's fixed pool. Nothing is allocated in the steady state.

mod connection;
mod environment;
pub mod frame;
mod outbox;
mod receiver;
mod registry;
mod sender;

use std::fmt;

use flinkrs_core::JobId;

pub use environment::NetworkEnvironment;
pub use receiver::RemoteReceiver;
pub use sender::RemoteSender;

/// Names one channel between TaskManagers, the same on both. Flink's counterpart is the
/// pair of a result partition and a subpartition index. An id names one channel once: a
/// restarted job counts up its attempt rather than opening a closed channel again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelId {
    pub job: JobId,
    /// The job's attempt (restarts count up), so that a channel of a restarted job never
    /// meets a leftover of the failed one.
    pub attempt: u32,
    /// The JobEdge's index in the JobGraph: the intermediate result the channel belongs to.
    pub edge: u32,
    pub producer_subtask: u32,
    pub consumer_subtask: u32,
}

impl fmt::Display for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "channel {} -> {} of edge {} (job {}, attempt {})",
            self.producer_subtask, self.consumer_subtask, self.edge, self.job, self.attempt
        )
    }
}
