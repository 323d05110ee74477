//! Where the two halves of a channel meet on the consuming TaskManager: the receiver a task
//! registers and the *open* frame its sender sends, in either order.
//!
//! Whichever comes first creates the channel's queue and its [`ChannelShared`]; whichever
//! comes second completes it and announces the receiver's buffers as the sender's first
//! credits. The connection's reader then owns the queue's sending end, the receiver its
//! receiving end.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use crossbeam_channel::{Receiver, Sender};
use flinkrs_core::{Error, Result};

use super::ChannelId;
use super::frame::{Body, Event, Frame};
use super::outbox::Outbox;

/// What waits on a receiver's queue.
pub(super) enum Inbound {
    /// A batch's codec bytes, in one of the channel's buffers.
    Batch(Vec<u8>),
    Event(Event),
}

/// What the connection's reader and the receiver of one channel share.
#[derive(Default)]
pub(super) struct ChannelShared {
    /// The connection the sender opened the channel on: where credits go back.
    pub(super) credits_to: OnceLock<Arc<Outbox>>,
    /// The receiver's free buffers; set when the receiver registers.
    pub(super) free_buffers: OnceLock<Receiver<Vec<u8>>>,
}

/// The reader's end of a channel.
pub(super) struct ReaderEnd {
    pub(super) queue: Sender<Inbound>,
    pub(super) shared: Arc<ChannelShared>,
}

/// The receiver's end of a channel.
pub(super) struct ReceiverEnd {
    pub(super) queue: Receiver<Inbound>,
    pub(super) free_buffers: Sender<Vec<u8>>,
    pub(super) shared: Arc<ChannelShared>,
}

enum Entry {
    /// A receiver registered; no sender opened the channel yet.
    AwaitingSender {
        queue: Sender<Inbound>,
        shared: Arc<ChannelShared>,
        buffers: usize,
    },
    /// A sender opened the channel; no receiver registered yet (events may already wait).
    AwaitingReceiver {
        queue: Receiver<Inbound>,
        shared: Arc<ChannelShared>,
    },
    /// Both halves met; the entry stays while the receiver lives, to refuse a second one.
    Connected,
    /// The receiver went away before its sender opened the channel.
    ReceiverGone,
}

/// What the reader does with an *open* frame.
pub(super) enum Opened {
    /// Frames for the channel go to this end.
    Accepted(ReaderEnd),
    /// The channel has no receiver any more (or already has a sender); its frames are
    /// ignored, and the sender was told it is closed.
    Refused,
}

#[derive(Default)]
pub(super) struct Registry {
    entries: Mutex<HashMap<ChannelId, Entry>>,
}

impl Registry {
    fn entries(&self) -> MutexGuard<'_, HashMap<ChannelId, Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A receiver with `buffers` buffers for `channel`.
    pub(super) fn register_receiver(
        &self,
        channel: ChannelId,
        buffers: usize,
    ) -> Result<ReceiverEnd> {
        let (free_sender, free_receiver) = crossbeam_channel::bounded(buffers);
        for _ in 0..buffers {
            // The channel has room for exactly these.
            let _ = free_sender.try_send(Vec::new());
        }
        let mut entries = self.entries();
        let (queue, shared) = match entries.remove(&channel) {
            None | Some(Entry::ReceiverGone) => {
                let (sender, receiver) = crossbeam_channel::unbounded();
                let shared = Arc::new(ChannelShared::default());
                let _ = shared.free_buffers.set(free_receiver);
                entries.insert(
                    channel,
                    Entry::AwaitingSender {
                        queue: sender,
                        shared: Arc::clone(&shared),
                        buffers,
                    },
                );
                (receiver, shared)
            }
            Some(Entry::AwaitingReceiver { queue, shared }) => {
                entries.insert(channel, Entry::Connected);
                // The buffers are there before the credits that let the sender fill them.
                let _ = shared.free_buffers.set(free_receiver);
                if let Some(outbox) = shared.credits_to.get() {
                    announce(outbox, channel, buffers);
                }
                (queue, shared)
            }
            Some(taken @ (Entry::AwaitingSender { .. } | Entry::Connected)) => {
                entries.insert(channel, taken);
                return Err(Error::InvalidJob(format!(
                    "{channel} already has a receiver on this TaskManager; each channel of a \
                     deployment has exactly one"
                )));
            }
        };
        Ok(ReceiverEnd {
            queue,
            free_buffers: free_sender,
            shared,
        })
    }

    /// A sender opened `channel` on the connection whose outgoing half is `outbox`.
    pub(super) fn open(&self, channel: ChannelId, outbox: &Arc<Outbox>) -> Opened {
        let mut entries = self.entries();
        match entries.remove(&channel) {
            None => {
                let (sender, receiver) = crossbeam_channel::unbounded();
                let shared = Arc::new(ChannelShared::default());
                let _ = shared.credits_to.set(Arc::clone(outbox));
                entries.insert(
                    channel,
                    Entry::AwaitingReceiver {
                        queue: receiver,
                        shared: Arc::clone(&shared),
                    },
                );
                Opened::Accepted(ReaderEnd {
                    queue: sender,
                    shared,
                })
            }
            Some(Entry::AwaitingSender {
                queue,
                shared,
                buffers,
            }) => {
                entries.insert(channel, Entry::Connected);
                let _ = shared.credits_to.set(Arc::clone(outbox));
                announce(outbox, channel, buffers);
                Opened::Accepted(ReaderEnd { queue, shared })
            }
            Some(Entry::ReceiverGone) => {
                refuse(outbox, channel);
                Opened::Refused
            }
            Some(taken @ (Entry::AwaitingReceiver { .. } | Entry::Connected)) => {
                entries.insert(channel, taken);
                tracing::warn!(
                    "{channel} was opened by a second sender; the first one keeps it, the \
                     second is told the channel is closed"
                );
                refuse(outbox, channel);
                Opened::Refused
            }
        }
    }

    /// The receiver of `channel` went away: its sender learns it now, or when it opens the
    /// channel.
    pub(super) fn receiver_dropped(&self, channel: ChannelId, shared: &ChannelShared) {
        let mut entries = self.entries();
        match entries.remove(&channel) {
            Some(Entry::AwaitingSender { .. }) => {
                entries.insert(channel, Entry::ReceiverGone);
            }
            Some(Entry::Connected) => {
                if let Some(outbox) = shared.credits_to.get() {
                    refuse(outbox, channel);
                }
            }
            Some(other) => {
                entries.insert(channel, other);
            }
            None => {}
        }
    }
}

fn announce(outbox: &Outbox, channel: ChannelId, buffers: usize) {
    let credits = u32::try_from(buffers).unwrap_or(u32::MAX);
    outbox.push_frame(&Frame {
        channel,
        body: Body::Credit(credits),
    });
}

fn refuse(outbox: &Outbox, channel: ChannelId) {
    outbox.push_frame(&Frame {
        channel,
        body: Body::ReceiverClosed,
    });
}
