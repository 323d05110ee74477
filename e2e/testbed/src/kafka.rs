//! An Apache Kafka broker on loopback: one KRaft node that is both broker and controller,
//! run from the Maven Central jars `install/kafka.sh` put in the cache. Topics are created
//! with Kafka's own `TopicCommand`, so this crate needs no Kafka client. The broker can be
//! stopped and started again on the same ports with its data ([`KafkaBroker::stop`],
//! [`KafkaBroker::restart`]), to test an outage.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::install::KAFKA_LIBS;
use crate::ports::free_loopback_port;
use crate::process::{ManagedProcess, ProcessSet};
use crate::readiness::wait_until_ready;
use crate::{Error, Result, error::io_at, skip::or_skip};

/// A cold JVM start takes about 3 s here; the deadline allows for a loaded machine.
const READY_DEADLINE: Duration = Duration::from_secs(90);
/// The line the broker logs once its listeners accept requests.
const STARTED_LINE: &str = "Kafka Server started";
/// KRaft's cluster id: any fixed 22-character base64 UUID.
const CLUSTER_ID: &str = "flinkrsTestbedKafka01A";

/// A running single-node Kafka cluster. Dropping it stops the broker.
pub struct KafkaBroker {
    /// `127.0.0.1:<port>`, for `bootstrap.servers`.
    pub bootstrap_servers: String,
    libs: PathBuf,
    config: PathBuf,
    processes: ProcessSet,
    dir: tempfile::TempDir,
}

impl KafkaBroker {
    /// Starts a broker on free loopback ports with an empty log directory, or skips (returns
    /// `None` after a `SKIPPED` line) when Kafka is not installed.
    pub async fn start(test_name: &str) -> Option<KafkaBroker> {
        or_skip(test_name, Self::try_start(test_name).await)
    }

    pub async fn try_start(test_name: &str) -> Result<KafkaBroker> {
        let marker = KAFKA_LIBS.locate()?;
        let libs = marker
            .parent()
            .map(|home| home.join("libs"))
            .unwrap_or_default();
        let dir = tempfile::Builder::new()
            .prefix("flinkrs-kafka-")
            .tempdir()
            .map_err(io_at(std::env::temp_dir()))?;
        let port = free_loopback_port()?;
        let controller_port = free_loopback_port()?;
        let config = dir.path().join("server.properties");
        let logs = dir.path().join("data");
        std::fs::write(&config, server_properties(port, controller_port, &logs))
            .map_err(io_at(&config))?;
        let mut broker = KafkaBroker {
            bootstrap_servers: format!("127.0.0.1:{port}"),
            libs,
            config,
            processes: ProcessSet::new(test_name),
            dir,
        };
        broker.format_storage()?;
        broker.launch_and_wait().await?;
        Ok(broker)
    }

    /// `kafka.tools.StorageTool format`, once: a second format of the same directory with
    /// another cluster id would fail, and a restart keeps the formatted directory.
    fn format_storage(&self) -> Result<()> {
        self.run_tool(
            "kafka.tools.StorageTool",
            &[
                "format",
                "-t",
                CLUSTER_ID,
                "-c",
                &self.config.display().to_string(),
                "--standalone",
            ],
        )
        .map(drop)
    }

    /// Starts the broker's JVM and waits until it logs that it started and its port accepts
    /// connections.
    async fn launch_and_wait(&mut self) -> Result<()> {
        let mut command = self.java();
        command
            .args(["-Xms256m", "-Xmx512m"])
            .arg(format!(
                "-Dlog4j2.configurationFile={}",
                self.log4j_config()?.display()
            ))
            .arg("kafka.Kafka")
            .arg(&self.config);
        let log_dir = self.dir.path().to_path_buf();
        let process = self
            .processes
            .push(ManagedProcess::spawn("kafka", command, &log_dir)?);
        let log = log_dir.join("kafka.log");
        let address = self.bootstrap_servers.clone();
        wait_until_ready(process, READY_DEADLINE, || {
            let log = log.clone();
            let address = address.clone();
            async move {
                let text = std::fs::read_to_string(&log).map_err(io_at(&log))?;
                if !text.contains(STARTED_LINE) {
                    return Ok(None);
                }
                tokio::net::TcpStream::connect(&address)
                    .await
                    .map_err(io_at(&address))?;
                Ok(Some(()))
            }
        })
        .await
    }

