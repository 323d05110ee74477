//! Client properties (Flink's `properties.*`) and errors from librdkafka, with context.

use std::collections::BTreeMap;
use std::time::Duration;

use flinkrs_core::Error;
use rdkafka::ClientConfig;
use rdkafka::error::KafkaError;

/// librdkafka's own default of `request.timeout.ms`.
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Kafka client properties: `bootstrap.servers`, `group.id`, `request.timeout.ms` and any
/// other librdkafka property, passed through as given (Flink's `properties.*` options).
#[derive(Clone, Debug, Default)]
pub struct KafkaProperties {
    entries: BTreeMap<String, String>,
}

impl KafkaProperties {
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.entries.insert(key.into(), value.into());
    }

    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.entries.remove(key)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(String::as_str)
    }

    pub fn bootstrap_servers(&self) -> &str {
        self.get("bootstrap.servers").unwrap_or("")
    }

    /// How long one metadata, offset or transaction request may take: `request.timeout.ms`
    /// (librdkafka's default of 30 s when unset or not a number).
    pub fn request_timeout(&self) -> Duration {
        self.get("request.timeout.ms")
            .and_then(|millis| millis.parse().ok())
            .map(Duration::from_millis)
            .unwrap_or(DEFAULT_REQUEST_TIMEOUT)
    }

    /// A client configuration with these properties, then `overrides` on top.
    pub(crate) fn client_config(&self, overrides: &[(&str, &str)]) -> ClientConfig {
        let mut config = ClientConfig::new();
        for (key, value) in &self.entries {
            config.set(key, value);
        }
        for (key, value) in overrides {
            config.set(*key, *value);
        }
        config
    }
}

/// A librdkafka error with what was being done, the role (`"Kafka source"`, `"Kafka sink"`)
/// and the bootstrap servers.
pub(crate) fn kafka_error(role: &str, servers: &str, action: &str, error: KafkaError) -> Error {
    Error::function(format!(
        "{role} (bootstrap.servers '{servers}'): {action} failed: {error}"
    ))
}
