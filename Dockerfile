# Images for livechat-auth and for the chat servers that use it, built from
# this repository and Debian's packages only.
#   docker build --target livechat-auth -t livechat-auth .
# docker-compose.yml builds all three targets.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/livechat-auth ./cmd/livechat-auth

# livechat-auth serve: session API, keys, HTTP auth contract, chat proxy.
FROM debian:bookworm-slim AS livechat-auth
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/livechat-auth /usr/local/bin/livechat-auth
USER nobody
EXPOSE 8484
ENTRYPOINT ["/usr/local/bin/livechat-auth"]
CMD ["serve", "--config", "/etc/livechat-auth/config.yaml"]

# Debian's ejabberd with livechat-auth as its extauth program.
FROM debian:bookworm-slim AS ejabberd
RUN apt-get update && apt-get install -y --no-install-recommends ejabberd && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/livechat-auth /usr/local/bin/livechat-auth
COPY deploy/compose/ejabberd.yml /etc/ejabberd/ejabberd.yml
USER ejabberd
EXPOSE 5222 5280
CMD ["/usr/sbin/ejabberdctl", "foreground"]

# Debian's Prosody with our auth module.
FROM debian:bookworm-slim AS prosody
RUN apt-get update && apt-get install -y --no-install-recommends prosody && rm -rf /var/lib/apt/lists/*
COPY prosody/mod_auth_livechat.lua /usr/local/lib/prosody/modules/mod_auth_livechat.lua
COPY deploy/compose/prosody.cfg.lua /etc/prosody/prosody.cfg.lua
USER prosody
EXPOSE 5222
CMD ["/usr/bin/prosody", "-F"]
