//! `flinkrs run --output DIR` and `--rate N`, run as a real process: the committed files hold
//! exactly what the job prints; a run killed with SIGKILL three times, each time resumed from
//! its latest checkpoint with `-s`, commits exactly what a run without failure commits; bad
//! output paths and rates are refused by name.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A guard against a hang, not a synchronization.
const PATIENCE: Duration = Duration::from_secs(60);

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    /// From start to exit.
    elapsed: Duration,
}

fn start(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_flinkrs"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the flinkrs binary starts")
}

/// Waits for `child` to exit, killing it and failing the test past the patience.
fn finish(mut child: Child, started: Instant) -> Outcome {
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
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for flinkrs") {
            break status;
        }
        if started.elapsed() > PATIENCE {
            let _ = child.kill();
            panic!("flinkrs did not exit within {PATIENCE:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Outcome {
        code: status.code(),
        stdout: stdout.join().expect("stdout reader").expect("utf-8 stdout"),
        stderr: stderr.join().expect("stderr reader").expect("utf-8 stderr"),
        elapsed: started.elapsed(),
    }
}

fn flinkrs(args: &[&str]) -> Outcome {
    let started = Instant::now();
    finish(start(args), started)
}

fn succeeded(args: &[&str]) -> Outcome {
    let outcome = flinkrs(args);
    assert_eq!(outcome.code, Some(0), "{args:?}: {}", outcome.stderr);
    outcome
}

/// Printed lines without the `N> ` subtask prefix, sorted.
fn printed(stdout: &str) -> Vec<String> {
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

/// The lines of the committed files whose names start with `prefix`, sorted. Fails on hidden
/// files (in progress or pending) and on names that are not `<prefix>-<uid>-<subtask>-<n>`.
fn committed(output: &Path, prefix: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(output).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        assert!(!name.starts_with('.'), "'{name}' was left uncommitted");
        let Some(rest) = name.strip_prefix(&format!("{prefix}-")) else {
            continue;
        };
        let fields: Vec<&str> = rest.split('-').collect();
        assert!(
            fields.len() == 3
                && fields[0].len() == 16
                && fields[0].chars().all(|c| c.is_ascii_hexdigit())
                && fields[1..].iter().all(|f| f.parse::<u64>().is_ok()),
            "'{name}' is not <prefix>-<uid>-<subtask>-<counter>"
        );
        let content = std::fs::read_to_string(entry.path()).unwrap();
        lines.extend(content.lines().map(str::to_owned));
    }
    lines.sort();
    lines
}

fn text(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temporary path")
}

#[test]
fn the_committed_files_hold_exactly_what_each_builtin_job_prints() {
    let dir = tempfile::tempdir().unwrap();
    for (example, parallelism) in [("wordcount", "2"), ("scoreboard", "1")] {
        let printing = succeeded(&["run", "--example", example, "-p", parallelism]);
        let output = dir.path().join(example);
        let writing = succeeded(&[
            "run",
            "--example",
            example,
            "-p",
            parallelism,
            "--output",
            text(&output),
        ]);
        assert_eq!(writing.stdout, "", "{example}: nothing is printed");
        assert!(
            writing
                .stderr
                .contains(&format!("Output committed to '{}'", output.display())),
            "{}",
            writing.stderr
        );
        assert_eq!(
            committed(&output, "part"),
            printed(&printing.stdout),
            "{example}"
        );
    }

    // Window summaries into part files, late readings into late files.
    let printing = succeeded(&["run", "--example", "windowed-sensors"]);
    let (late, windows): (Vec<String>, Vec<String>) = printed(&printing.stdout)
        .into_iter()
        .partition(|line| line.starts_with("late> "));
    let late: Vec<String> = late
        .iter()
        .map(|line| line["late> ".len()..].to_owned())
        .collect();
    let output = dir.path().join("sensors");
    succeeded(&[
        "run",
        "--example",
        "windowed-sensors",
        "--output",
        text(&output),
    ]);
    assert_eq!(committed(&output, "part"), windows);
    assert_eq!(committed(&output, "late"), late);
    assert_eq!(late, vec!["s1 at 4000 ms: 19.0", "s2 at 9500 ms: 29.0"]);
}

#[test]
fn a_throttled_run_with_checkpoints_commits_its_output_with_the_final_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("counts");
    let checkpoints = dir.path().join("checkpoints");
    let printing = succeeded(&["run", "--example", "wordcount"]);
    let outcome = succeeded(&[
        "run",
        "--example",
        "wordcount",
        "--rate",
        "8",
        "--output",
        text(&output),
        "-D",
        "execution.checkpointing.interval=100ms",
        "-D",
        &format!("execution.checkpointing.dir={}", checkpoints.display()),
    ]);
    // The built-in text has 4 lines: at 8 a second, the last is due half a second in.
    assert!(
        outcome.elapsed >= Duration::from_millis(500),
        "{:?}",
        outcome.elapsed
    );
    assert_eq!(committed(&output, "part"), printed(&printing.stdout));
    // The final checkpoint is the one retained.
    let jobs: Vec<PathBuf> = std::fs::read_dir(&checkpoints)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let retained: Vec<PathBuf> = std::fs::read_dir(&jobs[0])
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(retained.len(), 1, "{retained:?}");
    assert!(retained[0].join("_metadata").is_file());
}

/// 300 lines of words from a vocabulary of eleven.
fn write_words(dir: &Path) -> PathBuf {
    let path = dir.join("words.txt");
    let text: String = (0..300)
        .map(|line| {
            format!(
                "w{} w{} w{}\n",
                line % 11,
                (line * 3) % 11,
                (line * 5 + 1) % 11
            )
        })
        .collect();
    std::fs::write(&path, text).unwrap();
    path
}

