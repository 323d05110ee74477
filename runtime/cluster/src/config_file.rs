//! The configuration file of a cluster's processes (`--config FILE`): YAML with Flink's keys,
//! as Flink's `config.yaml`. Keys may be written flat (`taskmanager.numberOfTaskSlots: 2`) or
//! nested (`taskmanager: {numberOfTaskSlots: 2}`); both mean the same key. `-D KEY=VALUE`
//! properties go on top of the file.
//!
//! Every key is checked as a `-D` property is: an unknown key or a malformed value is an
//! error that names the file, the line and the key.

use std::path::Path;

use anyhow::{Context as _, bail};
use flinkrs_core::Configuration;
use serde_yaml::Value;

/// Reads `path` (if given), then applies `dynamic_properties` on top.
pub fn load(path: Option<&Path>, dynamic_properties: &[String]) -> anyhow::Result<Configuration> {
    let mut config = match path {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| {
                format!("cannot read the configuration file {}", path.display())
            })?;
            parse(&text, &path.display().to_string())?
        }
        None => Configuration::new(),
    };
    for property in dynamic_properties {
        config
            .set_dynamic_property(property)
            .with_context(|| format!("in -D {property}"))?;
    }
    Ok(config)
}

/// Parses the YAML text of a configuration file named `file` (for messages).
pub fn parse(text: &str, file: &str) -> anyhow::Result<Configuration> {
    let document: Value =
        serde_yaml::from_str(text).with_context(|| format!("{file} is not valid YAML"))?;
    let mut entries = Vec::new();
    match document {
        Value::Null => {}
        Value::Mapping(mapping) => flatten("", &mapping, &mut entries, (file, text))?,
        _ => bail!("{file} must be a mapping of Flink configuration keys to values"),
    }
    let mut config = Configuration::new();
    for (key, value) in entries {
        config
            .set(&key, value)
            .map_err(|error| anyhow::anyhow!("{file}{}: {error}", line_of(text, &key)))?;
    }
    Ok(config)
}

/// Collects `prefix.key: value` for every scalar under `mapping`.
fn flatten(
    prefix: &str,
    mapping: &serde_yaml::Mapping,
    entries: &mut Vec<(String, String)>,
    (file, text): (&str, &str),
) -> anyhow::Result<()> {
    for (key, value) in mapping {
        let Some(name) = scalar(key) else {
            bail!("{file}: a key under '{prefix}' is not a plain name");
        };
        let key = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}.{name}")
        };
        match value {
            Value::Mapping(nested) => flatten(&key, nested, entries, (file, text))?,
            Value::Sequence(_) | Value::Tagged(_) => bail!(
                "{file}{}: '{key}' must be a single value, not a list",
                line_of(text, &key)
            ),
            value => match scalar(value) {
                Some(text) => entries.push((key, text)),
                None => bail!("{file}: '{key}' has no usable value"),
            },
        }
    }
    Ok(())
}

/// A YAML scalar as Flink reads it: text, number or boolean; `None` for null and others.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// ", line N" for the line that writes `key` (flat, or its last part when nested), or
/// nothing when it cannot be found.
fn line_of(text: &str, key: &str) -> String {
    let last = key.rsplit('.').next().unwrap_or(key);
    text.lines()
        .position(|line| {
            let line = line.trim_start();
            [key, last].iter().any(|name| {
                line.strip_prefix(name)
                    .is_some_and(|rest| rest.trim_start().starts_with(':'))
            })
        })
        .map(|index| format!(", line {}", index + 1))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_and_nested_keys_mean_the_same_key() {
        let config = parse(
            "taskmanager.numberOfTaskSlots: 2\n\
             heartbeat:\n  interval: 2 s\n  timeout: 10000\n\
             execution:\n  checkpointing:\n    interval: 10s\n\
             pipeline.operator-chaining.enabled: false\n",
            "config.yaml",
        )
        .unwrap();
        let entries: Vec<_> = config.entries().collect();
        assert_eq!(
            entries,
            [
                ("execution.checkpointing.interval", "10s"),
                ("heartbeat.interval", "2 s"),
                ("heartbeat.timeout", "10000"),
                ("pipeline.operator-chaining.enabled", "false"),
                ("taskmanager.numberOfTaskSlots", "2"),
            ]
        );
    }

    #[test]
    fn deprecated_keys_are_stored_under_their_current_name() {
        let config = parse("state.checkpoints.dir: s3://bucket/chk\n", "c.yaml").unwrap();
        assert_eq!(
            config.get("execution.checkpointing.dir"),
            Some("s3://bucket/chk")
        );
    }

    #[test]
    fn an_unknown_key_names_the_file_and_line() {
        let error = parse(
            "parallelism.default: 2\ntaskmanager.numberOfTaskSlot: 4\n",
            "conf/config.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.starts_with(
                "conf/config.yaml, line 2: configuration key 'taskmanager.numberOfTaskSlot': \
                 unknown key"
            ),
            "{error}"
        );
    }

    #[test]
    fn a_malformed_value_names_the_file_line_and_key() {
        let error = parse("heartbeat:\n  timeout: soon\n", "config.yaml")
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "config.yaml, line 2: configuration key 'heartbeat.timeout': 'soon' is not a \
             duration; write e.g. '200 ms', '10 s', '1 min'"
        );
    }

    #[test]
    fn a_list_or_a_document_that_is_not_a_mapping_is_refused() {
        let error = parse("- a\n- b\n", "config.yaml").unwrap_err().to_string();
        assert_eq!(
            error,
            "config.yaml must be a mapping of Flink configuration keys to values"
        );
        let error = parse("pipeline.name: [a, b]\n", "config.yaml")
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "config.yaml, line 1: 'pipeline.name' must be a single value, not a list"
        );
        let error = parse("key: [unclosed\n", "config.yaml").unwrap_err();
        assert_eq!(error.to_string(), "config.yaml is not valid YAML");
        assert!(format!("{error:#}").contains("line 1"), "{error:#}");
    }

    #[test]
    fn dynamic_properties_go_on_top_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.yaml");
        std::fs::write(&path, "parallelism.default: 2\npipeline.name: a\n").unwrap();
        let config = load(Some(&path), &["parallelism.default=3".to_owned()]).unwrap();
        assert_eq!(config.parallelism(), 3);
        assert_eq!(config.pipeline_name(), Some("a"));
        let error = load(Some(&dir.path().join("missing.yaml")), &[])
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("cannot read the configuration file"),
            "{error}"
        );
    }
}
