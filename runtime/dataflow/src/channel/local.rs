//! The local channel: a bounded in-memory queue between two subtasks of the same process.
//! Its capacity is the receiver's buffers, so the free slots of the queue are the sender's
//! credits.

use crossbeam_channel::{Receiver, Sender, TryRecvError, select};
use flinkrs_core::StreamElement;

use super::{ChannelReceiver, ChannelSender, SendError, TryRecv, TrySendError, WaitKey, WaitSet};
use crate::batch::StreamBatch;
use crate::metrics::Counter;
use crate::task::CancelToken;

/// A channel of `capacity` buffers (at least one): its two halves.
pub fn channel<B: StreamBatch>(capacity: usize) -> (LocalSender<B>, LocalReceiver<B>) {
    let capacity = capacity.max(1);
    let (sender, receiver) = crossbeam_channel::bounded(capacity);
    (
        LocalSender { sender, capacity },
        LocalReceiver {
            receiver,
            bytes_in: Counter::default(),
        },
    )
}

/// The producing half of a [local channel](channel).
pub struct LocalSender<B> {
    sender: Sender<Sized<B>>,
    capacity: usize,
}

/// The consuming half of a [local channel](channel).
pub struct LocalReceiver<B> {
    receiver: Receiver<Sized<B>>,
    bytes_in: Counter,
}

/// An element with the size its writer measured (zero for an event).
type Sized<B> = (StreamElement<B>, usize);

impl<B: StreamBatch> ChannelSender<B> for LocalSender<B> {
    fn credits(&self) -> usize {
        self.capacity.saturating_sub(self.sender.len())
    }

    fn try_send(&mut self, element: StreamElement<B>, bytes: usize) -> Result<(), TrySendError<B>> {
        self.sender
            .try_send((element, bytes))
            .map_err(|error| match error {
                crossbeam_channel::TrySendError::Full((element, _)) => TrySendError::Full(element),
                crossbeam_channel::TrySendError::Disconnected((element, _)) => {
                    TrySendError::Closed(element)
                }
            })
    }

    fn send(
        &mut self,
        element: StreamElement<B>,
        bytes: usize,
        cancel: &CancelToken,
    ) -> Result<(), SendError> {
        match self.sender.try_send((element, bytes)) {
            Ok(()) => Ok(()),
            Err(crossbeam_channel::TrySendError::Disconnected(_)) => Err(SendError::Closed),
            Err(crossbeam_channel::TrySendError::Full(element)) => select! {
                send(self.sender, element) -> sent => sent.map_err(|_| SendError::Closed),
                recv(cancel.watch()) -> _ => Err(SendError::Cancelled),
            },
        }
    }
}

impl<B: StreamBatch> ChannelReceiver<B> for LocalReceiver<B> {
    fn try_recv(&mut self) -> TryRecv<B> {
        match self.receiver.try_recv() {
            Ok((element, bytes)) => {
                if bytes > 0 {
                    self.bytes_in.inc(bytes as u64);
                }
                TryRecv::Element(element)
            }
            Err(TryRecvError::Empty) => TryRecv::Empty,
            Err(TryRecvError::Disconnected) => TryRecv::Closed,
        }
    }

