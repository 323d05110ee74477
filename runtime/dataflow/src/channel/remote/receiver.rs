//! [`RemoteReceiver`]: the consuming half of a remote channel.

use std::marker::PhantomData;
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use flinkrs_core::StreamElement;

use super::ChannelId;
use super::frame::{Body, Event, Frame};
use super::registry::{ChannelShared, Inbound, ReceiverEnd, Registry};
use crate::batch::StreamBatch;
use crate::channel::{ChannelReceiver, TryRecv, WaitKey, WaitSet};
use crate::metrics::Counter;

/// The consuming half of a remote channel, from
/// [`NetworkEnvironment::receiver`](super::NetworkEnvironment::receiver). To its task it
/// looks exactly like a local channel: an in-memory queue of at most its buffers' worth of
/// batches (plus the events between them).
pub struct RemoteReceiver<B> {
    channel: ChannelId,
    queue: Receiver<Inbound>,
    free_buffers: Sender<Vec<u8>>,
    shared: Arc<ChannelShared>,
    registry: Arc<Registry>,
    /// Buffers freed and not yet announced to the sender.
    unannounced: u32,
    /// Announce once this many buffers are free (and always when the queue runs empty).
    announce_at: u32,
    /// The channel was closed from this side: dropped, or a batch could not be decoded.
    closed: bool,
    /// The consuming task's numBytesIn.
    bytes_in: Counter,
    _batches: PhantomData<fn() -> B>,
}

impl<B: StreamBatch> RemoteReceiver<B> {
    pub(super) fn new(
        channel: ChannelId,
        buffers: usize,
        end: ReceiverEnd,
        registry: Arc<Registry>,
    ) -> Self {
        RemoteReceiver {
            channel,
            queue: end.queue,
            free_buffers: end.free_buffers,
            shared: end.shared,
            registry,
            unannounced: 0,
            announce_at: u32::try_from(buffers / 2).unwrap_or(u32::MAX).max(1),
            closed: false,
            bytes_in: Counter::default(),
            _batches: PhantomData,
        }
    }

    /// The channel this receiver reads.
    pub fn channel(&self) -> ChannelId {
        self.channel
    }

    /// Elements that arrived and wait to be taken: Flink's `inputQueueLength`.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Tells the sender about the buffers freed since the last announcement.
    fn announce(&mut self) {
        if let Some(outbox) = self.shared.credits_to.get() {
            outbox.push_frame(&Frame {
                channel: self.channel,
                body: Body::Credit(self.unannounced),
            });
        }
        self.unannounced = 0;
    }

    /// Closes the channel from this side: the sender learns it, and this receiver reads as
    /// closed from now on.
    fn close(&mut self) {
        if !self.closed {
            self.closed = true;
            self.registry.receiver_dropped(self.channel, &self.shared);
            // A queue whose sending side is gone: ready and closed for any wait set.
            self.queue = crossbeam_channel::bounded(0).1;
        }
    }
}

impl<B: StreamBatch> ChannelReceiver<B> for RemoteReceiver<B> {
    fn try_recv(&mut self) -> TryRecv<B> {
        let bytes = match self.queue.try_recv() {
            Ok(Inbound::Batch(bytes)) => bytes,
            Ok(Inbound::Event(event)) => return TryRecv::Element(element(event)),
            Err(TryRecvError::Empty) => return TryRecv::Empty,
            Err(TryRecvError::Disconnected) => return TryRecv::Closed,
        };
        self.bytes_in.inc(bytes.len() as u64);
        let decoded = B::decode(&bytes);
        // The buffer goes back to the pool before its credit is announced, so the sender's
        // next batch finds it free. The pool has room for every buffer of the channel.
        let _ = self.free_buffers.try_send(bytes);
        self.unannounced += 1;
        if self.unannounced >= self.announce_at || self.queue.is_empty() {
            self.announce();
        }
        match decoded {
            Ok(batch) => TryRecv::Element(StreamElement::Records(batch)),
            Err(error) => {
                tracing::error!(
                    "{}: {error}; closing the channel, so its consuming task fails",
                    self.channel
                );
                self.close();
                TryRecv::Closed
            }
        }
    }

    fn register<'a>(&'a self, waits: &mut WaitSet<'a>) -> WaitKey {
        waits.add_queue(&self.queue)
    }

    fn count_bytes_into(&mut self, counter: Counter) {
        self.bytes_in = counter;
    }
}

impl<B> Drop for RemoteReceiver<B> {
    fn drop(&mut self) {
        if !self.closed {
            self.closed = true;
            self.registry.receiver_dropped(self.channel, &self.shared);
        }
    }
}

fn element<B>(event: Event) -> StreamElement<B> {
    match event {
        Event::Watermark(watermark) => StreamElement::Watermark(watermark),
        Event::WatermarkStatus(status) => StreamElement::WatermarkStatus(status),
        Event::Barrier(barrier) => StreamElement::Barrier(barrier),
        Event::EndOfInput => StreamElement::EndOfInput,
    }
}
