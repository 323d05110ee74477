//! (f) The two phases of a keyed-state snapshot at 1 M and 10 M keys: the synchronous phase
//! on the task thread (freezing the tables), and the asynchronous phase (encoding them by key
//! group), with the encoded size. The same for a tumbling-window operator, whose window
//! contents are kept outside the backend's tables and frozen on their own, and for an Arrow
//! window aggregate's group table.

use std::time::{Duration, Instant};

use flinkrs_api::arrow::AggregateSnapshotProbe;
use flinkrs_api::window::WindowSnapshotProbe;
use flinkrs_core::KeyGroupRange;
use flinkrs_state::{KeyedStateBackend, KeyedStateSnapshot, ValueState};

/// One snapshot's figures.
pub struct SnapshotFigures {
    /// What was snapshotted: "keyed state", "window contents" or "Arrow aggregate". The keys
    /// are slots: (window, key) pairs for window contents.
    pub what: &'static str,
    pub keys: u64,
    /// Median of the synchronous phases of several checkpoints, with a write to every key
    /// between them so each checkpoint freezes a changed table.
    pub synchronous: Duration,
    pub asynchronous: Duration,
    pub bytes: usize,
    /// Time to write every key once right after a checkpoint (the copy-on-write cost) and
    /// once more with no checkpoint pending.
    pub writes_after_checkpoint: Duration,
    pub writes_without: Duration,
}

pub fn measure(keys: u64) -> anyhow::Result<SnapshotFigures> {
    let max_parallelism = 128;
    let mut backend =
        KeyedStateBackend::<u64>::new(max_parallelism, KeyGroupRange::for_operator(128, 1, 0));
    let count = ValueState::<u64>::register(&mut backend, "count")?;
    let write_all =
        |backend: &mut KeyedStateBackend<u64>, round: u64| -> anyhow::Result<Duration> {
            let started = Instant::now();
            for key in 0..keys {
                backend.set_current_key(key);
                count.update(backend, key + round)?;
            }
            Ok(started.elapsed())
        };
    phases(
        "keyed state",
        keys,
        &mut backend,
        KeyedStateBackend::snapshot,
        write_all,
    )
}

/// The same for one open tumbling window holding `keys` keys, each counted once per write.
pub fn measure_windows(keys: u64) -> anyhow::Result<SnapshotFigures> {
    let mut probe = WindowSnapshotProbe::new(128, KeyGroupRange::for_operator(128, 1, 0))?;
    let write_all = |probe: &mut WindowSnapshotProbe, _round: u64| -> anyhow::Result<Duration> {
        let started = Instant::now();
        for key in 0..keys {
            probe.add(0, 10_000, key);
        }
        Ok(started.elapsed())
    };
    phases(
        "window contents",
        keys,
        &mut probe,
        WindowSnapshotProbe::snapshot,
        write_all,
    )
}

/// The same for two open windows of `keys / 2` keys each, the same keys in both: each key's
/// slots are gathered from both windows when the snapshot is encoded.
pub fn measure_two_windows(keys: u64) -> anyhow::Result<SnapshotFigures> {
    let mut probe = WindowSnapshotProbe::new(128, KeyGroupRange::for_operator(128, 1, 0))?;
    let write_all = |probe: &mut WindowSnapshotProbe, _round: u64| -> anyhow::Result<Duration> {
        let started = Instant::now();
        for key in 0..keys / 2 {
            probe.add(0, 10_000, key);
            probe.add(10_000, 10_000, key);
        }
        Ok(started.elapsed())
    };
    phases(
        "window contents (2 windows)",
        keys,
        &mut probe,
        WindowSnapshotProbe::snapshot,
        write_all,
    )
}

/// The same for an Arrow tumbling-window `COUNT(*)` with `keys` groups in one open window,
/// each counted once per write, in batches of 8,192 rows.
pub fn measure_arrow_aggregate(keys: u64) -> anyhow::Result<SnapshotFigures> {
    let mut probe = AggregateSnapshotProbe::new(128)?;
    let write_all = |probe: &mut AggregateSnapshotProbe, _round: u64| -> anyhow::Result<Duration> {
        let started = Instant::now();
        let keys = keys as i64;
        for start in (0..keys).step_by(8_192) {
            probe.add(start..(start + 8_192).min(keys))?;
        }
        Ok(started.elapsed())
    };
    phases(
        "Arrow aggregate",
        keys,
        &mut probe,
        AggregateSnapshotProbe::snapshot,
        write_all,
    )
}

/// Writes every key, then five times takes a snapshot and writes every key again while it is
/// held; encodes the last one.
fn phases<S, E: Into<anyhow::Error>>(
    what: &'static str,
    keys: u64,
    state: &mut S,
    snapshot: impl Fn(&mut S) -> Result<KeyedStateSnapshot, E>,
    write_all: impl Fn(&mut S, u64) -> anyhow::Result<Duration>,
) -> anyhow::Result<SnapshotFigures> {
    write_all(state, 0)?;
    let mut synchronous = Vec::new();
    let mut writes_after_checkpoint = Duration::ZERO;
    let mut last = None;
    for round in 1..=5 {
        let started = Instant::now();
        let taken = snapshot(state).map_err(Into::into)?;
        synchronous.push(started.elapsed());
        // The task goes on while the frozen copy is held: every shard or chunk is copied once.
        writes_after_checkpoint = write_all(state, round)?;
        last = Some(taken);
    }
    synchronous.sort();
    let mut snapshot = last.ok_or_else(|| anyhow::anyhow!("no snapshot taken"))?;
    let started = Instant::now();
    snapshot.materialize()?;
    let asynchronous = started.elapsed();
    let bytes = snapshot
        .states
        .iter()
        .flat_map(|state| state.key_groups.values())
        .map(Vec::len)
        .sum();
    drop(snapshot);
    let writes_without = write_all(state, 9)?;
    Ok(SnapshotFigures {
        what,
        keys,
        synchronous: synchronous[synchronous.len() / 2],
        asynchronous,
        bytes,
        writes_after_checkpoint,
        writes_without,
    })
}

pub fn report(figures: &SnapshotFigures) {
    let verdict = if figures.synchronous <= Duration::from_millis(5) {
        "meets"
    } else {
        "MISSES"
    };
    println!(
        "(f) {} snapshot, {:>3} M keys: synchronous phase {:>7.3} ms (target 5 ms: \
         {verdict}), asynchronous encoding {:>7.1} ms, {:.1} MB; writing every key after a \
         checkpoint {:.0} ms, without one {:.0} ms",
        figures.what,
        figures.keys / 1_000_000,
        figures.synchronous.as_secs_f64() * 1e3,
        figures.asynchronous.as_secs_f64() * 1e3,
        figures.bytes as f64 / 1e6,
        figures.writes_after_checkpoint.as_secs_f64() * 1e3,
        figures.writes_without.as_secs_f64() * 1e3,
    );
}