    fn register<'a>(&'a self, waits: &mut WaitSet<'a>) -> WaitKey {
        waits.add_queue(&self.receiver)
    }

    fn count_bytes_into(&mut self, counter: Counter) {
        self.bytes_in = counter;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    use flinkrs_core::element::SnapshotKind;
    use flinkrs_core::{Batch, CheckpointBarrier, CheckpointId, Record, Watermark};

    use super::*;

    /// A failure guard for waits that succeed at once when the code is right.
    const GUARD: Duration = Duration::from_secs(5);

    fn records(values: std::ops::Range<u32>) -> StreamElement<Batch<u32>> {
        StreamElement::Records(values.map(Record::new).collect())
    }

    /// What an element carries, as text: easy to compare exactly.
    fn describe(received: TryRecv<Batch<u32>>) -> String {
        match received {
            TryRecv::Element(StreamElement::Records(batch)) => {
                let values: Vec<u32> = batch.into_iter().map(|record| record.value).collect();
                format!("records {values:?}")
            }
            TryRecv::Element(element) => format!("{element:?}"),
            TryRecv::Empty => "empty".into(),
            TryRecv::Closed => "closed".into(),
        }
    }

    #[test]
    fn credits_are_the_free_buffers_of_the_receiver() {
        let (mut sender, mut receiver) = channel::<Batch<u32>>(3);
        assert_eq!(sender.credits(), 3);
        sender.try_send(records(0..1), 0).unwrap();
        sender.try_send(records(1..2), 0).unwrap();
        assert_eq!(sender.credits(), 1);
        assert_eq!(describe(receiver.try_recv()), "records [0]");
        assert_eq!(sender.credits(), 2);
    }

    #[test]
    fn a_channel_of_no_capacity_still_grants_one_credit() {
        let (sender, _receiver) = channel::<Batch<u32>>(0);
        assert_eq!(sender.credits(), 1);
    }

    #[test]
    fn without_credits_a_send_blocks_until_the_receiver_frees_a_buffer() {
        let (mut sender, mut receiver) = channel::<Batch<u32>>(2);
        sender.try_send(records(0..1), 0).unwrap();
        sender.try_send(records(1..2), 0).unwrap();
        assert_eq!(sender.credits(), 0);
        let Err(TrySendError::Full(refused)) = sender.try_send(records(2..3), 0) else {
            panic!("a send without credits must be refused");
        };
        let freed = Arc::new(AtomicBool::new(false));
        let freed_by_receiver = Arc::clone(&freed);
        let (started, about_to_send) = crossbeam_channel::bounded(1);
        let blocked = std::thread::spawn(move || {
            started.send(()).unwrap();
            let result = sender.send(refused, 0, &CancelToken::default());
            // The send can only have completed after the receiver took an element.
            (result, freed.load(Ordering::SeqCst))
        });
        about_to_send.recv_timeout(GUARD).unwrap();
        freed_by_receiver.store(true, Ordering::SeqCst);
        assert_eq!(describe(receiver.try_recv()), "records [0]");
        let (result, freed_before_send_returned) = blocked.join().unwrap();
        assert_eq!(result, Ok(()));
        assert!(freed_before_send_returned);
        assert_eq!(describe(receiver.try_recv()), "records [1]");
        assert_eq!(describe(receiver.try_recv()), "records [2]");
        // The sender finished with its thread, so the channel is closed.
        assert_eq!(describe(receiver.try_recv()), "closed");
    }

    #[test]
    fn cancel_wakes_a_sender_blocked_without_credits() {
        let (mut sender, mut receiver) = channel::<Batch<u32>>(1);
        sender.try_send(records(0..1), 0).unwrap();
        let cancel = CancelToken::default();
        let job_cancel = cancel.clone();
        let (started, about_to_send) = crossbeam_channel::bounded(1);
        let blocked = std::thread::spawn(move || {
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
        // The element the sender waited with was not sent.
        assert_eq!(describe(receiver.try_recv()), "records [0]");
        assert_eq!(describe(receiver.try_recv()), "empty");
        drop(sender);
    }

    #[test]
    fn barriers_and_end_of_input_arrive_in_band_in_order() {
        let (mut sender, mut receiver) = channel::<Batch<u32>>(8);
        let barrier = CheckpointBarrier {
            id: CheckpointId(3),
            timestamp: 42,
            kind: SnapshotKind::Checkpoint,
        };
        let cancel = CancelToken::default();
        for element in [
            records(0..2),
            StreamElement::Watermark(Watermark(5)),
            StreamElement::Barrier(barrier),
            records(2..3),
            StreamElement::EndOfInput,
        ] {
            sender.send(element, 0, &cancel).unwrap();
        }
        drop(sender);
        let received: Vec<String> = (0..6).map(|_| describe(receiver.try_recv())).collect();
        assert_eq!(
            received,
            vec![
                "records [0, 1]".to_string(),
                format!("{:?}", StreamElement::<Batch<u32>>::Watermark(Watermark(5))),
                format!("{:?}", StreamElement::<Batch<u32>>::Barrier(barrier)),
                "records [2]".to_string(),
                "EndOfInput".to_string(),
                "closed".to_string(),
            ]
        );
    }

    #[test]
    fn a_receiver_counts_the_bytes_its_sender_measured_for_each_batch() {
        let (mut sender, mut receiver) = channel::<Batch<u32>>(4);
        let bytes_in = Counter::new();
        receiver.count_bytes_into(bytes_in.clone());
        sender.try_send(records(0..3), 120).unwrap();
        sender
            .try_send(StreamElement::Watermark(Watermark(5)), 0)
            .unwrap();
        sender.try_send(records(3..4), 40).unwrap();
        assert_eq!(bytes_in.count(), 0, "nothing taken yet");
        for expected in [120, 120, 160] {
            let TryRecv::Element(_) = receiver.try_recv() else {
                panic!("an element was sent");
            };
            assert_eq!(bytes_in.count(), expected);
        }
    }

    #[test]
    fn a_dropped_sender_closes_the_channel_after_its_elements() {
        let (mut sender, mut receiver) = channel::<Batch<u32>>(2);
        assert_eq!(describe(receiver.try_recv()), "empty");
        sender.try_send(records(0..1), 0).unwrap();
        drop(sender);
        assert_eq!(describe(receiver.try_recv()), "records [0]");
        assert_eq!(describe(receiver.try_recv()), "closed");
    }

    #[test]
    fn a_dropped_receiver_closes_the_channel_for_its_sender() {
        let (mut sender, receiver) = channel::<Batch<u32>>(2);
        drop(receiver);
        let Err(TrySendError::Closed(returned)) = sender.try_send(records(0..1), 0) else {
            panic!("a send to a dropped receiver must fail as closed");
        };
        assert_eq!(describe(TryRecv::Element(returned)), "records [0]");
        assert_eq!(
            sender.send(records(1..2), 0, &CancelToken::default()),
            Err(SendError::Closed)
        );
    }

    #[test]
    fn a_full_channel_whose_receiver_goes_away_wakes_its_blocked_sender() {
        let (mut sender, receiver) = channel::<Batch<u32>>(1);
        sender.try_send(records(0..1), 0).unwrap();
        let (started, about_to_send) = crossbeam_channel::bounded(1);
        let blocked = std::thread::spawn(move || {
            started.send(()).unwrap();
            sender.send(records(1..2), 0, &CancelToken::default())
        });
        about_to_send.recv_timeout(GUARD).unwrap();
        drop(receiver);
        assert_eq!(blocked.join().unwrap(), Err(SendError::Closed));
    }

    #[test]
    fn a_wait_set_wakes_for_an_element_on_any_registered_channel() {
        let (_idle_sender, mut idle) = channel::<Batch<u32>>(2);
        let (mut busy_sender, mut busy) = channel::<Batch<u32>>(2);
        let cancel = CancelToken::default();
        let (started, about_to_send) = crossbeam_channel::bounded(1);
        let producer = std::thread::spawn(move || {
            about_to_send.recv_timeout(GUARD).unwrap();
            busy_sender
                .send(records(7..8), 0, &CancelToken::default())
                .unwrap();
            busy_sender
        });
        let deadline = Instant::now() + GUARD;
        let mut waits_until_element = 0;
        started.send(()).unwrap();
        let element = loop {
            match busy.try_recv() {
                TryRecv::Element(element) => break element,
                TryRecv::Empty => {}
                TryRecv::Closed => panic!("the producer is still there"),
            }
            let mut waits = WaitSet::new();
            idle.register(&mut waits);
            busy.register(&mut waits);
            let cancelled = waits.add_cancel(&cancel);
            let woken = waits.wait_until(deadline);
            assert!(woken.is_some() && woken != Some(cancelled), "{woken:?}");
            waits_until_element += 1;
            assert!(waits_until_element < 100, "spinning instead of blocking");
        };
        assert_eq!(describe(TryRecv::Element(element)), "records [7]");
        assert_eq!(describe(idle.try_recv()), "empty");
        drop(producer.join().unwrap());
    }

    #[test]
    fn a_wait_set_wakes_on_cancel_and_times_out_at_its_deadline() {
        let (_sender, receiver) = channel::<Batch<u32>>(1);
        let cancel = CancelToken::default();
        let mut waits = WaitSet::new();
        receiver.register(&mut waits);
        waits.add_cancel(&cancel);
        let deadline = Instant::now() + Duration::from_millis(10);
        assert_eq!(waits.wait_until(deadline), None);
        assert!(Instant::now() >= deadline);

        let mut waits = WaitSet::new();
        receiver.register(&mut waits);
        let cancelled = waits.add_cancel(&cancel);
        cancel.cancel();
        assert_eq!(waits.wait_until(Instant::now() + GUARD), Some(cancelled));
    }
}
