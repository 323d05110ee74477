//! The two kinds of connection, each served by one task on the I/O runtime that writes its
//! outbox and reads its frames at once:
//!
//! - an [`OutgoingConnection`] to a peer this TaskManager sends to: batches and events go
//!   out, credits come back;
//! - an inbound connection ([`serve_inbound`]) from a peer that sends here: batches and
//!   events come in and land in receivers' queues, credits go back.
//!
//! A frame that breaks the protocol closes its connection with a logged error naming what
//! was wrong; the other connections go on.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crossbeam_channel::TryRecvError;
use flinkrs_core::{Error, Result};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;

use super::ChannelId;
use super::frame::{Body, Frame, FrameError, PREAMBLE, check_preamble, decode_frame, frame_size};
use super::outbox::Outbox;
use super::registry::{Inbound, Opened, ReaderEnd, Registry};
use super::sender::SenderLink;

/// How long connecting to a peer may take before its channels fail.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The read buffer's first size, and the least room a read is given.
const READ_CHUNK: usize = 64 << 10;
/// Connection failures kept for [`Failures::recent`].
const RECENT_FAILURES: usize = 32;

/// Why a connection ended.
#[derive(Debug, thiserror::Error)]
pub(super) enum ConnectionError {
    #[error("cannot connect: {0}")]
    Connect(io::Error),
    #[error("cannot connect within {CONNECT_TIMEOUT:?}")]
    ConnectTimeout,
    #[error("the peer closed the connection before sending its 8-byte preamble")]
    NoPreamble,
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error(
        "a frame of kind '{kind}' for {channel} arrived on a connection that carries {carries}"
    )]
    WrongDirection {
        kind: &'static str,
        channel: ChannelId,
        carries: &'static str,
    },
    #[error(
        "a frame of kind '{kind}' for {channel}, which its sender did not open on this connection"
    )]
    NotOpened {
        kind: &'static str,
        channel: ChannelId,
    },
    #[error("{channel} was opened twice on this connection")]
    OpenedTwice { channel: ChannelId },
    #[error(
        "a batch frame for {channel} arrived without a credit: the sender sent more batches \
         than the receiver announced buffers"
    )]
    WithoutCredit { channel: ChannelId },
    #[error("I/O error: {0}")]
    Io(io::Error),
}

/// The connection failures of one network environment: logged, and the latest kept for
/// whoever reports them (the TaskManager to its JobMaster; tests).
#[derive(Default)]
pub(super) struct Failures {
    recent: Mutex<VecDeque<String>>,
}

impl Failures {
    fn recent_list(&self) -> MutexGuard<'_, VecDeque<String>> {
        self.recent
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn record(&self, message: String) {
        tracing::error!("{message}");
        let mut recent = self.recent_list();
        if recent.len() == RECENT_FAILURES {
            recent.pop_front();
        }
        recent.push_back(message);
    }

    pub(super) fn recent(&self) -> Vec<String> {
        self.recent_list().iter().cloned().collect()
    }
}

