//! The wire format of a data connection between two TaskManagers: pure encoding and decoding,
//! no I/O.
//!
//! The connecting side opens with an 8-byte preamble, [`PREAMBLE`]: the bytes `FLRSDAT` and
//! the protocol version. Then frames follow in both directions, each:
//!
//! | bytes | field |
//! |---|---|
//! | 4 | length of the rest of the frame, unsigned little-endian, at most [`MAX_FRAME_LENGTH`] |
//! | 1 | kind (below) |
//! | 32 | channel: job id (16), attempt (4), edge (4), producing subtask (4), consuming subtask (4), little-endian |
//! | length - 33 | body |
//!
//! From the producing TaskManager to the consuming one:
//!
//! | kind | body |
//! |---|---|
//! | 1 open | empty: a sender for the channel exists; the receiver answers with its credits |
//! | 2 batch | the batch's codec bytes ([`StreamBatch::encode`](crate::batch::StreamBatch::encode)); spends one credit |
//! | 3 watermark | i64 |
//! | 4 watermark status | u8: 0 active, 1 idle |
//! | 5 checkpoint barrier | checkpoint id u64, timestamp i64, u8: 0 checkpoint, 1 savepoint |
//! | 6 end of input | empty |
//! | 7 sender closed | empty: the producer went away; the channel closes after what was sent |
//!
//! From the consuming TaskManager back to the producing one:
//!
//! | kind | body |
//! |---|---|
//! | 8 credit | u32: buffers freed since the last announcement |
//! | 9 receiver closed | empty: the consumer went away |
//!
//! Events (watermarks, statuses, barriers, end of input) need no credit: they take no data
//! buffer on the receiving side.

use flinkrs_core::element::SnapshotKind;
use flinkrs_core::{CheckpointBarrier, CheckpointId, JobId, Watermark, WatermarkStatus};

use super::ChannelId;

/// What a connecting TaskManager sends first: `FLRSDAT` and the protocol version.
pub const PREAMBLE: [u8; 8] = *b"FLRSDAT\x01";

/// The largest frame accepted, kind and channel id included. Batches are bounded far below
/// this (`taskmanager.network.batch.max-bytes`); a larger length means a corrupt stream.
pub const MAX_FRAME_LENGTH: usize = 256 << 20;

/// Bytes of the length field.
const LENGTH_BYTES: usize = 4;
/// Bytes of a channel id on the wire.
const CHANNEL_BYTES: usize = 32;
/// Kind and channel: what every frame holds after its length.
const MINIMUM_LENGTH: usize = 1 + CHANNEL_BYTES;

const OPEN: u8 = 1;
const BATCH: u8 = 2;
const WATERMARK: u8 = 3;
const WATERMARK_STATUS: u8 = 4;
const BARRIER: u8 = 5;
const END_OF_INPUT: u8 = 6;
const SENDER_CLOSED: u8 = 7;
const CREDIT: u8 = 8;
const RECEIVER_CLOSED: u8 = 9;

/// An element of a channel that is not a batch: it travels without a credit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    Watermark(Watermark),
    WatermarkStatus(WatermarkStatus),
    Barrier(CheckpointBarrier),
    EndOfInput,
}

/// What a frame carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body<'a> {
    Open,
    /// A batch's codec bytes, borrowed from the connection's read buffer.
    Batch(&'a [u8]),
    Event(Event),
    SenderClosed,
    Credit(u32),
    ReceiverClosed,
}

impl Body<'_> {
    fn kind(&self) -> u8 {
        match self {
            Body::Open => OPEN,
            Body::Batch(_) => BATCH,
            Body::Event(Event::Watermark(_)) => WATERMARK,
            Body::Event(Event::WatermarkStatus(_)) => WATERMARK_STATUS,
            Body::Event(Event::Barrier(_)) => BARRIER,
            Body::Event(Event::EndOfInput) => END_OF_INPUT,
            Body::SenderClosed => SENDER_CLOSED,
            Body::Credit(_) => CREDIT,
            Body::ReceiverClosed => RECEIVER_CLOSED,
        }
    }

    /// The frame kind's name, for messages.
    pub fn name(&self) -> &'static str {
        kind_name(self.kind())
    }
}

fn kind_name(kind: u8) -> &'static str {
    match kind {
        OPEN => "open",
        BATCH => "batch",
        WATERMARK => "watermark",
        WATERMARK_STATUS => "watermark status",
        BARRIER => "checkpoint barrier",
        END_OF_INPUT => "end of input",
        SENDER_CLOSED => "sender closed",
        CREDIT => "credit",
        RECEIVER_CLOSED => "receiver closed",
        _ => "unknown",
    }
}

