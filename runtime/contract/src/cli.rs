//! The command line of the cluster's processes, as the pods run them:
//!
//! ```text
//! flinkrs jobmanager  --config FILE [-D KEY=VALUE]… [--example NAME [--input PATH] [--output DIR]
//!                     [--rate N] | --sql-file FILE | -- ARGS…]
//! flinkrs taskmanager --config FILE [-D KEY=VALUE]… --jobmanager HOST:PORT
//! flinkrs local       --config FILE [-D KEY=VALUE]… [--taskmanagers N]
//! ```
//!
//! The operator builds these arguments with [`ClusterCommand::to_args`]; the `flinkrs` binary
//! parses them with the same clap definitions (it flattens [`ClusterCommand`] into its own
//! subcommands), so a pod's command line cannot drift from what the runtime accepts.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// The processes of a cluster.
#[derive(Clone, Debug, PartialEq, Eq, Subcommand)]
pub enum ClusterCommand {
    /// Start a JobManager: the REST API, the control plane TaskManagers register with, and, in
    /// application mode, the job it was started with.
    #[command(name = "jobmanager")]
    JobManager(JobManagerArgs),
    /// Start a TaskManager that offers taskmanager.numberOfTaskSlots slots to a JobManager.
    #[command(name = "taskmanager")]
    TaskManager(TaskManagerArgs),
    /// Start a session cluster in one process: a JobManager and N TaskManagers, for a laptop.
    #[command(name = "local")]
    Local(LocalArgs),
}

/// What every process of the cluster takes: its configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Args)]
pub struct ProcessArgs {
    /// The configuration file: YAML with Flink's keys (as Flink's config.yaml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// A configuration value on top of the file, as key=value with Flink's key names.
    /// Repeatable.
    #[arg(short = 'D', value_name = "KEY=VALUE")]
    pub dynamic_properties: Vec<String>,
}

/// `flinkrs jobmanager`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Args)]
pub struct JobManagerArgs {
    #[command(flatten)]
    pub process: ProcessArgs,

    /// Application mode: run this built-in job (see `flinkrs examples`).
    #[arg(long, value_name = "NAME", conflicts_with = "sql_file")]
    pub example: Option<String>,

    /// Application mode: run this Flink SQL script.
    #[arg(long, value_name = "FILE")]
    pub sql_file: Option<PathBuf>,

    /// Application mode with --example: the job's input file or folder, instead of its
    /// built-in data (as `flinkrs run --input`).
    #[arg(long, value_name = "PATH", requires = "example")]
    pub input: Option<String>,

    /// Application mode with --example: the folder or S3 prefix (s3://BUCKET/PREFIX) the
    /// results go to through the exactly-once file sink (as `flinkrs run --output`).
    #[arg(long, value_name = "DIR", requires = "example")]
    pub output: Option<String>,

    /// Application mode with --example: throttle the source to N records per second.
    #[arg(long, value_name = "N", requires = "example", value_parser = clap::value_parser!(u64).range(1..))]
    pub rate: Option<u64>,

    /// Application mode: the arguments of a user's Rust job program, after `--`.
    #[arg(last = true, value_name = "ARGS", conflicts_with_all = ["example", "sql_file"])]
    pub program_args: Vec<String>,
}

/// `flinkrs taskmanager`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Args)]
pub struct TaskManagerArgs {
    #[command(flatten)]
    pub process: ProcessArgs,

    /// The JobManager's control-plane address, HOST:PORT (default: jobmanager.rpc.address and
    /// jobmanager.rpc.port from the configuration).
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_host_port)]
    pub jobmanager: Option<String>,
}

/// `flinkrs local`.
#[derive(Clone, Debug, PartialEq, Eq, Args)]
pub struct LocalArgs {
    #[command(flatten)]
    pub process: ProcessArgs,

    /// How many TaskManagers to start in the process.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub taskmanagers: u32,
}

impl Default for LocalArgs {
    fn default() -> Self {
        LocalArgs {
            process: ProcessArgs::default(),
            taskmanagers: 1,
        }
    }
}

/// Checks a `HOST:PORT` address: a host, a colon, and a port number.
pub fn parse_host_port(text: &str) -> Result<String, String> {
    let invalid = || format!("'{text}' is not HOST:PORT; write e.g. 'flink-jobmanager:6123'");
    let (host, port) = text.rsplit_once(':').ok_or_else(invalid)?;
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(invalid());
    }
    Ok(text.to_owned())
}

impl ProcessArgs {
    fn push_args(&self, args: &mut Vec<String>) {
        if let Some(config) = &self.config {
            args.extend(["--config".to_owned(), config.display().to_string()]);
        }
        for property in &self.dynamic_properties {
            args.extend(["-D".to_owned(), property.clone()]);
        }
    }
}

