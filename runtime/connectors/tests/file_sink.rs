//! The exactly-once file sink in whole jobs: a bounded WordCount with checkpoints commits all
//! of its output with the final checkpoint, and a job cancelled after a checkpoint and restored
//! from it leaves exactly the output of a run without failure: nothing twice, nothing lost.

use std::path::Path;

use flinkrs_api::prelude::*;
use flinkrs_dataflow::CompletedCheckpoint;

mod common;

/// WordCount at parallelism 2 with checkpoints every 30 ms into `checkpoints`, written through
/// the file sink into `output` with 2 KiB part files.
fn word_count(
    input: &Path,
    output: &Path,
    checkpoints: &Path,
    restore_from: Option<&Path>,
) -> StreamExecutionEnvironment {
    let restore_from = restore_from.map(|path| path.display().to_string());
    let env = common::checkpointed(2, checkpoints, restore_from.as_deref());
    common::word_count::into_files(env, input, &output.display().to_string())
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
    let input = common::word_count::write_input(dir.path());
    let output = dir.path().join("out");
    word_count(&input, &output, &dir.path().join("checkpoints"), None)
        .execute("word count into files")
        .unwrap();
    let lines = committed_lines(&output);
    assert_eq!(lines.len(), common::word_count::WORDS);
    assert_eq!(lines, common::word_count::expected_updates(&input));
}

#[test]
fn a_job_restored_from_a_checkpoint_commits_exactly_the_output_of_a_run_without_failure() {
    let dir = tempfile::tempdir().unwrap();
    let input = common::word_count::write_input(dir.path());
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
        visible < common::word_count::WORDS,
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
    assert_eq!(restored, common::word_count::expected_updates(&input));
}
