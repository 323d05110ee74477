# Sourced by the scripts that run real Apache Flink through PyFlink (the SQL goldens, the SQL
# benchmark): installs apache-flink into a venv under ~/.cache/flinkrs once, keyed by version,
# and sets PYFLINK_PYTHON to the venv's python. Java 17 must be on PATH; without it the
# caller is told and `pyflink_ready` fails.
PYFLINK_VERSION=2.3.0
PYFLINK_VENV="${HOME}/.cache/flinkrs/pyflink-${PYFLINK_VERSION}"
PYFLINK_PYTHON="${PYFLINK_VENV}/bin/python"

pyflink_ready() {
  if ! command -v java >/dev/null; then
    echo "$1: skipped, no java on PATH (PyFlink ${PYFLINK_VERSION} needs Java 17)"
    return 1
  fi
  if [ ! -x "${PYFLINK_PYTHON}" ] || ! "${PYFLINK_PYTHON}" -c 'import pyflink' 2>/dev/null; then
    echo "$1: installing apache-flink==${PYFLINK_VERSION} into ${PYFLINK_VENV}"
    python3 -m venv "${PYFLINK_VENV}"
    "${PYFLINK_VENV}/bin/pip" install -q "apache-flink==${PYFLINK_VERSION}"
  fi
}
