//! The command line, modelled on Flink's `flink run`: `-p` for parallelism and `-D` for any
//! configuration key, with Flink's key names.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use flinkrs_contract::cli::ClusterCommand;

use crate::client::{ListFilter, RestAddressArgs, parse_job_id};
use crate::logging::LogFormat;
use crate::rest::LocalJobManager;
use crate::run::{
    RunRequest, SqlScript, configuration, run_example_with, serve_metrics, serve_rest,
};
use crate::stop::StopOnSignal;

const RUN_EXAMPLES: &str = "\
Examples:
  flinkrs run --example scoreboard
  flinkrs run --example wordcount --input ./books -p 4
  flinkrs run --example wordcount -D execution.runtime-mode=batch
  flinkrs run --example windowed-sensors -D pipeline.name=sensors
  flinkrs run --example scoreboard -D execution.checkpointing.interval=10s \\
      -D execution.checkpointing.dir=/tmp/checkpoints
  flinkrs run --example scoreboard -s /tmp/checkpoints/<job-id>/chk-3
  flinkrs run --example wordcount --output /tmp/counts
  flinkrs run --example wordcount --output s3://bucket/counts -D s3.endpoint=http://127.0.0.1:9000
  flinkrs run --example wordcount --output /tmp/counts --rate 2 \\
      -D execution.checkpointing.interval=1s -D execution.checkpointing.dir=/tmp/checkpoints
  flinkrs run --example wordcount -D execution.checkpointing.interval=1s \\
      -D execution.checkpointing.externalized-checkpoint-retention=RETAIN_ON_CANCELLATION \\
      -D restart-strategy.type=fixed-delay -D restart-strategy.fixed-delay.attempts=3
  flinkrs run --example scoreboard -D execution.checkpointing.interval=10s \\
      -D execution.checkpointing.dir=s3://bucket/checkpoints -D s3.endpoint=http://127.0.0.1:9000
  flinkrs run -m localhost:8081 --example wordcount -p 4 --output /tmp/counts
  flinkrs run --sql-file job.sql -s /tmp/checkpoints/<job-id>/chk-3

With -m HOST:PORT the job is submitted to a cluster's JobManager through its REST API
(POST /flinkrs/jobs; rest.port, 8081 by default) and followed until it ends, or left to run
with -d; `flinkrs list`, `cancel`, `stop` and `savepoint` manage it from there.