/// Reads frames from `socket` and hands each to `handle`, until the peer closes the
/// connection between two frames (`Ok`) or something goes wrong.
async fn read_frames(
    mut socket: OwnedReadHalf,
    mut handle: impl FnMut(Frame<'_>) -> Result<(), ConnectionError>,
) -> Result<(), ConnectionError> {
    let mut buffer = vec![0; READ_CHUNK];
    let (mut start, mut end) = (0, 0);
    loop {
        while let Some((frame, size)) = decode_frame(&buffer[start..end])? {
            handle(frame)?;
            start += size;
        }
        // Keep the unfinished frame at the front, with room for all of it.
        buffer.copy_within(start..end, 0);
        end -= start;
        start = 0;
        let wanted = frame_size(&buffer[..end])
            .unwrap_or(0)
            .max(end + READ_CHUNK);
        if buffer.len() < wanted {
            buffer.resize(wanted, 0);
        }
        let read = socket
            .read(&mut buffer[end..])
            .await
            .map_err(ConnectionError::Io)?;
        if read == 0 {
            return match end {
                0 => Ok(()),
                buffered => Err(FrameError::Truncated { buffered }.into()),
            };
        }
        end += read;
    }
}

/// A connection to a peer TaskManager that this one sends to: shared by the senders of
/// every channel to that peer.
pub(super) struct OutgoingConnection {
    peer: String,
    pub(super) outbox: Outbox,
    senders: Mutex<Senders>,
}

struct Senders {
    /// False once the connection failed or was shut down: new senders are closed at once.
    open: bool,
    links: HashMap<ChannelId, Arc<SenderLink>>,
}

impl OutgoingConnection {
    /// A connection to `peer` ("host:port"); [`run`](Self::run) connects and serves it.
    pub(super) fn new(peer: String) -> Self {
        let outbox = Outbox::new();
        outbox.push(|out| out.extend_from_slice(&PREAMBLE));
        OutgoingConnection {
            peer,
            outbox,
            senders: Mutex::new(Senders {
                open: true,
                links: HashMap::new(),
            }),
        }
    }

    fn senders(&self) -> MutexGuard<'_, Senders> {
        self.senders
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn is_open(&self) -> bool {
        self.senders().open
    }

    /// The link of a new sender for `channel`; closed at once if the connection is.
    pub(super) fn register(&self, channel: ChannelId) -> Result<Arc<SenderLink>> {
        let link = Arc::new(SenderLink::new());
        let mut senders = self.senders();
        if !senders.open {
            link.close();
            return Ok(link);
        }
        if senders.links.contains_key(&channel) {
            return Err(Error::InvalidJob(format!(
                "{channel} already has a sender to {}; each channel of a deployment has \
                 exactly one",
                self.peer
            )));
        }
        senders.links.insert(channel, Arc::clone(&link));
        Ok(link)
    }

    pub(super) fn unregister(&self, channel: ChannelId) {
        self.senders().links.remove(&channel);
    }

    fn link(&self, channel: ChannelId) -> Option<Arc<SenderLink>> {
        self.senders().links.get(&channel).cloned()
    }

    /// Ends the connection: every sender on it reads as closed from now on.
    pub(super) fn fail(&self) {
        let links = {
            let mut senders = self.senders();
            senders.open = false;
            std::mem::take(&mut senders.links)
        };
        self.outbox.close();
        for link in links.values() {
            link.close();
        }
    }

    /// Connects and serves the connection until it ends; then fails its senders.
    pub(super) async fn run(self: Arc<Self>, failures: Arc<Failures>) {
        let outcome = self.serve().await;
        if !self.is_open() {
            // Shut down from this side.
            return;
        }
        let open_channels = self.senders().links.len();
        if open_channels == 0 && outcome.is_ok() {
            // The peer closed an idle connection (its jobs ended): nothing was lost.
            tracing::debug!(peer = %self.peer, "the receiving TaskManager closed an idle data connection");
            self.fail();
            return;
        }
        let reason = match outcome {
            Ok(()) => "the receiving TaskManager closed it".to_owned(),
            Err(error) => error.to_string(),
        };
        // Recorded before the senders learn it, so whoever sees a closed channel finds why.
        failures.record(format!(
            "data connection to {}: {reason}; {open_channels} channel(s) to it read as closed",
            self.peer
        ));
        self.fail();
    }

    async fn serve(&self) -> Result<(), ConnectionError> {
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&self.peer))
            .await
            .map_err(|_| ConnectionError::ConnectTimeout)?
            .map_err(ConnectionError::Connect)?;
        stream.set_nodelay(true).map_err(ConnectionError::Io)?;
        let (read, write) = stream.into_split();
        tokio::select! {
            written = self.outbox.write_to(write) => written.map_err(ConnectionError::Io),
            read = read_frames(read, |frame| self.on_frame(frame)) => read,
        }
    }

    fn on_frame(&self, frame: Frame<'_>) -> Result<(), ConnectionError> {
        match frame.body {
            // A sender that went away leaves its credits behind.
            Body::Credit(credits) => {
                if let Some(link) = self.link(frame.channel) {
                    link.add_credits(credits);
                }
                Ok(())
            }
            Body::ReceiverClosed => {
                if let Some(link) = self.link(frame.channel) {
                    link.close();
                }
                Ok(())
            }
            body => Err(ConnectionError::WrongDirection {
                kind: body.name(),
                channel: frame.channel,
                carries: "credits to this TaskManager",
            }),
        }
    }
}