/// One decoded frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    pub channel: ChannelId,
    pub body: Body<'a>,
}

/// What is wrong with the bytes a peer sent. The connection that carried them is closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error(
        "the peer is not a flinkrs TaskManager: its first bytes {found:02x?} are not the data \
         connection preamble {PREAMBLE:02x?}"
    )]
    NotADataConnection { found: [u8; 8] },
    #[error(
        "the peer speaks data protocol version {found}, this TaskManager version {}; run the \
         same flinkrs version on every TaskManager",
        PREAMBLE[7]
    )]
    UnsupportedVersion { found: u8 },
    #[error("a frame declares {length} bytes, more than the limit of {MAX_FRAME_LENGTH}")]
    TooLong { length: usize },
    #[error(
        "a frame declares {length} bytes, fewer than the {MINIMUM_LENGTH} of its kind and \
         channel id"
    )]
    TooShort { length: usize },
    #[error("a frame for {channel} has the unknown kind {kind}")]
    UnknownKind { kind: u8, channel: ChannelId },
    #[error(
        "a frame of kind '{kind}' for {channel} has a body of {found} bytes instead of {expected}"
    )]
    BodyLength {
        kind: &'static str,
        channel: ChannelId,
        found: usize,
        expected: usize,
    },
    #[error(
        "a watermark status frame for {channel} holds {found}: neither 0 (active) nor 1 (idle)"
    )]
    UnknownWatermarkStatus { channel: ChannelId, found: u8 },
    #[error(
        "a checkpoint barrier frame for {channel} holds snapshot kind {found}: neither 0 \
         (checkpoint) nor 1 (savepoint)"
    )]
    UnknownSnapshotKind { channel: ChannelId, found: u8 },
    #[error("the connection ended inside a frame, {buffered} bytes into it")]
    Truncated { buffered: usize },
}

/// Checks a peer's preamble.
pub fn check_preamble(found: [u8; 8]) -> Result<(), FrameError> {
    if found[..7] != PREAMBLE[..7] {
        return Err(FrameError::NotADataConnection { found });
    }
    if found[7] != PREAMBLE[7] {
        return Err(FrameError::UnsupportedVersion { found: found[7] });
    }
    Ok(())
}

/// Appends a frame's length placeholder, kind and channel; returns where the frame starts,
/// for [`finish_frame`].
fn begin_frame(out: &mut Vec<u8>, kind: u8, channel: ChannelId) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0; LENGTH_BYTES]);
    out.push(kind);
    out.extend_from_slice(&channel.job.0.to_le_bytes());
    for part in [
        channel.attempt,
        channel.edge,
        channel.producer_subtask,
        channel.consumer_subtask,
    ] {
        out.extend_from_slice(&part.to_le_bytes());
    }
    start
}

/// Writes the length of the frame that starts at `start` and ends at the end of `out`. A
/// frame over the limit is removed again.
fn finish_frame(out: &mut Vec<u8>, start: usize) -> Result<(), FrameError> {
    let length = out.len() - start - LENGTH_BYTES;
    if length > MAX_FRAME_LENGTH {
        out.truncate(start);
        return Err(FrameError::TooLong { length });
    }
    // The limit fits a u32.
    out[start..start + LENGTH_BYTES].copy_from_slice(&(length as u32).to_le_bytes());
    Ok(())
}

/// Appends one frame to `out`.
pub fn encode_frame(out: &mut Vec<u8>, frame: &Frame<'_>) -> Result<(), FrameError> {
    let start = begin_frame(out, frame.body.kind(), frame.channel);
    match frame.body {
        Body::Open | Body::SenderClosed | Body::ReceiverClosed => {}
        Body::Event(Event::EndOfInput) => {}
        Body::Batch(bytes) => out.extend_from_slice(bytes),
        Body::Event(Event::Watermark(watermark)) => {
            out.extend_from_slice(&watermark.0.to_le_bytes())
        }
        Body::Event(Event::WatermarkStatus(status)) => out.push(match status {
            WatermarkStatus::Active => 0,
            WatermarkStatus::Idle => 1,
        }),
        Body::Event(Event::Barrier(barrier)) => {
            out.extend_from_slice(&barrier.id.0.to_le_bytes());
            out.extend_from_slice(&barrier.timestamp.to_le_bytes());
            out.push(match barrier.kind {
                SnapshotKind::Checkpoint => 0,
                SnapshotKind::Savepoint => 1,
            });
        }
        Body::Credit(credits) => out.extend_from_slice(&credits.to_le_bytes()),
    }
    finish_frame(out, start)
}