impl ClusterCommand {
    /// The arguments after the program name (`flinkrs`) that run this command: what the
    /// operator puts in a pod's `args`.
    pub fn to_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        match self {
            ClusterCommand::JobManager(jobmanager) => {
                args.push("jobmanager".to_owned());
                jobmanager.process.push_args(&mut args);
                if let Some(example) = &jobmanager.example {
                    args.extend(["--example".to_owned(), example.clone()]);
                }
                if let Some(input) = &jobmanager.input {
                    args.extend(["--input".to_owned(), input.clone()]);
                }
                if let Some(output) = &jobmanager.output {
                    args.extend(["--output".to_owned(), output.clone()]);
                }
                if let Some(rate) = jobmanager.rate {
                    args.extend(["--rate".to_owned(), rate.to_string()]);
                }
                if let Some(sql_file) = &jobmanager.sql_file {
                    args.extend(["--sql-file".to_owned(), sql_file.display().to_string()]);
                }
                if !jobmanager.program_args.is_empty() {
                    args.push("--".to_owned());
                    args.extend(jobmanager.program_args.iter().cloned());
                }
            }
            ClusterCommand::TaskManager(taskmanager) => {
                args.push("taskmanager".to_owned());
                taskmanager.process.push_args(&mut args);
                if let Some(address) = &taskmanager.jobmanager {
                    args.extend(["--jobmanager".to_owned(), address.clone()]);
                }
            }
            ClusterCommand::Local(local) => {
                args.push("local".to_owned());
                local.process.push_args(&mut args);
                args.extend(["--taskmanagers".to_owned(), local.taskmanagers.to_string()]);
            }
        }
        args
    }
}

/// Only the cluster's commands, for parsing a pod's arguments without the whole `flinkrs` CLI.
#[derive(Debug, Parser)]
#[command(name = "flinkrs")]
struct PodCommandLine {
    #[command(subcommand)]
    command: ClusterCommand,
}

/// Parses a pod's arguments (without the program name) as the `flinkrs` binary does.
pub fn parse_pod_args<I, S>(args: I) -> Result<ClusterCommand, clap::Error>
where
    I: IntoIterator<Item = S>,
    S: Into<std::ffi::OsString> + Clone,
{
    let mut words: Vec<std::ffi::OsString> = vec!["flinkrs".into()];
    words.extend(args.into_iter().map(Into::into));
    PodCommandLine::try_parse_from(words).map(|line| line.command)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(command: ClusterCommand) {
        let args = command.to_args();
        let parsed = parse_pod_args(&args).unwrap_or_else(|error| panic!("{args:?}: {error}"));
        assert_eq!(parsed, command, "{args:?}");
    }

    #[test]
    fn every_command_parses_back_from_its_arguments() {
        let process = ProcessArgs {
            config: Some("/opt/flinkrs/conf/config.yaml".into()),
            dynamic_properties: vec!["parallelism.default=4".into()],
        };
        round_trip(ClusterCommand::JobManager(JobManagerArgs {
            process: process.clone(),
            example: Some("wordcount".into()),
            ..JobManagerArgs::default()
        }));
        round_trip(ClusterCommand::JobManager(JobManagerArgs {
            process: process.clone(),
            example: Some("wordcount".into()),
            input: Some("/data/books".into()),
            output: Some("s3://bucket/counts".into()),
            rate: Some(100),
            ..JobManagerArgs::default()
        }));
        round_trip(ClusterCommand::JobManager(JobManagerArgs {
            process: process.clone(),
            sql_file: Some("/opt/flinkrs/conf/job.sql".into()),
            ..JobManagerArgs::default()
        }));
        round_trip(ClusterCommand::JobManager(JobManagerArgs {
            process: process.clone(),
            program_args: vec!["--input".into(), "-x".into(), "s3://b/in".into()],
            ..JobManagerArgs::default()
        }));
        round_trip(ClusterCommand::TaskManager(TaskManagerArgs {
            process: process.clone(),
            jobmanager: Some("wordcount-jobmanager.jobs.svc:6123".into()),
        }));
        round_trip(ClusterCommand::Local(LocalArgs {
            process,
            taskmanagers: 3,
        }));
    }

    #[test]
    fn pod_commands_read_as_the_operator_writes_them() {
        let command = parse_pod_args([
            "taskmanager",
            "--config",
            "/opt/flinkrs/conf/config.yaml",
            "--jobmanager",
            "x-jobmanager.ns.svc:6123",
        ])
        .unwrap();
        assert_eq!(
            command,
            ClusterCommand::TaskManager(TaskManagerArgs {
                process: ProcessArgs {
                    config: Some("/opt/flinkrs/conf/config.yaml".into()),
                    dynamic_properties: vec![],
                },
                jobmanager: Some("x-jobmanager.ns.svc:6123".into()),
            })
        );
    }

    #[test]
    fn bad_pod_commands_are_refused_with_the_reason() {
        let error = parse_pod_args(["taskmanager", "--jobmanager", "no-port"]).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("'no-port' is not HOST:PORT; write e.g. 'flink-jobmanager:6123'"),
            "{error}"
        );
        let error = parse_pod_args([
            "jobmanager",
            "--example",
            "wordcount",
            "--sql-file",
            "a.sql",
        ])
        .unwrap_err();
        assert!(error.to_string().contains("cannot be used with"), "{error}");
        assert!(parse_pod_args(["local", "--taskmanagers", "0"]).is_err());
        assert!(parse_pod_args(["submarine"]).is_err());
    }
}
