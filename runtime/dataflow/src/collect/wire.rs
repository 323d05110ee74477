//! Fetching a job's collected results from the TaskManager that holds them, over its data
//! port: pure encoding, the TaskManager's side ([`serve`]) and the JobManager's ([`fetch`]).
//!
//! The JobManager connects to the TaskManager's data port and opens with [`PREAMBLE`] (where
//! a TaskManager sending records opens with the data preamble), then sends one request:
//!
//! | bytes | field |
//! |---|---|
//! | 16 | job id, little-endian |
//! | 8 | offset: the chunks before it are read |
//! | 4 | the most bytes of chunks to answer with (at least one chunk is sent) |
//!
//! The TaskManager answers and closes the connection:
//!
//! | bytes | field |
//! |---|---|
//! | 1 | 1 when it holds the job's results, else 0 and nothing follows |
//! | 4 | the attempt the results belong to |
//! | 8 | the offset of the first chunk |
//! | 1 | 1 when no chunk follows these: the sink finished |
//! | 4 | the number of chunks, then each as 4 bytes of length and its bytes |

use std::io;

use flinkrs_core::JobId;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::Page;

/// What a JobManager fetching results sends first: `FLRSRES` and the protocol version.
pub const PREAMBLE: [u8; 8] = *b"FLRSRES\x01";

/// The bytes of a request after the preamble.
const REQUEST_BYTES: usize = 16 + 8 + 4;

/// The largest chunk accepted: a corrupt length beyond it fails the fetch.
const MAX_CHUNK_BYTES: usize = 256 << 20;

/// One fetch: `job`'s chunks from `offset`, up to `max_bytes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FetchRequest {
    pub job: JobId,
    pub offset: u64,
    pub max_bytes: u32,
}

impl FetchRequest {
    pub fn encode(&self) -> [u8; REQUEST_BYTES] {
        let mut bytes = [0; REQUEST_BYTES];
        bytes[..16].copy_from_slice(&self.job.0.to_le_bytes());
        bytes[16..24].copy_from_slice(&self.offset.to_le_bytes());
        bytes[24..].copy_from_slice(&self.max_bytes.to_le_bytes());
        bytes
    }

    pub fn decode(bytes: &[u8; REQUEST_BYTES]) -> Self {
        let mut job = [0; 16];
        job.copy_from_slice(&bytes[..16]);
        let mut offset = [0; 8];
        offset.copy_from_slice(&bytes[16..24]);
        let mut max_bytes = [0; 4];
        max_bytes.copy_from_slice(&bytes[24..]);
        FetchRequest {
            job: JobId(u128::from_le_bytes(job)),
            offset: u64::from_le_bytes(offset),
            max_bytes: u32::from_le_bytes(max_bytes),
        }
    }
}

/// The answer to a fetch: `None` when the process holds no results of the job.
pub fn encode_page(page: Option<&Page>) -> Vec<u8> {
    let Some(page) = page else {
        return vec![0];
    };
    let size: usize = page.chunks.iter().map(|chunk| 4 + chunk.len()).sum();
    let mut bytes = Vec::with_capacity(1 + 4 + 8 + 1 + 4 + size);
    bytes.push(1);
    bytes.extend_from_slice(&page.attempt.to_le_bytes());
    bytes.extend_from_slice(&page.offset.to_le_bytes());
    bytes.push(u8::from(page.finished));
    bytes.extend_from_slice(
        &u32::try_from(page.chunks.len())
            .unwrap_or(u32::MAX)
            .to_le_bytes(),
    );
    for chunk in &page.chunks {
        bytes.extend_from_slice(&u32::try_from(chunk.len()).unwrap_or(u32::MAX).to_le_bytes());
        bytes.extend_from_slice(chunk);
    }
    bytes
}

/// Reads an answer written by [`encode_page`].
pub async fn read_page(read: &mut (impl AsyncRead + Unpin)) -> io::Result<Option<Page>> {
    if read.read_u8().await? == 0 {
        return Ok(None);
    }
    let attempt = read.read_u32_le().await?;
    let offset = read.read_u64_le().await?;
    let finished = read.read_u8().await? == 1;
    let count = read.read_u32_le().await?;
    let mut chunks = Vec::with_capacity(count.min(1024) as usize);
    for _ in 0..count {
        let length = read.read_u32_le().await? as usize;
        if length > MAX_CHUNK_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("a result chunk of {length} bytes; the most is {MAX_CHUNK_BYTES}"),
            ));
        }
        let mut chunk = vec![0; length];
        read.read_exact(&mut chunk).await?;
        chunks.push(chunk);
    }
    Ok(Some(Page {
        attempt,
        offset,
        chunks,
        finished,
    }))
}

/// Answers one fetch on a data connection whose [`PREAMBLE`] was read, from this process's
/// buffers.
pub async fn serve(
    mut read: impl AsyncRead + Unpin,
    mut write: impl AsyncWrite + Unpin,
) -> io::Result<()> {
    let mut request = [0; REQUEST_BYTES];
    read.read_exact(&mut request).await?;
    let request = FetchRequest::decode(&request);
    let page = super::fetch(request.job, request.offset, request.max_bytes as usize);
    write.write_all(&encode_page(page.as_ref())).await?;
    write.shutdown().await
}

/// Fetches a page of results from the TaskManager whose data port is at `address`.
pub async fn fetch(address: &str, request: FetchRequest) -> io::Result<Option<Page>> {
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    stream.set_nodelay(true)?;
    let mut message = PREAMBLE.to_vec();
    message.extend_from_slice(&request.encode());
    stream.write_all(&message).await?;
    read_page(&mut stream).await
}
