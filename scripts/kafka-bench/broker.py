# A throwaway Apache Kafka broker for the Kafka benchmark: one KRaft node (broker and
# controller) on loopback, run from the jars the test bed's install/kafka.sh caches under
# ~/.cache/flinkrs, as the test bed's `KafkaBroker` runs it; and Kafka's own command-line
# tools to create topics, fill them and count what a `read_committed` consumer sees.
import os
import socket
import subprocess
import sys
import tempfile
import time

CLUSTER_ID = 'flinkrsKafkaBench0001A'
STARTED_LINE = 'Kafka Server started'
# The tools' log lines go to stderr, so that a consumer's stdout holds records only.
LOG4J = """status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.console.ref = STDOUT
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = INFO
"""


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self, kafka_home):
        self.libs = os.path.join(kafka_home, 'libs')
        self.dir = tempfile.mkdtemp(prefix='flinkrs-kafka-bench-broker-')
        port, controller = free_port(), free_port()
        self.bootstrap_servers = f'127.0.0.1:{port}'
        self.config = os.path.join(self.dir, 'server.properties')
        with open(self.config, 'w') as f:
            f.write(f"""process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:{controller}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs={self.dir}/data
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
""")
        self.log4j = os.path.join(self.dir, 'log4j2.properties')
        with open(self.log4j, 'w') as f:
            f.write(LOG4J)
        self.process = None

    def java(self, main_class, *args):
        return ['java', '-cp', f'{self.libs}/*', f'-Dlog4j2.configurationFile={self.log4j}',
                main_class, *args]

    def tool(self, main_class, *args, stdin=None):
        done = subprocess.run(self.java(main_class, *args), stdin=stdin, capture_output=True,
                              text=True)
        if done.returncode != 0:
            sys.exit(f'{main_class} {" ".join(args)} failed:\n{done.stdout}\n{done.stderr}')
        return done.stdout

    def start(self):
        self.tool('kafka.tools.StorageTool', 'format', '-t', CLUSTER_ID, '-c', self.config,
                  '--standalone')
        log_path = os.path.join(self.dir, 'kafka.log')
        self.log = open(log_path, 'w')
        self.process = subprocess.Popen(
            ['java', '-Xms512m', '-Xmx1g', '-cp', f'{self.libs}/*',
             f'-Dlog4j2.configurationFile={self.log4j}', 'kafka.Kafka', self.config],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while STARTED_LINE not in open(log_path).read():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                sys.exit(f'the Kafka broker did not start; its log:\n{open(log_path).read()}')
            time.sleep(0.2)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def create_topic(self, topic, partitions=1):
        self.tool('org.apache.kafka.tools.TopicCommand', '--bootstrap-server',
                  self.bootstrap_servers, '--create', '--topic', topic, '--partitions',
                  str(partitions), '--replication-factor', '1')

    def produce(self, topic, path):
        """Every line of `path` as one record, with Kafka's console producer."""
        with open(path) as lines:
            self.tool('org.apache.kafka.tools.ConsoleProducer', '--bootstrap-server',
                      self.bootstrap_servers, '--topic', topic,
                      '--producer-property', 'linger.ms=20',
                      '--producer-property', 'batch.size=524288',
                      '--producer-property', 'acks=1', stdin=lines)

    def count_committed(self, topic, expected):
        """How many records a `read_committed` consumer reads from `topic`: up to
        `expected` + 1 of them, so that one too many shows."""
        args = ['--bootstrap-server', self.bootstrap_servers, '--topic', topic,
                '--from-beginning', '--isolation-level', 'read_committed',
                '--max-messages', str(expected + 1), '--timeout-ms', '5000']
        with subprocess.Popen(self.java('org.apache.kafka.tools.consumer.ConsoleConsumer',
                                        *args),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) as consumer:
            count = sum(1 for _ in consumer.stdout)
            consumer.wait()
        return count