/// Appends a batch frame whose body `encode` writes (the batch codec, straight into `out`).
/// On an error of `encode` or an oversized frame, `out` is left as it was.
pub fn encode_batch_frame<E>(
    out: &mut Vec<u8>,
    channel: ChannelId,
    encode: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
) -> Result<Result<(), FrameError>, E> {
    let start = begin_frame(out, BATCH, channel);
    if let Err(error) = encode(out) {
        out.truncate(start);
        return Err(error);
    }
    Ok(finish_frame(out, start))
}

/// The total bytes of the frame at the start of `bytes` (length field included), once its
/// length field is there: how far a reader must fill its buffer.
pub fn frame_size(bytes: &[u8]) -> Option<usize> {
    let length = bytes.first_chunk::<LENGTH_BYTES>()?;
    Some(LENGTH_BYTES + u32::from_le_bytes(*length) as usize)
}

/// Decodes the frame at the start of `bytes`: the frame and the bytes it took, or `None`
/// while the frame is not complete yet.
pub fn decode_frame(bytes: &[u8]) -> Result<Option<(Frame<'_>, usize)>, FrameError> {
    let Some(size) = frame_size(bytes) else {
        return Ok(None);
    };
    let length = size - LENGTH_BYTES;
    if length > MAX_FRAME_LENGTH {
        return Err(FrameError::TooLong { length });
    }
    if length < MINIMUM_LENGTH {
        return Err(FrameError::TooShort { length });
    }
    let Some(frame) = bytes.get(LENGTH_BYTES..size) else {
        return Ok(None);
    };
    let (kind, rest) = (frame[0], &frame[1..]);
    let (channel, body) = rest.split_at(CHANNEL_BYTES);
    let channel = decode_channel(channel);
    let exact = |expected: usize| {
        if body.len() == expected {
            Ok(body)
        } else {
            Err(FrameError::BodyLength {
                kind: kind_name(kind),
                channel,
                found: body.len(),
                expected,
            })
        }
    };
    let body = match kind {
        OPEN => exact(0).map(|_| Body::Open)?,
        BATCH => Body::Batch(body),
        WATERMARK => Body::Event(Event::Watermark(Watermark(i64_at(exact(8)?, 0)))),
        WATERMARK_STATUS => Body::Event(Event::WatermarkStatus(match exact(1)?[0] {
            0 => WatermarkStatus::Active,
            1 => WatermarkStatus::Idle,
            found => return Err(FrameError::UnknownWatermarkStatus { channel, found }),
        })),
        BARRIER => {
            let body = exact(17)?;
            let kind = match body[16] {
                0 => SnapshotKind::Checkpoint,
                1 => SnapshotKind::Savepoint,
                found => return Err(FrameError::UnknownSnapshotKind { channel, found }),
            };
            Body::Event(Event::Barrier(CheckpointBarrier {
                id: CheckpointId(i64_at(body, 0) as u64),
                timestamp: i64_at(body, 8),
                kind,
            }))
        }
        END_OF_INPUT => exact(0).map(|_| Body::Event(Event::EndOfInput))?,
        SENDER_CLOSED => exact(0).map(|_| Body::SenderClosed)?,
        CREDIT => Body::Credit(u32_at(exact(4)?, 0)),
        RECEIVER_CLOSED => exact(0).map(|_| Body::ReceiverClosed)?,
        kind => return Err(FrameError::UnknownKind { kind, channel }),
    };
    Ok(Some((Frame { channel, body }, size)))
}

/// Reads a channel id; `bytes` holds exactly [`CHANNEL_BYTES`].
fn decode_channel(bytes: &[u8]) -> ChannelId {
    let mut job = [0; 16];
    job.copy_from_slice(&bytes[..16]);
    ChannelId {
        job: JobId(u128::from_le_bytes(job)),
        attempt: u32_at(bytes, 16),
        edge: u32_at(bytes, 20),
        producer_subtask: u32_at(bytes, 24),
        consumer_subtask: u32_at(bytes, 28),
    }
}

/// The little-endian u32 at `at`; the caller checked the length.
fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(word)
}

/// The little-endian i64 at `at`; the caller checked the length.
fn i64_at(bytes: &[u8], at: usize) -> i64 {
    let mut word = [0; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    i64::from_le_bytes(word)
}

#[cfg(test)]
mod tests;
