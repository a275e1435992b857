#!/usr/bin/env bash
# Build, offline, the kind node image the kind tests and `npm run kind:up` use (test-only, never shipped):
#
#   etcd-monitor-kind/base:<key>        Debian bookworm rootfs from debootstrap with systemd, containerd,
#                                       runc, CNI plugins, iptables/nftables, catatonit and busybox-static
#                                       from Debian's packages (tarball cached in ~/.cache/etcd-monitor/kind)
#   etcd-monitor-kind/node:v1.34.4      that + our entrypoint and units (images/kind-node/files), kubelet,
#                                       kubeadm, kubectl (tools/kube: the same pinned k8s.io/kubernetes as the
#                                       tests' control plane), crictl (tools/critools), /kind/version, the
#                                       default CNI and StorageClass manifests, and these images preloaded
#                                       into its containerd (each a one-layer image made here, no registry):
#       registry.k8s.io/kube-{apiserver,controller-manager,scheduler,proxy}:v1.34.4   (tools/kube)
#       registry.k8s.io/etcd:3.6.5-0          (tools/etcdkind; + etcdctl, etcdutl from tools/etcd36, etcdutl36)
#       registry.k8s.io/coredns/coredns:v1.12.1                                       (tools/coredns)
#       etcd-monitor.local/pause:catatonit          Debian's catatonit -P, containerd's sandbox image
#       etcd-monitor.local/busybox:bookworm         Debian's busybox-static: CNI installer, storage helper
#       etcd-monitor.local/local-path-provisioner:v0.0.30                           (tools/localpath)
#
# The Kubernetes, etcd and CoreDNS versions are the ones kubeadm v1.34 asks for, so a plain
# `kind create cluster --image etcd-monitor-kind/node:v1.34.4` works with no registry. The node image is
# labelled with a hash of everything that goes into it; a warm run only hashes (seconds).
#
# Usage: scripts/kind-node-image.sh [--print]   (--print: print only the node image name, building if needed)
#        scripts/kind-node-image.sh archive TOOL IMAGE OUT.tar
#            a one-layer image IMAGE whose entrypoint is /bin/TOOL, the scripts/build-tools.sh binary TOOL, as a
#            `docker save` archive (for `kind load image-archive`), e.g. the Prometheus config reloader
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
cache="${ETCD_MONITOR_KIND_CACHE:-$HOME/.cache/etcd-monitor/kind}"
mkdir -p "$cache"
SUITE=bookworm
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
LABEL=dev.etcd-monitor.key
PACKAGES=systemd,dbus,containerd,runc,containernetworking-plugins,iptables,nftables,conntrack,iproute2,util-linux,mount,procps,ca-certificates,libseccomp2,pigz,catatonit,busybox-static
PAUSE_IMAGE=etcd-monitor.local/pause:catatonit
BUSYBOX_IMAGE=etcd-monitor.local/busybox:bookworm

quiet=0
mode=node
case "${1:-}" in
  --print) quiet=1 ;;
  archive) mode=archive; [ $# -eq 4 ] || { echo "usage: $0 archive TOOL IMAGE OUT.tar" >&2; exit 2; } ;;
  "") ;;
  *) echo "usage: $0 [--print] | archive TOOL IMAGE OUT.tar" >&2; exit 2 ;;
esac
say() { [ "$quiet" = 1 ] || echo "kind-node-image: $*" >&2; }
die() { echo "kind-node-image: $*" >&2; exit 1; }
key() { sha256sum | cut -c1-16; }
modver() { grep -oE "^(require )?[[:space:]]*$1 v[0-9][^[:space:]]*" "tools/$2/go.mod" | head -1 | awk '{print $NF}'; }

tmps=()
containers=()
cleanup() {
  local c t
  for c in "${containers[@]}"; do docker rm -f -v "$c" >/dev/null 2>&1 || true; done
  for t in "${tmps[@]}"; do rm -rf "$t"; done
}
trap cleanup EXIT
tmpdir() { local t; t=$(mktemp -d "$cache/.build-XXXXXX"); tmps+=("$t"); echo "$t"; }

