# The flinkrs operator image. Build from the repository root (BuildKit, the
# default builder):
#   docker build -f docker/operator.Dockerfile -t flinkrs-operator:0.1.0 .
#
# Build arguments, for building from a binary compiled elsewhere (`make images`
# and the real-node tests do):
#   BINARY=prebuilt                 copy the binary from the build context instead
#                                   of compiling it; BuildKit then never needs the Rust image
#   PREBUILT_PATH=flinkrs-operator  where that binary is, relative to the context
#   BASE_IMAGE=...                  the final stage's base (default distroless cc, nonroot)

ARG BASE_IMAGE=gcr.io/distroless/cc-debian12:nonroot
ARG BINARY=source

FROM rust:1.95-slim-bookworm AS binary-source
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p flinkrs-operator --bin flinkrs-operator \
    && cp target/release/flinkrs-operator /usr/local/bin/flinkrs-operator

FROM scratch AS binary-prebuilt
ARG PREBUILT_PATH=flinkrs-operator
COPY ${PREBUILT_PATH} /usr/local/bin/flinkrs-operator

FROM binary-${BINARY} AS binary

# Distroless by default: no shell, no package manager; the chart runs it as a
# non-root user with a read-only root filesystem (the operator writes no files).
FROM ${BASE_IMAGE}
COPY --from=binary /usr/local/bin/flinkrs-operator /usr/local/bin/flinkrs-operator
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/flinkrs-operator"]