Output (--output DIR): the results go into part files committed exactly once, as Flink's
FileSink writes them. A part file is hidden while written (.part-<uid>-<subtask>-<n>.inprogress)
and renamed to part-<uid>-<subtask>-<n> when the checkpoint holding it completes; a bounded
job ends with a final checkpoint, so nothing is left hidden. Without checkpointing the files
are committed at the end of the job. A job stopped and resumed with -s commits what its
checkpoint holds and writes the rest once: readers of DIR never see a record twice.
windowed-sensors writes its late readings into late-<uid>-<subtask>-<n> files. In S3
(--output s3://BUCKET/PREFIX) each part file is a multipart upload to its final key, completed
when its checkpoint completes: the object appears whole, and unfinished ones never appear.

Ctrl-C (SIGINT) or SIGTERM cancels the job; a second one exits at once. Completed checkpoints
are announced on stderr; when retention keeps them, the run prints the latest one and the
command that resumes from it with -s, then exits with 130 (SIGINT) or 143 (SIGTERM).

Configuration keys accepted by -D (Flink's names):
  parallelism.default               default parallelism of operators (same as -p)
  pipeline.name                     the job's name
  pipeline.max-parallelism          number of key groups, the limit for rescaling (default 128)
  execution.runtime-mode            streaming (emit updates) or batch (final results only)
  pipeline.auto-watermark-interval  how often periodic watermarks are emitted (default 200 ms)
  taskmanager.numberOfTaskSlots     slots per TaskManager of the local cluster (default 1)
  execution.buffer-timeout.interval longest wait before a partly filled batch is sent (100 ms)
  execution.checkpointing.interval  how often to checkpoint (off by default)
  execution.checkpointing.dir       where checkpoints go (a path, file:// or s3://bucket/prefix URI)
  execution.checkpointing.num-retained  completed checkpoints kept (default 1)
  execution.checkpointing.externalized-checkpoint-retention
                                    on cancel or final failure: NO_EXTERNALIZED_CHECKPOINTS
                                    (default: deleted), DELETE_ON_CANCELLATION (kept after a
                                    failure only) or RETAIN_ON_CANCELLATION (kept)
  restart-strategy.type             none (off, disable), fixed-delay, exponential-delay or
                                    failure-rate; default exponential-delay with checkpoints,
                                    none without
  restart-strategy.fixed-delay.attempts / .delay          restarts (1) and delay (1 s)
  restart-strategy.exponential-delay.initial-backoff      first delay (1 s)
  restart-strategy.exponential-delay.max-backoff          longest delay (1 min)
  restart-strategy.exponential-delay.backoff-multiplier   growth per failure (1.5)
  restart-strategy.exponential-delay.reset-backoff-threshold  failure-free time that resets
                                    the delay (1 h)
  restart-strategy.exponential-delay.jitter-factor        random share of the delay (0.1)
  restart-strategy.exponential-delay.attempts-before-reset-backoff  restarts (unlimited)
  restart-strategy.failure-rate.max-failures-per-interval / .failure-rate-interval / .delay
                                    restarts allowed per interval (1 per 1 min), delay (1 s)
  s3.endpoint, s3.region, s3.path-style-access
                                    where S3 is (MinIO and other S3-compatible stores)
  s3.access-key, s3.secret-key      S3 credentials (else AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)
  rest.port, rest.bind-address      Flink's REST API while the job runs (8081 on 127.0.0.1; 0 for
                                    any free port): /jobs/overview, PATCH /jobs/:id?mode=cancel,
                                    POST /jobs/:id/savepoints, /jobs/:id/checkpoints, ...
  metrics.reporter.prom.port        /metrics in Prometheus's format, with Flink's metric names
                                    (9249, or a range such as 9249-9250)";

/// flinkrs: stream and batch processing with Apache Flink's model, in Rust.
#[derive(Debug, Parser)]
#[command(name = "flinkrs", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Log format on standard error; the level comes from RUST_LOG (default: warn).
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a job to completion on an in-process local cluster.
    #[command(after_help = RUN_EXAMPLES)]
    Run(RunArgs),
    /// List the jobs of a JobManager (running and scheduled ones unless -r, -s or -a).
    #[command(after_help = CLIENT_NOTES)]
    List(ListArgs),
    /// Cancel a job.
    #[command(after_help = CLIENT_NOTES)]
    Cancel(CancelArgs),
    /// Stop a job with a savepoint.
    #[command(after_help = CLIENT_NOTES)]
    Stop(StopArgs),
    /// Trigger a savepoint of a running job.
    #[command(after_help = CLIENT_NOTES)]
    Savepoint(SavepointArgs),
    /// Flink's SQL client: run SQL scripts (-f, -i) or type statements.
    Sql(crate::sql_client::SqlArgs),
    /// List the built-in example jobs.
    Examples,
    /// The cluster's processes (`jobmanager`, `taskmanager`, `local`), with the arguments the
    /// operator's pods pass: their definitions live in the contract crate the operator shares.
    #[command(flatten)]
    Cluster(ClusterCommand),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The built-in job to run (see `flinkrs examples`).
    #[arg(long, value_name = "NAME", required_unless_present = "sql_file")]
    pub example: Option<String>,

    /// Run this Flink SQL script's INSERT INTO as the job, instead of a built-in example: its
    /// CREATE, SET and USE statements run first, and the options it sets are the job's
    /// configuration (checkpointing, restart strategy, ...), over -D.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["example", "input", "output", "rate"])]
    pub sql_file: Option<PathBuf>,

    /// Input file or directory, instead of the example's built-in data.
    #[arg(long, value_name = "PATH")]
    pub input: Option<PathBuf>,

    /// Write the results into this directory, or S3 prefix (s3://BUCKET/PREFIX, reached with
    /// the s3.* keys), through the exactly-once file sink (part files committed with the
    /// checkpoints, or at the end), instead of printing them.
    #[arg(long, value_name = "DIR")]
    pub output: Option<PathBuf>,

    /// Throttle the job's source to N records per second, shared by its subtasks (for demos
    /// and kill tests).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub rate: Option<u64>,

    /// Parallelism of the job's operators (overrides parallelism.default).
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub parallelism: Option<u32>,

    /// A configuration value, as key=value with Flink's key names. Repeatable.
    #[arg(short = 'D', value_name = "KEY=VALUE")]
    pub dynamic_properties: Vec<String>,

    /// Restore from this checkpoint or savepoint: a chk-<n> folder or its _metadata file,
    /// local or s3://bucket/… (sets execution.state-recovery.path).
    #[arg(short = 's', long = "fromSavepoint", value_name = "PATH")]
    pub from_savepoint: Option<PathBuf>,

    /// Restore even if the checkpoint holds state of operators the job no longer has (sets
    /// execution.state-recovery.ignore-unclaimed-state).
    #[arg(short = 'n', long = "allowNonRestoredState")]
    pub allow_non_restored_state: bool,

    /// Submit the job to the JobManager whose REST API is at HOST:PORT (rest.port, 8081 by
    /// default) instead of running it in this process.
    #[arg(short = 'm', long = "jobmanager", value_name = "HOST:PORT", value_parser = crate::client::parse_rest_address)]
    pub jobmanager: Option<String>,

    /// With -m: return once the job is submitted, without waiting for it to end.
    #[arg(short = 'd', long = "detached", requires = "jobmanager")]
    pub detached: bool,
}

const CLIENT_NOTES: &str = "\
The JobManager's REST API is at -m HOST:PORT, else at rest.address and rest.port of --config
FILE and -D (localhost:8081 by default): `flinkrs jobmanager` and `flinkrs local` serve it, and
so does `flinkrs run` while its job runs.";

/// `flinkrs list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub rest: RestAddressArgs,

    /// Show only running (and restarting) jobs.
    #[arg(short = 'r', long)]
    pub running: bool,

    /// Show only scheduled jobs.
    #[arg(short = 's', long)]
    pub scheduled: bool,

    /// Show every job, ended ones too.
    #[arg(short = 'a', long)]
    pub all: bool,
}

