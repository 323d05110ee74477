//! `flinkrs run`: configure an environment from the command line and run a job on the local
//! cluster.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use flinkrs_api::StreamExecutionEnvironment;
use flinkrs_core::Configuration;
use flinkrs_core::config::{PARALLELISM_DEFAULT, REST_PORT};
use flinkrs_dataflow::JobResult;
use flinkrs_jobs::JobOptions;

use crate::rest::{HttpServer, LocalJobManager};

/// What the user asked to run.
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    pub example: String,
    pub input: Option<PathBuf>,
    /// `--output`: a folder the results are committed to instead of printed.
    pub output: Option<PathBuf>,
    /// `--rate`: the most records per second the job's source emits.
    pub records_per_second: Option<u64>,
    pub parallelism: Option<usize>,
    pub dynamic_properties: Vec<String>,
    /// `--sql-file`: the job is this SQL script's `INSERT INTO`, not a built-in example.
    pub sql: Option<SqlScript>,
}

/// A Flink SQL script and where it came from (its file), for error messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SqlScript {
    pub origin: String,
    pub text: String,
    /// The script ends with a `SELECT` whose rows a client reads (`flinkrs sql -m`), rather
    /// than with its `INSERT INTO`.
    pub collect: bool,
}

impl SqlScript {
    /// Reads the script at `path`.
    pub fn read(path: &Path) -> anyhow::Result<SqlScript> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the SQL script '{}'", path.display()))?;
        Ok(SqlScript {
            origin: path.display().to_string(),
            text,
            collect: false,
        })
    }

    /// The script's job, planned.
    pub fn job(&self) -> flinkrs_sql::Result<flinkrs_sql::job::SqlJob> {
        if self.collect {
            flinkrs_sql::job::SqlJob::collecting(&self.text, &self.origin)
        } else {
            flinkrs_sql::job::SqlJob::from_script(&self.text, &self.origin)
        }
    }
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

/// Serves the REST API over `job_manager` on `rest.bind-address`:`rest.port` while the job
/// runs. When the port was not set and the default (8081) is taken, the job runs without it
/// (another `flinkrs run` has it) and the reason is logged; a port set explicitly must be
/// free.
pub fn serve_rest(
    request: &RunRequest,
    job_manager: &LocalJobManager,
) -> anyhow::Result<Option<HttpServer>> {
    let Ok(config) = configuration(request) else {
        // The job's own start reports the configuration error.
        return Ok(None);
    };
    let gateway = Arc::new(job_manager.clone());
    match HttpServer::rest(gateway, config.rest_bind_address(), config.rest_port()) {
        Ok(server) => {
            tracing::info!(address = %server.local_addr(), "REST API listening");
            Ok(Some(server))
        }
        Err(error) if config.get(REST_PORT).is_none() => {
            tracing::info!(error = %format!("{error:#}"), "running without the REST API; set -D rest.port");
            Ok(None)
        }
        Err(error) => Err(error.context(format!(
            "{REST_PORT} is set, so the REST API must be served"
        ))),
    }
}

/// Serves `/metrics` in Prometheus's format, as Flink's PrometheusReporter, on the first free
/// port of `metrics.reporter.prom.port` while the job runs (see [`crate::prometheus::serve`]).
pub fn serve_metrics(
    request: &RunRequest,
    job_manager: &LocalJobManager,
) -> anyhow::Result<Option<HttpServer>> {
    let Ok(config) = configuration(request) else {
        return Ok(None);
    };
    let labels = crate::prometheus::ProcessLabels::local(Some("localhost:0-000000".to_owned()));
    let source = job_manager.metrics_source();
    crate::prometheus::serve(
        &config,
        config.rest_bind_address(),
        vec![Arc::new(move || {
            crate::prometheus::samples(&source(), &labels)
        })],
    )
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
    let result = run_request(request, prepare)?;
    let mut summary = summary(&result);
    if let Some(output) = &request.output {
        summary.push_str(&format!("\nOutput committed to '{}'.", output.display()));
    }
    Ok(summary)
}

/// Runs a built-in example with `prepare` called on its environment first (to register job
/// listeners, or to run it with another executor), and returns the job's result.
pub fn run_request(
    request: &RunRequest,
    prepare: impl FnOnce(&StreamExecutionEnvironment),
) -> anyhow::Result<JobResult> {
    if let Some(script) = &request.sql {
        return run_sql(request, script, prepare);
    }
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
        && flinkrs_jobs::input::socket_address(input)?.is_none()
    {
        bail!(
            "input path '{}' does not exist; --input expects {}",
            input.display(),
            example.input_help
        );
    }
    // An S3 prefix is checked by the file sink when it opens: that its bucket is there.
    if let Some(output) = &request.output
        && !output.to_string_lossy().contains("://")
    {
        check_output_folder(output)?;
    }
    let config = configuration(request)?;
    let env = StreamExecutionEnvironment::with_configuration(config);
    prepare(&env);
    let options = JobOptions {
        input: request.input.clone(),
        output: request.output.clone(),
        records_per_second: request.records_per_second,
    };
    (example.run)(&env, &options).with_context(|| format!("job '{}' failed", example.name))
}

/// Runs the `INSERT INTO` of a SQL script, configured by the request's properties and then by
/// the script's `SET` statements, as Flink's SQL client applies them over its configuration.
fn run_sql(
    request: &RunRequest,
    script: &SqlScript,
    prepare: impl FnOnce(&StreamExecutionEnvironment),
) -> anyhow::Result<JobResult> {
    let job = script.job()?;
    let env = StreamExecutionEnvironment::with_configuration(configuration(request)?);
    prepare(&env);
    job.build(&env)?;
    env.execute(job.name())
        .with_context(|| format!("SQL job '{}' failed", job.name()))
}

/// Checks before the job starts that `--output` is a folder the job can write, creating it
/// when missing.
fn check_output_folder(output: &Path) -> anyhow::Result<()> {
    if output.exists() && !output.is_dir() {
        bail!(
            "output path '{}' is not a directory; --output expects a folder, which is created \
             when missing",
            output.display()
        );
    }
    std::fs::create_dir_all(output)
        .with_context(|| format!("cannot create the output directory '{}'", output.display()))?;
    // A file of its own name: several TaskManagers of one host may check the same folder.
    let probe = tempfile::Builder::new()
        .prefix(".flinkrs-write-check-")
        .tempfile_in(output)
        .with_context(|| {
            format!(
                "the output directory '{}' is not writable",
                output.display()
            )
        })?;
    let path = probe.path().to_path_buf();
    probe
        .close()
        .with_context(|| format!("cannot remove the file '{}'", path.display()))
}
