//! Runs the `flinkrs` binary as a command-line user would, and collects what it printed.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How a `flinkrs` command ended.
#[derive(Debug)]
pub struct Outcome {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `flinkrs args` with the times it prints in UTC; fails the test if it has not exited
/// within a minute (a guard against a hang, not a synchronization).
pub fn flinkrs(args: &[&str]) -> Outcome {
    let mut child = Command::new(env!("CARGO_BIN_EXE_flinkrs"))
        .args(args)
        .env("TZ", "UTC")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the flinkrs binary starts");
    let mut stdout_pipe = child.stdout.take().expect("piped stdout");
    let mut stderr_pipe = child.stderr.take().expect("piped stderr");
    let stdout = std::thread::spawn(move || {
        let mut text = String::new();
        stdout_pipe.read_to_string(&mut text).map(|_| text)
    });
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        stderr_pipe.read_to_string(&mut text).map(|_| text)
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for flinkrs") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("flinkrs {args:?} did not exit within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Outcome {
        code: status.code(),
        stdout: stdout.join().expect("stdout reader").expect("utf-8 stdout"),
        stderr: stderr.join().expect("stderr reader").expect("utf-8 stderr"),
    }
}

/// A loopback port nothing listens on.
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// Milliseconds since the epoch as Flink's CLI prints them, in UTC.
pub fn utc_time(millis: i64) -> String {
    jiff::Timestamp::from_millisecond(millis)
        .expect("a time")
        .to_zoned(jiff::tz::TimeZone::UTC)
        .strftime("%d.%m.%Y %H:%M:%S")
        .to_string()
}
