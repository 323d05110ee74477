//! The `flinkrs` command line, run as a real process: outputs equal Flink's where Flink
//! defines them, and bad input gives a clear error and a non-zero exit, never a hang.

#[path = "http/support/flinkrs.rs"]
#[expect(
    dead_code,
    reason = "shared with the client tests, which use all of it"
)]
mod flinkrs;

use std::path::Path;

use flinkrs::flinkrs;

fn golden(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Lines with the `N> ` subtask prefix removed, sorted.
fn unprefixed_sorted(stdout: &str) -> Vec<String> {
    let mut lines: Vec<String> = stdout
        .lines()
        .map(|line| match line.split_once("> ") {
            Some((prefix, rest)) if prefix.chars().all(|c| c.is_ascii_digit()) => rest.to_owned(),
            _ => line.to_owned(),
        })
        .collect();
    lines.sort();
    lines
}

#[test]
fn scoreboard_prints_exactly_what_flink_prints() {
    let outcome = flinkrs(&["run", "--example", "scoreboard"]);
    assert_eq!(outcome.code, Some(0), "stderr: {}", outcome.stderr);
    assert_eq!(outcome.stdout, golden("datastream-scoreboard.txt"));
    assert!(
        outcome.stderr.contains("records in, 10 records out"),
        "summary line: {}",
        outcome.stderr
    );
}

#[test]
fn scoreboard_at_parallelism_two_keeps_each_students_order() {
    let outcome = flinkrs(&["run", "--example", "scoreboard", "-p", "2"]);
    assert_eq!(outcome.code, Some(0), "stderr: {}", outcome.stderr);
    let expected = golden("datastream-scoreboard.txt");
    for student in ["(a,", "(b,"] {
        let ours: Vec<&str> = outcome
            .stdout
            .lines()
            .map(|line| line.split_once("> ").map_or(line, |(_, rest)| rest))
            .filter(|line| line.starts_with(student))
            .collect();
        let flinks: Vec<&str> = expected
            .lines()
            .filter(|line| line.starts_with(student))
            .collect();
        assert_eq!(ours, flinks);
    }
    assert!(
        outcome
            .stdout
            .lines()
            .all(|line| line.starts_with("1> ") || line.starts_with("2> "))
    );
}

fn write_text(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("words.txt");
    std::fs::write(
        &path,
        "To be, or not to be:\nthat is the question.\n\nBE quick!\n",
    )
    .unwrap();
    path
}

#[test]
fn wordcount_results_are_the_same_at_parallelism_one_two_and_four() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_text(dir.path());
    let input = input.to_str().unwrap();
    let mut expected_final = vec![
        "(be,3)",
        "(is,1)",
        "(not,1)",
        "(or,1)",
        "(question,1)",
        "(quick,1)",
        "(that,1)",
        "(the,1)",
        "(to,2)",
    ];
    expected_final.sort_unstable();
    let mut streaming_baseline: Option<Vec<String>> = None;
    for parallelism in ["1", "2", "4"] {
        let outcome = flinkrs(&[
            "run",
            "--example",
            "wordcount",
            "--input",
            input,
            "-p",
            parallelism,
        ]);
        assert_eq!(outcome.code, Some(0), "stderr: {}", outcome.stderr);
        let lines = unprefixed_sorted(&outcome.stdout);
        // Streaming mode prints every update: (be,1), (be,2), (be,3), ...
        assert_eq!(lines.len(), 12, "parallelism {parallelism}: {lines:?}");
        match &streaming_baseline {
            None => streaming_baseline = Some(lines),
            Some(baseline) => assert_eq!(&lines, baseline, "parallelism {parallelism}"),
        }
        let batch = flinkrs(&[
            "run",
            "--example",
            "wordcount",
            "--input",
            input,
            "-p",
            parallelism,
            "-D",
            "execution.runtime-mode=batch",
        ]);
        assert_eq!(batch.code, Some(0), "stderr: {}", batch.stderr);
        assert_eq!(
            unprefixed_sorted(&batch.stdout),
            expected_final,
            "batch, parallelism {parallelism}"
        );
    }
}

#[test]
fn wordcount_batch_mode_prints_flinks_final_counts() {
    let expected: Vec<String> = golden("wordcount-builtin-batch.txt")
        .lines()
        .map(str::to_owned)
        .collect();
    for parallelism in ["1", "2"] {
        let outcome = flinkrs(&[
            "run",
            "--example",
            "wordcount",
            "-p",
            parallelism,
            "-D",
            "execution.runtime-mode=batch",
        ]);
        assert_eq!(outcome.code, Some(0), "stderr: {}", outcome.stderr);
        assert_eq!(
            unprefixed_sorted(&outcome.stdout),
            expected,
            "parallelism {parallelism}"
        );
    }
}

#[test]
fn windowed_sensors_reports_windows_and_late_readings() {
    let outcome = flinkrs(&["run", "--example", "windowed-sensors"]);
    assert_eq!(outcome.code, Some(0), "stderr: {}", outcome.stderr);
    assert_eq!(
        outcome
            .stdout
            .lines()
            .filter(|l| l.starts_with("late> "))
            .collect::<Vec<_>>(),
        vec!["late> s1 at 4000 ms: 19.0", "late> s2 at 9500 ms: 29.0"]
    );
}

