#!/usr/bin/env bash
# Builds the runtime and operator images from binaries compiled on this host
# (`make images` passes the release ones), with the same Dockerfiles users
# build from source: BINARY=prebuilt copies each binary from a context that
# holds only it, so no Rust toolchain image is needed.
#
#   docker/build-prebuilt.sh BINARY_DIR [TAG]
# Environment: DOCKER (default: docker), RUNTIME_BASE_IMAGE and
# OPERATOR_BASE_IMAGE (default: the Dockerfiles' own bases), DOCKER_BUILD_FLAGS
# (more `docker build` flags, e.g. --network=none for a daemon without a bridge).
set -euo pipefail
binary_dir="${1:?usage: $0 BINARY_DIR [TAG]}"
tag="${2:-0.1.0}"
docker="${DOCKER:-docker}"
repo="$(cd "$(dirname "$0")/.." && pwd)"

build() {
    local image="$1" dockerfile="$2" binary="$3" base="$4"
    [ -x "$binary_dir/$binary" ] || { echo "images: $binary_dir/$binary is missing; build it first" >&2; exit 1; }
    local context
    context="$(mktemp -d)"
    trap 'rm -rf "$context"' RETURN
    cp "$binary_dir/$binary" "$context/"
    local args=(--build-arg BINARY=prebuilt --build-arg "PREBUILT_PATH=$binary")
    [ -n "$base" ] && args+=(--build-arg "BASE_IMAGE=$base")
    # shellcheck disable=SC2086 # DOCKER_BUILD_FLAGS is a list of flags
    DOCKER_BUILDKIT=1 "$docker" build ${DOCKER_BUILD_FLAGS:-} -f "$repo/docker/$dockerfile" "${args[@]}" -t "$image:$tag" "$context"
    echo "images: built $image:$tag from $binary_dir/$binary"
}

build flinkrs runtime.Dockerfile flinkrs "${RUNTIME_BASE_IMAGE:-}"
build flinkrs-operator operator.Dockerfile flinkrs-operator "${OPERATOR_BASE_IMAGE:-}"
