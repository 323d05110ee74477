//! The command line's client of a JobManager's REST API, modelled on Flink's `flink` client:
//!
//! ```text
//! flinkrs run -m HOST:PORT [-d] [-p N] [-s PATH] --example NAME   submit, and follow the job
//! flinkrs list [-m HOST:PORT] [-r | -s | -a]                      the jobs, as `flink list`
//! flinkrs cancel [-m HOST:PORT] JOBID
//! flinkrs stop [-m HOST:PORT] [--savepointPath DIR] [--drain] JOBID
//! flinkrs savepoint [-m HOST:PORT] JOBID [DIR]
//! ```
//!
//! `-m` is the REST API's address, as Flink's; without it the address comes from
//! `rest.address` and `rest.port` of `--config FILE` and `-D` (localhost:8081 by default).
//! Messages go to standard output with Flink's words; errors go to standard error and say what
//! to do.

mod http;
mod jobs;
mod savepoints;
mod submit;

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;
use flinkrs_core::config::{REST_ADDRESS, REST_PORT};

pub use self::http::{ClientError, RestClient, plain_reason};
pub use self::jobs::{ListFilter, cancel, job_line, list, local_time};
pub use self::savepoints::{PROGRESS_EVERY, savepoint, stop};
pub use self::submit::{absolute, submission_of, submit};

/// Where the JobManager's REST API is: `-m HOST:PORT`, else `rest.address` and `rest.port` of
/// the configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Args)]
pub struct RestAddressArgs {
    /// The JobManager's REST API, HOST:PORT (default: rest.address and rest.port of the
    /// configuration, localhost:8081).
    #[arg(short = 'm', long = "jobmanager", value_name = "HOST:PORT", value_parser = parse_rest_address)]
    pub jobmanager: Option<String>,

    /// A configuration file (YAML, Flink's keys) to read rest.address and rest.port from.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// A configuration value, as key=value with Flink's key names (rest.address, rest.port).
    /// Repeatable.
    #[arg(short = 'D', value_name = "KEY=VALUE")]
    pub dynamic_properties: Vec<String>,
}

impl RestAddressArgs {
    /// `host:port` of the REST API.
    pub fn address(&self) -> anyhow::Result<String> {
        if let Some(address) = &self.jobmanager {
            return Ok(address.clone());
        }
        let config = crate::config_file::load(self.config.as_deref(), &self.dynamic_properties)?;
        let port = config.rest_port();
        if port == 0 {
            bail!(
                "{REST_PORT} is 0 (any free port) in the configuration, so it does not say where \
                 the REST API is; pass its address with -m HOST:PORT"
            );
        }
        Ok(format!("{}:{port}", config.text(REST_ADDRESS)))
    }

    /// A client of the REST API.
    pub fn client(&self) -> anyhow::Result<RestClient> {
        Ok(RestClient::new(&self.address()?)?)
    }
}

/// Checks a REST address: `HOST:PORT`.
pub fn parse_rest_address(text: &str) -> Result<String, String> {
    let invalid = || {
        format!(
            "'{text}' is not HOST:PORT; write the JobManager's REST address, e.g. \
             'localhost:8081'"
        )
    };
    let (host, port) = text.rsplit_once(':').ok_or_else(invalid)?;
    if host.is_empty() || port.parse::<u16>().map_or(true, |port| port == 0) {
        return Err(invalid());
    }
    Ok(text.to_owned())
}

/// Checks a job id as Flink's CLI does: 32 hexadecimal digits. Returns it in lower case.
pub fn parse_job_id(text: &str) -> Result<String, String> {
    if text.len() == 32 && text.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        Ok(text.to_ascii_lowercase())
    } else {
        Err(format!(
            "Cannot parse JobID from \"{text}\". The expected format is [0-9a-fA-F]{{32}}, e.g. \
             fd72014d4c864993a2e5a9287b4a9c5d."
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_are_32_hex_digits_as_in_flink() {
        assert_eq!(
            parse_job_id("FD72014D4C864993A2E5A9287B4A9C5D").unwrap(),
            "fd72014d4c864993a2e5a9287b4a9c5d"
        );
        assert_eq!(
            parse_job_id("fd72014d").unwrap_err(),
            "Cannot parse JobID from \"fd72014d\". The expected format is [0-9a-fA-F]{32}, \
             e.g. fd72014d4c864993a2e5a9287b4a9c5d."
        );
        assert!(parse_job_id("zz72014d4c864993a2e5a9287b4a9c5d").is_err());
    }

    #[test]
    fn the_address_comes_from_m_or_else_the_configuration() {
        let args = |jobmanager: Option<&str>, properties: &[&str]| RestAddressArgs {
            jobmanager: jobmanager.map(str::to_owned),
            config: None,
            dynamic_properties: properties.iter().map(|p| (*p).to_owned()).collect(),
        };
        assert_eq!(args(None, &[]).address().unwrap(), "localhost:8081");
        assert_eq!(
            args(None, &["rest.address=jm.example", "rest.port=18081"])
                .address()
                .unwrap(),
            "jm.example:18081"
        );
        assert_eq!(
            args(Some("h:1"), &["rest.port=18081"]).address().unwrap(),
            "h:1"
        );
        assert_eq!(
            args(None, &["rest.port=0"])
                .address()
                .unwrap_err()
                .to_string(),
            "rest.port is 0 (any free port) in the configuration, so it does not say where the \
             REST API is; pass its address with -m HOST:PORT"
        );
        let unknown = format!("{:#}", args(None, &["rest.prot=1"]).address().unwrap_err());
        assert!(
            unknown.starts_with(
                "in -D rest.prot=1: configuration key 'rest.prot': unknown key; known keys are: "
            ),
            "{unknown}"
        );
    }

    #[test]
    fn a_rest_address_needs_a_host_and_a_port() {
        assert_eq!(
            parse_rest_address("localhost:8081").unwrap(),
            "localhost:8081"
        );
        assert_eq!(
            parse_rest_address("localhost").unwrap_err(),
            "'localhost' is not HOST:PORT; write the JobManager's REST address, e.g. \
             'localhost:8081'"
        );
        assert!(parse_rest_address(":8081").is_err());
        assert!(parse_rest_address("h:0").is_err());
        assert!(parse_rest_address("h:70000").is_err());
    }
}
