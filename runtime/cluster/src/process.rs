//! The cluster's processes: `flinkrs jobmanager`, `flinkrs taskmanager` and `flinkrs local`.
//! Their command line is the contract crate's [`ClusterCommand`], which the operator uses to
//! build its pods' arguments.

use anyhow::bail;
use flinkrs_contract::cli::ClusterCommand;

/// Starts the process `command` names and runs it until it is told to stop.
pub fn start(command: ClusterCommand) -> anyhow::Result<()> {
    let name = match command {
        ClusterCommand::JobManager(_) => "jobmanager",
        ClusterCommand::TaskManager(_) => "taskmanager",
        ClusterCommand::Local(_) => "local",
    };
    bail!(
        "`flinkrs {name}` is not implemented yet: cluster mode is being built (issue 9); run a \
         job in one process with `flinkrs run --example NAME`"
    )
}
