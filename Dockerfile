# Images for livechat-auth and for the chat servers that use it, built from
# this repository, Debian's packages and the Go toolchain image:
#   docker build --target livechat-auth -t livechat-auth .
# docker-compose.yml builds every target. DEBIAN names the Debian release
# every stage starts from (debian:DEBIAN-slim, or nothing): trixie (13), or
# bookworm (12) with --build-arg DEBIAN=bookworm. GO_IMAGE names the
# toolchain image the binary is built with, by default the same release's.
ARG DEBIAN=trixie
ARG GO_IMAGE=golang:1.26-${DEBIAN}

# The sample wiki's database for the compose demo: Debian's MariaDB with
# test/fixture loaded and deploy/compose/reader.sql's SELECT-only user.
FROM debian:${DEBIAN}-slim AS wiki-db
RUN apt-get update && apt-get install -y --no-install-recommends mariadb-server && rm -rf /var/lib/apt/lists/*
COPY test/fixture/schema.sql test/fixture/users.sql deploy/compose/reader.sql deploy/compose/load-wiki.sh /usr/local/share/wiki-db/
RUN sh /usr/local/share/wiki-db/load-wiki.sh
USER mysql
EXPOSE 3306
HEALTHCHECK --interval=2s --timeout=5s --retries=30 CMD ["mariadb-admin", "ping"]
CMD ["mariadbd", "--bind-address=0.0.0.0"]

FROM ${GO_IMAGE} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/livechat-auth ./cmd/livechat-auth

FROM debian:${DEBIAN}-slim AS certs
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*

# livechat-auth serve: session API, keys, HTTP auth contract, chat proxy.
# One static binary and the CA certificates, run as an unprivileged user.
FROM scratch AS livechat-auth
COPY --from=certs /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/livechat-auth /usr/local/bin/livechat-auth
ENV LIVECHAT_AUTH_CONFIG=/etc/livechat-auth/config.yaml
USER 65532:65532
EXPOSE 8484
HEALTHCHECK --interval=5s --timeout=5s --start-period=5s --retries=3 CMD ["/usr/local/bin/livechat-auth", "health"]
ENTRYPOINT ["/usr/local/bin/livechat-auth"]
CMD ["serve"]

# Debian's ejabberd with livechat-auth as its extauth program. Erlang
# distribution listens on ERL_DIST_PORT, without epmd; /run/ejabberd holds
# its pidfile (Debian makes it at boot; an image has to make it itself).
FROM debian:${DEBIAN}-slim AS ejabberd
# Its user's own group is 65532, serve's, and it stays in the ejabberd
# group (which reads /etc/ejabberd): the config files mounted in both
# containers are then made private with one group that names nothing else
# on the host.
RUN apt-get update && apt-get install -y --no-install-recommends ejabberd && rm -rf /var/lib/apt/lists/* \
 && install -d -o ejabberd -g ejabberd /run/ejabberd \
 && groupadd -g 65532 livechat-auth && usermod -g 65532 -a -G ejabberd ejabberd
COPY --from=build /out/livechat-auth /usr/local/bin/livechat-auth
COPY deploy/compose/ejabberd.yml /etc/ejabberd/ejabberd.yml
ENV ERL_DIST_PORT=5210
USER ejabberd
EXPOSE 5222 5280
# Healthy once it listens on 5222 (0x1466) for clients, which compose's
# --wait waits for: read from the kernel's socket table, since a probe
# that connected would log a client every two seconds.
HEALTHCHECK --interval=2s --timeout=3s --start-period=60s --retries=3 CMD ["grep", "-Eqs", "^ *[0-9]+: [0-9A-F]+:1466 [0-9A-F]+:0000 0A ", "/proc/net/tcp", "/proc/net/tcp6"]
CMD ["/usr/sbin/ejabberdctl", "foreground"]

# Debian's Prosody (and the DNS library it recommends) with our auth
# module; /run/prosody holds its pidfile, as /run/ejabberd above.
FROM debian:${DEBIAN}-slim AS prosody
RUN apt-get update && apt-get install -y --no-install-recommends prosody lua-unbound && rm -rf /var/lib/apt/lists/* \
 && install -d -o prosody -g prosody /run/prosody
COPY prosody/mod_auth_livechat.lua /usr/local/lib/prosody/modules/mod_auth_livechat.lua
COPY deploy/compose/prosody.cfg.lua /etc/prosody/prosody.cfg.lua
USER prosody
EXPOSE 5222
HEALTHCHECK --interval=2s --timeout=3s --start-period=60s --retries=3 CMD ["grep", "-Eqs", "^ *[0-9]+: [0-9A-F]+:1466 [0-9A-F]+:0000 0A ", "/proc/net/tcp", "/proc/net/tcp6"]
CMD ["/usr/bin/prosody", "-F"]