/// `flinkrs cancel`.
#[derive(Debug, Args)]
pub struct CancelArgs {
    #[command(flatten)]
    pub rest: RestAddressArgs,

    /// The job's id (32 hexadecimal digits; `flinkrs list` shows them).
    #[arg(value_name = "JOBID", value_parser = parse_job_id)]
    pub job_id: String,
}

/// `flinkrs stop`.
#[derive(Debug, Args)]
pub struct StopArgs {
    #[command(flatten)]
    pub rest: RestAddressArgs,

    /// Where the savepoint goes (default: execution.checkpointing.savepoint-dir of the job).
    #[arg(short = 'p', long = "savepointPath", value_name = "DIR")]
    pub savepoint_path: Option<PathBuf>,

    /// Emit the maximum watermark before the savepoint, so event-time windows fire.
    #[arg(short = 'd', long)]
    pub drain: bool,

    /// The job's id (32 hexadecimal digits).
    #[arg(value_name = "JOBID", value_parser = parse_job_id)]
    pub job_id: String,
}

/// `flinkrs savepoint`.
#[derive(Debug, Args)]
pub struct SavepointArgs {
    #[command(flatten)]
    pub rest: RestAddressArgs,

    /// The job's id (32 hexadecimal digits).
    #[arg(value_name = "JOBID", value_parser = parse_job_id)]
    pub job_id: String,

