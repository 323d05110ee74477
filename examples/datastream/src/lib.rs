//! Example DataStream jobs, written only against the public API of `flinkrs-api` and
//! `flinkrs-connectors`. The `flinkrs run --example NAME` command runs them, and each has a
//! standalone program in `src/bin/`.

pub mod input;
pub mod java_format;
pub mod scoreboard;
pub mod windowed_sensors;
pub mod wordcount;

use std::path::Path;

use flinkrs_api::prelude::*;

/// A built-in example job.
#[derive(Debug, Clone, Copy)]
pub struct Example {
    pub name: &'static str,
    pub description: &'static str,
    /// What `--input` means for this example.
    pub input_help: &'static str,
    /// Declares the job on `env`, printing its results, and runs it.
    pub run: fn(&StreamExecutionEnvironment, Option<&Path>) -> Result<JobResult>,
}

/// Every built-in example, by name.
pub const EXAMPLES: &[Example] = &[
    Example {
        name: "wordcount",
        description: "Counts words in a text, like Flink's WordCount",
        input_help: "a text file or a directory of text files",
        run: wordcount::run,
    },
    Example {
        name: "scoreboard",
        description: "Running count, total and average of points per student",
        input_help: "a CSV file of `student,points` lines",
        run: scoreboard::run,
    },
    Example {
        name: "windowed-sensors",
        description: "Event-time tumbling windows over out-of-order sensor readings, with late events",
        input_help: "a CSV file of `sensor,timestamp_ms,temperature` lines",
        run: windowed_sensors::run,
    },
];

/// Looks up an example by name.
pub fn find(name: &str) -> Option<&'static Example> {
    EXAMPLES.iter().find(|example| example.name == name)
}

/// The `main` of an example's standalone program: `[--input PATH]`, embedded defaults.
pub fn main_for(name: &str) -> std::process::ExitCode {
    use std::process::ExitCode;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let input = match args.as_slice() {
        [] => None,
        [flag, path] if flag == "--input" => Some(std::path::PathBuf::from(path)),
        _ => {
            eprintln!("usage: {name} [--input PATH]");
            return ExitCode::from(2);
        }
    };
    let Some(example) = find(name) else {
        eprintln!("error: no example named '{name}'");
        return ExitCode::from(2);
    };
    match (example.run)(&StreamExecutionEnvironment::new(), input.as_deref()) {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
