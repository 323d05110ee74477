#!/usr/bin/env bash
# What the real node's images are made from, since nothing can be pulled:
#   pause                        a static pause binary (the pod sandbox), from pause.c;
#   debian-bookworm-minbase.tar  a Debian bookworm root file system (minbase plus
#                                ca-certificates, as the runtime image needs) made with
#                                debootstrap, the base of the runtime and operator images.
# The testbed crate turns them into images (docker import / docker build) when a node starts.
# Runs after node-packages.sh (debootstrap).
source "$(dirname "$0")/lib.sh"
testbed_begin node-images "$NODE_IMAGES_VERSION"

[ -x "$DEST/pause" ] && [ -s "$DEST/debian-bookworm-minbase.tar" ] && testbed_reused

[ "$(id -u)" -eq 0 ] || testbed_fail "debootstrap needs root"
testbed_need gcc debootstrap tar
: >"$LOG"
rm -rf "$PARTIAL"
mkdir -p "$PARTIAL"
gcc -Os -static -o "$PARTIAL/pause" "$TESTBED_INSTALL_DIR/node/pause.c" >>"$LOG" 2>&1 &&
    strip "$PARTIAL/pause" || testbed_fail "could not build the static pause binary"

rootfs="$PARTIAL/rootfs"
debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" http://deb.debian.org/debian >>"$LOG" 2>&1 ||
    testbed_fail "debootstrap bookworm failed"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
tar --numeric-owner -C "$rootfs" -cf "$PARTIAL/debian-bookworm-minbase.tar" . >>"$LOG" 2>&1 ||
    testbed_fail "could not pack the debootstrap root file system"
rm -rf "$rootfs"
testbed_finish
