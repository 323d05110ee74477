use std::io::{ErrorKind, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use flinkrs_api::StreamExecutionEnvironment;
use flinkrs_core::{Configuration, Error};
use flinkrs_dataflow::{SourceContext, SourceFunction, SourceStatus, TaskInfo};

use super::*;
use crate::ConnectorSources;

fn context(parallelism: usize) -> SourceContext {
    SourceContext {
        info: TaskInfo {
            job_name: "test".into(),
            task_name: "Source: Socket Stream".into(),
            operator_name: "Source: Socket Stream".into(),
            operator_id: "socket".into(),
            subtask_index: 0,
            parallelism,
            max_parallelism: 128,
            config: Arc::new(Configuration::new()),
            job_id: flinkrs_core::JobId(0),
            attempt_number: 0,
        },
        batch_rows: 1024,
    }
}

/// Serves each payload to one connection in turn, then closes it.
fn serve(payloads: Vec<&'static [u8]>) -> (u16, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        for payload in payloads {
            let (mut connection, _) = listener.accept().unwrap();
            connection.write_all(payload).unwrap();
        }
    });
    (port, server)
}

/// A port on which nothing listens: bound, then released.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn reads_every_line_and_finishes_when_the_server_closes() {
    let (port, server) = serve(vec![b"hello world\nsecond line\r\n\nno newline at the end"]);
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(4).unwrap();
    let stream = env.socket_text_stream("127.0.0.1", port, "\n");
    // The source runs alone even at parallelism 4; the collecting sink runs 4 subtasks, so
    // the lines arrive in no particular order.
    let mut lines = stream.execute_and_collect("socket lines").unwrap();
    server.join().unwrap();
    lines.sort();
    assert_eq!(
        lines,
        vec!["", "hello world", "no newline at the end", "second line"]
    );
}

#[test]
fn splits_on_a_multi_character_delimiter() {
    let (port, server) = serve(vec![b"a||b|c||||d"]);
    let env = StreamExecutionEnvironment::new();
    let lines = env
        .socket_text_stream("127.0.0.1", port, "||")
        .execute_and_collect("pipes")
        .unwrap();
    server.join().unwrap();
    assert_eq!(lines, vec!["a", "b|c", "", "d"]);
}

#[test]
fn reconnects_up_to_max_retry_times() {
    let (port, server) = serve(vec![b"first\n", b"second\n"]);
    let env = StreamExecutionEnvironment::new();
    let source = SocketTextSource::new("127.0.0.1", port, "\n")
        .with_max_retry(1)
        .with_retry_delay(Duration::from_millis(1));
    let lines = env
        .add_socket_source(source)
        .execute_and_collect("reconnect")
        .unwrap();
    server.join().unwrap();
    assert_eq!(lines, vec!["first", "second"]);
}

#[test]
fn a_silent_server_makes_the_source_wait_not_block() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut source =
        SocketTextSource::new("127.0.0.1", port, "\n").with_read_timeout(Duration::from_millis(20));
    let context = context(1);
    source.open(&context).unwrap();
    let (mut connection, _) = listener.accept().unwrap();
    connection.write_all(b"partial").unwrap();
    let mut batch = Vec::new();
    let started = Instant::now();
    let mut status = source.poll_batch(&mut batch, &context).unwrap();
    // Polls return after the read timeout while only part of a line has arrived.
    while started.elapsed() < Duration::from_millis(100) {
        assert_eq!(status, SourceStatus::Wait(Duration::ZERO));
        status = source.poll_batch(&mut batch, &context).unwrap();
    }
    assert_eq!(status, SourceStatus::Wait(Duration::ZERO));
    assert!(batch.is_empty(), "a partial line is held back");
    connection.write_all(b" line\n").unwrap();
    drop(connection);
    let mut lines = Vec::new();
    loop {
        let status = source.poll_batch(&mut batch, &context).unwrap();
        lines.extend(batch.drain(..).map(|record| record.value));
        if status == SourceStatus::Finished {
            break;
        }
    }
    assert_eq!(lines, vec!["partial line"]);
}

#[test]
fn connecting_to_a_closed_port_is_a_connect_error_naming_the_address() {
    let port = closed_port();
    let mut source = SocketTextSource::new("127.0.0.1", port, "\n");
    let error = source.open(&context(1)).unwrap_err();
    let message = error.to_string();
    let Error::Connect {
        address,
        source: cause,
    } = error
    else {
        panic!("expected Error::Connect, got {message}");
    };
    assert_eq!(address, format!("127.0.0.1:{port}"));
    assert_eq!(cause.kind(), ErrorKind::ConnectionRefused);
    assert!(
        message.starts_with(&format!("connection to 127.0.0.1:{port} failed: ")),
        "{message}"
    );
    assert!(
        message.ends_with(&format!(
            "; check that a server is listening on 127.0.0.1:{port} (for a test: `nc -lk {port}`)"
        )),
        "{message}"
    );
}

#[test]
fn a_job_reading_a_closed_port_fails_naming_the_address() {
    let port = closed_port();
    let env = StreamExecutionEnvironment::new();
    let error = env
        .socket_text_stream("127.0.0.1", port, "\n")
        .execute_and_collect("closed")
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with(&format!(
            "operator 'Source: Socket Stream' (subtask 1/1) failed: connection to 127.0.0.1:{port} failed: "
        )),
        "{message}"
    );
}

#[test]
fn the_socket_source_refuses_to_run_in_parallel() {
    let mut source = SocketTextSource::new("::1", 9999, "\n");
    assert_eq!(
        source.open(&context(2)).unwrap_err().to_string(),
        "invalid job: the socket source for [::1]:9999 is non-parallel, but runs with parallelism \
         2; set its parallelism to 1"
    );
}
