#!/usr/bin/env bash
# moto's S3 server: a second S3 implementation, independent of s3s-fs, so the
# S3 connector is not tuned to one server's quirks.
source "$(dirname "$0")/lib.sh"
testbed_begin moto "$MOTO_VERSION"

# A venv is not relocatable (its scripts hold absolute paths), so it is built
# in place and a marker written last says the install completed.
[ -f "$DEST/.installed" ] && [ -x "$DEST/venv/bin/moto_server" ] && testbed_reused

testbed_need python3
: >"$LOG"
rm -rf "$DEST"
mkdir -p "$DEST"
python3 -m venv "$DEST/venv" >>"$LOG" 2>&1 || { PARTIAL="$DEST"; testbed_fail "python3 -m venv failed"; }
"$DEST/venv/bin/pip" install --disable-pip-version-check -q "moto[server]==$MOTO_VERSION" >>"$LOG" 2>&1 ||
    { PARTIAL="$DEST"; testbed_fail "pip install moto[server]==$MOTO_VERSION failed"; }
"$DEST/venv/bin/moto_server" --help >>"$LOG" 2>&1 || { PARTIAL="$DEST"; testbed_fail "moto_server does not run"; }
touch "$DEST/.installed"
echo "testbed: $COMPONENT $VERSION: installed in $(($(date +%s) - TESTBED_STARTED))s"
