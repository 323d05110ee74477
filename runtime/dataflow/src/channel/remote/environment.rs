//! [`NetworkEnvironment`]: one per TaskManager process, owner of its data port and of its
//! connections to other TaskManagers.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use flinkrs_core::{Error, Result};
use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use tokio::task::AbortHandle;

use super::ChannelId;
use super::connection::{Failures, OutgoingConnection, serve_inbound};
use super::frame::{Body, Frame};
use super::receiver::RemoteReceiver;
use super::registry::Registry;
use super::sender::RemoteSender;
use crate::batch::StreamBatch;

/// How long the accept loop pauses after a failed accept (say, out of file descriptors)
/// before it tries again.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// The data plane of one TaskManager: it listens for the connections of TaskManagers that
/// send here, keeps one connection to each TaskManager it sends to, and hands out the two
/// halves of remote channels. Dropping it closes every connection: the channels on them read
/// as closed on both sides.
///
/// ```no_run
/// # use flinkrs_core::{Batch, JobId};
/// # use flinkrs_dataflow::channel::remote::{ChannelId, NetworkEnvironment};
/// # fn main() -> flinkrs_core::Result<()> {
/// // On each TaskManager, once: its data port (Flink's `taskmanager.data.port`).
/// let producing = NetworkEnvironment::start("127.0.0.1:0")?;
/// let consuming = NetworkEnvironment::start("127.0.0.1:0")?;
/// // For each channel of an edge between the two, derived from the deployment on both sides:
/// let channel = ChannelId { job: JobId(7), attempt: 0, edge: 0, producer_subtask: 0, consumer_subtask: 1 };
/// let receiver = consuming.receiver::<Batch<u64>>(channel, 4)?;
/// let sender = producing.sender::<Batch<u64>>(channel, &consuming.address().to_string())?;
/// # Ok(()) }
/// ```
pub struct NetworkEnvironment {
    address: SocketAddr,
    runtime: &'static Runtime,
    registry: Arc<Registry>,
    connections: Mutex<HashMap<String, Arc<OutgoingConnection>>>,
    tasks: Arc<Tasks>,
    failures: Arc<Failures>,
}

/// The I/O runtime's tasks this environment started: aborted when it is dropped.
struct Tasks(Mutex<Option<Vec<AbortHandle>>>);

impl Default for Tasks {
    fn default() -> Self {
        Tasks(Mutex::new(Some(Vec::new())))
    }
}

impl Tasks {
    fn handles(&self) -> MutexGuard<'_, Option<Vec<AbortHandle>>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Keeps `task` to abort it later; aborts it now if the environment is already gone (a
    /// connection accepted while it was dropped).
    fn add(&self, task: AbortHandle) {
        match self.handles().as_mut() {
            Some(handles) => {
                handles.retain(|handle| !handle.is_finished());
                handles.push(task);
            }
            None => task.abort(),
        }
    }

    fn abort_all(&self) {
        for task in self.handles().take().into_iter().flatten() {
            task.abort();
        }
    }
}

impl NetworkEnvironment {
    /// Listens on `bind_address` (`host:port`; port 0 picks a free port, see
    /// [`address`](Self::address)) and serves connections on the process's I/O runtime.
    pub fn start(bind_address: &str) -> Result<Self> {
        let runtime =
            flinkrs_state::io_runtime::runtime().map_err(|error| Error::State(Box::new(error)))?;
        let cannot_listen = |source: std::io::Error| Error::Config {
            key: "taskmanager.data.port".into(),
            message: format!("cannot listen for data connections on {bind_address}: {source}"),
        };
        let listener = std::net::TcpListener::bind(bind_address).map_err(cannot_listen)?;
        listener.set_nonblocking(true).map_err(cannot_listen)?;
        let address = listener.local_addr().map_err(cannot_listen)?;
        let listener = {
            let _runtime = runtime.enter();
            TcpListener::from_std(listener).map_err(cannot_listen)?
        };
        let environment = NetworkEnvironment {
            address,
            runtime,
            registry: Arc::default(),
            connections: Mutex::default(),
            tasks: Arc::default(),
            failures: Arc::default(),
        };
        let accepting = runtime.spawn(accept(
            listener,
            Arc::clone(&environment.registry),
            Arc::clone(&environment.failures),
            Arc::clone(&environment.tasks),
        ));
        environment.tasks.add(accepting.abort_handle());
        tracing::info!("TaskManager data port listening on {address}");
        Ok(environment)
    }

    /// The address this environment listens on: what the TaskManager announces as its data
    /// address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The producing half of `channel`, whose receiver lives on the TaskManager with data
    /// address `peer` (`host:port`). It holds credits once that receiver has registered;
    /// if `peer` cannot be reached, it reads as closed (and the reason is logged).
    pub fn sender<B: StreamBatch>(
        &self,
        channel: ChannelId,
        peer: &str,
    ) -> Result<RemoteSender<B>> {
        let connection = self.connection(peer);
        let link = connection.register(channel)?;
        connection.outbox.push_frame(&Frame {
            channel,
            body: Body::Open,
        });
        Ok(RemoteSender::new(channel, link, connection))
    }

    /// The consuming half of `channel`, with `buffers` buffers (at least one): the credits
    /// its sender may spend before it has to wait for this receiver's task.
    pub fn receiver<B: StreamBatch>(
        &self,
        channel: ChannelId,
        buffers: usize,
    ) -> Result<RemoteReceiver<B>> {
        let buffers = buffers.max(1);
        let end = self.registry.register_receiver(channel, buffers)?;
        Ok(RemoteReceiver::new(
            channel,
            buffers,
            end,
            Arc::clone(&self.registry),
        ))
    }

    /// Open connections to TaskManagers this one sends to: one per peer, whatever the
    /// number of channels.
    pub fn outgoing_connections(&self) -> usize {
        self.connections()
            .values()
            .filter(|connection| connection.is_open())
            .count()
    }

    /// The latest connection failures, oldest first (they are logged as they happen too).
    pub fn recent_failures(&self) -> Vec<String> {
        self.failures.recent()
    }

    fn connections(&self) -> MutexGuard<'_, HashMap<String, Arc<OutgoingConnection>>> {
        self.connections
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The open connection to `peer`, or a new one (after a failure, too).
    fn connection(&self, peer: &str) -> Arc<OutgoingConnection> {
        let mut connections = self.connections();
        if let Some(connection) = connections.get(peer)
            && connection.is_open()
        {
            return Arc::clone(connection);
        }
        let connection = Arc::new(OutgoingConnection::new(peer.to_owned()));
        let serving = self
            .runtime
            .spawn(Arc::clone(&connection).run(Arc::clone(&self.failures)));
        self.tasks.add(serving.abort_handle());
        connections.insert(peer.to_owned(), Arc::clone(&connection));
        connection
    }
}

impl Drop for NetworkEnvironment {
    fn drop(&mut self) {
        for connection in self.connections().values() {
            connection.fail();
        }
        self.tasks.abort_all();
    }
}

/// Accepts connections from TaskManagers that send here, each served by its own task.
async fn accept(
    listener: TcpListener,
    registry: Arc<Registry>,
    failures: Arc<Failures>,
    tasks: Arc<Tasks>,
) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let serving = tokio::spawn(serve_inbound(
                    stream,
                    peer,
                    Arc::clone(&registry),
                    Arc::clone(&failures),
                ));
                tasks.add(serving.abort_handle());
            }
            Err(error) => {
                tracing::warn!("cannot accept a data connection: {error}; trying again");
                tokio::time::sleep(ACCEPT_RETRY).await;
            }
        }
    }
}
