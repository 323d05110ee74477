#!/usr/bin/env bash
# CoreDNS, the real node's cluster DNS (pods reach NAME.NAMESPACE.svc), built
# from the Go module proxy through the wrapper module in coredns/: a main
# package with only the plugins the node's Corefile uses (bind, errors, cache,
# kubernetes), which builds in a fraction of the time of the full CoreDNS with
# its cloud plugins.
source "$(dirname "$0")/lib.sh"
testbed_begin coredns-node "$COREDNS_VERSION"

[ -x "$DEST/bin/coredns" ] && testbed_reused

testbed_need go
: >"$LOG"
rm -rf "$PARTIAL"
mkdir -p "$PARTIAL/bin" "$PARTIAL/module"
# Build in a copy, with the version from versions.env, so the repository's
# go.mod and go.sum are only read.
sed -E "s#(github.com/coredns/coredns) v[0-9.]+#\1 v$COREDNS_VERSION#" \
    "$TESTBED_INSTALL_DIR/coredns/go.mod" >"$PARTIAL/module/go.mod"
cp "$TESTBED_INSTALL_DIR/coredns/go.sum" "$TESTBED_INSTALL_DIR/coredns/main.go" "$PARTIAL/module/"
(
    cd "$PARTIAL/module" &&
        go mod tidy &&
        CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$PARTIAL/bin/coredns" .
) >>"$LOG" 2>&1 || testbed_fail "go build of coredns v$COREDNS_VERSION failed"
rm -rf "$PARTIAL/module"
"$PARTIAL/bin/coredns" -plugins >>"$LOG" 2>&1 || testbed_fail "built coredns does not run"
grep -qx kubernetes "$LOG" || testbed_fail "built coredns has no kubernetes plugin"
testbed_finish