/// The highest-numbered `chk-<n>` folder under `root/<job>/` that has its `_metadata`.
fn latest_checkpoint(root: &Path) -> Option<PathBuf> {
    let mut best: Option<(u64, PathBuf)> = None;
    for job in std::fs::read_dir(root).ok()? {
        for checkpoint in std::fs::read_dir(job.ok()?.path()).ok()? {
            let path = checkpoint.ok()?.path();
            let number = path
                .file_name()
                .and_then(|name| name.to_str())
                .and_then(|name| name.strip_prefix("chk-"))
                .and_then(|n| n.parse::<u64>().ok());
            if let Some(number) = number
                && path.join("_metadata").is_file()
                && best.as_ref().is_none_or(|(best, _)| number > *best)
            {
                best = Some((number, path));
            }
        }
    }
    best.map(|(_, path)| path)
}

#[test]
fn a_run_killed_three_times_and_resumed_each_time_commits_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_words(dir.path());
    let checkpoints = dir.path().join("checkpoints");
    let checkpoint_dir = format!("execution.checkpointing.dir={}", checkpoints.display());
    let run = |output: &Path, extra: &[&str]| {
        let mut args = vec![
            "run",
            "--example",
            "wordcount",
            "-p",
            "2",
            "--input",
            text(&input),
            // Shared by the 2 source subtasks, and the one file goes to one of them: 150 lines
            // a second, two seconds a run.
            "--rate",
            "300",
            "-D",
            "execution.checkpointing.interval=50ms",
            "-D",
            &checkpoint_dir,
        ];
        args.extend_from_slice(&["--output", text(output)]);
        args.extend_from_slice(extra);
        args.iter()
            .map(|arg| (*arg).to_owned())
            .collect::<Vec<String>>()
    };
    let fault_free = dir.path().join("fault-free");
    let args = run(&fault_free, &[]);
    succeeded(&args.iter().map(String::as_str).collect::<Vec<_>>());
    std::fs::remove_dir_all(&checkpoints).unwrap();

    // Killed three times (SIGKILL: no clean-up at all) at seeded random moments after a new
    // checkpoint has completed, each time resumed from the latest checkpoint.
    let output = dir.path().join("out");
    let mut moments = <rand::rngs::SmallRng as rand::SeedableRng>::seed_from_u64(3);
    let mut resume_from: Option<PathBuf> = None;
    for kill in 0..3 {
        let mut extra = Vec::new();
        if let Some(checkpoint) = &resume_from {
            extra = vec!["-s", text(checkpoint)];
        }
        let args = run(&output, &extra);
        let started = Instant::now();
        let mut child = start(&args.iter().map(String::as_str).collect::<Vec<_>>());
        // A checkpoint of this run: numbering goes on from the one it resumed from.
        while latest_checkpoint(&checkpoints) == resume_from {
            assert!(
                started.elapsed() < PATIENCE,
                "run {kill}: no checkpoint completed"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let delay = rand::Rng::random_range(&mut moments, 0..300);
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().unwrap();
        let killed = finish(child, started);
        assert_ne!(killed.code, Some(0), "run {kill} was killed before its end");
        resume_from = latest_checkpoint(&checkpoints);
    }

    // Resumed from the latest checkpoint: the same output as the run without failure.
    let checkpoint = resume_from.expect("the killed runs completed checkpoints");
    let args = run(&output, &["-s", text(&checkpoint)]);
    succeeded(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let resumed = committed(&output, "part");
    assert_eq!(resumed.len(), 900, "one update per word");
    assert_eq!(resumed, committed(&fault_free, "part"));
}

#[test]
fn an_output_path_that_is_not_a_writable_folder_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("results.txt");
    std::fs::write(&file, "not a folder").unwrap();
    let outcome = flinkrs(&["run", "--example", "wordcount", "--output", text(&file)]);
    assert_eq!(outcome.code, Some(1));
    assert!(
        outcome.stderr.contains(&format!(
            "output path '{}' is not a directory",
            file.display()
        )),
        "{}",
        outcome.stderr
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "not a folder");

    let below_file = file.join("counts");
    let outcome = flinkrs(&[
        "run",
        "--example",
        "wordcount",
        "--output",
        text(&below_file),
    ]);
    assert_eq!(outcome.code, Some(1));
    assert!(
        outcome.stderr.contains(&format!(
            "cannot create the output directory '{}'",
            below_file.display()
        )),
        "{}",
        outcome.stderr
    );
}

#[test]
fn a_rate_must_be_a_positive_number() {
    for rate in ["0", "-3", "fast"] {
        let outcome = flinkrs(&["run", "--example", "wordcount", &format!("--rate={rate}")]);
        assert_eq!(outcome.code, Some(2), "--rate {rate}");
        assert!(outcome.stderr.contains("--rate <N>"), "{}", outcome.stderr);
        assert!(outcome.stderr.contains(rate), "{}", outcome.stderr);
    }
}

#[test]
fn help_explains_output_and_rate() {
    let outcome = succeeded(&["run", "--help"]);
    for expected in [
        "--output <DIR>",
        "--rate <N>",
        "flinkrs run --example wordcount --output /tmp/counts",
        ".part-<uid>-<subtask>-<n>.inprogress",
        "final checkpoint",
    ] {
        assert!(
            outcome.stdout.contains(expected),
            "{expected}: {}",
            outcome.stdout
        );
    }
}
