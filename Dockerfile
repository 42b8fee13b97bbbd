# syntax=docker/dockerfile:1
# The `slipway` binary in a minimal image: build with
#   docker build -t slipway:0.1.0 .
# and run the server (state in the volume /var/lib/slipway) with
#   docker run -p 5000:5000 -v slipway-data:/var/lib/slipway slipway:0.1.0
# Any SLIPWAY_* variable of `slipway serve --help` configures it (-e SLIPWAY_BACKEND_STORE_URI=...).

# The toolchain CI and development use (rustc 1.95); the locked dependencies need >= 1.89
# (zip 9.8, through candle-core), though the workspace's rust-version says 1.85.
ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-slim-bookworm AS builder
WORKDIR /src
# Manifests and sources only (.dockerignore keeps target/, venvs and outputs out).
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
# The workspace's members are crates/*; benches and examples are not needed to build.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    CARGO_INCREMENTAL=0 cargo build --release --locked -p slipway \
    && install -D -m 0755 target/release/slipway /out/usr/local/bin/slipway \
    && install -d -m 0750 /out/var/lib/slipway

# distroless/cc: glibc, libgcc, CA certificates and a "nonroot" user (65532), no shell and
# no package manager. Same Debian release (12, bookworm) as the builder, so the same glibc.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=builder /out/usr/local/bin/slipway /usr/local/bin/slipway
COPY --from=builder --chown=65532:65532 /out/var/lib/slipway /var/lib/slipway
USER 65532:65532
ENV SLIPWAY_HOST=0.0.0.0 \
    SLIPWAY_PORT=5000 \
    SLIPWAY_HOME=/var/lib/slipway
# The metadata database (slipway.db) and the artifacts, unless PostgreSQL and S3 are given.
VOLUME ["/var/lib/slipway"]
EXPOSE 5000
# The binary asks its own server for /health (the image has no curl).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/slipway", "healthcheck", "--path", "/health"]
ENTRYPOINT ["/usr/local/bin/slipway"]
CMD ["serve"]
