//! [`SocketTextSource`]: delimited text lines from a TCP server, like Flink's
//! `socketTextStream(host, port, delimiter, maxRetry)`.

use std::io::{self, BufRead, BufReader, ErrorKind};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use flinkrs_core::{Batch, Error, Record, Result};
use flinkrs_dataflow::{SourceContext, SourceFunction, SourceStatus};

/// How long one poll blocks on a silent socket before it returns, so the task can check for
/// cancellation and run its timers.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_millis(100);
/// How long to wait between reconnection attempts, as Flink's default.
pub const DEFAULT_RETRY_DELAY: Duration = Duration::from_millis(500);
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Reads `delimiter`-separated text lines from `host:port`.
///
/// The source is non-parallel (parallelism 1). It connects in `open`, so an unreachable
/// server fails the job at start with [`Error::Connect`] naming the address. It finishes when
/// the server closes the connection, unless `max_retry` allows reconnecting (Flink's
/// `maxRetry`: by default 0, no reconnection). Reads use a timeout, so a silent server never
/// blocks the task: the source returns [`SourceStatus::Wait`] and stays cancellable.
///
/// The socket cannot be replayed: the source checkpoints no position, and a job restored
/// after a failure reads on from whatever the server sends next. Delivery from a socket is at
/// most once, as in Flink; the source says so in the log when it opens with checkpointing on.
///
/// When the delimiter is `\n`, a `\r` before it is dropped too. Text that is not UTF-8 is
/// decoded with replacement characters, as Flink's socket source decodes it.
#[derive(Debug)]
pub struct SocketTextSource {
    host: String,
    port: u16,
    delimiter: Vec<u8>,
    /// Reconnections allowed after the server closes the connection; `None` for unlimited.
    max_retry: Option<u64>,
    retry_delay: Duration,
    read_timeout: Duration,
    connect_timeout: Duration,
    connection: Option<BufReader<TcpStream>>,
    /// Bytes read but not yet ended by the delimiter.
    pending: Vec<u8>,
    retries: u64,
    /// After the server closed the connection: when to try again, if retries are left.
    reconnect_at: Option<Instant>,
}

impl Clone for SocketTextSource {
    /// The same settings, not connected.
    fn clone(&self) -> Self {
        SocketTextSource {
            connection: None,
            pending: Vec::new(),
            retries: 0,
            reconnect_at: None,
            host: self.host.clone(),
            delimiter: self.delimiter.clone(),
            ..*self
        }
    }
}

