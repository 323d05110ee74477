#!/usr/bin/env bash
# Prometheus from Debian's prometheus package, unpacked into the cache rather
# than installed system-wide: no service gets started and no system files change.
source "$(dirname "$0")/lib.sh"
testbed_begin prometheus "$PROMETHEUS_DEBIAN_VERSION"

[ -x "$DEST/usr/bin/prometheus" ] && testbed_reused

testbed_need apt-get dpkg-deb
: >"$LOG"
rm -rf "$PARTIAL"
mkdir -p "$PARTIAL/deb"
testbed_apt_download prometheus "$PROMETHEUS_DEBIAN_VERSION" bookworm "$PARTIAL/deb" ||
    testbed_fail "apt-get download prometheus=$PROMETHEUS_DEBIAN_VERSION from bookworm failed"
dpkg-deb -x "$PARTIAL"/deb/prometheus_*.deb "$PARTIAL" >>"$LOG" 2>&1 || testbed_fail "dpkg-deb -x failed"
rm -rf "$PARTIAL/deb"
"$PARTIAL/usr/bin/prometheus" --version >>"$LOG" 2>&1 || testbed_fail "unpacked prometheus does not run"
testbed_finish
