# Shared helpers for the testbed install scripts. Sourced, never run.
#
# Contract of every component script: idempotent, caches under
# ~/.cache/flinkrs/<component>-<version>/, prints exactly one line on stdout:
#   testbed: <component> <version>: installed in Ns | reused | FAILED: reason
# Everything else (compiler output, pip chatter) goes to a log file so that
# the one line stays readable in CI output.

set -uo pipefail

TESTBED_INSTALL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$TESTBED_INSTALL_DIR/versions.env"

# Where these machines install Go and rustup's cargo, for shells (CI, make)
# whose PATH lacks them; an existing PATH entry still wins.
PATH="$PATH:/usr/local/go/bin:$HOME/.cargo/bin"

FLINKRS_CACHE="${FLINKRS_CACHE:-$HOME/.cache/flinkrs}"
TESTBED_LOG_DIR="$FLINKRS_CACHE/logs"
mkdir -p "$TESTBED_LOG_DIR"

# testbed_system_apt PACKAGE...: installs Debian packages into the system,
# updating the package lists once if the first try fails. Components install in
# parallel and two of them (node-packages, chromium) use the system's apt: they
# take turns through a lock file, and also wait for any other apt holding
# dpkg's lock, instead of failing on it.
testbed_system_apt() {
    (
        flock 9
        local apt=(apt-get -o DPkg::Lock::Timeout=600)
        DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y --no-install-recommends "$@" >>"$LOG" 2>&1 ||
            { "${apt[@]}" update >>"$LOG" 2>&1 &&
                DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y --no-install-recommends "$@" >>"$LOG" 2>&1; }
    ) 9>"$FLINKRS_CACHE/.system-apt.lock"
}

# testbed_begin COMPONENT VERSION: sets COMPONENT, VERSION, DEST (the final
# cache dir), PARTIAL (where the install is assembled), LOG, and the start time.
testbed_begin() {
    COMPONENT="$1"
    VERSION="$2"
    DEST="$FLINKRS_CACHE/$COMPONENT-$VERSION"
    PARTIAL="$DEST.partial"
    LOG="$TESTBED_LOG_DIR/$COMPONENT-$VERSION.log"
    TESTBED_STARTED=$(date +%s)
}

testbed_reused() {
    echo "testbed: $COMPONENT $VERSION: reused"
    exit 0
}

# testbed_fail REASON: prints the one FAILED line (with the log's last line,
# which is usually the compiler's or pip's actual complaint) and exits 1.
testbed_fail() {
    local last=""
    [ -s "$LOG" ] && last="; last log line: $(tail -n 1 "$LOG" | cut -c1-200)"
    echo "testbed: $COMPONENT $VERSION: FAILED: $1$last (log: $LOG)"
    rm -rf "$PARTIAL"
    exit 1
}

# testbed_finish: moves the assembled PARTIAL dir into place atomically, so a
# killed install never leaves a DEST that looks complete.
testbed_finish() {
    rm -rf "$DEST"
    mv "$PARTIAL" "$DEST" || testbed_fail "could not move $PARTIAL to $DEST"
    echo "testbed: $COMPONENT $VERSION: installed in $(($(date +%s) - TESTBED_STARTED))s"
    exit 0
}

# testbed_need COMMAND...: fails with a clear reason when a tool is missing.
testbed_need() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || testbed_fail "'$tool' is not on PATH"
    done
}

# testbed_apt_download PACKAGE VERSION SUITE OUTDIR: downloads one .deb from
# the given Debian suite without touching the system's apt sources, using a
# private apt configuration under the cache.
testbed_apt_download() {
    local package="$1" version="$2" suite="$3" outdir="$4"
    local root="$FLINKRS_CACHE/apt-$suite"
    mkdir -p "$root/lists/partial" "$root/archives/partial" "$root/etc/preferences.d" "$root/etc/apt.conf.d"
    local mirror
    mirror="$(testbed_debian_mirror)"
    cat > "$root/sources.list" <<SOURCES
deb $mirror $suite main
SOURCES
    touch "$root/status"
    local opts=(
        -o Dir::Etc::SourceList="$root/sources.list"
        -o Dir::Etc::SourceParts=/dev/null
        -o Dir::Etc::Parts="$root/etc/apt.conf.d"
        -o Dir::Etc::PreferencesParts="$root/etc/preferences.d"
        -o Dir::State::Lists="$root/lists"
        -o Dir::State::Status="$root/status"
        -o Dir::Cache="$root"
        -o APT::Architecture=amd64
    )
    apt-get "${opts[@]}" update >>"$LOG" 2>&1 || return 1
    (cd "$outdir" && apt-get "${opts[@]}" download "$package=$version") >>"$LOG" 2>&1
}

# Debian's own package host, which this machine's apt uses too. The keyring
# from debian-archive-keyring also holds the keys for newer suites.
testbed_debian_mirror() {
    echo "[signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian"
}
