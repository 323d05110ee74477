#!/usr/bin/env bash
# CoreDNS, the real node's cluster DNS (pods reach NAME.NAMESPACE.svc), built
# from the Go module proxy.
source "$(dirname "$0")/lib.sh"
testbed_begin coredns "$COREDNS_VERSION"

[ -x "$DEST/bin/coredns" ] && testbed_reused

testbed_need go
: >"$LOG"
rm -rf "$PARTIAL"
mkdir -p "$PARTIAL/bin"
CGO_ENABLED=0 GOBIN="$PARTIAL/bin" go install -trimpath -ldflags "-s -w" \
    "github.com/coredns/coredns@v$COREDNS_VERSION" >>"$LOG" 2>&1 ||
    testbed_fail "go install github.com/coredns/coredns@v$COREDNS_VERSION failed"
"$PARTIAL/bin/coredns" -version >>"$LOG" 2>&1 || testbed_fail "built coredns does not run"
testbed_finish
