#!/usr/bin/env bash
# The kind tier: a real cluster with real pods. Creates a kind cluster, builds
# and loads the runtime and operator images, installs the chart, applies the
# example FlinkJobs and checks that each gets its JobManager and TaskManagers.
#
# Where Docker or kind is missing it says why in one line and exits 0, so
# `make kind` is safe everywhere; CI covers the same scenarios against the local
# control plane (cargo test -p flinkrs-operator).
#
# Environment: KIND_CLUSTER (default flinkrs-e2e), KEEP_CLUSTER=1 to keep it.
set -euo pipefail

cd "$(dirname "$0")/../.."
cluster="${KIND_CLUSTER:-flinkrs-e2e}"
version="0.1.0"

if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
    echo "kind tier skipped: Docker is not available (docker info failed)"
    exit 0
fi
for tool in kind kubectl helm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "kind tier skipped: $tool is not installed"
        exit 0
    fi
done

cleanup() {
    if [[ "${KEEP_CLUSTER:-0}" != 1 ]]; then
        kind delete cluster --name "$cluster" >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT

echo "== creating kind cluster $cluster"
kind create cluster --name "$cluster" --wait 120s
kubectl config use-context "kind-$cluster"

echo "== building images"
docker build -f docker/runtime.Dockerfile -t "flinkrs:$version" .
docker build -f docker/operator.Dockerfile -t "flinkrs-operator:$version" .
kind load docker-image --name "$cluster" "flinkrs:$version" "flinkrs-operator:$version"

echo "== installing the chart"
helm install flinkrs-operator charts/flinkrs-operator \
    --namespace flinkrs-system --create-namespace \
    --set image.tag="$version" --set image.pullPolicy=Never \
    --wait --timeout 180s

echo "== applying the examples"
kubectl create namespace jobs
for example in examples/flinkjobs/*.yaml; do
    kubectl -n jobs apply -f "$example"
done

wait_for() { # description, then a command that succeeds once it holds
    local description="$1"; shift
    for _ in $(seq 1 90); do
        if "$@" >/dev/null 2>&1; then echo "ok: $description"; return 0; fi
        sleep 2
    done
    echo "FAILED: $description"
    kubectl -n jobs get flinkjobs,deployments,pods -o wide || true
    kubectl -n flinkrs-system logs deployment/flinkrs-operator --tail=100 || true
    return 1
}

expect_replicas() { # deployment, replicas
    [[ "$(kubectl -n jobs get deployment "$1" -o jsonpath='{.spec.replicas}')" == "$2" ]]
}

for job in wordcount scoreboard windowed-sensors; do
    wait_for "$job has a JobManager" expect_replicas "$job-jobmanager" 1
done
wait_for "wordcount has 2 TaskManagers" expect_replicas wordcount-taskmanager 2
wait_for "scoreboard has 2 TaskManagers" expect_replicas scoreboard-taskmanager 2
wait_for "windowed-sensors has 2 TaskManagers" expect_replicas windowed-sensors-taskmanager 2
wait_for "the JobManager pods run" kubectl -n jobs wait pod \
    -l app.kubernetes.io/component=jobmanager --for=condition=Ready --timeout=5s

echo "== rescaling the scoreboard with kubectl scale"
kubectl -n jobs scale fj/scoreboard --replicas=6
wait_for "scoreboard has 3 TaskManagers" expect_replicas scoreboard-taskmanager 3

echo "== deleting the FlinkJobs"
kubectl -n jobs delete flinkjobs --all --timeout=120s
wait_for "the children are garbage collected" \
    bash -c '[[ -z "$(kubectl -n jobs get deployments -o name)" ]]'
echo "kind tier passed"
