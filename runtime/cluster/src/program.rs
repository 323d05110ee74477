//! A user's own job program in Rust, run on a cluster (application mode), as a Flink user
//! runs a jar's `main`:
//!
//! ```rust,no_run
//! use flinkrs_api::prelude::*;
//!
//! fn main() -> std::process::ExitCode {
//!     flinkrs_cluster::program::main(|env, args| {
//!         let limit: u64 = args.first().and_then(|arg| arg.parse().ok()).unwrap_or(100);
//!         env.from_collection((0..limit).collect::<Vec<u64>>())
//!             .map(|n| n * 2)
//!             .print();
//!         env.execute("Doubling")
//!     })
//! }
//! ```
//!
//! The binary is the whole `flinkrs` command line with the program built in. Its pods run
//! `<binary> jobmanager -- ARGS` and `<binary> taskmanager --jobmanager HOST:PORT`: the
//! JobManager runs the program with `ARGS`, and every TaskManager runs it again with the
//! arguments the deployment carries, so each builds the same graph (architecture decision 10;
//! the JobManager sends its graph's fingerprint and a TaskManager whose graph differs refuses
//! the deployment).

use std::process::ExitCode;
use std::sync::OnceLock;

use anyhow::{Context as _, bail};
use clap::Parser;
use flinkrs_api::prelude::StreamExecutionEnvironment;
use flinkrs_dataflow::JobResult;

use crate::job_spec::request_of;
use crate::rpc::messages::JobSpec;

/// A job program: builds its pipeline on `env` from its arguments, and executes it.
pub type Program = fn(&StreamExecutionEnvironment, &[String]) -> flinkrs_core::Result<JobResult>;

static PROGRAM: OnceLock<Program> = OnceLock::new();

/// The `main` of a job binary: registers `program`, then runs the `flinkrs` command line.
pub fn main(program: Program) -> ExitCode {
    register(program);
    let cli = crate::cli::Cli::parse();
    crate::logging::init(cli.log_format);
    crate::cli::dispatch(cli)
}

/// Makes `program` the job program of this process (the first registration stays).
pub fn register(program: Program) {
    let _ = PROGRAM.set(program);
}

/// Whether this process has a job program of its own.
pub fn registered() -> bool {
    PROGRAM.get().is_some()
}

/// The spec of an application-mode job running this process's program with `args`.
pub fn program_spec(args: Vec<String>, properties: Vec<String>) -> JobSpec {
    JobSpec {
        program: true,
        program_args: args,
        properties,
        ..JobSpec::default()
    }
}

/// Checks that this process can run `spec`, before it is submitted.
pub fn check(spec: &JobSpec) -> anyhow::Result<()> {
    if spec.program {
        if !registered() {
            bail!(NO_PROGRAM);
        }
        return Ok(());
    }
    if let Some(script) = request_of(spec).sql {
        script.job()?;
        return Ok(());
    }
    if flinkrs_jobs::find(&spec.example).is_none() {
        let names: Vec<&str> = flinkrs_jobs::JOBS.iter().map(|e| e.name).collect();
        bail!(
            "unknown example '{}'; the examples are: {}",
            spec.example,
            names.join(", ")
        );
    }
    Ok(())
}

const NO_PROGRAM: &str = "this binary has no job program of its own: `-- ARGS` runs the program of a \
     job binary built with flinkrs_cluster::program::main; use --example NAME with `flinkrs`";

/// Runs the job `spec` names (a built-in example, or this process's program) with `prepare`
/// called on its environment first, and returns its result.
pub fn run_spec(
    spec: &JobSpec,
    prepare: impl FnOnce(&StreamExecutionEnvironment),
) -> anyhow::Result<JobResult> {
    if !spec.program {
        return crate::run::run_request(&request_of(spec), prepare);
    }
    let Some(program) = PROGRAM.get() else {
        bail!(NO_PROGRAM);
    };
    let config = crate::run::configuration(&request_of(spec))?;
    let env = StreamExecutionEnvironment::with_configuration(config);
    prepare(&env);
    program(&env, &spec.program_args).context("the job program failed")
}
