#!/usr/bin/env bash
# Nexmark side by side with Flink 2.3 (see side_by_side.py): builds flinkrs and the events
# writer in release mode, makes sure PyFlink is installed (cached in ~/.cache/flinkrs), runs.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "${ROOT}/scripts/pyflink.sh"
pyflink_ready "nexmark side by side" || exit 1
TARGET_DIR="${CARGO_TARGET_DIR:-${ROOT}/target}"
cargo build --release -q -p flinkrs-cluster --bin flinkrs -p flinkrs-connectors --example nexmark_events
exec python3 "${ROOT}/nexmark/side_by_side.py" --flinkrs "${TARGET_DIR}/release/flinkrs" \
  --events-tool "${TARGET_DIR}/release/examples/nexmark_events" --pyflink "${PYFLINK_PYTHON}" "$@"
