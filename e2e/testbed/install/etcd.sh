#!/usr/bin/env bash
# etcd from Debian trixie's etcd-server package: kube-apiserver 1.34 needs
# etcd >= 3.5.11 and bookworm only has 3.4. Fetched with a private apt
# configuration and unpacked with dpkg-deb, so the system is left untouched.
source "$(dirname "$0")/lib.sh"
testbed_begin etcd "$ETCD_DEBIAN_VERSION"

[ -x "$DEST/usr/bin/etcd" ] && testbed_reused

testbed_need apt-get dpkg-deb
: >"$LOG"
rm -rf "$PARTIAL"
mkdir -p "$PARTIAL/deb"
testbed_apt_download etcd-server "$ETCD_DEBIAN_VERSION" trixie "$PARTIAL/deb" ||
    testbed_fail "apt-get download etcd-server=$ETCD_DEBIAN_VERSION from trixie failed"
dpkg-deb -x "$PARTIAL"/deb/etcd-server_*.deb "$PARTIAL" >>"$LOG" 2>&1 || testbed_fail "dpkg-deb -x failed"
rm -rf "$PARTIAL/deb"
"$PARTIAL/usr/bin/etcd" --version >>"$LOG" 2>&1 || testbed_fail "unpacked etcd does not run"
testbed_finish
