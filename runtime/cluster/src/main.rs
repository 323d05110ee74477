//! The `flinkrs` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = flinkrs_cluster::cli::Cli::parse();
    flinkrs_cluster::logging::init(cli.log_format);
    flinkrs_cluster::cli::dispatch(cli)
}
