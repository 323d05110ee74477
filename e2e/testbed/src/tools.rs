//! Client binaries tests run as subprocesses.

use std::path::PathBuf;

use crate::install::{HELM, KUBECTL};
use crate::skip::or_skip;

/// kubectl from the testbed cache, or `None` (CI: panic) when not installed.
pub fn kubectl(test_name: &str) -> Option<PathBuf> {
    or_skip(test_name, KUBECTL.locate())
}

/// helm from the testbed cache, or `None` (CI: panic) when not installed.
pub fn helm(test_name: &str) -> Option<PathBuf> {
    or_skip(test_name, HELM.locate())
}
