# syntax=docker/dockerfile:1
# canary — container images (BuildKit, or buildah).
#   docker build -t canary .                 # `full` (the default): with Chromium, for browser canaries
#   docker build -t canary:http --target http .   # HTTP canaries only: distroless, no shell, no browser
# Both run as a non-root user, start `canary run /canaries`, stop on SIGTERM within the grace
# period, and keep their state (spool, heartbeat, alert state) in /state and screenshots in
# /artifacts — the only places they write; the root filesystem can be read-only.

ARG RUST_VERSION=1.95
ARG DEBIAN=trixie
# Stamped into `canary --version` and the images' OCI labels (the release workflow and
# scripts/image set them; .git is not in the build context).
ARG CANARY_VERSION=dev
ARG CANARY_COMMIT=unknown
ARG CANARY_BUILD_DATE=unknown
# Where the binary comes from: `builder` (from source) or `prebuilt` (below). BuildKit resolves
# the default; buildah 1.28 needs it named (`--build-arg BINARY=builder`), as scripts/image does.
ARG BINARY=builder

# --- source: the source, and every crate Cargo.lock names fetched into cargo's registry, a
# BuildKit cache mount — so a rebuild compiles only what changed, with nothing hand-kept that could
# drift from Cargo.toml (the manifest's benches and examples, and the example canaries `canary
# init` embeds, come in with the source).
FROM rust:${RUST_VERSION}-slim-${DEBIAN} AS source
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    cargo fetch --locked

# --- builder: the release binary, compiled in a cached target folder ---
FROM source AS builder
ARG CANARY_COMMIT
ARG CANARY_BUILD_DATE
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked --bin canary \
    && install -D -m 0755 target/release/canary /out/bin/canary \
    && install -d -m 0755 /out/volume

# --- prebuilt: a binary built elsewhere (CI's own), from a build context holding only `canary`
# and an empty `volume/`; chosen with --build-arg BINARY=prebuilt ---
FROM scratch AS prebuilt
COPY canary /out/bin/canary
COPY volume /out/volume

# hadolint ignore=DL3006
FROM ${BINARY} AS binary

# --- http: the smallest image that runs HTTP canaries ---
# distroless/cc: glibc (the resolver Kubernetes' DNS settings are written for), libgcc, CA
# certificates, a `nonroot` user (65532); no shell, no package manager.
FROM gcr.io/distroless/cc-debian13:nonroot AS http
COPY --from=binary /out/bin/canary /usr/local/bin/canary
COPY --from=binary --chown=65532:65532 /out/volume /state
COPY --from=binary --chown=65532:65532 /out/volume /artifacts
COPY --from=binary /out/volume /canaries
ENV CANARY_ARTIFACTS=/artifacts \
    CANARY_SPOOL=/state/spool \
    CANARY_HEARTBEAT=/state/heartbeat \
    CANARY_STATE_DIR=/state \
    CANARY_LOG_FORMAT=json
# /tmp too: Chromium writes its profiles there, and under Fargate a path the task mounts is
# writable by the image's user only when the image declares it a volume.
VOLUME ["/state", "/artifacts", "/tmp"]
USER 65532:65532
WORKDIR /canaries
EXPOSE 9464
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["canary", "health"]
ARG CANARY_VERSION
ARG CANARY_COMMIT
ARG CANARY_BUILD_DATE
LABEL org.opencontainers.image.title="canary (HTTP)" \
      org.opencontainers.image.version="${CANARY_VERSION}" \
      org.opencontainers.image.revision="${CANARY_COMMIT}" \
      org.opencontainers.image.created="${CANARY_BUILD_DATE}" \
      org.opencontainers.image.description="Synthetic monitoring canaries from YAML: HTTP checks, once in CI or on a schedule" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0" \
      org.opencontainers.image.source="https://github.com/canary-dev/canary" \
      org.opencontainers.image.documentation="https://github.com/canary-dev/canary#readme"
ENTRYPOINT ["canary"]
CMD ["run", "/canaries"]

# --- full (the default): with Chromium and chromedriver for browser canaries ---
FROM debian:${DEBIAN}-slim AS full
# Unpinned on purpose: a Debian stable release only receives security fixes, and pinning exact
# versions would break the build at the next point release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        chromium chromium-driver ca-certificates \
        fonts-liberation fonts-dejavu-core fonts-noto-color-emoji \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 65532 canary \
    && useradd --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin canary
COPY --from=binary /out/bin/canary /usr/local/bin/canary
COPY --from=binary --chown=65532:65532 /out/volume /state
COPY --from=binary --chown=65532:65532 /out/volume /artifacts
COPY --from=binary /out/volume /canaries
# The container is Chromium's sandbox: Docker's default seccomp profile refuses the user
# namespaces Chromium's own sandbox needs (set CANARY_BROWSER_SANDBOX=on with a profile that allows them).
ENV CANARY_ARTIFACTS=/artifacts \
    CANARY_SPOOL=/state/spool \
    CANARY_HEARTBEAT=/state/heartbeat \
    CANARY_STATE_DIR=/state \
    CANARY_LOG_FORMAT=json \
    CANARY_CHROMEDRIVER=/usr/bin/chromedriver \
    CANARY_CHROMIUM=/usr/lib/chromium/chromium \
    CANARY_BROWSER_SANDBOX=off
# /tmp too: Chromium writes its profiles there, and under Fargate a path the task mounts is
# writable by the image's user only when the image declares it a volume.
VOLUME ["/state", "/artifacts", "/tmp"]
USER 65532:65532
WORKDIR /canaries
EXPOSE 9464
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["canary", "health"]
ARG CANARY_VERSION
ARG CANARY_COMMIT
ARG CANARY_BUILD_DATE
LABEL org.opencontainers.image.title="canary" \
      org.opencontainers.image.version="${CANARY_VERSION}" \
      org.opencontainers.image.revision="${CANARY_COMMIT}" \
      org.opencontainers.image.created="${CANARY_BUILD_DATE}" \
      org.opencontainers.image.description="Synthetic monitoring canaries from YAML: HTTP and browser checks, once in CI or on a schedule" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0" \
      org.opencontainers.image.source="https://github.com/canary-dev/canary" \
      org.opencontainers.image.documentation="https://github.com/canary-dev/canary#readme"
ENTRYPOINT ["canary"]
CMD ["run", "/canaries"]
