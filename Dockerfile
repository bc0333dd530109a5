# Rekindle's container image. Build: `docker build -t rekindle .`
#
# Stage 1 runs the same release build CI runs (scripts/build-release.sh); stage 2 is a small
# Debian image with the server binary, the built site and nothing else, run as a non-root user.

FROM rust:1.95-bookworm AS build
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm python3 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN bash scripts/build-release.sh

FROM debian:bookworm-slim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin rekindle \
    && mkdir -p /app/data \
    && chown rekindle /app/data
WORKDIR /app
COPY --from=build /src/target/release/server /app/server
COPY --from=build /src/target/release/hash.txt /app/hash.txt
COPY --from=build /src/target/site /app/site
USER rekindle
ENV REKINDLE_ADDR=0.0.0.0:3000 \
    REKINDLE_DATA_DIR=/app/data \
    LEPTOS_SITE_ROOT=/app/site \
    LEPTOS_SITE_PKG_DIR=pkg \
    LEPTOS_OUTPUT_NAME=rekindle \
    LEPTOS_HASH_FILES=true \
    RUST_LOG=info
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/app/server", "healthcheck"]
ENTRYPOINT ["/app/server"]
CMD ["serve"]
