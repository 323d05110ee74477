#!/usr/bin/env bash
# Installs (or reuses from ~/.cache/flinkrs) every testbed component, the
# real node's included (root only: its packages and images). Run by
# `make testbed`. Components install in parallel: the two long builds (the
# kubernetes Go build and s3s-fs's cargo install) are CPU-bound, and the
# others mostly wait on downloads, which overlap with them.
#
# Outside CI a failed component only makes the tests that need it skip; in CI
# (CI=true) any failure fails this script, so CI never passes on skipped tests.
set -uo pipefail
cd "$(dirname "$0")"
started=$(date +%s)

components=(etcd kubectl-helm prometheus moto s3s-fs kafka k8s coredns node-packages node-images)
components+=(chromium)
outputs=$(mktemp -d)
trap 'rm -rf "$outputs"' EXIT

for component in "${components[@]}"; do
    case "$component" in
    # node-images needs node-packages' debootstrap: the pair runs in that order.
    node-packages) ;;
    node-images)
        {
            bash ./node-packages.sh >"$outputs/node-packages" 2>&1
            bash ./node-images.sh >"$outputs/node-images" 2>&1
        } &
        ;;
    *) bash "./$component.sh" >"$outputs/$component" 2>&1 & ;;
    esac
done
wait

failed=0
for component in "${components[@]}"; do
    cat "$outputs/$component"
    # Anything but a success line, a script that died silently included, is a failure.
    grep -qE '^testbed: .*: (installed in [0-9]+s|reused)$' "$outputs/$component" || failed=$((failed + 1))
done

total=$(($(date +%s) - started))
if [ "$failed" -eq 0 ]; then
    echo "testbed: all ${#components[@]} components ready in ${total}s (cache: ${FLINKRS_CACHE:-$HOME/.cache/flinkrs})"
    exit 0
fi
if [ "${CI:-}" = "true" ]; then
    echo "testbed: FAILED: $failed component(s) did not install in ${total}s; CI needs all of them"
    exit 1
fi
echo "testbed: $failed component(s) did not install in ${total}s; tests that need them will be SKIPPED"
exit 0
