//! [`RemoteSender`]: the producing half of a remote channel.

use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crossbeam_channel::{Receiver, Sender, select};
use flinkrs_core::StreamElement;

use super::ChannelId;
use super::connection::OutgoingConnection;
use super::frame::{Body, Event, Frame, encode_batch_frame};
use crate::batch::StreamBatch;
use crate::channel::{ChannelSender, SendError, TrySendError};
use crate::task::CancelToken;

/// What the connection's reader tells a sender: credits announced, or the channel closed.
pub(super) struct SenderLink {
    credits: AtomicUsize,
    closed: AtomicBool,
    /// Holds a token after a change, so a sender about to wait sees it.
    changed: Sender<()>,
    watch: Receiver<()>,
}

impl SenderLink {
    pub(super) fn new() -> Self {
        let (changed, watch) = crossbeam_channel::bounded(1);
        SenderLink {
            credits: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            changed,
            watch,
        }
    }

    pub(super) fn add_credits(&self, credits: u32) {
        self.credits.fetch_add(credits as usize, Ordering::AcqRel);
        let _ = self.changed.try_send(());
    }

    pub(super) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let _ = self.changed.try_send(());
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Spends one credit if one is held.
    fn take_credit(&self) -> bool {
        self.credits
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |credits| {
                credits.checked_sub(1)
            })
            .is_ok()
    }

    fn refund_credit(&self) {
        self.credits.fetch_add(1, Ordering::AcqRel);
    }
}

/// The producing half of a remote channel, from
/// [`NetworkEnvironment::sender`](super::NetworkEnvironment::sender). It holds no credits
/// until the receiver on the other TaskManager has registered and announced its buffers.
pub struct RemoteSender<B> {
    channel: ChannelId,
    link: Arc<SenderLink>,
    connection: Arc<OutgoingConnection>,
    /// The frame being sent: encoded here, on the task thread, then copied to the
    /// connection; reused for every batch.
    frame: Vec<u8>,
    _batches: PhantomData<fn(B)>,
}

impl<B: StreamBatch> RemoteSender<B> {
    pub(super) fn new(
        channel: ChannelId,
        link: Arc<SenderLink>,
        connection: Arc<OutgoingConnection>,
    ) -> Self {
        RemoteSender {
            channel,
            link,
            connection,
            frame: Vec::new(),
            _batches: PhantomData,
        }
    }

    /// The channel this sender writes.
    pub fn channel(&self) -> ChannelId {
        self.channel
    }

    /// Encodes `batch` as one frame and hands it to the connection; false when it cannot
    /// be sent (the reason is logged).
    fn push_batch(&mut self, batch: &B) -> bool {
        self.frame.clear();
        match encode_batch_frame(&mut self.frame, self.channel, |out| batch.encode(out)) {
            Ok(Ok(())) => {}
            Ok(Err(too_long)) => {
                tracing::error!("{}: cannot send a batch: {too_long}", self.channel);
                return false;
            }
            Err(codec) => {
                tracing::error!("{}: cannot send a batch: {codec}", self.channel);
                return false;
            }
        }
        let frame = &self.frame;
        self.connection
            .outbox
            .push(|out| out.extend_from_slice(frame))
    }

    fn push_event(&self, event: Event) -> bool {
        self.connection.outbox.push_frame(&Frame {
            channel: self.channel,
            body: Body::Event(event),
        })
    }
}

impl<B: StreamBatch> ChannelSender<B> for RemoteSender<B> {
    fn credits(&self) -> usize {
        self.link.credits.load(Ordering::Acquire)
    }

    fn try_send(
        &mut self,
        element: StreamElement<B>,
        _bytes: usize,
    ) -> Result<(), TrySendError<B>> {
        if self.link.is_closed() {
            return Err(TrySendError::Closed(element));
        }
        let sent = match &element {
            StreamElement::Records(batch) => {
                if !self.link.take_credit() {
                    return Err(TrySendError::Full(element));
                }
                let sent = self.push_batch(batch);
                if !sent {
                    self.link.refund_credit();
                }
                sent
            }
            StreamElement::Watermark(watermark) => self.push_event(Event::Watermark(*watermark)),
            StreamElement::WatermarkStatus(status) => {
                self.push_event(Event::WatermarkStatus(*status))
            }
            StreamElement::Barrier(barrier) => self.push_event(Event::Barrier(*barrier)),
            StreamElement::EndOfInput => self.push_event(Event::EndOfInput),
        };
        if sent {
            Ok(())
        } else {
            // The connection is gone, or the batch cannot be encoded: either way nothing
            // more reaches the receiver.
            self.link.close();
            Err(TrySendError::Closed(element))
        }
    }

    fn send(
        &mut self,
        mut element: StreamElement<B>,
        bytes: usize,
        cancel: &CancelToken,
    ) -> Result<(), SendError> {
        loop {
            match self.try_send(element, bytes) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Closed(_)) => return Err(SendError::Closed),
                Err(TrySendError::Full(refused)) => element = refused,
            }
            select! {
                recv(self.link.watch) -> _ => {}
                recv(cancel.watch()) -> _ => return Err(SendError::Cancelled),
            }
        }
    }
}

impl<B> Drop for RemoteSender<B> {
    fn drop(&mut self) {
        self.connection.unregister(self.channel);
        // Also after the receiver closed the channel: the receiving side forgets the channel
        // on this frame. (A closed connection takes nothing.)
        self.connection.outbox.push_frame(&Frame {
            channel: self.channel,
            body: Body::SenderClosed,
        });
    }
}