/// Closes an inbound connection's outbox when its task ends or is aborted, so receivers
/// stop announcing credits to it.
struct CloseOnDrop(Arc<Outbox>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// The channels of one inbound connection, as its reader sees them.
#[derive(Default)]
struct InboundChannels {
    open: HashMap<ChannelId, ReaderEnd>,
    /// Channels whose open frame was refused: their frames are ignored.
    refused: HashSet<ChannelId>,
}

/// Serves a connection a peer TaskManager opened to send here, until it ends.
pub(super) async fn serve_inbound(
    stream: TcpStream,
    peer: SocketAddr,
    registry: Arc<Registry>,
    failures: Arc<Failures>,
) {
    let outbox = CloseOnDrop(Arc::new(Outbox::new()));
    let mut channels = InboundChannels::default();
    let outcome = async {
        stream.set_nodelay(true).map_err(ConnectionError::Io)?;
        let (mut read, write) = stream.into_split();
        let mut preamble = [0; PREAMBLE.len()];
        read.read_exact(&mut preamble)
            .await
            .map_err(|error| match error.kind() {
                io::ErrorKind::UnexpectedEof => ConnectionError::NoPreamble,
                _ => ConnectionError::Io(error),
            })?;
        if preamble == crate::collect::wire::PREAMBLE {
            // Not a TaskManager sending records: the JobManager fetching collected results.
            return crate::collect::wire::serve(read, write)
                .await
                .map_err(ConnectionError::Io);
        }
        check_preamble(preamble)?;
        tokio::select! {
            written = outbox.0.write_to(write) => written.map_err(ConnectionError::Io),
            read = read_frames(read, |frame| channels.on_frame(frame, &registry, &outbox.0)) => read,
        }
    }
    .await;
    let open_channels = channels.open.len();
    match outcome {
        Ok(()) if open_channels == 0 => {
            tracing::debug!("data connection from {peer} closed");
        }
        Ok(()) => failures.record(format!(
            "data connection from {peer} closed with {open_channels} channel(s) still open; \
             their receivers read as closed"
        )),
        Err(error) => {
            failures.record(format!("data connection from {peer}: {error}; closing it"));
        }
    }
    // Dropping the channels' queues closes them for their receivers, after what arrived.
}

impl InboundChannels {
    fn on_frame(
        &mut self,
        frame: Frame<'_>,
        registry: &Registry,
        outbox: &Arc<Outbox>,
    ) -> Result<(), ConnectionError> {
        let channel = frame.channel;
        match frame.body {
            Body::Open => {
                if self.open.contains_key(&channel) || self.refused.contains(&channel) {
                    return Err(ConnectionError::OpenedTwice { channel });
                }
                match registry.open(channel, outbox) {
                    Opened::Accepted(end) => {
                        self.open.insert(channel, end);
                    }
                    Opened::Refused => {
                        self.refused.insert(channel);
                    }
                }
            }
            Body::Batch(bytes) => {
                let Some(end) = self.end(channel, "batch")? else {
                    return Ok(());
                };
                let Some(free_buffers) = end.shared.free_buffers.get() else {
                    return Err(ConnectionError::WithoutCredit { channel });
                };
                match free_buffers.try_recv() {
                    Ok(mut buffer) => {
                        buffer.clear();
                        buffer.extend_from_slice(bytes);
                        // A receiver that went away drops what still arrives.
                        let _ = end.queue.send(Inbound::Batch(buffer));
                    }
                    Err(TryRecvError::Empty) => {
                        return Err(ConnectionError::WithoutCredit { channel });
                    }
                    // The receiver went away; its sender is being told.
                    Err(TryRecvError::Disconnected) => {}
                }
            }
            Body::Event(event) => {
                if let Some(end) = self.end(channel, frame.body.name())? {
                    let _ = end.queue.send(Inbound::Event(event));
                }
            }
            Body::SenderClosed => {
                if self.open.remove(&channel).is_none() && !self.refused.remove(&channel) {
                    return Err(ConnectionError::NotOpened {
                        kind: frame.body.name(),
                        channel,
                    });
                }
            }
            Body::Credit(_) | Body::ReceiverClosed => {
                return Err(ConnectionError::WrongDirection {
                    kind: frame.body.name(),
                    channel,
                    carries: "batches and events to this TaskManager",
                });
            }
        }
        Ok(())
    }

    /// Where a frame for `channel` goes: `None` for a refused channel, whose frames are
    /// ignored.
    fn end(
        &self,
        channel: ChannelId,
        kind: &'static str,
    ) -> Result<Option<&ReaderEnd>, ConnectionError> {
        match self.open.get(&channel) {
            Some(end) => Ok(Some(end)),
            None if self.refused.contains(&channel) => Ok(None),
            None => Err(ConnectionError::NotOpened { kind, channel }),
        }
    }
}
