#!/usr/bin/env bash
# Re-records Apache Flink 2.3's answers to the Nexmark queries (each query's SELECT, batch
# mode) over the first 2,000 events into runtime/sql/tests/nexmark/golden/, which
# `make test` compares flinkrs' answers with (runtime/sql/tests/nexmark.rs): Flink is not
# needed to run the tests, only to re-record. Both engines read the same events: the
# `nexmark_events` example writes them as JSON lines for Flink, and flinkrs generates them.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "${ROOT}/scripts/pyflink.sh"
pyflink_ready "nexmark-goldens" || exit 1
EVENTS=2000
WORK="$(mktemp -d)"
trap 'rm -rf "${WORK}"' EXIT
cargo run -q -p flinkrs-connectors --example nexmark_events -- "${EVENTS}" "${WORK}/events.json"
GOLDEN="${ROOT}/runtime/sql/tests/nexmark/golden"
mkdir -p "${GOLDEN}"
QUERIES=()
for n in $(seq 0 22); do QUERIES+=("q${n}"); done
"${PYFLINK_PYTHON}" "${ROOT}/nexmark/flink_nexmark.py" record "${WORK}/events.json" "${GOLDEN}" \
  "${@:-${QUERIES[@]}}"
