//! The configuration of a cluster's processes: where the JobManager listens, what a
//! TaskManager offers and advertises, and how the two keep in touch. Flink's keys, defaults
//! and meanings; [`Configuration`](crate::Configuration) accepts them next to the job's keys
//! in [`OPTIONS`](crate::config::OPTIONS).

use std::time::Duration;

use crate::config::{ConfigOption, Configuration, OptionType};

pub const JOBMANAGER_RPC_ADDRESS: &str = "jobmanager.rpc.address";
pub const JOBMANAGER_RPC_PORT: &str = "jobmanager.rpc.port";
pub const JOBMANAGER_BIND_HOST: &str = "jobmanager.bind-host";
pub const TASKMANAGER_HOST: &str = "taskmanager.host";
pub const TASKMANAGER_BIND_HOST: &str = "taskmanager.bind-host";
pub const TASKMANAGER_RPC_PORT: &str = "taskmanager.rpc.port";
pub const TASKMANAGER_DATA_PORT: &str = "taskmanager.data.port";
pub const TASKMANAGER_RESOURCE_ID: &str = "taskmanager.resource-id";
pub const HEARTBEAT_INTERVAL: &str = "heartbeat.interval";
pub const HEARTBEAT_TIMEOUT: &str = "heartbeat.timeout";
pub const REGISTRATION_INITIAL_TIMEOUT: &str = "cluster.registration.initial-timeout";
pub const REGISTRATION_MAX_TIMEOUT: &str = "cluster.registration.max-timeout";
pub const SLOT_REQUEST_TIMEOUT: &str = "slot.request.timeout";

/// The cluster's options, declared as the job's are.
pub const CLUSTER_OPTIONS: &[ConfigOption] = &[
    ConfigOption {
        key: JOBMANAGER_RPC_ADDRESS,
        value_type: OptionType::Text,
        default: "localhost",
        description: "The host TaskManagers and clients reach the JobManager at.",
    },
    ConfigOption {
        key: JOBMANAGER_RPC_PORT,
        value_type: OptionType::Port,
        default: "6123",
        description: "The JobManager's control-plane (gRPC) port; 0 picks a free one.",
    },
    ConfigOption {
        key: JOBMANAGER_BIND_HOST,
        value_type: OptionType::Text,
        default: "0.0.0.0",
        description: "The local address the JobManager's control plane listens on.",
    },
    ConfigOption {
        key: TASKMANAGER_HOST,
        value_type: OptionType::Text,
        default: "",
        description: "The host a TaskManager advertises to the JobManager and the other \
                      TaskManagers (a pod IP); empty means this machine's host name.",
    },
    ConfigOption {
        key: TASKMANAGER_BIND_HOST,
        value_type: OptionType::Text,
        default: "0.0.0.0",
        description: "The local address a TaskManager listens on.",
    },
    ConfigOption {
        key: TASKMANAGER_RPC_PORT,
        value_type: OptionType::Port,
        default: "0",
        description: "A TaskManager's control-plane (gRPC) port; 0 picks a free one.",
    },
    ConfigOption {
        key: TASKMANAGER_DATA_PORT,
        value_type: OptionType::Port,
        default: "0",
        description: "A TaskManager's data-plane port, for records between TaskManagers; \
                      0 picks a free one.",
    },
    ConfigOption {
        key: TASKMANAGER_RESOURCE_ID,
        value_type: OptionType::Text,
        default: "",
        description: "A TaskManager's id; empty means its advertised address and port with a \
                      random suffix.",
    },
    ConfigOption {
        key: HEARTBEAT_INTERVAL,
        value_type: OptionType::Duration,
        default: "10 s",
        description: "How often a TaskManager and the JobManager exchange heartbeats.",
    },
    ConfigOption {
        key: HEARTBEAT_TIMEOUT,
        value_type: OptionType::Duration,
        default: "50 s",
        description: "How long without a heartbeat before the other side counts as lost.",
    },
    ConfigOption {
        key: REGISTRATION_INITIAL_TIMEOUT,
        value_type: OptionType::Duration,
        default: "100 ms",
        description: "A TaskManager's first wait before it retries a failed registration; \
                      each retry waits twice as long.",
    },
    ConfigOption {
        key: REGISTRATION_MAX_TIMEOUT,
        value_type: OptionType::Duration,
        default: "30 s",
        description: "The longest a TaskManager waits between registration attempts.",
    },
    ConfigOption {
        key: SLOT_REQUEST_TIMEOUT,
        value_type: OptionType::Duration,
        default: "5 min",
        description: "How long a job waits for enough free slots before it fails.",
    },
];

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
