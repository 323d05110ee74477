//! Exactly once under real kills: a job process (this test binary, run again as a child)
//! reads a topic, keeps a running count per key and writes the counts through the
//! exactly-once sink, checkpointing to a local folder. The test `kill -9`s the process three
//! times at random moments (the seed is printed; set `FLINKRS_KILL_SEED` to replay a run),
//! each time resuming from the latest completed checkpoint, and lets the fourth run finish.
//! A `read_committed` consumer then sees every count exactly once: a record read twice or
//! lost would show as a repeated, a missing or a too-high count.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use flinkrs_api::prelude::*;
use flinkrs_connectors::RateLimitedSource;
use flinkrs_kafka::{
    DeliveryGuarantee, KafkaRecord, KafkaSink, KafkaSource, RawValues, StartupMode,
};
use rand::{Rng, SeedableRng};

mod common;

const RECORDS: u64 = 6_000;
const KEYS: u64 = 8;
const PARTITIONS: i32 = 4;
/// Records per second per source subtask (parallelism 2): an uninterrupted run takes about
/// six seconds, so each killed run leaves most of the input to the next.
const RATE: u64 = 500;
/// Between two looks at the checkpoint folder or the child's exit.
const LOOK_PAUSE: Duration = Duration::from_millis(20);

/// What the child reads from its environment.
const CHILD_SERVERS: &str = "FLINKRS_KILL_TEST_SERVERS";
const CHILD_CHECKPOINTS: &str = "FLINKRS_KILL_TEST_CHECKPOINTS";
const CHILD_RESTORE: &str = "FLINKRS_KILL_TEST_RESTORE";
const SEED: &str = "FLINKRS_KILL_SEED";

/// The job the child runs: numbers (4 partitions) → (n % 8, 1) → running count per key →
/// `"<key>:<count>"` → counts (exactly-once), at parallelism 2.
#[test]
#[ignore = "the job process of a_job_killed_three_times_writes_every_count_exactly_once"]
fn child_runs_the_counting_job() {
    let (Ok(servers), Ok(checkpoints)) = (
        std::env::var(CHILD_SERVERS),
        std::env::var(CHILD_CHECKPOINTS),
    ) else {
        panic!("run by a_job_killed_three_times_writes_every_count_exactly_once only");
    };
    let restore = std::env::var(CHILD_RESTORE).ok();
    let env = common::checkpointed(2, Path::new(&checkpoints), restore.as_deref());
    let source = KafkaSource::builder()
        .bootstrap_servers(servers.as_str())
        .topics(["numbers"])
        .starting_offsets(StartupMode::EarliestOffset)
        .bounded()
        .deserializer(|record: &KafkaRecord<'_>| {
            let text = std::str::from_utf8(record.value.unwrap_or_default()).ok();
            text.and_then(|text| text.parse::<u64>().ok())
                .map(Some)
                .ok_or_else(|| {
                    Error::function(format!(
                        "numbers/{} offset {}: not a number",
                        record.partition, record.offset
                    ))
                })
        })
        .build()
        .unwrap();
    let sink = KafkaSink::builder()
        .bootstrap_servers(servers.as_str())
        .topic("counts")
        .delivery_guarantee(DeliveryGuarantee::ExactlyOnce)
        .transactional_id_prefix("kills")
        .serializer::<String, _>(RawValues)
        .build()
        .unwrap();
    let counts = env
        .add_source("Numbers", move |_| {
            Ok(RateLimitedSource::new(source.reader(), RATE))
        })
        .uid("numbers")
        .map(|n: u64| (n % KEYS, 1u64))
        .key_by(|(key, _): &(u64, u64)| *key)
        .sum(|(_, count)| count)
        .uid("counts")
        .map(|(key, count): (u64, u64)| format!("{key}:{count}"));
    sink.sink(&counts, "Counts").uid("counts-sink");
    env.execute("running counts").unwrap();
    println!("the counting job finished");
}

