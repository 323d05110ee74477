# The flinkrs runtime image: the `flinkrs` binary (runtime/cluster), which the
# operator runs as `flinkrs jobmanager ...` and `flinkrs taskmanager ...`.
# Build from the repository root:
#   docker build -f docker/runtime.Dockerfile -t flinkrs:0.1.0 .

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p flinkrs-cluster --bin flinkrs \
    && cp target/release/flinkrs /usr/local/bin/flinkrs

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 10001 --user-group --home-dir /opt/flinkrs --create-home flinkrs
COPY --from=build /usr/local/bin/flinkrs /usr/local/bin/flinkrs
# The operator mounts the Flink configuration here.
RUN mkdir -p /opt/flinkrs/conf && chown -R 10001:10001 /opt/flinkrs
USER 10001:10001
WORKDIR /opt/flinkrs
# RPC, REST and Prometheus metrics, as in Flink.
EXPOSE 6123 8081 9249
ENTRYPOINT ["flinkrs"]
CMD ["local"]
