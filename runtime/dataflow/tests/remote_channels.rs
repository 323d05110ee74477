//! Remote channels over real TCP on 127.0.0.1: two `NetworkEnvironment`s in one process stand
//! in for two TaskManagers.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{ArrayRef, Int64Array, RecordBatch, TimestampMillisecondArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use flinkrs_core::element::SnapshotKind;
use flinkrs_core::{
    Batch, CheckpointBarrier, CheckpointId, JobId, Record, StreamElement, Watermark,
    WatermarkStatus,
};
use flinkrs_dataflow::batch::{ArrowBatch, StreamBatch};
use flinkrs_dataflow::channel::remote::frame::{Body, Frame, PREAMBLE, encode_frame};
use flinkrs_dataflow::channel::remote::{ChannelId, NetworkEnvironment, RemoteReceiver};
use flinkrs_dataflow::channel::{
    ChannelReceiver, ChannelSender, SendError, TryRecv, TrySendError, WaitSet,
};
use flinkrs_dataflow::metrics::Counter;
use flinkrs_dataflow::task::CancelToken;

/// A failure guard for waits that end at once when the code is right.
const GUARD: Duration = Duration::from_secs(10);

fn environment() -> NetworkEnvironment {
    NetworkEnvironment::start("127.0.0.1:0").unwrap()
}

fn channel(edge: u32, producer_subtask: u32, consumer_subtask: u32) -> ChannelId {
    ChannelId {
        job: JobId(0xf11e),
        attempt: 0,
        edge,
        producer_subtask,
        consumer_subtask,
    }
}

fn records(values: std::ops::Range<u64>) -> StreamElement<Batch<u64>> {
    StreamElement::Records(
        values
            .map(|value| Record::with_timestamp(value, 1))
            .collect(),
    )
}

/// An Arrow batch of `ids` whose rowtime is ten times the id.
fn arrow(ids: std::ops::Range<i64>) -> StreamElement<ArrowBatch> {
    let schema = Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Millisecond, None),
            false,
        ),
    ]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(ids.clone())),
        Arc::new(TimestampMillisecondArray::from_iter_values(
            ids.map(|id| id * 10),
        )),
    ];
    let batch = RecordBatch::try_new(Arc::new(schema), columns).unwrap();
    StreamElement::Records(ArrowBatch::with_rowtime(batch, "ts").unwrap())
}

/// What an element carries, as text: easy to compare exactly.
trait Describe: Sized {
    fn describe(self) -> String;
}

impl Describe for Batch<u64> {
    fn describe(self) -> String {
        let values: Vec<u64> = self.into_iter().map(|record| record.value).collect();
        format!("records {values:?}")
    }
}

impl Describe for ArrowBatch {
    fn describe(self) -> String {
        let ids: Vec<i64> = self
            .record_batch()
            .column(0)
            .as_primitive::<Int64Type>()
            .values()
            .to_vec();
        format!("arrow {ids:?} rowtime {:?}", self.rowtime_values().unwrap())
    }
}

fn describe<B: Describe + std::fmt::Debug>(received: TryRecv<B>) -> String {
    match received {
        TryRecv::Element(StreamElement::Records(batch)) => batch.describe(),
        TryRecv::Element(element) => format!("{element:?}"),
        TryRecv::Empty => "empty".into(),
        TryRecv::Closed => "closed".into(),
    }
}

/// The next element or the channel's close, waiting on the channel as a task does.
fn receive<B: StreamBatch + Describe + std::fmt::Debug>(
    receiver: &mut impl ChannelReceiver<B>,
) -> String {
    let deadline = Instant::now() + GUARD;
    loop {
        match receiver.try_recv() {
            TryRecv::Empty => {}
            received => return describe(received),
        }
        let mut waits = WaitSet::new();
        receiver.register(&mut waits);
        assert!(
            waits.wait_until(deadline).is_some(),
            "nothing arrived within {GUARD:?}"
        );
    }
}

/// Waits until `condition` holds, polling it; fails the test after [`GUARD`].
fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + GUARD;
    while !condition() {
        assert!(Instant::now() < deadline, "{what}: not within {GUARD:?}");
        thread::sleep(Duration::from_millis(1));
    }
}

