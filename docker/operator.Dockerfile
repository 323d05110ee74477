# The flinkrs operator image. Build from the repository root:
#   docker build -f docker/operator.Dockerfile -t flinkrs-operator:0.1.0 .

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p flinkrs-operator --bin flinkrs-operator \
    && cp target/release/flinkrs-operator /usr/local/bin/flinkrs-operator

# Distroless: no shell, no package manager; the chart runs it as a non-root user
# with a read-only root filesystem (the operator writes no files).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /usr/local/bin/flinkrs-operator /usr/local/bin/flinkrs-operator
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/flinkrs-operator"]
