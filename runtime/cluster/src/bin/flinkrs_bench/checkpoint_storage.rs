//! (g) Checkpoint size and end-to-end duration (trigger to completion) of a keyed job with
//! 1 M keys at parallelism 2, into the local filesystem and into s3s-fs on loopback, from the
//! JobManager's `lastCheckpointSize` and `lastCheckpointDuration`; and the duration of a
//! restore of its last checkpoint at parallelism 1: the run of the same job, without
//! checkpoints, whose input the checkpoint has already consumed, from start to end.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use flinkrs_api::prelude::*;
use flinkrs_connectors::datagen::{DataGenSource, RowRng};
use flinkrs_dataflow::metrics::{MetricSnapshot, MetricValue};

const KEYS: u64 = 1_000_000;

/// Where the testbed installs s3s-fs (`make testbed`).
fn s3s_fs_binary() -> Option<std::path::PathBuf> {
    let home = std::env::var_os("HOME")?;
    let path = std::path::Path::new(&home).join(".cache/flinkrs/s3s-fs-0.14.1/bin/s3s-fs");
    path.is_file().then_some(path)
}

/// An s3s-fs server on a free loopback port, stopped on drop.
struct S3sFs {
    child: Child,
    endpoint: String,
    _data: tempfile::TempDir,
}

impl Drop for S3sFs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_s3s_fs(binary: &std::path::Path) -> anyhow::Result<S3sFs> {
    let data = tempfile::tempdir()?;
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let child = Command::new(binary)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--access-key", "bench", "--secret-key", "bench-secret"])
        .arg(data.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let endpoint = format!("http://127.0.0.1:{port}");
    // Ready once it accepts connections.
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        anyhow::ensure!(Instant::now() < deadline, "s3s-fs did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(S3sFs {
        child,
        endpoint,
        _data: data,
    })
}

fn gauge(metrics: &[MetricSnapshot], name: &str) -> i64 {
    metrics
        .iter()
        .find_map(|metric| match metric.value {
            MetricValue::Gauge(value) if metric.name == name => Some(value),
            _ => None,
        })
        .unwrap_or(-1)
}

/// The keyed job at `parallelism`, checkpointing every 500 ms as `settings` say when
/// `checkpointing`.
fn job(
    rows: u64,
    parallelism: usize,
    settings: &[(&str, String)],
    checkpointing: bool,
) -> anyhow::Result<StreamExecutionEnvironment> {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism)?;
    if checkpointing {
        env.set("execution.checkpointing.interval", "500 ms")?;
    }
    for (key, value) in settings {
        env.set(key, value.clone())?;
    }
    let source = DataGenSource::new(rows, |index: u64, _: &mut RowRng| (index % KEYS, 1u64));
    env.add_source("DataGen", move |_| Ok(source.clone()))
        .key_by(|(key, _): &(u64, u64)| *key)
        .reduce(|(key, a), (_, b)| (key, a + b))
        .discard();
    Ok(env)
}

/// What a run measured.
struct Measured {
    size: i64,
    duration: i64,
    count: i64,
    /// Of the restore at p=1.
    restore: Option<Duration>,
}

/// Runs the job with checkpoints into `settings`, then restores its last checkpoint at p=1.
fn run(rows: u64, settings: &[(&str, String)]) -> anyhow::Result<Measured> {
    let running = job(rows, 2, settings, true)?.execute_async("bench: checkpoint storage")?;
    let client = running.client();
    let result = running.wait()?;
    let metrics = &result.metrics;
    let mut measured = Measured {
        size: gauge(metrics, "lastCheckpointSize"),
        duration: gauge(metrics, "lastCheckpointDuration"),
        count: gauge(metrics, "numberOfCompletedCheckpoints"),
        restore: None,
    };
    if let Some(retained) = client.retained_checkpoint() {
        let mut restore_settings = settings.to_vec();
        restore_settings.push((
            "execution.state-recovery.path",
            retained.location.to_string(),
        ));
        // Without checkpoints, so that no final checkpoint adds to the time.
        let restored = job(rows, 1, &restore_settings, false)?;
        let started = Instant::now();
        restored.execute("bench: restore at p=1")?;
        measured.restore = Some(started.elapsed());
    }
    Ok(measured)
}

fn print(target: &str, measured: Measured) {
    println!(
        "(g) checkpoint of 1 M keys at p=2 into {target:<16} {:>6.1} MB, {:>5} ms trigger to \
         completion ({} checkpoints)",
        measured.size as f64 / 1e6,
        measured.duration,
        measured.count
    );
    match measured.restore {
        Some(restore) => println!(
            "(g) restore of its last checkpoint at p=1 from {target:<10} {:>5} ms (a run of the \
             restored job, its input already consumed)",
            restore.as_millis()
        ),
        None => println!("(g) restore from {target}: skipped, no checkpoint was retained"),
    }
}

pub fn measure(rows: u64) -> anyhow::Result<()> {
    let local = tempfile::tempdir()?;
    let settings = [(
        "execution.checkpointing.dir",
        local.path().display().to_string(),
    )];
    print("the local disk", run(rows, &settings)?);
    let Some(binary) = s3s_fs_binary() else {
        println!("(g) into s3s-fs: skipped, s3s-fs is not installed (make testbed installs it)");
        return Ok(());
    };
    let server = start_s3s_fs(&binary)?;
    let settings = [
        (
            "execution.checkpointing.dir",
            "s3://bench/checkpoints".to_owned(),
        ),
        ("s3.endpoint", server.endpoint.clone()),
        ("s3.access-key", "bench".to_owned()),
        ("s3.secret-key", "bench-secret".to_owned()),
    ];
    print("s3s-fs", run(rows, &settings)?);
    Ok(())
}
