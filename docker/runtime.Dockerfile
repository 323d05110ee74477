# The flinkrs runtime image: the `flinkrs` binary (runtime/cluster), which the
# operator runs as `flinkrs jobmanager ...` and `flinkrs taskmanager ...`.
# Build from the repository root (BuildKit, the default builder):
#   docker build -f docker/runtime.Dockerfile -t flinkrs:0.1.0 .
#
# Build arguments, for building from a binary compiled elsewhere (`make images`
# and the real-node tests do):
#   BINARY=prebuilt        copy the binary from the build context instead of
#                          compiling it; BuildKit then never needs the Rust image
#   PREBUILT_PATH=flinkrs  where that binary is, relative to the context
#   BASE_IMAGE=...         the final stage's base (default debian:bookworm-slim)
# e.g. docker build -f docker/runtime.Dockerfile --build-arg BINARY=prebuilt \
#        --build-arg PREBUILT_PATH=flinkrs -t flinkrs:0.1.0 <dir holding flinkrs>

ARG BASE_IMAGE=debian:bookworm-slim
ARG BINARY=source

FROM rust:1.95-slim-bookworm AS binary-source
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p flinkrs-cluster --bin flinkrs \
    && cp target/release/flinkrs /usr/local/bin/flinkrs

FROM scratch AS binary-prebuilt
ARG PREBUILT_PATH=flinkrs
COPY ${PREBUILT_PATH} /usr/local/bin/flinkrs

FROM binary-${BINARY} AS binary

FROM ${BASE_IMAGE}
# ca-certificates for S3 over https, unless the base image has them already.
RUN if [ ! -s /etc/ssl/certs/ca-certificates.crt ]; then \
        apt-get update \
        && apt-get install -y --no-install-recommends ca-certificates \
        && rm -rf /var/lib/apt/lists/*; \
    fi \
    && useradd --uid 10001 --user-group --home-dir /opt/flinkrs --create-home flinkrs
COPY --from=binary /usr/local/bin/flinkrs /usr/local/bin/flinkrs
# The operator mounts the Flink configuration here.
RUN mkdir -p /opt/flinkrs/conf && chown -R 10001:10001 /opt/flinkrs
USER 10001:10001
WORKDIR /opt/flinkrs
# RPC, REST and Prometheus metrics, as in Flink.
EXPOSE 6123 8081 9249
ENTRYPOINT ["flinkrs"]
CMD ["local"]
