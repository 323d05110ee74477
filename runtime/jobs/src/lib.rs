//! # flinkrs-jobs
//!
//! The built-in jobs of the `flinkrs` binary: `flinkrs run --example NAME` runs one,
//! `flinkrs examples` lists them, and `flinkrs-bench` measures WordCount. They sit just below
//! `flinkrs-cluster` and are written only against the public API of `flinkrs-api` and
//! `flinkrs-connectors`, like any user program; they must not depend on the dataflow
//! internals or on the cluster. User programs live under `examples/`.

pub mod input;
pub mod java_format;
pub mod options;
pub mod scoreboard;
pub mod windowed_sensors;
pub mod word;
pub mod wordcount;

use flinkrs_api::prelude::*;

pub use options::JobOptions;

/// A built-in job.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinJob {
    pub name: &'static str,
    pub description: &'static str,
    /// What `--input` means for this job.
    pub input_help: &'static str,
    /// Declares the job on `env`, printing its results or writing them into the output
    /// folder, and runs it.
    pub run: fn(&StreamExecutionEnvironment, &JobOptions) -> Result<JobResult>,
}

/// Every built-in job, by name.
pub const JOBS: &[BuiltinJob] = &[
    BuiltinJob {
        name: "wordcount",
        description: "Counts words in a text, like Flink's WordCount",
        input_help: "a text file or a directory of text files, or socket://HOST:PORT for the \
                     lines a TCP server sends until it closes the connection",
        run: wordcount::run,
    },
    BuiltinJob {
        name: "scoreboard",
        description: "Running count, total and average of points per student",
        input_help: "a CSV file of `student,points` lines",
        run: scoreboard::run,
    },
    BuiltinJob {
        name: "windowed-sensors",
        description: "Event-time tumbling windows over out-of-order sensor readings, with late events",
        input_help: "a CSV file of `sensor,timestamp_ms,temperature` lines",
        run: windowed_sensors::run,
    },
];

/// Looks up a built-in job by name.
pub fn find(name: &str) -> Option<&'static BuiltinJob> {
    JOBS.iter().find(|job| job.name == name)
}