command -v docker >/dev/null 2>&1 || die "no docker CLI (scripts/docker-engine.sh start installs one)"
docker info >/dev/null 2>&1 || die "no Docker engine answers (scripts/docker-engine.sh start starts one)"

KUBE_VERSION=$(modver k8s.io/kubernetes kube)
ETCD_VERSION=$(modver go.etcd.io/etcd/server/v3 etcdkind)
COREDNS_VERSION=$(modver github.com/coredns/coredns coredns)
LOCALPATH_VERSION=$(modver github.com/rancher/local-path-provisioner localpath)
NODE_IMAGE="etcd-monitor-kind/node:$KUBE_VERSION"
LOCALPATH_IMAGE="etcd-monitor.local/local-path-provisioner:$LOCALPATH_VERSION"

# --- the Go-built binaries (cached by scripts/build-tools.sh) ------------------------------------------
BINARIES="kubelet kubeadm kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy etcd-kind etcdctl-3.6 etcdutl-3.6 crictl coredns local-path-provisioner"
bin() { readlink -f "$repo/.cache/bin/$1"; }

# --- base: the Debian rootfs -----------------------------------------------------------------------
BASE_KEY=$(echo "kind-base 1 $SUITE minbase $PACKAGES" | key)
BASE_IMAGE="etcd-monitor-kind/base:$BASE_KEY"
ROOTFS_TAR="$cache/rootfs-$BASE_KEY.tar.gz"
build_base() {
  local tar=$ROOTFS_TAR t start
  if [ ! -s "$tar" ] && docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    t=$(tmpdir)
    docker create --name "etcd-monitor-kind-export-$$" "$BASE_IMAGE" >/dev/null
    containers+=("etcd-monitor-kind-export-$$")
    docker export "etcd-monitor-kind-export-$$" | gzip >"$tar.tmp" && mv "$tar.tmp" "$tar"
  fi
  docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 && return 0
  if [ ! -s "$tar" ]; then
    command -v debootstrap >/dev/null 2>&1 || die "debootstrap is needed (apt-get install debootstrap)"
    t=$(tmpdir); start=$(date +%s)
    say "debootstrap $SUITE with systemd, containerd, runc, CNI plugins from $MIRROR (minutes)"
    if ! debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$t/root" "$MIRROR" >"$t/debootstrap.log" 2>&1; then
      tail -30 "$t/debootstrap.log" >&2; die "debootstrap failed"
    fi
    local r="$t/root"
    rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/* "$r"/var/log/*.log "$r"/debootstrap
    tar -C "$r" --numeric-owner -czf "$tar.tmp" .
    mv "$tar.tmp" "$tar"
    find "$cache" -maxdepth 1 -name 'rootfs-*.tar.gz' ! -name "$(basename "$tar")" -delete
    say "rootfs built in $(( $(date +%s) - start ))s ($(du -h "$tar" | cut -f1))"
  fi
  docker import \
    --change 'ENV container=docker' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/sbin/init"]' \
    "$tar" "$BASE_IMAGE" >/dev/null
  docker image ls --format '{{.Repository}}:{{.Tag}}' etcd-monitor-kind/base | grep -vxF "$BASE_IMAGE" | xargs -r docker rmi >/dev/null 2>&1 || true
  say "imported $BASE_IMAGE"
}

# --- one-layer images, written as `docker save` archives (no registry, no docker build) -----------------
# archive OUT TAG ROOTDIR CONFIG-JSON: ROOTDIR becomes the only layer, owned by root.
archive() {
  local out=$1 tag=$2 root=$3 cfg=$4 w diff cid
  w=$(mktemp -d "$cache/.img-XXXXXX"); tmps+=("$w")
  tar -C "$root" --numeric-owner --owner=0 --group=0 --sort=name --mtime=@0 -cf "$w/layer.tar" .
  diff=$(sha256sum "$w/layer.tar" | cut -d' ' -f1)
  mkdir "$w/$diff"; mv "$w/layer.tar" "$w/$diff/layer.tar"
  printf '{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$cfg" "$diff" >"$w/config.json"
  cid=$(sha256sum "$w/config.json" | cut -d' ' -f1)
  mv "$w/config.json" "$w/$cid.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' "$cid" "$tag" "$diff" >"$w/manifest.json"
  tar -C "$w" -cf "$out" manifest.json "$cid.json" "$diff"
}
# binary_image OUT TAG BINARY NAME [DIR]: the binary at DIR/NAME (default /usr/local/bin), its entrypoint.
binary_image() {
  local s dir=${5:-/usr/local/bin}; s=$(mktemp -d "$cache/.stage-XXXXXX"); tmps+=("$s")
  mkdir -p "$s$dir" "$s/tmp" "$s/etc"; chmod 1777 "$s/tmp"
  install -m 0755 "$3" "$s$dir/$4"
  printf 'root:x:0:0:root:/:/sbin/nologin\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n' >"$s/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' >"$s/etc/group"
  archive "$1" "$2" "$s" "{\"Env\":[\"PATH=/usr/local/bin:/usr/bin:/bin\"],\"Entrypoint\":[\"$dir/$4\"]}"
}
# stage_from_rootfs ROOTFS STAGE FILE...: copy files of the rootfs with the shared libraries they load.
stage_from_rootfs() {
  local r=$1 s=$2 f l
  shift 2
  for f in "$@"; do
    mkdir -p "$s$(dirname "$f")"
    cp -a "$r$f" "$s$f"
    if [ -f "$r$f" ] && [ ! -L "$r$f" ]; then
      for l in $(chroot "$r" ldd "$f" 2>/dev/null | grep -oE '/[^ ]+\.so[^ ]*' | sort -u); do
        mkdir -p "$s$(dirname "$l")"
        [ -e "$s$l" ] || cp -aL "$r$l" "$s$l"
      done
    fi
  done
}

build_images() { # DIR: writes DIR/*.tar
  local d=$1 r s c l n a
  r=$(mktemp -d "$cache/.rootfs-XXXXXX"); tmps+=("$r")
  tar -C "$r" -xzf "$ROOTFS_TAR" ./usr ./lib ./lib64 ./bin ./sbin ./etc
  for c in kube-apiserver kube-controller-manager kube-scheduler; do
    binary_image "$d/$c.tar" "registry.k8s.io/$c:$KUBE_VERSION" "$(bin "$c")" "$c"
  done
  # etcd, with etcdctl and etcdutl beside it in /usr/local/bin as in the real image (no shell): the operator's
  # restore-test Job runs etcdutl and etcd from it. etcdctl/etcdutl are the pinned 3.6 ones (tools/etcd36,
  # tools/etcdutl36), a later 3.6 patch than the server.
  s=$(mktemp -d "$cache/.stage-XXXXXX"); tmps+=("$s")
  mkdir -p "$s/usr/local/bin" "$s/tmp" "$s/etc"; chmod 1777 "$s/tmp"
  install -m 0755 "$(bin etcd-kind)" "$s/usr/local/bin/etcd"
  install -m 0755 "$(bin etcdctl-3.6)" "$s/usr/local/bin/etcdctl"
  install -m 0755 "$(bin etcdutl-3.6)" "$s/usr/local/bin/etcdutl"
  printf 'root:x:0:0:root:/:/sbin/nologin\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n' >"$s/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' >"$s/etc/group"
  archive "$d/etcd.tar" "registry.k8s.io/etcd:${ETCD_VERSION#v}-0" "$s" \
    '{"Env":["PATH=/usr/local/bin:/usr/bin:/bin"],"Entrypoint":["/usr/local/bin/etcd"]}'
  binary_image "$d/local-path-provisioner.tar" "$LOCALPATH_IMAGE" "$(bin local-path-provisioner)" local-path-provisioner
  # CoreDNS: /coredns, as kubeadm's Deployment expects of the image.
  s=$(mktemp -d "$cache/.stage-XXXXXX"); tmps+=("$s")
  install -m 0755 "$(bin coredns)" "$s/coredns"
  archive "$d/coredns.tar" "registry.k8s.io/coredns/coredns:$COREDNS_VERSION" "$s" '{"Entrypoint":["/coredns"]}'
  # kube-proxy with the iptables (nft backend) and nft programs it runs, from the Debian rootfs.
  s=$(mktemp -d "$cache/.stage-XXXXXX"); tmps+=("$s")
  local x
  x=(/usr/sbin/xtables-nft-multi /usr/sbin/nft /usr/sbin/conntrack)
  stage_from_rootfs "$r" "$s" "${x[@]}"
  for l in "$r"/usr/lib/x86_64-linux-gnu/xtables/*.so; do stage_from_rootfs "$r" "$s" "${l#"$r"}"; done
  for n in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
    ln -sf xtables-nft-multi "$s/usr/sbin/$n"; ln -sf xtables-nft-multi "$s/usr/sbin/${n/tables/tables-nft}"
  done
  mkdir -p "$s/usr/local/bin" "$s/tmp" "$s/run"; chmod 1777 "$s/tmp"
  install -m 0755 "$(bin kube-proxy)" "$s/usr/local/bin/kube-proxy"
  archive "$d/kube-proxy.tar" "registry.k8s.io/kube-proxy:$KUBE_VERSION" "$s" \
    '{"Env":["PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Entrypoint":["/usr/local/bin/kube-proxy"]}'
  # pause: catatonit -P (it only waits, and reaps).
  s=$(mktemp -d "$cache/.stage-XXXXXX"); tmps+=("$s")
  install -m 0755 "$r/usr/bin/catatonit" "$s/catatonit"
  archive "$d/pause.tar" "$PAUSE_IMAGE" "$s" '{"User":"65535:65535","Entrypoint":["/catatonit","-P"]}'
  # busybox: the static busybox and a link for each applet.
  s=$(mktemp -d "$cache/.stage-XXXXXX"); tmps+=("$s")
  mkdir -p "$s/bin" "$s/tmp"; chmod 1777 "$s/tmp"
  install -m 0755 "$r/bin/busybox" "$s/bin/busybox"
  for a in $("$s/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$s/bin/$a"; done
  archive "$d/busybox.tar" "$BUSYBOX_IMAGE" "$s" "{\"Env\":[\"PATH=/bin\"],\"Cmd\":[\"sh\"]}"
}

if [ "$mode" = archive ]; then
  bash scripts/build-tools.sh "$2" >&2
  mkdir -p "$(dirname "$4")"
  binary_image "$4" "$3" "$(readlink -f "$repo/.cache/bin/$2")" "$2" /bin
  exit 0
fi

# --- the node ----------------------------------------------------------------------------------------
# shellcheck disable=SC2086
bash scripts/build-tools.sh $BINARIES >&2
build_base
NODE_KEY=$( { echo "kind-node 1 $BASE_IMAGE $PAUSE_IMAGE $BUSYBOX_IMAGE $LOCALPATH_IMAGE"; for b in $BINARIES; do bin "$b"; done
             cat scripts/kind-node-image.sh; find images/kind-node -type f | LC_ALL=C sort | xargs sha256sum; } | key)
if [ "$(docker image inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$NODE_IMAGE" 2>/dev/null)" = "$NODE_KEY" ]; then
  [ "$quiet" = 0 ] || echo "$NODE_IMAGE"
  say "$NODE_IMAGE is up to date"
  exit 0
fi
start=$(date +%s)
t=$(tmpdir)
mkdir -p "$t/images" "$t/files"
build_images "$t/images"
cp -a images/kind-node/files/. "$t/files/"
sed -i "s#@PAUSE_IMAGE@#$PAUSE_IMAGE#" "$t/files/etc/containerd/config.toml"
sed -i -e "s#@BUSYBOX_IMAGE@#$BUSYBOX_IMAGE#g" -e "s#@LOCAL_PATH_IMAGE@#$LOCALPATH_IMAGE#g" "$t/files/kind/manifests/"*.yaml
printf '%s' "$KUBE_VERSION" >"$t/files/kind/version"
mkdir -p "$t/files/usr/bin"
for b in kubelet kubeadm kubectl crictl; do install -m 0755 "$(bin "$b")" "$t/files/usr/bin/$b"; done

# Assemble in a container of the base image: files in, images into its containerd (content only: the
# kubelet's containerd unpacks them on first use, on the node's /var volume), then commit.
name="etcd-monitor-kind-build-$$"
containers+=("$name")
docker run -d --init --name "$name" --entrypoint sleep "$BASE_IMAGE" infinity >/dev/null
tar -C "$t/files" --owner=0 --group=0 -cf - . | docker exec -i "$name" tar -C / -xf - --no-same-owner --no-overwrite-dir
# systemd as PID 1 of a container: only containerd and the kubelet, nothing that wants hardware, consoles,
# timers, or writes kernel-global settings (systemd-sysctl, binfmt_misc).
docker exec "$name" sh -ec '
  rm -f /etc/systemd/system/*.wants/* /lib/systemd/system/multi-user.target.wants/* \
    /lib/systemd/system/local-fs.target.wants/* /lib/systemd/system/basic.target.wants/* \
    /lib/systemd/system/sockets.target.wants/*udev* /lib/systemd/system/sockets.target.wants/*initctl*
  for u in systemd-sysctl.service systemd-binfmt.service proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount \
    console-getty.service getty.target systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer; do
    ln -sf /dev/null "/etc/systemd/system/$u"
  done
  echo ReadKMsg=no >>/etc/systemd/journald.conf
  ln -sf /lib/systemd/systemd /sbin/init
  mkdir -p /etc/kubernetes/manifests /etc/cni/net.d
  systemctl enable containerd.service kubelet.service >/dev/null 2>&1'
docker exec "$name" sh -c 'mkdir -p /run/containerd && (containerd >/var/log/containerd-build.log 2>&1 &) && for i in $(seq 1 50); do ctr version >/dev/null 2>&1 && exit 0; sleep 0.2; done; cat /var/log/containerd-build.log; exit 1'
for a in "$t"/images/*.tar; do
  docker exec -i "$name" ctr --namespace=k8s.io images import --no-unpack - <"$a" >/dev/null
done
loaded=$(docker exec "$name" ctr --namespace=k8s.io images ls -q | sort)
docker exec "$name" sh -c 'pkill -x containerd; for i in $(seq 1 50); do pgrep -x containerd >/dev/null || exit 0; sleep 0.2; done; exit 1'
docker exec "$name" rm -rf /var/log/containerd-build.log /run/containerd /tmp/*
for want in "registry.k8s.io/kube-apiserver:$KUBE_VERSION" "registry.k8s.io/kube-proxy:$KUBE_VERSION" "registry.k8s.io/etcd:${ETCD_VERSION#v}-0" \
  "registry.k8s.io/coredns/coredns:$COREDNS_VERSION" "$PAUSE_IMAGE" "$BUSYBOX_IMAGE" "$LOCALPATH_IMAGE"; do
  grep -qxF "$want" <<<"$loaded" || die "image $want missing from the node's containerd after import (have: $loaded)"
done
old=$(docker image inspect -f '{{.Id}}' "$NODE_IMAGE" 2>/dev/null || true)
docker commit \
  --change 'ENTRYPOINT ["/usr/local/bin/entrypoint"]' --change 'CMD ["/sbin/init"]' \
  --change "LABEL $LABEL=$NODE_KEY" "$name" "$NODE_IMAGE" >/dev/null
if [ -n "$old" ] && [ "$old" != "$(docker image inspect -f '{{.Id}}' "$NODE_IMAGE")" ]; then docker rmi "$old" >/dev/null 2>&1 || true; fi
say "built $NODE_IMAGE in $(( $(date +%s) - start ))s ($(docker image inspect -f '{{.Size}}' "$NODE_IMAGE" | awk '{printf "%d MB", $1/1e6}'))"
[ "$quiet" = 0 ] || echo "$NODE_IMAGE"