/// `host:port`, with brackets around an IPv6 address.
pub fn socket_address(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

impl SocketTextSource {
    /// Reads lines separated by `delimiter` (Flink's default is `"\n"`; an empty delimiter
    /// means `"\n"`).
    pub fn new(host: impl Into<String>, port: u16, delimiter: &str) -> Self {
        let delimiter = if delimiter.is_empty() {
            "\n"
        } else {
            delimiter
        };
        SocketTextSource {
            host: host.into(),
            port,
            delimiter: delimiter.as_bytes().to_vec(),
            max_retry: Some(0),
            retry_delay: DEFAULT_RETRY_DELAY,
            read_timeout: DEFAULT_READ_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            connection: None,
            pending: Vec::new(),
            retries: 0,
            reconnect_at: None,
        }
    }

    /// Reconnects up to `max_retry` times after the server closes the connection, like
    /// Flink's `maxRetry`. Each failed attempt counts as one.
    pub fn with_max_retry(mut self, max_retry: u64) -> Self {
        self.max_retry = Some(max_retry);
        self
    }

    /// Reconnects forever (Flink's `maxRetry = -1`).
    pub fn with_unlimited_retries(mut self) -> Self {
        self.max_retry = None;
        self
    }

    pub fn with_retry_delay(mut self, delay: Duration) -> Self {
        self.retry_delay = delay;
        self
    }

    /// Longest a poll blocks on a silent socket (at least 1 ms).
    pub fn with_read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    pub fn address(&self) -> String {
        socket_address(&self.host, self.port)
    }

    fn connect(&self) -> Result<BufReader<TcpStream>> {
        let address = self.address();
        let failed = |source: io::Error| {
            let hint = format!(
                "{source}; check that a server is listening on {address} (for a test: `nc -lk {}`)",
                self.port
            );
            Error::Connect {
                address: address.clone(),
                source: io::Error::new(source.kind(), hint),
            }
        };
        let candidates = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(&failed)?;
        let mut last_error = io::Error::new(ErrorKind::NotFound, "the host has no address");
        for candidate in candidates {
            match TcpStream::connect_timeout(&candidate, self.connect_timeout) {
                Ok(stream) => {
                    stream
                        .set_read_timeout(Some(self.read_timeout))
                        .map_err(&failed)?;
                    return Ok(BufReader::new(stream));
                }
                Err(error) => last_error = error,
            }
        }
        Err(failed(last_error))
    }

    fn retries_left(&self) -> bool {
        self.max_retry
            .is_none_or(|max_retry| self.retries < max_retry)
    }

    /// Emits `pending` as one line, without the delimiter.
    fn emit_pending(&mut self, batch: &mut Batch<String>) {
        let mut line = self
            .pending
            .strip_suffix(self.delimiter.as_slice())
            .unwrap_or(&self.pending);
        if self.delimiter == b"\n" {
            line = line.strip_suffix(b"\r").unwrap_or(line);
        }
        batch.push(Record::new(String::from_utf8_lossy(line).into_owned()));
        self.pending.clear();
    }

    /// The server closed the connection: schedule a reconnection or finish.
    fn on_closed(&mut self, batch: &mut Batch<String>) -> SourceStatus {
        if !self.pending.is_empty() {
            self.emit_pending(batch);
        }
        self.connection = None;
        if self.retries_left() {
            self.retries += 1;
            self.reconnect_at = Some(Instant::now() + self.retry_delay);
            return SourceStatus::Wait(self.retry_delay);
        }
        self.reconnect_at = None;
        SourceStatus::Finished
    }

    /// Tries to reconnect when it is time; `Some(status)` when the poll should end here.
    fn reconnect(&mut self) -> Result<Option<SourceStatus>> {
        let Some(at) = self.reconnect_at else {
            return Ok(Some(SourceStatus::Finished));
        };
        let now = Instant::now();
        if now < at {
            return Ok(Some(SourceStatus::Wait(at - now)));
        }
        match self.connect() {
            Ok(connection) => {
                self.connection = Some(connection);
                self.reconnect_at = None;
                Ok(None)
            }
            Err(_) if self.retries_left() => {
                self.retries += 1;
                self.reconnect_at = Some(now + self.retry_delay);
                Ok(Some(SourceStatus::Wait(self.retry_delay)))
            }
            Err(error) => Err(error),
        }
    }
}

impl SourceFunction<Batch<String>> for SocketTextSource {
    fn open(&mut self, context: &SourceContext) -> Result<()> {
        if context.parallelism() > 1 {
            return Err(Error::InvalidJob(format!(
                "the socket source for {} is non-parallel, but runs with parallelism {}; \
                 set its parallelism to 1",
                self.address(),
                context.parallelism()
            )));
        }
        if context.info.config.checkpoint_interval().is_some() {
            tracing::warn!(
                address = %self.address(),
                "the socket source cannot be replayed: lines read before a failure and not \
                 yet checkpointed downstream are lost on restore (at most once)"
            );
        }
        self.connection = Some(self.connect()?);
        Ok(())
    }

    fn poll_batch(
        &mut self,
        batch: &mut Batch<String>,
        context: &SourceContext,
    ) -> Result<SourceStatus> {
        let last_byte = *self.delimiter.last().unwrap_or(&b'\n');
        while batch.len() < context.batch_rows {
            if self.connection.is_none()
                && let Some(status) = self.reconnect()?
            {
                return Ok(if batch.is_empty() {
                    status
                } else {
                    SourceStatus::MoreAvailable
                });
            }
            let Some(reader) = &mut self.connection else {
                return Ok(SourceStatus::Finished);
            };
            // With lines in hand and nothing buffered, send them rather than wait for more.
            if !batch.is_empty() && reader.buffer().is_empty() {
                return Ok(SourceStatus::MoreAvailable);
            }
            match reader.read_until(last_byte, &mut self.pending) {
                Ok(0) => {
                    let status = self.on_closed(batch);
                    let more = !batch.is_empty() && status != SourceStatus::Finished;
                    return Ok(if more {
                        SourceStatus::MoreAvailable
                    } else {
                        status
                    });
                }
                Ok(_) if self.pending.ends_with(&self.delimiter) => self.emit_pending(batch),
                // Only part of a line, or of a multi-byte delimiter, so far.
                Ok(_) => {}
                Err(error)
                    if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                {
                    // The read already waited `read_timeout`; the bytes read so far stay in
                    // `pending`. Return so the task can check for cancellation.
                    return Ok(if batch.is_empty() {
                        SourceStatus::Wait(Duration::ZERO)
                    } else {
                        SourceStatus::MoreAvailable
                    });
                }
                Err(source) => {
                    return Err(Error::Connect {
                        address: self.address(),
                        source,
                    });
                }
            }
        }
        Ok(SourceStatus::MoreAvailable)
    }

    fn close(&mut self) -> Result<()> {
        self.connection = None;
        Ok(())
    }
}
