# ixrs route server. Build: docker build -t ixrs .   Run: docker run --network host -v $PWD/config.toml:/etc/ixrs/config.toml ixrs
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/routeserver ./cmd/routeserver

FROM debian:bookworm-slim
COPY --from=build /out/routeserver /usr/local/bin/routeserver
COPY config.toml.example /etc/ixrs/config.toml.example
# BGP (179) needs CAP_NET_BIND_SERVICE, which root in the container has; the looking glass listens on 8080.
EXPOSE 179 8080
ENTRYPOINT ["/usr/local/bin/routeserver"]
CMD ["-config", "/etc/ixrs/config.toml"]
