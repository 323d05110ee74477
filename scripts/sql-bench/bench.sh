#!/usr/bin/env bash
# `make bench`'s SQL section: flinkrs against Flink 2.3 (PyFlink, installed once into a venv
# under ~/.cache/flinkrs, as `make sql-goldens` does) on the same input.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
FLINKRS="${1:?usage: bench.sh path/to/release/flinkrs}"
source "${HERE}/../pyflink.sh"
pyflink_ready "SQL benchmark" || exit 0
exec python3 "${HERE}/bench.py" --flinkrs "${FLINKRS}" --pyflink "${PYFLINK_PYTHON}" "${@:2}"
