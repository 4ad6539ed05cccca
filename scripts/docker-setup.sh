#!/usr/bin/env bash
# Makes what the Docker tests need on a Debian machine with no image
# registry, and does nothing that is already done (safe to run twice, also
# at the same time): Debian's docker.io and debootstrap; a running dockerd
# (overlay2); the base images debian:trixie-slim and debian:bookworm-slim
# made with debootstrap; Debian 13's Compose v2 as the docker CLI's plugin
# (`docker compose`); a Go toolchain image made from trixie and this
# machine's /usr/local/go and module cache, tagged golang:1.26-trixie in
# place of the registry's; and livechat-auth-test/stack:debian13, Debian 13's
# chat servers and the programs around them (ejabberd 24.12, Prosody 13,
# PHP 8.4, Valkey, nginx, Apache), which the tests run in containers with
# host networking as the second stack they are checked against.
# Prints the Go image's name on stdout. Run as root. Users pull the base
# images from their registry and never need this.
#
# The debootstrap roots are kept as tarballs in $LIVECHAT_AUTH_CACHE
# (/var/cache/livechat-auth), the images in Docker's own image store.
set -euo pipefail

CACHE="${LIVECHAT_AUTH_CACHE:-/var/cache/livechat-auth}"
SUITE=trixie # what the Dockerfile builds on; bookworm is the older stack
PACKAGES=(docker.io debootstrap)
# Debian 13's programs the tests run as the newer stack. One image, so that
# one apt-get run makes it; a test runs one program of it per container.
STACK_IMAGE=livechat-auth-test/stack:debian13
STACK_PACKAGES=(ejabberd prosody lua-unbound php-cli php-mysql php-fpm nginx apache2 libapache2-mod-php valkey-server valkey-tools ca-certificates)
GOROOT_HOST=/usr/local/go
# Where the docker CLI finds plugins that no package of this machine owns.
COMPOSE_PLUGIN=/usr/local/lib/docker/cli-plugins/docker-compose
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { echo "docker-setup: $*" >&2; }
die() { log "$*"; exit 1; }

mkdir -p "$CACHE"
exec 9>"$CACHE/lock"
flock -w 900 9 || die "another docker-setup held $CACHE/lock for 15 minutes"

install_packages() {
  local missing=() p
  # A Docker engine of another packaging (docker-ce) stays: Debian's
  # docker.io conflicts with it, and apt would remove it.
  local packages=("${PACKAGES[@]}")
  if command -v dockerd >/dev/null || engine_up; then
    packages=("${packages[@]/docker.io/}")
  fi
  for p in "${packages[@]}"; do
    [[ -n "$p" ]] || continue
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
  fi
}

engine_up() { timeout 10 docker info >/dev/null 2>&1; }

start_dockerd() {
  if engine_up; then return; fi
  log "starting dockerd (log: /var/log/livechat-auth-dockerd.log)"
  # --oknodo: a dockerd that is already starting is left alone.
  start-stop-daemon --start --oknodo --background \
    --output /var/log/livechat-auth-dockerd.log \
    --exec /usr/sbin/dockerd -- --storage-driver=overlay2
  for _ in $(seq 1 120); do
    if engine_up; then return; fi
    sleep 0.5
  done
  tail -n 20 /var/log/livechat-auth-dockerd.log >&2 || true
  die "dockerd did not answer within 60 s"
}

# make_root writes $CACHE/SUITE-minbase.tar: a minimal Debian like the
# official slim image (no documentation, apt lists cleaned).
make_root() {
  local suite="$1" tarball="$CACHE/$1-minbase.tar"
  if [[ -s "$tarball" ]]; then return; fi
  local root="$CACHE/root.tmp"
  rm -rf "$root"
  log "debootstrap --variant=minbase $suite (about a minute)"
  debootstrap --variant=minbase "$suite" "$root" http://deb.debian.org/debian >&2 \
    || { tail -n 20 "$root/debootstrap/debootstrap.log" >&2 2>/dev/null || true; die "debootstrap failed"; }
  cat >"$root/etc/apt/sources.list" <<EOF
deb http://deb.debian.org/debian $suite main
deb http://deb.debian.org/debian $suite-updates main
deb http://deb.debian.org/debian-security $suite-security main
EOF
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
  tar -C "$root" --numeric-owner -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  rm -rf "$root"
}

# make_base_image makes debian:SUITE-slim.
make_base_image() {
  local suite="$1" image="debian:$1-slim"
  if docker image inspect "$image" >/dev/null 2>&1; then return; fi
  make_root "$suite"
  log "importing $image"
  docker import --change 'CMD ["bash"]' "$CACHE/$suite-minbase.tar" "$image" >/dev/null
}

# install_compose puts Debian 13's docker-compose (Compose v2, 2.26) where
# the docker CLI finds it as `docker compose`. Debian 12 has only Compose
# v1, so the plugin comes out of a trixie container that installs the
# package; it links nothing but libc (GLIBC_2.34 at most), which Debian
# 12's satisfies. It builds with the engine's own BuildKit, so no buildx
# plugin is needed.
install_compose() {
  if docker compose version >/dev/null 2>&1; then return; fi
  log "installing Debian 13's docker-compose as $COMPOSE_PLUGIN"
  local dir
  dir="$(dirname "$COMPOSE_PLUGIN")"
  mkdir -p "$dir"
  docker run --rm --network host -v "$dir:/out" debian:trixie-slim sh -c '
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker-compose \
    && cp /usr/libexec/docker/cli-plugins/docker-compose /out/.docker-compose.new' >&2
  mv "$dir/.docker-compose.new" "$COMPOSE_PLUGIN"
  docker compose version >&2 || die "docker compose does not run"
}

