#!/usr/bin/env bash
# Re-records Apache Flink 2.3's answers to queries.sql (batch and streaming) into golden/.
# PyFlink is installed once into a venv under ~/.cache/flinkrs, keyed by version; Java 17
# must be on PATH. The Rust tests only read the goldens: Flink is not needed to run them.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "${HERE}/../../../../scripts/pyflink.sh"
pyflink_ready "sql-goldens" || exit 1
exec "${PYFLINK_PYTHON}" "${HERE}/record.py" "$@"
