//! A TCP server on loopback for a job's `--input socket://HOST:PORT`: it sends its lines to
//! the first connection and keeps it open until closed, so the job stays RUNNING with exactly
//! those records read. Closing waits for the connection, so a job's source that connects late
//! still reads every line.

use std::io::Write;
use std::net::TcpListener;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

/// How long the server waits for the job's source to connect.
const PATIENCE: Duration = Duration::from_secs(60);

pub struct LineServer {
    port: u16,
    close: Option<Sender<()>>,
    thread: Option<JoinHandle<Result<(), String>>>,
}

impl LineServer {
    /// Serves `lines`, each ended by `\n`.
    pub fn start(lines: Vec<String>) -> LineServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let port = listener.local_addr().expect("its address").port();
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let (close, closed) = crossbeam_channel::bounded::<()>(1);
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + PATIENCE;
            let mut connection = loop {
                match listener.accept() {
                    Ok((connection, _)) => break connection,
                    Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                        if Instant::now() > deadline {
                            return Err(format!("no source connected within {PATIENCE:?}"));
                        }
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(error) => return Err(format!("accept failed: {error}")),
                }
            };
            connection
                .set_nonblocking(false)
                .map_err(|error| error.to_string())?;
            let text: String = lines.iter().map(|line| format!("{line}\n")).collect();
            connection
                .write_all(text.as_bytes())
                .map_err(|error| format!("cannot send the lines: {error}"))?;
            connection.flush().map_err(|error| error.to_string())?;
            // Until closed (or the test dropped the server): then the source's input ends.
            let _ = closed.recv();
            Ok(())
        });
        LineServer {
            port,
            close: Some(close),
            thread: Some(thread),
        }
    }

    /// The `--input` that reads from this server.
    pub fn input(&self) -> String {
        format!("socket://127.0.0.1:{}", self.port)
    }

    /// Waits until the lines are sent, then closes the connection, which ends the job's
    /// input; fails the test if no source connected or the lines could not be sent.
    pub fn close(mut self) {
        drop(self.close.take());
        if let Some(thread) = self.thread.take() {
            thread
                .join()
                .expect("the server's thread does not panic")
                .expect("the lines were sent");
        }
    }
}

impl Drop for LineServer {
    /// A server dropped without [`close`](LineServer::close) (a test failed) lets its thread
    /// end by itself: at once when a source is connected, or at its deadline.
    fn drop(&mut self) {
        drop(self.close.take());
    }
}
