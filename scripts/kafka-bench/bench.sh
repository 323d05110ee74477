#!/usr/bin/env bash
# `make bench`'s Kafka section: Kafka → filter → Kafka in flinkrs and in Flink 2.3 (PyFlink)
# with Flink's Kafka SQL connector, on one throwaway KRaft broker from the test bed's cached
# Kafka install (e2e/testbed/install/kafka.sh installs it when missing).
#
#   bash scripts/kafka-bench/bench.sh path/to/release/flinkrs [records]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
FLINKRS="${1:?usage: bench.sh path/to/release/flinkrs [records]}"
RECORDS="${2:-${KAFKA_BENCH_RECORDS:-2000000}}"
source "${HERE}/../pyflink.sh"
pyflink_ready "Kafka benchmark" || exit 0
command -v mvn >/dev/null || { echo "Kafka benchmark: skipped, no mvn on PATH"; exit 0; }

source "${HERE}/../../e2e/testbed/install/versions.env"
KAFKA_HOME="${HOME}/.cache/flinkrs/kafka-${KAFKA_VERSION}"
[ -f "${KAFKA_HOME}/.installed" ] || bash "${HERE}/../../e2e/testbed/install/kafka.sh"

# Flink's Kafka SQL connector: the newest release for Flink 2.x on Maven Central (there is
# none built against 2.3 yet; this one runs on it), fetched once, its SHA-1 checked against
# Maven's .sha1 file.
CONNECTOR_VERSION=5.0.0-2.2
CONNECTOR_DIR="${HOME}/.cache/flinkrs/flink-sql-connector-kafka-${CONNECTOR_VERSION}"
CONNECTOR_JAR="${CONNECTOR_DIR}/flink-sql-connector-kafka-${CONNECTOR_VERSION}.jar"
if [ ! -f "${CONNECTOR_JAR}" ]; then
  mvn -B -q -C dependency:get -Dtransitive=false \
    -Dartifact="org.apache.flink:flink-sql-connector-kafka:${CONNECTOR_VERSION}" >/dev/null 2>&1 \
    || { echo "Kafka benchmark: mvn could not fetch the connector" >&2; exit 1; }
  M2="${HOME}/.m2/repository/org/apache/flink/flink-sql-connector-kafka/${CONNECTOR_VERSION}"
  want="$(cut -c1-40 "${M2}/flink-sql-connector-kafka-${CONNECTOR_VERSION}.jar.sha1")"
  got="$(sha1sum "${M2}/flink-sql-connector-kafka-${CONNECTOR_VERSION}.jar" | cut -c1-40)"
  if [ "${want}" != "${got}" ]; then
    echo "Kafka benchmark: the connector jar's SHA-1 ${got} is not Maven's ${want}" >&2
    exit 1
  fi
  mkdir -p "${CONNECTOR_DIR}.partial"
  cp "${M2}/flink-sql-connector-kafka-${CONNECTOR_VERSION}.jar" "${CONNECTOR_DIR}.partial/"
  rm -rf "${CONNECTOR_DIR}" && mv "${CONNECTOR_DIR}.partial" "${CONNECTOR_DIR}"
fi

exec python3 "${HERE}/bench.py" --flinkrs "${FLINKRS}" --pyflink "${PYFLINK_PYTHON}" \
  --kafka-home "${KAFKA_HOME}" --connector "${CONNECTOR_JAR}" \
  --connector-version "${CONNECTOR_VERSION}" --records "${RECORDS}"