fn barrier(id: u64) -> CheckpointBarrier {
    CheckpointBarrier {
        id: CheckpointId(id),
        timestamp: 1_700_000_000_000 + id as i64,
        kind: if id.is_multiple_of(2) {
            SnapshotKind::Savepoint
        } else {
            SnapshotKind::Checkpoint
        },
    }
}

/// The events every channel of the multiplexing test ends with, in order.
fn events<B>() -> Vec<StreamElement<B>> {
    vec![
        StreamElement::Watermark(Watermark(7)),
        StreamElement::WatermarkStatus(WatermarkStatus::Idle),
        StreamElement::WatermarkStatus(WatermarkStatus::Active),
        StreamElement::Barrier(barrier(3)),
        StreamElement::Barrier(barrier(4)),
        StreamElement::Watermark(Watermark::MAX),
        StreamElement::EndOfInput,
    ]
}

/// Takes what has arrived on `receiver` into `seen`; true once the channel is closed.
fn drain<B: StreamBatch + Describe + std::fmt::Debug>(
    receiver: &mut RemoteReceiver<B>,
    seen: &mut Vec<String>,
) -> bool {
    loop {
        match receiver.try_recv() {
            TryRecv::Empty => return false,
            TryRecv::Closed => return true,
            element => seen.push(describe(element)),
        }
    }
}

#[test]
fn channels_multiplexed_on_one_connection_deliver_every_kind_of_element_in_order() {
    let producing = environment();
    let consuming = environment();
    let peer = consuming.address().to_string();
    let typed = [channel(0, 0, 0), channel(0, 1, 0)];
    let arrow_channel = channel(1, 0, 0);
    // The typed receivers register before their senders open the channels, the Arrow
    // receiver after its sender did.
    let mut typed_receivers: Vec<RemoteReceiver<Batch<u64>>> = typed
        .iter()
        .map(|&id| consuming.receiver(id, 2).unwrap())
        .collect();
    let mut typed_senders: Vec<_> = typed
        .iter()
        .map(|&id| producing.sender::<Batch<u64>>(id, &peer).unwrap())
        .collect();
    let mut arrow_sender = producing
        .sender::<ArrowBatch>(arrow_channel, &peer)
        .unwrap();
    assert_eq!(producing.outgoing_connections(), 1);

    let producer = thread::spawn(move || {
        let cancel = CancelToken::default();
        // Four rounds of batches, interleaved over the three channels: more than their two
        // buffers each, so the producer waits for credits on the way.
        for round in 0..4 {
            for (index, sender) in typed_senders.iter_mut().enumerate() {
                let first = index as u64 * 100 + round * 10;
                sender.send(records(first..first + 3), 0, &cancel).unwrap();
            }
            let first = round as i64 * 10;
            arrow_sender
                .send(arrow(first..first + 2), 0, &cancel)
                .unwrap();
        }
        let mut typed_events: Vec<_> = typed_senders
            .iter()
            .map(|_| events::<Batch<u64>>().into_iter())
            .collect();
        for arrow_event in events::<ArrowBatch>() {
            for (sender, events) in typed_senders.iter_mut().zip(&mut typed_events) {
                sender.send(events.next().unwrap(), 0, &cancel).unwrap();
            }
            arrow_sender.send(arrow_event, 0, &cancel).unwrap();
        }
    });
    let mut arrow_receiver = consuming.receiver::<ArrowBatch>(arrow_channel, 2).unwrap();

    let mut typed_seen = [Vec::new(), Vec::new()];
    let mut arrow_seen = Vec::new();
    let mut closed = [false; 3];
    let deadline = Instant::now() + GUARD;
    while closed.contains(&false) {
        for (index, receiver) in typed_receivers.iter_mut().enumerate() {
            closed[index] = closed[index] || drain(receiver, &mut typed_seen[index]);
        }
        closed[2] = closed[2] || drain(&mut arrow_receiver, &mut arrow_seen);
        let mut waits = WaitSet::new();
        for (index, receiver) in typed_receivers.iter().enumerate() {
            if !closed[index] {
                receiver.register(&mut waits);
            }
        }
        if !closed[2] {
            arrow_receiver.register(&mut waits);
        }
        if closed.contains(&false) {
            assert!(waits.wait_until(deadline).is_some(), "stuck: {closed:?}");
        }
    }
    producer.join().unwrap();

    let expected_events: Vec<String> = events::<Batch<u64>>()
        .iter()
        .map(|event| format!("{event:?}"))
        .collect();
    for (index, seen) in typed_seen.iter().enumerate() {
        let mut expected: Vec<String> = (0..4)
            .map(|round| {
                let first = index as u64 * 100 + round * 10;
                format!("records {:?}", (first..first + 3).collect::<Vec<_>>())
            })
            .collect();
        expected.extend(expected_events.iter().cloned());
        assert_eq!(seen, &expected, "typed channel {index}");
    }
    let mut expected: Vec<String> = (0..4)
        .map(|round| {
            let first = round * 10;
            format!(
                "arrow [{first}, {}] rowtime [{}, {}]",
                first + 1,
                first * 10,
                first * 10 + 10
            )
        })
        .collect();
    expected.extend(expected_events);
    assert_eq!(arrow_seen, expected, "Arrow channel");
    assert_eq!(producing.outgoing_connections(), 1);
    assert_eq!(consuming.recent_failures(), Vec::<String>::new());
    assert_eq!(producing.recent_failures(), Vec::<String>::new());
}

