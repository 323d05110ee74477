# The one entry point for people and CI. `make help` lists the targets.
SHELL := /bin/bash
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: help run test test-rust lint fmt generate bench testbed images e2e kind clean sql sql-goldens nexmark nexmark-flink nexmark-goldens

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

run: ## Run the main job (the score-board) on an in-process cluster with embedded defaults
	$(CARGO) run --release -q -p flinkrs-cluster --bin flinkrs -- run --example scoreboard

test: testbed lint test-rust ## The whole suite: install the testbed, lint, then every test

test-rust: ## Every Rust test (unit, integration against the testbed, doc tests)
	$(CARGO) test --workspace --no-fail-fast

lint: ## rustfmt check and clippy with warnings denied
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt: ## Format the code
	$(CARGO) fmt --all

generate: ## Regenerate generated files (the CRD YAML)
	$(CARGO) run -q -p flinkrs-operator --bin crdgen > crds/flinkjobs.yaml
	mkdir -p charts/flinkrs-operator/crds && cp crds/flinkjobs.yaml charts/flinkrs-operator/crds/flinkjobs.yaml

bench: ## Throughput benchmarks, release build, parallelism 1; then SQL and Kafka → filter → Kafka side by side with Flink 2.3 (PyFlink)
	$(CARGO) build --release -q -p flinkrs-cluster --bins
	$(CARGO) run --release -q -p flinkrs-cluster --bin flinkrs-bench
	bash scripts/sql-bench/bench.sh $(TARGET_DIR)/release/flinkrs
	bash scripts/kafka-bench/bench.sh $(TARGET_DIR)/release/flinkrs

nexmark: ## Nexmark q0-q22 on flinkrs' nexmark source: NEXMARK_EVENTS events (10 M) at parallelism 1 and 2, one row per query
	$(CARGO) build --release -q -p flinkrs-cluster --bin flinkrs
	python3 nexmark/run.py --flinkrs $(TARGET_DIR)/release/flinkrs

nexmark-flink: ## Nexmark side by side with Flink 2.3 (PyFlink) on the same events as JSON lines; records the table in nexmark/results
	bash nexmark/side_by_side.sh

nexmark-goldens: ## Re-record Flink 2.3's answers to the Nexmark queries (runtime/sql/tests/nexmark/golden)
	bash nexmark/record_goldens.sh

sql: ## The SQL client on the course's people-by-job example (flinkrs sql -f …)
	$(CARGO) run --release -q -p flinkrs-cluster --bin flinkrs -- sql -f examples/sql/people-by-job.sql

sql-goldens: ## Re-record Flink 2.3's answers to the SQL differential queries (PyFlink, cached in ~/.cache/flinkrs)
	bash runtime/sql/tests/differential/record.sh

testbed: ## Install (or reuse from ~/.cache/flinkrs) S3 servers, Kubernetes (control plane and, as root, a real node), kubectl, helm, Prometheus
	bash e2e/testbed/install/all.sh

# Where cargo puts release binaries (CARGO_TARGET_DIR if set).
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)
IMAGE_TAG ?= 0.1.0

images: ## Runtime and operator images (flinkrs, flinkrs-operator:$(IMAGE_TAG)) from release binaries, with docker/*.Dockerfile
	$(CARGO) build --release --locked -p flinkrs-cluster --bin flinkrs -p flinkrs-operator --bin flinkrs-operator
	bash docker/build-prebuilt.sh $(TARGET_DIR)/release $(IMAGE_TAG)

e2e: ## Operator end-to-end tests against the local control plane
	$(CARGO) test -p flinkrs-operator --test '*'

kind: ## The kind tier (needs Docker and kind; otherwise says why and exits)
	bash e2e/kind/run.sh
