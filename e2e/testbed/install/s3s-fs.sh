#!/usr/bin/env bash
# s3s-fs: a Rust S3 server over a directory, from crates.io. About 7 minutes
# on 2 cores. 0.15 and later need a newer rustc than the workspace's 1.95.
source "$(dirname "$0")/lib.sh"
testbed_begin s3s-fs "$S3S_FS_VERSION"

[ -x "$DEST/bin/s3s-fs" ] && testbed_reused

testbed_need cargo
: >"$LOG"
rm -rf "$PARTIAL"
# A private target dir keeps this build out of the workspace's target/ and
# away from other engineers' cargo locks.
CARGO_TARGET_DIR="$FLINKRS_CACHE/s3s-fs-build" cargo install "s3s-fs@$S3S_FS_VERSION" \
    --features binary --locked --root "$PARTIAL" >>"$LOG" 2>&1 ||
    testbed_fail "cargo install s3s-fs@$S3S_FS_VERSION failed"
rm -rf "$FLINKRS_CACHE/s3s-fs-build"
rm -f "$PARTIAL/.crates.toml" "$PARTIAL/.crates2.json"
"$PARTIAL/bin/s3s-fs" --help >>"$LOG" 2>&1 || testbed_fail "installed s3s-fs does not run"
testbed_finish