#[test]
fn frames_that_arrive_before_their_receiver_registers_wait_for_it() {
    let producing = environment();
    let consuming = environment();
    let peer = consuming.address().to_string();
    let (early, marker) = (channel(0, 0, 0), channel(0, 1, 0));
    let mut early_sender = producing.sender::<Batch<u64>>(early, &peer).unwrap();
    let cancel = CancelToken::default();
    early_sender
        .send(StreamElement::Watermark(Watermark(11)), 0, &cancel)
        .unwrap();
    early_sender
        .send(StreamElement::Barrier(barrier(1)), 0, &cancel)
        .unwrap();
    assert_eq!(early_sender.credits(), 0, "no receiver, no credits");
    // Frames of one connection are read in order: once the marker's watermark is there, the
    // early channel's open frame and events have arrived too.
    let mut marker_sender = producing.sender::<Batch<u64>>(marker, &peer).unwrap();
    marker_sender
        .send(StreamElement::Watermark(Watermark(1)), 0, &cancel)
        .unwrap();
    let mut marker_receiver = consuming.receiver::<Batch<u64>>(marker, 1).unwrap();
    assert_eq!(receive(&mut marker_receiver), "Watermark(Watermark(1))");

    let mut early_receiver = consuming.receiver::<Batch<u64>>(early, 3).unwrap();
    let bytes_in = Counter::new();
    early_receiver.count_bytes_into(bytes_in.clone());
    wait_until("the late receiver's credits reach the sender", || {
        early_sender.credits() == 3
    });
    early_sender.send(records(0..2), 0, &cancel).unwrap();
    early_sender
        .send(StreamElement::EndOfInput, 0, &cancel)
        .unwrap();
    drop(early_sender);
    let received: Vec<String> = (0..5).map(|_| receive(&mut early_receiver)).collect();
    assert_eq!(
        received,
        [
            "Watermark(Watermark(11))".to_string(),
            format!("{:?}", StreamElement::<Batch<u64>>::Barrier(barrier(1))),
            "records [0, 1]".into(),
            "EndOfInput".into(),
            "closed".into(),
        ]
    );
    // numBytesIn counts what crossed the network: the batch's encoding, and no event.
    let mut encoded = Vec::new();
    let StreamElement::Records(batch) = records(0..2) else {
        unreachable!()
    };
    batch.encode(&mut encoded).unwrap();
    assert_eq!(bytes_in.count(), encoded.len() as u64);
}

