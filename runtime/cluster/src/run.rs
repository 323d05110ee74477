//! `flinkrs run`: configure an environment from the command line and run a job on the local
//! cluster.

use std::path::PathBuf;

use anyhow::{Context, bail};
use flinkrs_api::StreamExecutionEnvironment;
use flinkrs_core::Configuration;
use flinkrs_core::config::PARALLELISM_DEFAULT;
use flinkrs_dataflow::JobResult;

/// What the user asked to run.
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    pub example: String,
    pub input: Option<PathBuf>,
    pub parallelism: Option<usize>,
    pub dynamic_properties: Vec<String>,
}

/// Builds the configuration from `-D` properties, then `-p` on top, as Flink's CLI does.
pub fn configuration(request: &RunRequest) -> anyhow::Result<Configuration> {
    let mut config = Configuration::new();
    for property in &request.dynamic_properties {
        config
            .set_dynamic_property(property)
            .with_context(|| format!("invalid -D {property}"))?;
    }
    if let Some(parallelism) = request.parallelism {
        config.set(PARALLELISM_DEFAULT, parallelism.to_string())?;
    }
    Ok(config)
}

/// The one-line summary printed after a job.
pub fn summary(result: &JobResult) -> String {
    format!(
        "Job '{}' ({}) finished in {:.3} s: {} records in, {} records out, {} TaskManager(s).",
        result.job_name,
        result.job_id,
        result.duration.as_secs_f64(),
        result.records_in(),
        result.records_out(),
        result.task_managers
    )
}

/// Runs a built-in example and returns its summary line.
pub fn run_example(request: &RunRequest) -> anyhow::Result<String> {
    run_example_with(request, |_| {})
}

/// Runs a built-in example as [`run_example`] does, with `prepare` called on its environment
/// first (to register job listeners).
pub fn run_example_with(
    request: &RunRequest,
    prepare: impl FnOnce(&StreamExecutionEnvironment),
) -> anyhow::Result<String> {
    let Some(example) = flinkrs_jobs::find(&request.example) else {
        let names: Vec<&str> = flinkrs_jobs::JOBS.iter().map(|e| e.name).collect();
        bail!(
            "unknown example '{}'; the examples are: {}",
            request.example,
            names.join(", ")
        );
    };
    if let Some(input) = &request.input
        && !input.exists()
    {
        bail!(
            "input path '{}' does not exist; --input expects {}",
            input.display(),
            example.input_help
        );
    }
    let config = configuration(request)?;
    let env = StreamExecutionEnvironment::with_configuration(config);
    prepare(&env);
    let result = (example.run)(&env, request.input.as_deref())
        .with_context(|| format!("job '{}' failed", example.name))?;
    Ok(summary(&result))
}
