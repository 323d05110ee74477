//! Typed access to the configuration of a cluster's processes: where the JobManager listens,
//! and how JobManager and TaskManagers keep in touch. The keys are declared with the others
//! in the contract crate's registry.

use std::time::Duration;

use crate::config::{
    Configuration, HEARTBEAT_INTERVAL, HEARTBEAT_TIMEOUT, JOBMANAGER_RPC_ADDRESS,
    JOBMANAGER_RPC_PORT,
};

/// Typed access to the cluster's options.
impl Configuration {
    /// Where TaskManagers and clients reach the JobManager's control plane: `host:port`.
    pub fn jobmanager_rpc_address(&self) -> String {
        format!(
            "{}:{}",
            self.text(JOBMANAGER_RPC_ADDRESS),
            self.port(JOBMANAGER_RPC_PORT)
        )
    }

    /// A port option (an option of type [`OptionType::Port`]).
    pub fn port(&self, key: &str) -> u16 {
        self.text(key).parse().unwrap_or(0)
    }

    pub fn heartbeat_interval(&self) -> Duration {
        self.duration_of(HEARTBEAT_INTERVAL)
    }

    pub fn heartbeat_timeout(&self) -> Duration {
        self.duration_of(HEARTBEAT_TIMEOUT)
    }
}
