//! One node per machine: the node owns fixed addresses, ports (kubelet's
//! 10250, DNS on 53) and iptables chains, so a second node started by a test
//! running in parallel waits here until the first is torn down.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{Result, error::io_at};

/// An exclusive advisory lock on a file in the testbed cache, released when
/// dropped (or when the process dies, so a killed test never blocks later ones).
pub(crate) struct NodeLock {
    _file: File,
}

impl NodeLock {
    /// Blocks until no other node runs on this machine.
    pub(crate) fn acquire(cache_root: &Path, test_name: &str) -> Result<NodeLock> {
        let path: PathBuf = cache_root.join("kube-node.lock");
        std::fs::create_dir_all(cache_root).map_err(io_at(cache_root))?;
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_at(&path))?;
        if file.try_lock().is_err() {
            let _ = writeln!(
                std::io::stderr(),
                "{test_name}: waiting for the real node of another test to be torn down ({})",
                path.display()
            );
            file.lock().map_err(io_at(&path))?;
        }
        Ok(NodeLock { _file: file })
    }
}
