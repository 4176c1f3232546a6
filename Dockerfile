# ixrs route server image.
#
#   docker build --build-arg VERSION=$(git describe --tags --always) \
#                --build-arg COMMIT=$(git rev-parse --short=12 HEAD) \
#                --build-arg DATE=$(git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ) -t ixrs .
#   docker run --network host -v /etc/ixrs:/etc/ixrs:ro -v ixrs-data:/var/lib/ixrs ixrs
#
# Config under /etc/ixrs (config.toml and the files it names: IRR lists, VRP file), state under
# /var/lib/ixrs ([server] state_dir = "/var/lib/ixrs" keeps members shut down across restarts). Reload with `docker kill -s HUP <container>`. docs/operator-guide.md has the rest.

# Build stage: the same release build CI runs (scripts/build): static, -trimpath, stamped -version.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
ARG DATE=1970-01-01T00:00:00Z
RUN VERSION="$VERSION" COMMIT="$COMMIT" DATE="$DATE" ./scripts/build /out/routeserver \
 && /out/routeserver -check -config /src/config.toml.example

FROM debian:bookworm-slim
# curl for the health check; setcap gives the binary CAP_NET_BIND_SERVICE so that the unprivileged
# user can listen on port 179 (also with --network host, where the container's unprivileged-port
# sysctl does not apply). libcap2-bin is removed again afterwards.
COPY --from=build /out/routeserver /usr/local/bin/routeserver
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl libcap2-bin \
 && setcap cap_net_bind_service=+ep /usr/local/bin/routeserver \
 && apt-get purge -y libcap2-bin && apt-get autoremove -y && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 179 ixrs \
 && useradd --system --uid 179 --gid ixrs --home-dir /var/lib/ixrs --shell /usr/sbin/nologin ixrs \
 && install -d -o root -g ixrs -m 0750 /etc/ixrs \
 && install -d -o ixrs -g ixrs -m 0750 /var/lib/ixrs
COPY --chown=root:ixrs --chmod=0640 config.toml.example /etc/ixrs/config.toml.example
USER ixrs:ixrs
WORKDIR /var/lib/ixrs
# BGP, and the looking glass (set [lookingglass] listen = "0.0.0.0:8080" to reach it from outside).
EXPOSE 179 8080
# Healthy when the looking glass answers: the daemon is running and its read side responds.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD curl -fsS -o /dev/null http://127.0.0.1:8080/api/v1/status || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/routeserver"]
CMD ["-config", "/etc/ixrs/config.toml"]
