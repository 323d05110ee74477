//! A print target the tests read back: what `print` tables wrote.

use std::sync::{Arc, Mutex};

use flinkrs_sql::PrintTarget;

#[derive(Clone, Default)]
pub struct Buffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    /// A print target that writes into this buffer.
    pub fn target(&self) -> PrintTarget {
        Arc::new(Mutex::new(self.clone()))
    }

    /// What was written so far, taken out of the buffer.
    pub fn take(&self) -> String {
        String::from_utf8(std::mem::take(&mut *self.0.lock().unwrap())).unwrap()
    }
}