/// A sender with all `credits` of its receiver, and the receiver.
fn connected(
    producing: &NetworkEnvironment,
    consuming: &NetworkEnvironment,
    credits: usize,
) -> (
    flinkrs_dataflow::channel::remote::RemoteSender<Batch<u64>>,
    RemoteReceiver<Batch<u64>>,
) {
    let id = channel(0, 0, 0);
    let receiver = consuming.receiver::<Batch<u64>>(id, credits).unwrap();
    let sender = producing
        .sender::<Batch<u64>>(id, &consuming.address().to_string())
        .unwrap();
    wait_until("the receiver's credits reach the sender", || {
        sender.credits() == credits
    });
    (sender, receiver)
}

#[test]
fn with_its_credits_spent_a_sender_waits_until_the_receiver_takes_a_batch() {
    let (producing, consuming) = (environment(), environment());
    let (mut sender, mut receiver) = connected(&producing, &consuming, 3);
    for first in 0..3 {
        sender.try_send(records(first..first + 1), 0).unwrap();
    }
    assert_eq!(sender.credits(), 0);
    let Err(TrySendError::Full(refused)) = sender.try_send(records(3..4), 0) else {
        panic!("a batch without credits must be handed back");
    };
    assert_eq!(describe(TryRecv::Element(refused)), "records [3]");
    // Events take no buffer: they pass without credits.
    sender
        .try_send(StreamElement::Watermark(Watermark(5)), 0)
        .unwrap();

    let freed = Arc::new(AtomicBool::new(false));
    let freed_by_receiver = Arc::clone(&freed);
    let (started, about_to_send) = crossbeam_channel::bounded(1);
    let blocked = thread::spawn(move || {
        started.send(()).unwrap();
        let result = sender.send(records(3..4), 0, &CancelToken::default());
        // The send can only have completed after the receiver took a batch.
        (result, freed.load(Ordering::SeqCst), sender)
    });
    about_to_send.recv_timeout(GUARD).unwrap();
    freed_by_receiver.store(true, Ordering::SeqCst);
    assert_eq!(receive(&mut receiver), "records [0]");
    let (result, freed_before_send_returned, sender) = blocked.join().unwrap();
    assert_eq!(result, Ok(()));
    assert!(freed_before_send_returned);
    let rest: Vec<String> = (0..4).map(|_| receive(&mut receiver)).collect();
    assert_eq!(
        rest,
        [
            "records [1]",
            "records [2]",
            "Watermark(Watermark(5))",
            "records [3]"
        ]
    );
    wait_until("every credit comes back", || sender.credits() == 3);
}

#[test]
fn cancel_wakes_a_sender_waiting_for_a_credit() {
    let (producing, consuming) = (environment(), environment());
    let (mut sender, mut receiver) = connected(&producing, &consuming, 1);
    sender.try_send(records(0..1), 0).unwrap();
    let cancel = CancelToken::default();
    let job_cancel = cancel.clone();
    let (started, about_to_send) = crossbeam_channel::bounded(1);
    let blocked = thread::spawn(move || {
        started.send(()).unwrap();
        let result = sender.send(records(1..2), 0, &job_cancel);
        (result, sender)
    });
    about_to_send.recv_timeout(GUARD).unwrap();
    let cancelled_at = Instant::now();
    cancel.cancel();
    let (result, sender) = blocked.join().unwrap();
    assert_eq!(result, Err(SendError::Cancelled));
    assert!(cancelled_at.elapsed() < GUARD);
    drop(sender);
    // The batch the sender waited with was never sent.
    assert_eq!(receive(&mut receiver), "records [0]");
    assert_eq!(receive(&mut receiver), "closed");
}

#[test]
fn a_dropped_receiver_closes_the_channel_for_its_waiting_sender() {
    let (producing, consuming) = (environment(), environment());
    let (mut sender, receiver) = connected(&producing, &consuming, 2);
    sender.try_send(records(0..1), 0).unwrap();
    sender.try_send(records(1..2), 0).unwrap();
    drop(receiver);
    // No credit will come: the wait ends when the receiver's close arrives.
    assert_eq!(
        sender.send(records(2..3), 0, &CancelToken::default()),
        Err(SendError::Closed)
    );
    let Err(TrySendError::Closed(_)) = sender.try_send(StreamElement::EndOfInput, 0) else {
        panic!("a closed channel takes nothing more");
    };
}

