#!/usr/bin/env bash
# Debian packages the real node needs: containerd and runc (the node's
# container runtime), the CNI plugins (pod networking), docker.io (only to
# build images locally; kubelet does not use it), busybox-static (the test
# images' userland) and debootstrap (the Debian base image). Installed with the
# system's apt; the node needs root anyway.
source "$(dirname "$0")/lib.sh"
testbed_begin node-packages "$NODE_PACKAGES_SUITE"

PACKAGES=(docker.io containerd runc containernetworking-plugins busybox-static debootstrap iptables nftables)
missing=()
for package in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null)
    [ "$status" = "install ok installed" ] || missing+=("$package")
done
[ "${#missing[@]}" -eq 0 ] && testbed_reused

[ "$(id -u)" -eq 0 ] || testbed_fail "installing ${missing[*]} needs root (the real node needs root too)"
testbed_need apt-get flock
: >"$LOG"
# apt's policy-rc.d on these machines keeps dockerd and containerd from
# starting as services; the testbed starts its own instances.
testbed_system_apt "${missing[@]}" ||
    testbed_fail "apt-get install ${missing[*]} failed"
echo "testbed: $COMPONENT $VERSION: installed in $(($(date +%s) - TESTBED_STARTED))s"