#[test]
fn unknown_example_is_named_with_the_choices() {
    let outcome = flinkrs(&["run", "--example", "wordcuont"]);
    assert_eq!(outcome.code, Some(1));
    assert_eq!(
        outcome.stderr,
        "error: unknown example 'wordcuont'; the examples are: wordcount, scoreboard, windowed-sensors\n"
    );
    assert_eq!(outcome.stdout, "");
}

#[test]
fn missing_input_path_is_named() {
    let outcome = flinkrs(&["run", "--example", "wordcount", "--input", "/no/such/books"]);
    assert_eq!(outcome.code, Some(1));
    assert_eq!(
        outcome.stderr,
        "error: input path '/no/such/books' does not exist; --input expects a text file or a \
         directory of text files, or socket://HOST:PORT for the lines a TCP server sends until \
         it closes the connection\n"
    );
}

#[test]
fn a_socket_input_without_a_port_says_what_to_write() {
    let outcome = flinkrs(&[
        "run",
        "--example",
        "wordcount",
        "--input",
        "socket://localhost",
    ]);
    assert_eq!(outcome.code, Some(1));
    assert!(
        outcome.stderr.contains(
            "--input 'socket://localhost' names no port; write socket://HOST:PORT, e.g. \
             socket://localhost:9999"
        ),
        "{}",
        outcome.stderr
    );
}

#[test]
fn a_missing_checkpoint_to_restore_from_is_named() {
    let outcome = flinkrs(&["run", "--example", "wordcount", "-s", "/no/such/chk-3"]);
    assert_eq!(outcome.code, Some(1));
    assert!(
        outcome.stderr.contains(
            "checkpoint file '/no/such/chk-3/_metadata': no such file: a checkpoint is complete"
        ),
        "{}",
        outcome.stderr
    );
}

#[test]
fn unknown_configuration_key_is_rejected() {
    let outcome = flinkrs(&[
        "run",
        "--example",
        "scoreboard",
        "-D",
        "paralelism.default=2",
    ]);
    assert_eq!(outcome.code, Some(1));
    assert!(
        outcome.stderr.starts_with(
            "error: invalid -D paralelism.default=2: configuration key 'paralelism.default': unknown key; known keys are: "
        ),
        "{}",
        outcome.stderr
    );
}

#[test]
fn malformed_configuration_values_are_rejected() {
    for (property, message) in [
        (
            "parallelism.default=two",
            "configuration key 'parallelism.default': 'two' is not a whole number of at least 1",
        ),
        (
            "execution.runtime-mode=fast",
            "configuration key 'execution.runtime-mode': 'fast' is not a runtime mode; use 'streaming' or 'batch'",
        ),
        (
            "pipeline.auto-watermark-interval=soon",
            "configuration key 'pipeline.auto-watermark-interval': 'soon' is not a duration; write e.g. '200 ms', '10 s', '1 min'",
        ),
        (
            "pipeline.name",
            "configuration key 'pipeline.name': a dynamic property is written '-D key=value'",
        ),
    ] {
        let outcome = flinkrs(&["run", "--example", "scoreboard", "-D", property]);
        assert_eq!(outcome.code, Some(1), "{property}");
        assert_eq!(
            outcome.stderr,
            format!("error: invalid -D {property}: {message}\n")
        );
        assert_eq!(outcome.stdout, "", "{property}: nothing runs");
    }
}

#[test]
fn malformed_csv_row_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("answers.csv");
    std::fs::write(&path, "a,3\nb,two\n").unwrap();
    let outcome = flinkrs(&[
        "run",
        "--example",
        "scoreboard",
        "--input",
        path.to_str().unwrap(),
    ]);
    assert_eq!(outcome.code, Some(1));
    assert_eq!(
        outcome.stderr,
        format!(
            "error: job 'scoreboard' failed: malformed input in {}:2: field 'points' (column 2) has the invalid value 'two' in 'b,two'\n",
            path.display()
        )
    );
    assert_eq!(outcome.stdout, "", "no partial output");
}

#[test]
fn help_names_the_flink_configuration_keys() {
    let outcome = flinkrs(&["run", "--help"]);
    assert_eq!(outcome.code, Some(0));
    for key in [
        "parallelism.default",
        "execution.runtime-mode",
        "pipeline.max-parallelism",
        "taskmanager.numberOfTaskSlots",
    ] {
        assert!(outcome.stdout.contains(key), "--help mentions {key}");
    }
}

#[test]
fn program_arguments_to_a_binary_without_a_program_say_how_to_build_one() {
    let outcome = flinkrs(&[
        "jobmanager",
        "-D",
        "jobmanager.rpc.port=0",
        "-D",
        "rest.port=0",
        "--",
        "--limit",
        "10",
    ]);
    assert_ne!(outcome.code, Some(0));
    assert!(
        outcome.stderr.contains(
            "this binary has no job program of its own: `-- ARGS` runs the program of a job \
             binary built with flinkrs_cluster::program::main; use --example NAME with `flinkrs`"
        ),
        "{}",
        outcome.stderr
    );
}