# make_stack_image makes $STACK_IMAGE from debian:trixie-slim. Its
# programs' own services are not started: a test starts the one it needs
# with its own configuration, as it does on this machine.
# An image made from another package list is made again.
make_stack_image() {
  local have
  have="$(docker image inspect --format '{{index .Config.Labels "livechat-auth.packages"}}' "$STACK_IMAGE" 2>/dev/null || true)"
  if [[ "$have" == "${STACK_PACKAGES[*]}" ]]; then return; fi
  log "making $STACK_IMAGE: ${STACK_PACKAGES[*]} (a few minutes)"
  DOCKER_BUILDKIT=0 docker build --force-rm -q --network host -t "$STACK_IMAGE" - >/dev/null <<EOF
FROM debian:trixie-slim
LABEL livechat-auth.packages="${STACK_PACKAGES[*]}"
RUN printf '#!/bin/sh\\nexit 101\\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d \\
 && apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${STACK_PACKAGES[*]} \\
 && rm -rf /var/lib/apt/lists/*
EOF
}

# make_go_image makes livechat-auth-test/golang:VERSION-bookworm: the base
# image, CA certificates, and this machine's Go, set up as the official
# golang image is (GOPATH /go, GOTOOLCHAIN local); then, on top, this
# machine's module cache as a file GOPROXY, so that builds download no
# module, and a build cache holding every package livechat-auth imports
# (one image per go.mod and go.sum; older ones are removed).
make_go_image() {
  local version base tree sum image ctx
  version="$("$GOROOT_HOST/bin/go" env GOVERSION)"
  version="${version#go}"
  base="livechat-auth-test/golang:$version-$SUITE"
  if ! docker image inspect "$base" >/dev/null 2>&1; then
    tree="livechat-auth-test/go-tree:$version"
    log "making $base from debian:$SUITE-slim and $GOROOT_HOST"
    tar -C "$(dirname "$GOROOT_HOST")" -c "$(basename "$GOROOT_HOST")" | docker import - "$tree" >/dev/null
    DOCKER_BUILDKIT=0 docker build --force-rm -q --network host -t "$base" - >/dev/null <<EOF
FROM $tree AS go
FROM debian:$SUITE-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=go /$(basename "$GOROOT_HOST") /usr/local/go
ENV GOTOOLCHAIN=local GOPATH=/go PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
WORKDIR /go
EOF
    docker rmi "$tree" >/dev/null
  fi

  sum="$(cat "$REPO/go.mod" "$REPO/go.sum" | sha256sum | cut -c1-12)"
  image="$base-modules-$sum"
  if docker image inspect "$image" >/dev/null 2>&1; then tag_go_image "$image"; echo "$image"; return; fi
  log "making $image with the modules of go.sum, their packages compiled"
  ctx="$(mktemp -d)"
  (
    cd "$REPO"
    "$GOROOT_HOST/bin/go" mod download
    cp go.mod go.sum "$ctx/"
    # Every package the binary is built from but its own, standard library
    # included: compiled once here, as the Dockerfile compiles them, so
    # that each build compiles only livechat-auth's packages.
    CGO_ENABLED=0 "$GOROOT_HOST/bin/go" list -deps -f '{{if not (and .Module .Module.Main)}}{{.ImportPath}}{{end}}' ./cmd/livechat-auth >"$ctx/packages"
  ) >&2
  cp -a "$("$GOROOT_HOST/bin/go" env GOMODCACHE)/cache/download" "$ctx/proxy"
  rm -rf "$ctx/proxy/sumdb"
  DOCKER_BUILDKIT=0 docker build --force-rm -q -t "$image" -f - "$ctx" >/dev/null <<EOF
FROM $base
COPY proxy /usr/local/share/go-proxy
ENV GOPROXY=file:///usr/local/share/go-proxy GOSUMDB=off
COPY go.mod go.sum packages /tmp/warm/
RUN cd /tmp/warm && go mod download && CGO_ENABLED=0 go build -trimpath \$(cat packages) && rm -rf /tmp/warm
EOF
  chmod -R u+w "$ctx" && rm -rf "$ctx"
  tag_go_image "$image" # before the old ones go: it held their golang tag
  docker images --format '{{.Repository}}:{{.Tag}}' "livechat-auth-test/golang" | grep -- "-modules-" | grep -vxF "$image" |
    xargs -r docker rmi >/dev/null 2>&1 || true
  echo "$image"
}

# tag_go_image names the Go image golang:MAJOR.MINOR-SUITE, the
# Dockerfile's default GO_IMAGE: this machine has no registry, and this
# image stands in for the registry's, so that the Dockerfile and
# docker-compose.yml build here as they are. A golang image of that name
# that is not one of these (the registry's, pulled) is left alone.
tag_go_image() {
  local version name
  version="$("$GOROOT_HOST/bin/go" env GOVERSION)"
  version="${version#go}"
  name="golang:$(echo "$version" | cut -d. -f1,2)-$SUITE"
  if docker image inspect "$name" >/dev/null 2>&1 &&
    ! docker image inspect --format '{{json .Config.Env}}' "$name" | grep -q 'GOPROXY=file:///usr/local/share/go-proxy'; then
    return
  fi
  docker tag "$1" "$name"
}

install_packages
start_dockerd
make_base_image trixie
make_base_image bookworm
install_compose
make_stack_image
make_go_image