    /// Where the savepoint goes (default: execution.checkpointing.savepoint-dir of the job).
    #[arg(value_name = "DIR")]
    pub target_directory: Option<PathBuf>,
}

/// Runs a client command, printing its messages on standard output.
fn client_command(command: Command) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    let directory = |path: Option<PathBuf>| path.as_deref().map(crate::client::absolute);
    match command {
        Command::List(args) => {
            let filter = ListFilter {
                running: args.running,
                scheduled: args.scheduled,
                all: args.all,
            };
            crate::client::list(&args.rest.client()?, filter, &mut stdout)
        }
        Command::Cancel(args) => {
            crate::client::cancel(&args.rest.client()?, &args.job_id, &mut stdout)
        }
        Command::Stop(args) => crate::client::stop(
            &args.rest.client()?,
            &args.job_id,
            directory(args.savepoint_path),
            args.drain,
            &mut stdout,
        ),
        Command::Savepoint(args) => crate::client::savepoint(
            &args.rest.client()?,
            &args.job_id,
            directory(args.target_directory),
            &mut stdout,
        ),
        Command::Run(_) | Command::Examples | Command::Cluster(_) | Command::Sql(_) => Ok(()),
    }
}

/// How long `flinkrs run`, its job stopped with a savepoint over REST, keeps its REST API for
/// the client to read the savepoint's path. A client that polls reads it within a poll.
const SAVEPOINT_OUTCOME_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);

/// Whether the job ended because it was cancelled.
pub(crate) fn is_cancelled(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<flinkrs_core::Error>(),
            Some(flinkrs_core::Error::Cancelled)
        )
    })
}

