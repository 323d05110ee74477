//! The `flinkrs` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    with_malloc_tunables();
    let cli = flinkrs_cluster::cli::Cli::parse();
    flinkrs_cluster::logging::init(cli.log_format);
    flinkrs_cluster::cli::dispatch(cli)
}

/// glibc's allocator serves a large allocation with its own mapping (above a threshold that
/// grows to 32 MiB at most) and gives it back to the kernel when it is freed, and it trims the
/// heap's free top beyond 128 KiB. A job allocates and frees such buffers for every batch (a
/// JSON or Arrow batch's columns), so each batch faulted its memory in again page by page:
/// 30% of a stateless Nexmark query's CPU time, and a third of q4's. These tunables keep
/// allocations up to 32 MiB in the heap and the heap's free top up to 64 MiB.
const MALLOC_TUNABLES: &str =
    "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=67108864";

/// glibc reads its tunables when a process starts, so the binary starts itself again, once,
/// with [`MALLOC_TUNABLES`] added to `GLIBC_TUNABLES`. Malloc tunables set by the user win; if
/// the new start fails, this one runs on with glibc's defaults.
fn with_malloc_tunables() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;
        let current = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
        if current.contains("glibc.malloc.") {
            return;
        }
        let Ok(binary) = std::env::current_exe() else {
            return;
        };
        let tunables = if current.is_empty() {
            MALLOC_TUNABLES.to_owned()
        } else {
            format!("{current}:{MALLOC_TUNABLES}")
        };
        let mut arguments = std::env::args_os();
        let mut command = std::process::Command::new(binary);
        if let Some(name) = arguments.next() {
            command.arg0(name);
        }
        // `exec` returns only when it failed.
        let _ = command
            .args(arguments)
            .env("GLIBC_TUNABLES", tunables)
            .exec();
    }
}
