use std::net::TcpListener;

use crate::{Result, error::io_at};

/// A port that was free on 127.0.0.1 a moment ago. The kernel hands out
/// ephemeral ports in a spread-out order, so tests running in parallel do not
/// collide in practice even though the port is released before use.
pub(crate) fn free_loopback_port() -> Result<u16> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).map_err(io_at("127.0.0.1:0"))?;
    let port = listener.local_addr().map_err(io_at("127.0.0.1:0"))?.port();
    Ok(port)
}
