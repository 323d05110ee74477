//! Prometheus on loopback, scraping the given targets (or what the given scrape configs
//! discover) every second.

use std::process::Command;
use std::time::Duration;

use crate::http_client::encode_query_value;
use crate::install::PROMETHEUS;
use crate::ports::free_loopback_port;
use crate::process::{ManagedProcess, ProcessSet};
use crate::readiness::{http_status_is, wait_until_ready};
use crate::{Error, Result, error::io_at, skip::or_skip};

const READY_DEADLINE: Duration = Duration::from_secs(60);

pub struct Prometheus {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    processes: ProcessSet,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts Prometheus with one job, `testbed`, scraping `scrape_targets`
    /// (`host:port`, path `/metrics`) every second.
    pub async fn start(test_name: &str, scrape_targets: &[String]) -> Option<Prometheus> {
        or_skip(test_name, Self::try_start(test_name, scrape_targets).await)
    }

    pub async fn try_start(test_name: &str, scrape_targets: &[String]) -> Result<Prometheus> {
        Self::try_start_with(test_name, &static_scrape_config(scrape_targets)).await
    }

    /// Starts Prometheus with `scrape_configs`, the YAML list under `scrape_configs:` (each
    /// item starting `- job_name: …` at column 0), for discovery such as
    /// `kubernetes_sd_configs`. The scrape interval is one second.
    pub async fn start_with(test_name: &str, scrape_configs: &str) -> Option<Prometheus> {
        or_skip(
            test_name,
            Self::try_start_with(test_name, scrape_configs).await,
        )
    }

    pub async fn try_start_with(test_name: &str, scrape_configs: &str) -> Result<Prometheus> {
        let binary = PROMETHEUS.locate()?;
        let dir = tempfile::Builder::new()
            .prefix("flinkrs-prometheus-")
            .tempdir()
            .map_err(io_at(std::env::temp_dir()))?;
        let config = dir.path().join("prometheus.yml");
        std::fs::write(&config, config_yaml(scrape_configs)).map_err(io_at(&config))?;
        let port = free_loopback_port()?;
        let mut command = Command::new(binary);
        command
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"));
        let mut processes = ProcessSet::new(test_name);
        let process = processes.push(ManagedProcess::spawn("prometheus", command, dir.path())?);
        let url = format!("http://127.0.0.1:{port}");
        let ready = format!("{url}/-/ready");
        wait_until_ready(process, READY_DEADLINE, || http_status_is(&ready, 200)).await?;
        Ok(Prometheus {
            url,
            processes,
            _dir: dir,
        })
    }

    /// Runs an instant query through `/api/v1/query` and returns the `data`
    /// object of the answer (`resultType` and `result`).
    pub async fn query(&self, promql: &str) -> Result<serde_json::Value> {
        let url = format!(
            "{}/api/v1/query?query={}",
            self.url,
            encode_query_value(promql)
        );
        let response = crate::http_client::get(&url).await?;
        let mut answer: serde_json::Value = serde_json::from_str(&response.body)?;
        if response.status != 200 || answer["status"] != "success" {
            return Err(Error::Http {
                url,
                detail: format!("status {}: {}", response.status, response.body),
            });
        }
        Ok(answer["data"].take())
    }

    /// The values of `label` on the series that `selector` matches (`/api/v1/label/…/values`),
    /// as Grafana's `label_values(selector, label)` variable queries ask.
    pub async fn label_values(&self, label: &str, selector: &str) -> Result<Vec<String>> {
        let url = format!(
            "{}/api/v1/label/{label}/values?match[]={}",
            self.url,
            encode_query_value(selector)
        );
        let response = crate::http_client::get(&url).await?;
        let answer: serde_json::Value = serde_json::from_str(&response.body)?;
        match answer["data"].as_array() {
            Some(values) if response.status == 200 && answer["status"] == "success" => Ok(values
                .iter()
                .filter_map(|value| value.as_str().map(str::to_owned))
                .collect()),
            _ => Err(Error::Http {
                url,
                detail: format!("status {}: {}", response.status, response.body),
            }),
        }
    }

    /// Process ids (group leaders), to check that nothing outlives a test.
    pub fn pids(&self) -> Vec<u32> {
        self.processes.pids()
    }
}

fn static_scrape_config(scrape_targets: &[String]) -> String {
    let targets: Vec<String> = scrape_targets
        .iter()
        .map(|target| format!("'{target}'"))
        .collect();
    format!(
        "- job_name: testbed
  static_configs:
    - targets: [{}]
",
        targets.join(", ")
    )
}

fn config_yaml(scrape_configs: &str) -> String {
    let indented: String = scrape_configs
        .lines()
        .map(|line| format!("  {line}\n"))
        .collect();
    format!(
        "global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
{indented}"
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_config_lists_every_target() {
        let configs = super::static_scrape_config(&["127.0.0.1:1".into(), "127.0.0.1:2".into()]);
        assert_eq!(
            super::config_yaml(&configs),
            "global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: testbed
    static_configs:
      - targets: ['127.0.0.1:1', '127.0.0.1:2']
"
        );
    }
}
