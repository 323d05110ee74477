#!/usr/bin/env bash
# `make bench`'s SQL section: flinkrs against Flink 2.3 (PyFlink, installed once into a venv
# under ~/.cache/flinkrs, as `make sql-goldens` does) on the same input. Needs Java 17.
set -euo pipefail
VERSION=2.3.0
VENV="${HOME}/.cache/flinkrs/pyflink-${VERSION}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
FLINKRS="${1:?usage: bench.sh path/to/release/flinkrs}"
if ! command -v java >/dev/null; then
  echo "SQL benchmark: skipped, no java on PATH (Flink ${VERSION} needs Java 17)"; exit 0
fi
if [ ! -x "${VENV}/bin/python" ] || ! "${VENV}/bin/python" -c 'import pyflink' 2>/dev/null; then
  echo "SQL benchmark: installing apache-flink==${VERSION} into ${VENV}"
  python3 -m venv "${VENV}"
  "${VENV}/bin/pip" install -q "apache-flink==${VERSION}"
fi
exec python3 "${HERE}/bench.py" --flinkrs "${FLINKRS}" --pyflink "${VENV}/bin/python" "${@:2}"