    /// Log4j 2 to the console (the process log) at WARN, plus the one INFO line readiness
    /// waits for.
    fn log4j_config(&self) -> Result<PathBuf> {
        let path = self.dir.path().join("log4j2.properties");
        let text = "status = warn\n\
            appender.console.type = Console\n\
            appender.console.name = STDOUT\n\
            appender.console.layout.type = PatternLayout\n\
            appender.console.layout.pattern = [%d] %p %m (%c)%n\n\
            rootLogger.level = WARN\n\
            rootLogger.appenderRef.console.ref = STDOUT\n\
            logger.server.name = kafka.server.KafkaRaftServer\n\
            logger.server.level = INFO\n";
        std::fs::write(&path, text).map_err(io_at(&path))?;
        Ok(path)
    }

    fn java(&self) -> Command {
        let mut command = Command::new("java");
        command.arg("-cp").arg(format!("{}/*", self.libs.display()));
        command
    }

    /// Runs one of Kafka's command-line tools to completion; its output on failure.
    fn run_tool(&self, main_class: &str, args: &[&str]) -> Result<String> {
        let mut command = self.java();
        command.arg(main_class).args(args);
        let output = command.output().map_err(|source| Error::Spawn {
            component: format!("kafka ({main_class})"),
            program: PathBuf::from("java"),
            source,
        })?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if output.status.success() {
            Ok(stdout)
        } else {
            Err(Error::Command {
                command: format!("{main_class} {}", args.join(" ")),
                detail: format!(
                    "{}: {}{}",
                    output.status,
                    stdout.trim(),
                    String::from_utf8_lossy(&output.stderr).trim()
                ),
            })
        }
    }

    /// Creates `topic` with `partitions` partitions (replication factor 1) and returns once
    /// the controller has accepted it.
    pub fn create_topic(&self, topic: &str, partitions: u32) -> Result<()> {
        self.run_tool(
            "org.apache.kafka.tools.TopicCommand",
            &[
                "--bootstrap-server",
                &self.bootstrap_servers,
                "--create",
                "--topic",
                topic,
                "--partitions",
                &partitions.to_string(),
                "--replication-factor",
                "1",
            ],
        )
        .map(drop)
    }

    /// Raises `topic`'s partition count to `partitions` (Kafka only ever adds partitions)
    /// and returns once the controller has accepted it.
    pub fn add_partitions(&self, topic: &str, partitions: u32) -> Result<()> {
        self.run_tool(
            "org.apache.kafka.tools.TopicCommand",
            &[
                "--bootstrap-server",
                &self.bootstrap_servers,
                "--alter",
                "--topic",
                topic,
                "--partitions",
                &partitions.to_string(),
            ],
        )
        .map(drop)
    }

    /// Stops the broker, as an outage would. Its log directory stays for [`restart`](Self::restart).
    pub fn stop(&mut self) {
        self.processes.stop_all();
    }

    /// Starts the stopped broker again on the same ports with the same data, and waits until
    /// it serves.
    pub async fn restart(&mut self) -> Result<()> {
        self.stop();
        self.launch_and_wait().await
    }

    /// Process ids (group leaders), to check that nothing outlives a test.
    pub fn pids(&self) -> Vec<u32> {
        self.processes.pids()
    }
}

/// A combined broker and controller on loopback: replication factor 1 everywhere (one node),
/// no initial rebalance delay (tests create and join groups at once).
fn server_properties(port: u16, controller_port: u16, logs: &Path) -> String {
    format!(
        "process.roles=broker,controller\n\
         node.id=1\n\
         controller.quorum.bootstrap.servers=127.0.0.1:{controller_port}\n\
         listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}\n\
         advertised.listeners=PLAINTEXT://127.0.0.1:{port}\n\
         controller.listener.names=CONTROLLER\n\
         inter.broker.listener.name=PLAINTEXT\n\
         listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT\n\
         log.dirs={}\n\
         num.partitions=1\n\
         offsets.topic.replication.factor=1\n\
         offsets.topic.num.partitions=4\n\
         transaction.state.log.replication.factor=1\n\
         transaction.state.log.min.isr=1\n\
         transaction.state.log.num.partitions=4\n\
         share.coordinator.state.topic.replication.factor=1\n\
         share.coordinator.state.topic.min.isr=1\n\
         group.initial.rebalance.delay.ms=0\n\
         auto.create.topics.enable=false\n",
        logs.display()
    )
}
