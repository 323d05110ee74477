use flinkrs_core::element::SnapshotKind;
use flinkrs_core::{CheckpointBarrier, CheckpointId, JobId, Watermark, WatermarkStatus};

use super::*;

const CHANNEL: ChannelId = ChannelId {
    job: JobId(0x0123_4567_89ab_cdef_0011_2233_4455_6677),
    attempt: 2,
    edge: 3,
    producer_subtask: 4,
    consumer_subtask: 5,
};

fn encoded(body: Body<'_>) -> Vec<u8> {
    let mut bytes = Vec::new();
    encode_frame(
        &mut bytes,
        &Frame {
            channel: CHANNEL,
            body,
        },
    )
    .unwrap();
    bytes
}

fn every_body() -> Vec<Body<'static>> {
    vec![
        Body::Open,
        Body::Batch(b"codec bytes"),
        Body::Batch(b""),
        Body::Event(Event::Watermark(Watermark(-42))),
        Body::Event(Event::Watermark(Watermark::MAX)),
        Body::Event(Event::WatermarkStatus(WatermarkStatus::Active)),
        Body::Event(Event::WatermarkStatus(WatermarkStatus::Idle)),
        Body::Event(Event::Barrier(CheckpointBarrier {
            id: CheckpointId(u64::MAX - 1),
            timestamp: 1_700_000_000_000,
            kind: SnapshotKind::Checkpoint,
        })),
        Body::Event(Event::Barrier(CheckpointBarrier {
            id: CheckpointId(9),
            timestamp: -1,
            kind: SnapshotKind::Savepoint,
        })),
        Body::Event(Event::EndOfInput),
        Body::SenderClosed,
        Body::Credit(7),
        Body::ReceiverClosed,
    ]
}

#[test]
fn every_kind_of_frame_round_trips_back_to_back_in_one_buffer() {
    let bodies = every_body();
    let mut stream = Vec::new();
    for body in &bodies {
        stream.extend_from_slice(&encoded(*body));
    }
    let mut at = 0;
    let mut decoded = Vec::new();
    while let Some((frame, size)) = decode_frame(&stream[at..]).unwrap() {
        assert_eq!(frame.channel, CHANNEL);
        decoded.push(frame.body);
        at += size;
    }
    assert_eq!(at, stream.len());
    assert_eq!(decoded, bodies);
}

#[test]
fn the_layout_is_length_kind_channel_body_little_endian() {
    let bytes = encoded(Body::Credit(0x0102_0304));
    assert_eq!(bytes.len(), 4 + 1 + 32 + 4);
    assert_eq!(bytes[..4], 37u32.to_le_bytes());
    assert_eq!(bytes[4], 8, "credit");
    assert_eq!(bytes[5..21], CHANNEL.job.0.to_le_bytes());
    assert_eq!(bytes[21..25], 2u32.to_le_bytes());
    assert_eq!(bytes[25..29], 3u32.to_le_bytes());
    assert_eq!(bytes[29..33], 4u32.to_le_bytes());
    assert_eq!(bytes[33..37], 5u32.to_le_bytes());
    assert_eq!(bytes[37..], [4, 3, 2, 1]);
}

#[test]
fn a_batch_frame_holds_what_the_codec_wrote_and_nothing_when_it_fails() {
    let mut out = vec![0xee];
    encode_batch_frame(&mut out, CHANNEL, |out| {
        out.extend_from_slice(b"rows");
        Ok::<_, ()>(())
    })
    .unwrap()
    .unwrap();
    let (frame, size) = decode_frame(&out[1..]).unwrap().unwrap();
    assert_eq!(frame.body, Body::Batch(b"rows"));
    assert_eq!(size, out.len() - 1);

    let failed = encode_batch_frame(&mut out, CHANNEL, |out| {
        out.extend_from_slice(b"half a batch");
        Err("the codec failed")
    });
    assert_eq!(failed, Err("the codec failed"));
    assert_eq!(out.len(), 1 + size, "the failed frame left nothing behind");
}