#[test]
fn a_receiver_dropped_before_its_sender_opened_the_channel_closes_it_too() {
    let (producing, consuming) = (environment(), environment());
    let id = channel(2, 3, 4);
    drop(consuming.receiver::<Batch<u64>>(id, 2).unwrap());
    let mut sender = producing
        .sender::<Batch<u64>>(id, &consuming.address().to_string())
        .unwrap();
    assert_eq!(
        sender.send(records(0..1), 0, &CancelToken::default()),
        Err(SendError::Closed)
    );
}

#[test]
fn losing_the_sending_taskmanager_closes_its_channels_after_what_arrived() {
    let (producing, consuming) = (environment(), environment());
    let (mut sender, mut receiver) = connected(&producing, &consuming, 4);
    sender.try_send(records(0..2), 0).unwrap();
    sender
        .try_send(StreamElement::Barrier(barrier(1)), 0)
        .unwrap();
    sender.try_send(records(2..3), 0).unwrap();
    wait_until("three elements arrive", || receiver.queued() == 3);
    // The sending TaskManager goes away before the end of input; its task is still there.
    drop(producing);
    let received: Vec<String> = (0..4).map(|_| receive(&mut receiver)).collect();
    assert_eq!(
        received,
        [
            "records [0, 1]".to_string(),
            format!("{:?}", StreamElement::<Batch<u64>>::Barrier(barrier(1))),
            "records [2]".into(),
            "closed".into(),
        ]
    );
    let failures = consuming.recent_failures();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        failures[0].starts_with("data connection from 127.0.0.1:")
            && failures[0]
                .ends_with(" closed with 1 channel(s) still open; their receivers read as closed"),
        "{failures:?}"
    );
    let Err(TrySendError::Closed(_)) = sender.try_send(records(3..4), 0) else {
        panic!("the sender's TaskManager is gone");
    };
}

#[test]
fn losing_the_receiving_taskmanager_closes_the_channels_to_it() {
    let (producing, consuming) = (environment(), environment());
    let peer = consuming.address();
    let (mut sender, receiver) = connected(&producing, &consuming, 1);
    sender.try_send(records(0..1), 0).unwrap();
    drop(consuming);
    assert_eq!(
        sender.send(records(1..2), 0, &CancelToken::default()),
        Err(SendError::Closed)
    );
    assert_eq!(
        producing.recent_failures(),
        [format!(
            "data connection to {peer}: the receiving TaskManager closed it; 1 channel(s) to \
             it read as closed"
        )]
    );
    assert_eq!(producing.outgoing_connections(), 0);
    drop(receiver);
}

#[test]
fn a_taskmanager_that_cannot_be_reached_closes_the_channels_to_it() {
    let producing = environment();
    // A port that was free a moment ago: nothing listens there now.
    let unreachable = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut sender = producing
        .sender::<Batch<u64>>(channel(0, 0, 0), &unreachable.to_string())
        .unwrap();
    assert_eq!(
        sender.send(records(0..1), 0, &CancelToken::default()),
        Err(SendError::Closed)
    );
    let failures = producing.recent_failures();
    assert_eq!(failures.len(), 1);
    assert!(
        failures[0].starts_with(&format!(
            "data connection to {unreachable}: cannot connect: "
        )),
        "{failures:?}"
    );
}

#[test]
fn a_second_receiver_or_sender_for_one_channel_is_refused() {
    let (producing, consuming) = (environment(), environment());
    let id = channel(5, 0, 1);
    let _receiver = consuming.receiver::<Batch<u64>>(id, 1).unwrap();
    let second = consuming.receiver::<Batch<u64>>(id, 1).err().unwrap();
    assert_eq!(
        second.to_string(),
        format!(
            "invalid job: {id} already has a receiver on this TaskManager; each channel of a \
             deployment has exactly one"
        )
    );
    let peer = consuming.address().to_string();
    let _sender = producing.sender::<Batch<u64>>(id, &peer).unwrap();
    let second = producing.sender::<Batch<u64>>(id, &peer).err().unwrap();
    assert_eq!(
        second.to_string(),
        format!(
            "invalid job: {id} already has a sender to {peer}; each channel of a deployment \
             has exactly one"
        )
    );
}

