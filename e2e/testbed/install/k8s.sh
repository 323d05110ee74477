#!/usr/bin/env bash
# kube-apiserver, kube-controller-manager, kube-scheduler, and the real
# node's kubelet and kube-proxy, built from the
# k8s.io/kubernetes Go module through the wrapper module in k8s/ (no prebuilt
# binaries can be downloaded here). The first build takes 10-20 minutes on 2 cores.
source "$(dirname "$0")/lib.sh"
testbed_begin kubernetes "$KUBERNETES_VERSION"

BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)
complete=true
for binary in "${BINARIES[@]}"; do
    [ -x "$DEST/bin/$binary" ] || complete=false
done
$complete && testbed_reused

testbed_need go
: >"$LOG"
rm -rf "$PARTIAL"
mkdir -p "$PARTIAL/bin" "$PARTIAL/module"
# Build in a copy so the repository's go.mod/go.sum are only read, never
# rewritten. The copy takes its versions from versions.env (the staging modules
# k8s.io/* v0.X.Y go with k8s.io/kubernetes v1.X.Y), so that file stays the one
# place to bump.
staging_version="0.${KUBERNETES_VERSION#*.}"
sed -E "s#(k8s.io/kubernetes) v1\.[0-9]+\.[0-9]+#\1 v$KUBERNETES_VERSION#; s#(=> k8s.io/[a-z-]+) v0\.[0-9]+\.[0-9]+#\1 v$staging_version#" \
    "$TESTBED_INSTALL_DIR/k8s/go.mod" >"$PARTIAL/module/go.mod"
[ -f "$TESTBED_INSTALL_DIR/k8s/go.sum" ] && cp "$TESTBED_INSTALL_DIR/k8s/go.sum" "$PARTIAL/module/"

minor="${KUBERNETES_VERSION#*.}"
minor="${minor%%.*}"
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=v$KUBERNETES_VERSION"
ldflags+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
packages=()
for binary in "${BINARIES[@]}"; do
    packages+=("k8s.io/kubernetes/cmd/$binary")
done

(
    cd "$PARTIAL/module" &&
        go mod tidy &&
        CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$PARTIAL/bin/" "${packages[@]}"
) >>"$LOG" 2>&1 || testbed_fail "go build of kubernetes v$KUBERNETES_VERSION failed"

rm -rf "$PARTIAL/module"
"$PARTIAL/bin/kube-apiserver" --version >>"$LOG" 2>&1 || testbed_fail "built kube-apiserver does not run"
grep -q "v$KUBERNETES_VERSION" "$LOG" || testbed_fail "built kube-apiserver does not report v$KUBERNETES_VERSION"
testbed_finish