#[test]
fn an_incomplete_frame_waits_for_more_bytes_at_every_cut() {
    let bytes = encoded(Body::Event(Event::Barrier(CheckpointBarrier {
        id: CheckpointId(1),
        timestamp: 2,
        kind: SnapshotKind::Checkpoint,
    })));
    for cut in 0..bytes.len() {
        assert_eq!(decode_frame(&bytes[..cut]), Ok(None), "cut at {cut}");
    }
    assert!(decode_frame(&bytes).unwrap().is_some());
    assert_eq!(frame_size(&bytes[..4]), Some(bytes.len()));
}

/// Decodes `bytes`, expecting an error, and returns its message.
fn error_of(bytes: &[u8]) -> String {
    match decode_frame(bytes) {
        Err(error) => error.to_string(),
        Ok(frame) => panic!("decoded {frame:?}"),
    }
}

#[test]
fn malformed_frames_are_errors_that_say_what_was_wrong() {
    let channel = "channel 4 -> 5 of edge 3 (job 0123456789abcdef0011223344556677, attempt 2)";

    let mut unknown = encoded(Body::Open);
    unknown[4] = 42;
    assert_eq!(
        error_of(&unknown),
        format!("a frame for {channel} has the unknown kind 42")
    );

    let mut long_watermark = encoded(Body::Event(Event::Watermark(Watermark(1))));
    long_watermark.push(0);
    long_watermark[..4].copy_from_slice(&(33u32 + 9).to_le_bytes());
    assert_eq!(
        error_of(&long_watermark),
        format!("a frame of kind 'watermark' for {channel} has a body of 9 bytes instead of 8")
    );

    let mut status = encoded(Body::Event(Event::WatermarkStatus(WatermarkStatus::Idle)));
    *status.last_mut().unwrap() = 3;
    assert_eq!(
        error_of(&status),
        format!("a watermark status frame for {channel} holds 3: neither 0 (active) nor 1 (idle)")
    );

    let mut barrier = encoded(Body::Event(Event::Barrier(CheckpointBarrier {
        id: CheckpointId(1),
        timestamp: 2,
        kind: SnapshotKind::Savepoint,
    })));
    *barrier.last_mut().unwrap() = 2;
    assert_eq!(
        error_of(&barrier),
        format!(
            "a checkpoint barrier frame for {channel} holds snapshot kind 2: neither 0 \
             (checkpoint) nor 1 (savepoint)"
        )
    );

    // The length alone condemns these, before the rest of the frame has arrived.
    assert_eq!(
        error_of(&u32::MAX.to_le_bytes()),
        "a frame declares 4294967295 bytes, more than the limit of 268435456"
    );
    assert_eq!(
        error_of(&5u32.to_le_bytes()),
        "a frame declares 5 bytes, fewer than the 33 of its kind and channel id"
    );
}

#[test]
fn a_batch_frame_over_the_limit_is_refused_when_encoded() {
    let mut out = b"kept".to_vec();
    let result = encode_batch_frame(&mut out, CHANNEL, |out| {
        out.resize(out.len() + MAX_FRAME_LENGTH, 0);
        Ok::<_, ()>(())
    });
    assert_eq!(
        result,
        Ok(Err(FrameError::TooLong {
            length: MAX_FRAME_LENGTH + 33
        }))
    );
    assert_eq!(out, b"kept");
}

#[test]
fn the_preamble_tells_a_stranger_from_another_version() {
    assert_eq!(check_preamble(PREAMBLE), Ok(()));
    assert_eq!(
        check_preamble(*b"GET / HT").unwrap_err().to_string(),
        "the peer is not a flinkrs TaskManager: its first bytes [47, 45, 54, 20, 2f, 20, 48, \
         54] are not the data connection preamble [46, 4c, 52, 53, 44, 41, 54, 01]"
    );
    let mut newer = PREAMBLE;
    newer[7] = 2;
    assert_eq!(
        check_preamble(newer).unwrap_err().to_string(),
        "the peer speaks data protocol version 2, this TaskManager version 1; run the same \
         flinkrs version on every TaskManager"
    );
}