/// Runs the parsed command and turns its outcome into an exit code: 0 on success, 1 when
/// the job or its set-up failed.
pub fn dispatch(cli: Cli) -> ExitCode {
    match cli.command {
        command @ (Command::List(_)
        | Command::Cancel(_)
        | Command::Stop(_)
        | Command::Savepoint(_)) => match client_command(command) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("error: {error:#}");
                ExitCode::FAILURE
            }
        },
        Command::Cluster(command) => match crate::process::start(command) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("error: {error:#}");
                ExitCode::FAILURE
            }
        },
        Command::Sql(args) => crate::sql_client::run(args),
        Command::Examples => {
            for example in flinkrs_jobs::JOBS {
                println!(
                    "{:<18} {}\n{:<18} --input: {}",
                    example.name, example.description, "", example.input_help
                );
            }
            ExitCode::SUCCESS
        }
        Command::Run(args) if args.jobmanager.is_some() => {
            let submitted = RestAddressArgs {
                jobmanager: args.jobmanager.clone(),
                ..RestAddressArgs::default()
            }
            .client()
            .and_then(|client| {
                let submission = crate::client::submission_of(&args)?;
                crate::client::submit(&client, &submission, args.detached)
            });
            match submitted {
                Ok(summary) => {
                    eprintln!("{summary}");
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("error: {error:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Run(args) => {
            let mut dynamic_properties = args.dynamic_properties;
            if let Some(path) = &args.from_savepoint {
                dynamic_properties
                    .push(format!("execution.state-recovery.path={}", path.display()));
            }
            if args.allow_non_restored_state {
                dynamic_properties
                    .push("execution.state-recovery.ignore-unclaimed-state=true".to_owned());
            }
            let sql = match args.sql_file.as_deref().map(SqlScript::read).transpose() {
                Ok(sql) => sql,
                Err(error) => {
                    eprintln!("error: {error:#}");
                    return ExitCode::FAILURE;
                }
            };
            let request = RunRequest {
                example: args.example.unwrap_or_default(),
                sql,
                input: args.input,
                output: args.output,
                records_per_second: args.rate,
                parallelism: args.parallelism.map(|p| p as usize),
                dynamic_properties,
            };
            let stop = match StopOnSignal::install() {
                Ok(stop) => Some(stop),
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for SIGINT and SIGTERM");
                    None
                }
            };
            let job_manager = LocalJobManager::new();
            let servers = serve_rest(&request, &job_manager)
                .and_then(|rest| Ok((rest, serve_metrics(&request, &job_manager)?)));
            let servers = match servers {
                Ok(servers) => servers,
                Err(error) => {
                    eprintln!("error: {error:#}");
                    return ExitCode::FAILURE;
                }
            };
            let outcome = run_example_with(&request, |env| {
                env.register_job_listener(job_manager.listener());
                if let Some(stop) = &stop {
                    env.register_job_listener(stop.listener());
                }
            });
            let ended_by_savepoint = match &outcome {
                Err(error) if is_cancelled(error) => job_manager.ended_by_savepoint(),
                _ => None,
            };
            // The client of the stop polls for the savepoint's path: answer it before the
            // REST API goes.
            if ended_by_savepoint.is_some()
                && !job_manager.wait_until_ending_read(SAVEPOINT_OUTCOME_PATIENCE)
            {
                tracing::info!(
                    "no client asked for the outcome of the savepoint that stopped the job"
                );
            }
            drop(servers);
            if let Some(stop) = &stop {
                stop.finish_announcing();
            }
            match outcome {
                Ok(summary) => {
                    eprintln!("{summary}");
                    ExitCode::SUCCESS
                }
                Err(_) if let Some(ending) = &ended_by_savepoint => {
                    let arguments: Vec<_> = std::env::args_os().collect();
                    eprintln!("{}", crate::stop::savepoint_report(ending, &arguments));
                    ExitCode::SUCCESS
                }
                Err(error) => match stop.as_ref().and_then(|stop| stop.received()) {
                    // Cancelled by a signal: where to resume from, and 128 + the signal.
                    Some(signal) if is_cancelled(&error) => {
                        let config = configuration(&request).unwrap_or_default();
                        let arguments: Vec<_> = std::env::args_os().collect();
                        if let Some(stop) = &stop {
                            eprintln!("{}", stop.cancelled_report(&config, &arguments));
                        }
                        ExitCode::from(u8::try_from(128 + signal).unwrap_or(1))
                    }
                    _ => {
                        eprintln!("error: {error:#}");
                        ExitCode::FAILURE
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use flinkrs_contract::cli::{JobManagerArgs, LocalArgs, ProcessArgs, TaskManagerArgs};

    use super::*;

    /// The commands the operator's pods run parse with this binary's CLI into the same
    /// contract values the operator built them from.
    #[test]
    fn pod_commands_built_by_the_contract_parse_with_the_flinkrs_cli() {
        let process = ProcessArgs {
            config: Some("/opt/flinkrs/conf/config.yaml".into()),
            dynamic_properties: vec!["rest.port=0".into()],
        };
        let commands = [
            ClusterCommand::JobManager(JobManagerArgs {
                process: process.clone(),
                example: Some("wordcount".into()),
                ..JobManagerArgs::default()
            }),
            ClusterCommand::JobManager(JobManagerArgs {
                process: process.clone(),
                program_args: vec!["--input".into(), "s3://b/in".into()],
                ..JobManagerArgs::default()
            }),
            ClusterCommand::TaskManager(TaskManagerArgs {
                process: process.clone(),
                jobmanager: Some("orders-jobmanager.analytics.svc:6123".into()),
            }),
            ClusterCommand::Local(LocalArgs {
                process,
                taskmanagers: 3,
            }),
        ];
        for command in commands {
            let args = command.to_args();
            let cli =
                Cli::try_parse_from(std::iter::once("flinkrs".to_owned()).chain(args.clone()))
                    .unwrap_or_else(|error| panic!("{args:?}: {error}"));
            match cli.command {
                Command::Cluster(parsed) => assert_eq!(parsed, command, "{args:?}"),
                other => panic!("{args:?} parsed as {other:?}"),
            }
        }
    }
}
