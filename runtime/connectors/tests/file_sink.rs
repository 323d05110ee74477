//! The exactly-once file sink in whole jobs: a bounded WordCount with checkpoints commits all
//! of its output with the final checkpoint, and a job cancelled after a checkpoint and restored
//! from it leaves exactly the output of a run without failure: nothing twice, nothing lost.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use flinkrs_api::prelude::*;
use flinkrs_connectors::filesystem::{FILE_SIZE, FileSink, TextFileSource};
use flinkrs_connectors::{ConnectorSinks, RateLimitedSource};
use flinkrs_dataflow::CompletedCheckpoint;

mod common;

const LINES: usize = 2_000;
const WORDS_PER_LINE: usize = 5;
/// Lines per second: a run lasts about a second, many checkpoint intervals.
const RATE: u64 = 2_000;

/// Line `i` holds five of thirteen words, so every word occurs many times.
fn write_input(dir: &Path) -> PathBuf {
    let path = dir.join("words.txt");
    let text: String = (0..LINES)
        .map(|line| {
            let words: Vec<String> = (0..WORDS_PER_LINE)
                .map(|word| format!("w{}", (line * 7 + word) % 13))
                .collect();
            words.join(" ") + "\n"
        })
        .collect();
    std::fs::write(&path, text).unwrap();
    path
}

/// Every update a streaming WordCount emits: `(w,1)` to `(w,n)` for a word seen n times.
fn expected_updates(input: &Path) -> Vec<String> {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for word in std::fs::read_to_string(input).unwrap().split_whitespace() {
        *counts.entry(word.to_owned()).or_default() += 1;
    }
    let mut updates: Vec<String> = counts
        .iter()
        .flat_map(|(word, n)| (1..=*n).map(move |count| format!("({word},{count})")))
        .collect();
    updates.sort();
    updates
}

/// WordCount at parallelism 2, throttled, with checkpoints every 30 ms, written through the
/// file sink into `output` with 2 KiB part files.
fn word_count(
    input: &Path,
    output: &Path,
    checkpoints: &Path,
    restore_from: Option<&Path>,
) -> StreamExecutionEnvironment {
    let restore_from = restore_from.map(|path| path.display().to_string());
    let env = common::checkpointed(2, checkpoints, restore_from.as_deref());
    let input = input.to_path_buf();
    let sink = FileSink::for_row_format(output)
        .with_option(FILE_SIZE, "2kb")
        .unwrap()
        .build()
        .unwrap();
    env.add_source("Lines", move |info| {
        let lines =
            TextFileSource::for_subtask(input.clone(), info.subtask_index, info.parallelism)?;
        Ok(RateLimitedSource::new(lines, RATE))
    })
    .flat_map(|line: String, out: &mut Collector<'_, (String, u64)>| {
        for word in line.split_whitespace() {
            out.collect((word.to_owned(), 1));
        }
    })
    .key_by(|(word, _): &(String, u64)| word.clone())
    .sum(|(_, count)| count)
    .uid("counts")
    .map(|(word, count)| format!("({word},{count})"))
    .sink_to_files(sink)
    .uid("file-sink");
    env
}

/// The committed output: every line of every visible file, sorted. Fails on hidden files:
/// nothing may be left in progress or pending.
fn committed_lines(output: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(output).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        assert!(
            !name.starts_with('.'),
            "'{name}' is left in progress or pending"
        );
        assert!(name.starts_with("part-"), "{name}");
        let content = std::fs::read_to_string(entry.path()).unwrap();
        assert!(content.ends_with('\n'), "'{name}' ends mid-line");
        lines.extend(content.lines().map(str::to_owned));
    }
    lines.sort();
    lines
}

/// How many lines the visible files hold.
fn visible_lines(output: &Path) -> usize {
    std::fs::read_dir(output)
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| !entry.file_name().to_string_lossy().starts_with('.'))
        .map(|entry| {
            std::fs::read_to_string(entry.path())
                .unwrap()
                .lines()
                .count()
        })
        .sum()
}

#[test]
fn a_bounded_word_count_commits_all_its_output_with_the_final_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_input(dir.path());
    let output = dir.path().join("out");
    word_count(&input, &output, &dir.path().join("checkpoints"), None)
        .execute("word count into files")
        .unwrap();
    let lines = committed_lines(&output);
    assert_eq!(lines.len(), LINES * WORDS_PER_LINE);
    assert_eq!(lines, expected_updates(&input));
}

#[test]
fn a_job_restored_from_a_checkpoint_commits_exactly_the_output_of_a_run_without_failure() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_input(dir.path());
    let checkpoints = dir.path().join("checkpoints");

    let fault_free = dir.path().join("fault-free");
    word_count(&input, &fault_free, &checkpoints, None)
        .execute("fault-free")
        .unwrap();

    // Cancelled once the first checkpoint has completed: part of the output is committed or
    // pending, and the rest is in progress.
    let output = dir.path().join("out");
    let job = word_count(&input, &output, &checkpoints, None)
        .execute_async("cancelled")
        .unwrap();
    let checkpoint: CompletedCheckpoint = common::checkpoint_then_cancel(job);
    // Cancelling closed the sinks: what no checkpoint holds is gone; what checkpoint 1 holds
    // is committed or still pending. Either way the run was cut short.
    let visible = visible_lines(&output);
    assert!(
        visible < LINES * WORDS_PER_LINE,
        "{visible} lines visible after the cancel"
    );

    word_count(
        &input,
        &output,
        &checkpoints,
        checkpoint.location.as_local(),
    )
    .execute("restored")
    .unwrap();
    let restored = committed_lines(&output);
    assert_eq!(restored, committed_lines(&fault_free));
    assert_eq!(restored, expected_updates(&input));
}
