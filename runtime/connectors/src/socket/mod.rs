//! The `socket` connector: text lines from a TCP server, for demos and tests
//! (`nc -lk 9999` on one side, `socket_text_stream("localhost", 9999, "\n")` on the other).

mod source;
#[cfg(test)]
mod tests;

pub use source::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, DEFAULT_RETRY_DELAY, SocketTextSource,
    socket_address,
};