/// Frames as a raw client writes them.
fn frame_bytes(frames: &[Frame<'_>]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for frame in frames {
        encode_frame(&mut bytes, frame).unwrap();
    }
    bytes
}

/// Connects a raw TCP client to `environment`, writes `bytes` and ends its side, then reads
/// until the environment closes the connection: what it wrote back. Returns the client's
/// address.
fn raw_client(environment: &NetworkEnvironment, bytes: &[u8]) -> (String, Vec<u8>) {
    let mut client = TcpStream::connect(environment.address()).unwrap();
    let address = client.local_addr().unwrap().to_string();
    client.set_read_timeout(Some(GUARD)).unwrap();
    // The environment may close the connection as soon as it has read the bad part, before
    // the client is done: a failed write or shutdown then means closed too, as a reset does.
    let _ = client.write_all(bytes);
    let _ = client.shutdown(std::net::Shutdown::Write);
    let mut answer = Vec::new();
    let _ = client.read_to_end(&mut answer);
    (address, answer)
}

#[test]
fn a_malformed_connection_is_closed_with_a_clear_error_and_the_others_go_on() {
    let (producing, consuming) = (environment(), environment());
    let (mut sender, mut receiver) = connected(&producing, &consuming, 2);
    sender.try_send(records(0..1), 0).unwrap();
    assert_eq!(receive(&mut receiver), "records [0]");

    let stranger = channel(9, 9, 9);
    let mut unknown_kind = PREAMBLE.to_vec();
    unknown_kind.extend(frame_bytes(&[Frame {
        channel: stranger,
        body: Body::Open,
    }]));
    unknown_kind[PREAMBLE.len() + 4] = 42;
    let mut without_credit = PREAMBLE.to_vec();
    without_credit.extend(frame_bytes(&[
        Frame {
            channel: stranger,
            body: Body::Open,
        },
        Frame {
            channel: stranger,
            body: Body::Batch(b"rows"),
        },
    ]));
    let mut never_opened = PREAMBLE.to_vec();
    never_opened.extend(frame_bytes(&[Frame {
        channel: stranger,
        body: Body::Event(flinkrs_dataflow::channel::remote::frame::Event::EndOfInput),
    }]));
    let mut wrong_direction = PREAMBLE.to_vec();
    wrong_direction.extend(frame_bytes(&[Frame {
        channel: stranger,
        body: Body::Credit(3),
    }]));
    let mut truncated = PREAMBLE.to_vec();
    truncated.extend(
        &frame_bytes(&[Frame {
            channel: stranger,
            body: Body::Open,
        }])[..20],
    );
    let cases: [(&[u8], &str); 7] = [
        (
            b"GET / HTTP/1.1\r\n\r\n",
            "the peer is not a flinkrs TaskManager: its first bytes [47, 45, 54, 20, 2f, 20, \
             48, 54] are not the data connection preamble [46, 4c, 52, 53, 44, 41, 54, 01]",
        ),
        (
            b"FLR",
            "the peer closed the connection before sending its 8-byte preamble",
        ),
        (
            &unknown_kind,
            "a frame for channel 9 -> 9 of edge 9 (job 0000000000000000000000000000f11e, \
             attempt 0) has the unknown kind 42",
        ),
        (
            &without_credit,
            "a batch frame for channel 9 -> 9 of edge 9 (job \
             0000000000000000000000000000f11e, attempt 0) arrived without a credit: the \
             sender sent more batches than the receiver announced buffers",
        ),
        (
            &never_opened,
            "a frame of kind 'end of input' for channel 9 -> 9 of edge 9 (job \
             0000000000000000000000000000f11e, attempt 0), which its sender did not open on \
             this connection",
        ),
        (
            &wrong_direction,
            "a frame of kind 'credit' for channel 9 -> 9 of edge 9 (job \
             0000000000000000000000000000f11e, attempt 0) arrived on a connection that \
             carries batches and events to this TaskManager",
        ),
        (
            &truncated,
            "the connection ended inside a frame, 20 bytes into it",
        ),
    ];
    for (bytes, problem) in cases {
        let (client, answer) = raw_client(&consuming, bytes);
        assert_eq!(answer, b"", "{problem}");
        let expected = format!("data connection from {client}: {problem}; closing it");
        wait_until("the failure is recorded", || {
            consuming.recent_failures().contains(&expected)
        });
    }
    assert_eq!(consuming.recent_failures().len(), cases.len());

    // The channel on the healthy connection is untouched.
    sender.try_send(records(1..2), 0).unwrap();
    sender.try_send(StreamElement::EndOfInput, 0).unwrap();
    drop(sender);
    assert_eq!(receive(&mut receiver), "records [1]");
    assert_eq!(receive(&mut receiver), "EndOfInput");
    assert_eq!(receive(&mut receiver), "closed");
}

