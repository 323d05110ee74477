//! Stopping `flinkrs run` with a signal, as a real process: SIGINT cancels the job, the run
//! prints where its latest checkpoint is and the exact command that resumes from it, exits
//! with 130, and that command resumes the job where the checkpoint left it.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};

/// A guard against a hang, not a synchronization: each wait ends as soon as its event comes.
const PATIENCE: Duration = Duration::from_secs(60);
/// Lines of the input: the debug build needs seconds for them, the test's signal comes after
/// the first checkpoint, some 50 ms in.
const LINES: u64 = 2_000_000;
/// The input's words: line `i` is `w{i % WORDS}`.
const WORDS: u64 = 7;

/// WordCount's output line for input line `index`: its word and the word's count so far.
fn expected_line(index: u64) -> String {
    format!("(w{},{})", index % WORDS, index / WORDS + 1)
}

/// The input line a WordCount output line was printed for.
fn input_line_of(output: &str) -> u64 {
    let inner = output
        .strip_prefix("(w")
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("not a count: {output}"));
    let (word, count) = inner.split_once(',').expect("(word,count)");
    let word: u64 = word.parse().unwrap();
    let count: u64 = count.parse().unwrap();
    (count - 1) * WORDS + word
}

/// A running `flinkrs`, its standard error read line by line.
struct Run {
    child: Child,
    stderr: Receiver<String>,
    seen: Vec<String>,
}

impl Run {
    fn start(program: &str, args: &[String], stdout: &Path) -> Run {
        let mut child = Command::new(program)
            .args(args)
            .stdout(File::create(stdout).unwrap())
            .stderr(Stdio::piped())
            .spawn()
            .expect("flinkrs starts");
        let pipe = child.stderr.take().expect("piped stderr");
        let (lines, stderr) = crossbeam_channel::unbounded();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        Run {
            child,
            stderr,
            seen: Vec::new(),
        }
    }

    /// Reads standard error up to the next "Checkpoint N completed: PATH" line.
    fn next_checkpoint(&mut self) -> (u64, PathBuf) {
        loop {
            let line = match self.stderr.recv_timeout(PATIENCE) {
                Ok(line) => line,
                Err(error) => panic!(
                    "no checkpoint announced ({error:?}); stderr: {:#?}",
                    self.seen
                ),
            };
            self.seen.push(line.clone());
            if let Some(rest) = line.strip_prefix("Checkpoint ")
                && let Some((number, path)) = rest.split_once(" completed: ")
            {
                return (number.parse().unwrap(), PathBuf::from(path));
            }
        }
    }

    fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// Waits for the process to exit; returns its exit code and the rest of its stderr.
    fn finish(mut self) -> (Option<i32>, String) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            match self.stderr.recv_deadline(deadline) {
                Ok(line) => self.seen.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    panic!("flinkrs did not exit; stderr: {:#?}", self.seen);
                }
            }
        }
        let status = self.child.wait().expect("flinkrs exits");
        (status.code(), self.seen.join("\n"))
    }
}

fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn sigint_cancels_the_run_which_prints_the_retained_checkpoint_and_the_command_that_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("words.txt");
    let mut file = std::io::BufWriter::new(File::create(&input).unwrap());
    for index in 0..LINES {
        writeln!(file, "w{}", index % WORDS).unwrap();
    }
    file.into_inner().unwrap().sync_all().unwrap();
    let checkpoints = dir.path().join("checkpoints");
    let program = env!("CARGO_BIN_EXE_flinkrs");
    let args: Vec<String> = [
        "run",
        "--example",
        "wordcount",
        "--input",
        &input.display().to_string(),
        "-D",
        "execution.checkpointing.interval=50ms",
        "-D",
        &format!("execution.checkpointing.dir={}", checkpoints.display()),
        "-D",
        "execution.checkpointing.externalized-checkpoint-retention=RETAIN_ON_CANCELLATION",
    ]
    .iter()
    .map(|arg| (*arg).to_owned())
    .collect();

    let first_output = dir.path().join("first.txt");
    let mut first = Run::start(program, &args, &first_output);
    let (first_checkpoint, _) = first.next_checkpoint();
    first.interrupt();
    let (code, stderr) = first.finish();
    assert_eq!(code, Some(130), "{stderr}");
    assert!(
        stderr.contains("Received SIGINT: cancelling the job (send it again to exit at once)."),
        "{stderr}"
    );
    assert!(
        stderr.contains("Job 'WordCount' (") && stderr.contains(") was cancelled by SIGINT."),
        "{stderr}"
    );
    let retained = stderr
        .lines()
        .find_map(|line| line.strip_prefix("Its latest checkpoint is retained: "))
        .unwrap_or_else(|| panic!("no retained checkpoint printed: {stderr}"));
    let retained = PathBuf::from(retained);
    assert!(
        retained.join("_metadata").is_file(),
        "{}",
        retained.display()
    );
    // It is the last checkpoint announced.
    let last_announced = stderr
        .lines()
        .rev()
        .find_map(|line| line.split_once(" completed: ").map(|(_, path)| path))
        .expect("checkpoints were announced");
    assert_eq!(Path::new(last_announced), retained);
    let command = stderr
        .lines()
        .skip_while(|line| *line != "Resume it with:")
        .nth(1)
        .unwrap_or_else(|| panic!("no resume command printed: {stderr}"))
        .trim()
        .to_owned();
    assert_eq!(
        command,
        format!("{program} {} -s {}", args.join(" "), retained.display())
    );

    // The printed command, run as printed, resumes from the checkpoint.
    let mut words = command.split_whitespace().map(str::to_owned);
    let resumed_program = words.next().unwrap();
    let resumed_args: Vec<String> = words.collect();
    let resumed_output = dir.path().join("resumed.txt");
    let mut resumed = Run::start(&resumed_program, &resumed_args, &resumed_output);
    let (resumed_checkpoint, _) = resumed.next_checkpoint();
    assert!(
        resumed_checkpoint > first_checkpoint,
        "numbering goes on after the restored checkpoint: {resumed_checkpoint}"
    );
    resumed.interrupt();
    let (code, stderr) = resumed.finish();
    assert_eq!(code, Some(130), "{stderr}");

    // The resumed counts go on exactly where the checkpoint's left off.
    let resumed_lines = read_lines(&resumed_output);
    let first_lines = read_lines(&first_output);
    let restored_at = input_line_of(resumed_lines.first().expect("the resumed run printed"));
    assert!(
        restored_at as usize <= first_lines.len(),
        "the checkpoint is at input line {restored_at}, past what the first run printed"
    );
    for (offset, line) in resumed_lines.iter().enumerate() {
        assert_eq!(
            *line,
            expected_line(restored_at + offset as u64),
            "resumed line {offset}"
        );
    }
    for (index, line) in first_lines.iter().enumerate() {
        assert_eq!(
            *line,
            expected_line(index as u64),
            "first run's line {index}"
        );
    }
}

#[test]
fn sigint_without_a_retained_checkpoint_says_why_there_is_none() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("words.txt");
    let mut file = std::io::BufWriter::new(File::create(&input).unwrap());
    for index in 0..LINES {
        writeln!(file, "w{}", index % WORDS).unwrap();
    }
    file.into_inner().unwrap().sync_all().unwrap();
    let checkpoints = dir.path().join("checkpoints");
    let args: Vec<String> = vec![
        "run".into(),
        "--example".into(),
        "wordcount".into(),
        "--input".into(),
        input.display().to_string(),
        "-D".into(),
        "execution.checkpointing.interval=50ms".into(),
        "-D".into(),
        format!("execution.checkpointing.dir={}", checkpoints.display()),
    ];
    let mut run = Run::start(
        env!("CARGO_BIN_EXE_flinkrs"),
        &args,
        &dir.path().join("out.txt"),
    );
    run.next_checkpoint();
    run.interrupt();
    let (code, stderr) = run.finish();
    assert_eq!(code, Some(130), "{stderr}");
    assert!(
        stderr.contains(
            "It has no checkpoint to resume from: \
             execution.checkpointing.externalized-checkpoint-retention is \
             NO_EXTERNALIZED_CHECKPOINTS, so its checkpoints were deleted; set -D \
             execution.checkpointing.externalized-checkpoint-retention=RETAIN_ON_CANCELLATION \
             to keep the latest one."
        ),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(&checkpoints).unwrap().count(),
        0,
        "the default retention deleted the job's checkpoints"
    );
}