#[test]
fn a_job_killed_three_times_writes_every_count_exactly_once() {
    let Some(broker) = common::broker(
        "a_job_killed_three_times_writes_every_count_exactly_once",
        &[("numbers", PARTITIONS as u32), ("counts", 2)],
    ) else {
        return;
    };
    let servers = broker.bootstrap_servers.clone();
    common::produce_numbers(&servers, "numbers", PARTITIONS, RECORDS);
    let seed = std::env::var(SEED)
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_nanos() as u64)
        });
    println!("kill moments seed: {seed} (replay with {SEED}={seed})");
    let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
    let work = tempfile::tempdir().unwrap();
    let checkpoints = work.path().join("checkpoints");
    std::fs::create_dir_all(&checkpoints).unwrap();

    let mut restore: Option<(u64, PathBuf)> = None;
    for kill in 1..=3 {
        let log = work.path().join(format!("run-{kill}.log"));
        let mut child = start_job(&servers, &checkpoints, restore.as_ref(), &log);
        let started = Instant::now();
        // A random moment: after 1 or 2 checkpoints of this run, then up to 300 ms on, so
        // that kills land anywhere in a checkpoint's cycle (records in an open
        // transaction, a transaction prepared but not committed, a commit under way).
        let checkpoints_first = rng.random_range(1..=2);
        let then = Duration::from_millis(rng.random_range(0..300));
        let since = restore.as_ref().map_or(0, |(id, _)| *id);
        wait_for_checkpoint(&mut child, &checkpoints, since + checkpoints_first, &log);
        std::thread::sleep(then);
        assert!(
            child.try_wait().unwrap().is_none(),
            "run {kill} ended before its kill; lower RATE:\n{}",
            read_log(&log)
        );
        child.kill().unwrap();
        let status = child.wait().unwrap();
        restore = latest_checkpoint(&checkpoints);
        println!(
            "kill {kill}: {:?} after the start, {checkpoints_first} checkpoints + {then:?} \
             ({status}); resuming from {restore:?}",
            started.elapsed()
        );
    }
    let committed_before_last = common::read_all(&servers, "counts", "read_committed").len();
    assert!(
        (committed_before_last as u64) < RECORDS,
        "the kills fell before the input ended ({committed_before_last} counts committed)"
    );
    // The kills left transactions behind that a restore aborted: records a
    // `read_uncommitted` consumer sees and a `read_committed` one does not.
    let written_before_last = common::read_all(&servers, "counts", "read_uncommitted").len();
    assert!(
        written_before_last > committed_before_last,
        "the kills interrupted open transactions ({written_before_last} counts written, \
         {committed_before_last} committed)"
    );

    let log = work.path().join("run-4.log");
    let mut child = start_job(&servers, &checkpoints, restore.as_ref(), &log);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > common::PATIENCE {
            child.kill().unwrap();
            panic!(
                "the last run did not finish within {:?}:\n{}",
                common::PATIENCE,
                read_log(&log)
            );
        }
        std::thread::sleep(LOOK_PAUSE);
    };
    let output = read_log(&log);
    assert!(
        status.success() && output.contains("the counting job finished"),
        "the last run failed ({status}):\n{output}"
    );

    let mut counts = common::read_all(&servers, "counts", "read_committed");
    counts.sort();
    let mut expected: Vec<String> = (0..KEYS)
        .flat_map(|key| (1..=RECORDS / KEYS).map(move |count| format!("{key}:{count}")))
        .collect();
    expected.sort();
    assert!(
        counts == expected,
        "every count exactly once (seed {seed}): {} committed, {} expected; first \
         differences: {:?}",
        counts.len(),
        expected.len(),
        first_differences(&counts, &expected)
    );
}

/// Runs the job in a child process of this test binary, its output going to `log`.
fn start_job(
    servers: &str,
    checkpoints: &Path,
    restore: Option<&(u64, PathBuf)>,
    log: &Path,
) -> Child {
    let output = File::create(log).unwrap();
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "child_runs_the_counting_job"])
        .args(["--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_SERVERS, servers)
        .env(CHILD_CHECKPOINTS, checkpoints)
        .env_remove(CHILD_RESTORE)
        .stdin(Stdio::null())
        .stdout(output.try_clone().unwrap())
        .stderr(output);
    if let Some((_, path)) = restore {
        command.env(CHILD_RESTORE, path);
    }
    command.spawn().unwrap()
}

/// Waits until a checkpoint numbered `at_least` or higher is complete (its `_metadata`
/// exists), failing if the child ends first or the wait outlasts the patience.
fn wait_for_checkpoint(child: &mut Child, checkpoints: &Path, at_least: u64, log: &Path) {
    let started = Instant::now();
    loop {
        if latest_checkpoint(checkpoints).is_some_and(|(id, _)| id >= at_least) {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "the job ended ({status}) before checkpoint {at_least}:\n{}",
                read_log(log)
            );
        }
        if started.elapsed() > common::PATIENCE {
            child.kill().unwrap();
            panic!(
                "no checkpoint {at_least} within {:?}:\n{}",
                common::PATIENCE,
                read_log(log)
            );
        }
        std::thread::sleep(LOOK_PAUSE);
    }
}

/// The completed checkpoint (`<job id>/chk-<n>/_metadata`) with the highest number: every
/// run continues the numbering of the checkpoint it restored.
fn latest_checkpoint(checkpoints: &Path) -> Option<(u64, PathBuf)> {
    let mut latest: Option<(u64, PathBuf)> = None;
    for job in std::fs::read_dir(checkpoints).ok()?.flatten() {
        let Ok(entries) = std::fs::read_dir(job.path()) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(id) = name
                .to_str()
                .and_then(|name| name.strip_prefix("chk-"))
                .and_then(|id| id.parse::<u64>().ok())
            else {
                continue;
            };
            if entry.path().join("_metadata").is_file()
                && latest.as_ref().is_none_or(|(best, _)| id > *best)
            {
                latest = Some((id, entry.path()));
            }
        }
    }
    latest
}

fn read_log(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

/// Up to ten values in one sorted list and not the other, marked `+` (extra) or `-`
/// (missing).
fn first_differences(actual: &[String], expected: &[String]) -> Vec<String> {
    let (mut a, mut e) = (0, 0);
    let mut differences = Vec::new();
    while differences.len() < 10 && (a < actual.len() || e < expected.len()) {
        match (actual.get(a), expected.get(e)) {
            (Some(x), Some(y)) if x == y => {
                a += 1;
                e += 1;
            }
            (Some(x), Some(y)) if x < y => {
                differences.push(format!("+{x}"));
                a += 1;
            }
            (Some(x), None) => {
                differences.push(format!("+{x}"));
                a += 1;
            }
            (_, Some(y)) => {
                differences.push(format!("-{y}"));
                e += 1;
            }
            (None, None) => break,
        }
    }
    differences
}