#[test]
fn a_batch_that_cannot_be_decoded_closes_its_channel_on_both_sides() {
    let consuming = environment();
    let id = channel(0, 0, 0);
    let mut receiver = consuming.receiver::<Batch<u64>>(id, 1).unwrap();
    let mut client = TcpStream::connect(consuming.address()).unwrap();
    client.set_read_timeout(Some(GUARD)).unwrap();
    let mut hello = PREAMBLE.to_vec();
    hello.extend(frame_bytes(&[Frame {
        channel: id,
        body: Body::Open,
    }]));
    client.write_all(&hello).unwrap();
    let credit = frame_bytes(&[Frame {
        channel: id,
        body: Body::Credit(1),
    }]);
    let mut answer = vec![0; credit.len()];
    client.read_exact(&mut answer).unwrap();
    assert_eq!(answer, credit);

    // A postcard batch claiming 200 records, with none of them there.
    client
        .write_all(&frame_bytes(&[Frame {
            channel: id,
            body: Body::Batch(&[200, 1]),
        }]))
        .unwrap();
    assert_eq!(receive(&mut receiver), "closed");
    // The sender learns that the channel is closed: its credit back, then the close.
    let closed = frame_bytes(&[
        Frame {
            channel: id,
            body: Body::Credit(1),
        },
        Frame {
            channel: id,
            body: Body::ReceiverClosed,
        },
    ]);
    let mut answer = vec![0; closed.len()];
    client.read_exact(&mut answer).unwrap();
    assert_eq!(answer, closed);
}

#[test]
fn freed_buffers_are_announced_in_batches_while_more_wait_and_at_once_when_none_do() {
    let consuming = environment();
    let id = channel(0, 0, 0);
    let mut receiver = consuming.receiver::<Batch<u64>>(id, 4).unwrap();
    let mut client = TcpStream::connect(consuming.address()).unwrap();
    client.set_read_timeout(Some(GUARD)).unwrap();
    let credit = |credits| {
        frame_bytes(&[Frame {
            channel: id,
            body: Body::Credit(credits),
        }])
    };
    let mut hello = PREAMBLE.to_vec();
    hello.extend(frame_bytes(&[Frame {
        channel: id,
        body: Body::Open,
    }]));
    client.write_all(&hello).unwrap();
    let mut answer = vec![0; credit(4).len()];
    client.read_exact(&mut answer).unwrap();
    assert_eq!(answer, credit(4));

    let mut batches = Vec::new();
    for value in 0..4 {
        let mut codec = Vec::new();
        let StreamElement::Records(batch) = records(value..value + 1) else {
            unreachable!("records() makes a batch");
        };
        batch.encode(&mut codec).unwrap();
        batches.extend(frame_bytes(&[Frame {
            channel: id,
            body: Body::Batch(&codec),
        }]));
    }
    client.write_all(&batches).unwrap();
    wait_until("four batches arrive", || receiver.queued() == 4);
    let received: Vec<String> = (0..4).map(|_| receive(&mut receiver)).collect();
    assert_eq!(
        received,
        ["records [0]", "records [1]", "records [2]", "records [3]"]
    );
    // Half the buffers per announcement while batches wait; the rest once none does.
    let mut answer = vec![0; 2 * credit(2).len()];
    client.read_exact(&mut answer).unwrap();
    assert_eq!(answer, [credit(2), credit(2)].concat());
}
