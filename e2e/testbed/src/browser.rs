//! A browser for the web UI's tests: Debian's `chromium` (at `/usr/bin/chromium`, from the
//! system's apt) driven by `playwright-core` from npm (cached under
//! `~/.cache/flinkrs/playwright-core-<version>/`), both installed by
//! `e2e/testbed/install/chromium.sh`.
//!
//! A test writes its steps as a Node.js script that `require`s `playwright-core` and launches
//! the browser at `process.env.CHROMIUM` with [`LAUNCH_ARGS`] (`process.env.CHROMIUM_ARGS`,
//! comma-separated); [`Browser::node`] gives the command that runs it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::install::{Installed, cache_root, pinned_version};
use crate::skip::or_skip;
use crate::{Error, Result};

/// Where Debian's package puts the browser.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Headless, without a sandbox (tests run as root), a GPU or any of the browser's own network
/// traffic.
pub const LAUNCH_ARGS: [&str; 6] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

const PLAYWRIGHT_CORE: Installed = Installed {
    component: "playwright-core",
    version_key: "PLAYWRIGHT_CORE_VERSION",
    dir: "playwright-core",
    relative_path: "node_modules/playwright-core/package.json",
};

/// The browser, its driver and Node.js, all found.
#[derive(Debug, Clone)]
pub struct Browser {
    pub chromium: PathBuf,
    /// The `node_modules` folder holding `playwright-core`.
    pub node_modules: PathBuf,
    pub node: PathBuf,
}

impl Browser {
    /// The browser, or `None` after a `SKIPPED` line when a part is missing (a panic in CI).
    pub fn find(test_name: &str) -> Option<Browser> {
        or_skip(test_name, Self::try_find())
    }

    pub fn try_find() -> Result<Browser> {
        let chromium = PathBuf::from(CHROMIUM);
        if !chromium.is_file() {
            return Err(Error::NotInstalled {
                component: "chromium (Debian's package)".to_owned(),
                path: chromium,
            });
        }
        let package = PLAYWRIGHT_CORE.locate()?;
        let node_modules = package
            .parent()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_else(|| cache_root().join("playwright-core"));
        let node = find_on_path("node").ok_or_else(|| Error::NotInstalled {
            component: format!(
                "node (to run playwright-core {})",
                pinned_version("PLAYWRIGHT_CORE_VERSION").unwrap_or("?")
            ),
            path: PathBuf::from("node on PATH"),
        })?;
        Ok(Browser {
            chromium,
            node_modules,
            node,
        })
    }

    /// `node script`, with `playwright-core` resolvable (`NODE_PATH`), and `CHROMIUM` and
    /// `CHROMIUM_ARGS` set for the script's `chromium.launch`.
    pub fn node(&self, script: &Path) -> Command {
        let mut command = Command::new(&self.node);
        command
            .arg(script)
            .env("NODE_PATH", &self.node_modules)
            .env("CHROMIUM", &self.chromium)
            .env("CHROMIUM_ARGS", LAUNCH_ARGS.join(","));
        command
    }
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}
