//! The outgoing half of a connection: a byte buffer that task threads append frames to, and
//! that the connection's task on the I/O runtime writes to the socket.
//!
//! Two buffers take turns: the writer swaps the pending one for the one it just wrote, so
//! neither is allocated again once both have grown to the traffic's burst size.

use std::io;
use std::sync::{Mutex, MutexGuard};

use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::Notify;

use super::frame::{Frame, encode_frame};

pub(super) struct Outbox {
    state: Mutex<State>,
    /// Wakes the writer when the pending buffer turns non-empty or the outbox closes.
    wake: Notify,
}

struct State {
    pending: Vec<u8>,
    open: bool,
}

impl Outbox {
    pub(super) fn new() -> Self {
        Outbox {
            state: Mutex::new(State {
                pending: Vec::new(),
                open: true,
            }),
            wake: Notify::new(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while appending bytes leaves nothing half-updated that matters here.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Appends what `write` writes to the pending bytes; false, with nothing appended, once
    /// the connection is closed.
    pub(super) fn push(&self, write: impl FnOnce(&mut Vec<u8>)) -> bool {
        let mut state = self.state();
        if !state.open {
            return false;
        }
        let was_empty = state.pending.is_empty();
        write(&mut state.pending);
        drop(state);
        // A non-empty buffer has already woken the writer, who empties it before waiting.
        if was_empty {
            self.wake.notify_one();
        }
        true
    }

    /// Appends a control or event frame (a few dozen bytes; never over the frame limit).
    pub(super) fn push_frame(&self, frame: &Frame<'_>) -> bool {
        self.push(|out| {
            // Only a batch can exceed the frame limit, and batches are not pushed here.
            let _ = encode_frame(out, frame);
        })
    }

    /// Closes the outbox: what is pending is dropped, and the writer stops.
    pub(super) fn close(&self) {
        let mut state = self.state();
        state.open = false;
        state.pending = Vec::new();
        drop(state);
        self.wake.notify_one();
    }

    /// Writes pending bytes to `socket` until the outbox is closed (`Ok`) or a write fails.
    pub(super) async fn write_to(&self, mut socket: OwnedWriteHalf) -> io::Result<()> {
        let mut writing = Vec::new();
        loop {
            {
                let mut state = self.state();
                if !state.open {
                    return Ok(());
                }
                std::mem::swap(&mut state.pending, &mut writing);
            }
            if writing.is_empty() {
                self.wake.notified().await;
                continue;
            }
            socket.write_all(&writing).await?;
            writing.clear();
        }
    }
}
