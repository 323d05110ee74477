#!/usr/bin/env bash
# Re-records Apache Flink 2.3's answers to queries.sql (batch and streaming) into golden/.
# PyFlink is installed once into a venv under ~/.cache/flinkrs, keyed by version; Java 17
# must be on PATH. The Rust tests only read the goldens: Flink is not needed to run them.
set -euo pipefail
VERSION=2.3.0
VENV="${HOME}/.cache/flinkrs/pyflink-${VERSION}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if ! command -v java >/dev/null; then
  echo "sql-goldens: skipped, no java on PATH (PyFlink ${VERSION} needs Java 17)"; exit 1
fi
if [ ! -x "${VENV}/bin/python" ] || ! "${VENV}/bin/python" -c 'import pyflink' 2>/dev/null; then
  echo "sql-goldens: installing apache-flink==${VERSION} into ${VENV}"
  python3 -m venv "${VENV}"
  "${VENV}/bin/pip" install -q "apache-flink==${VERSION}"
fi
exec "${VENV}/bin/python" "${HERE}/record.py" "$@"
