#!/usr/bin/env bash
# Build the pinned test binaries from Go modules (tools/*/go.mod pins each version) and link them into
# .cache/bin/. Builds are cached outside the clone under ~/.cache/etcd-monitor/tools/<module>-<key>,
# keyed by the module's go.mod/go.sum and the Go version, so clean clones and CI reuse them while a
# fresh machine builds them once. Usage: scripts/build-tools.sh [link-name ...]  (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
cache="${ETCD_MONITOR_TOOLS_CACHE:-$HOME/.cache/etcd-monitor/tools}"
bin="$repo/.cache/bin"
mkdir -p "$cache" "$bin"

# link-name  module-dir  package  output-binary
TOOLS="
kube-apiserver kube k8s.io/kubernetes/cmd/kube-apiserver kube-apiserver
kubectl kube k8s.io/kubernetes/cmd/kubectl kubectl
kubelet kube k8s.io/kubernetes/cmd/kubelet kubelet
kubeadm kube k8s.io/kubernetes/cmd/kubeadm kubeadm
kube-controller-manager kube k8s.io/kubernetes/cmd/kube-controller-manager kube-controller-manager
kube-scheduler kube k8s.io/kubernetes/cmd/kube-scheduler kube-scheduler
kube-proxy kube k8s.io/kubernetes/cmd/kube-proxy kube-proxy
helm helm helm.sh/helm/v3/cmd/helm helm
etcd-3.5 etcd35 go.etcd.io/etcd/server/v3 etcd
etcdctl-3.5 etcd35 go.etcd.io/etcd/etcdctl/v3 etcdctl
etcd-3.6 etcd36 go.etcd.io/etcd/server/v3 etcd
etcdctl-3.6 etcd36 go.etcd.io/etcd/etcdctl/v3 etcdctl
etcd-benchmark etcdbench go.etcd.io/etcd/v3/tools/benchmark benchmark
prometheus prometheus github.com/prometheus/prometheus/cmd/prometheus prometheus
alertmanager alertmanager github.com/prometheus/alertmanager/cmd/alertmanager alertmanager
docker-compose compose github.com/docker/compose/v2/cmd docker-compose
etcd-kind etcdkind go.etcd.io/etcd/server/v3 etcd
kind kind sigs.k8s.io/kind kind
crictl critools sigs.k8s.io/cri-tools/cmd/crictl crictl
coredns coredns github.com/coredns/coredns coredns
local-path-provisioner localpath github.com/rancher/local-path-provisioner local-path-provisioner
prometheus-operator promop github.com/prometheus-operator/prometheus-operator/cmd/operator operator
prometheus-config-reloader promop github.com/prometheus-operator/prometheus-operator/cmd/prometheus-config-reloader prometheus-config-reloader
etcdutl-3.5 etcdutl35 go.etcd.io/etcd/etcdutl/v3 etcdutl
etcdutl-3.6 etcdutl36 go.etcd.io/etcd/etcdutl/v3 etcdutl
versitygw versitygw github.com/versity/versitygw/cmd/versitygw versitygw
"

if ! command -v go >/dev/null 2>&1; then
  echo "build-tools: Go is needed to build the test control plane (kube-apiserver, kubectl, helm, etcd)" >&2
  exit 1
fi
want=("$@")
[ ${#want[@]} -gt 0 ] || want=($(echo "$TOOLS" | awk 'NF{print $1}') prometheus-operator-crds)
gover=$(go env GOVERSION)

PROMOP_VERSION=v0.85.0
for name in "${want[@]}"; do
  if [ "$name" = prometheus-operator-crds ]; then
    # ServiceMonitor/PrometheusRule CRDs, as shipped in the prometheus-operator Go module.
    dir=$(cd tools/kube && GOFLAGS=-mod=mod go mod download -json "github.com/prometheus-operator/prometheus-operator@$PROMOP_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    [ -d "$dir/example/prometheus-operator-crd" ] || { echo "build-tools: prometheus-operator CRDs not found in $dir" >&2; exit 1; }
    mkdir -p "$repo/.cache/crds"
    ln -sfn "$dir/example/prometheus-operator-crd" "$repo/.cache/crds/prometheus-operator"
    continue
  fi
  line=$(echo "$TOOLS" | awk -v n="$name" '$1==n')
  if [ -z "$line" ]; then echo "build-tools: unknown tool $name" >&2; exit 2; fi
  read -r _ mod pkg out <<<"$line"
  # Go build tags (part of the key when set). Prometheus: only static, file and kubernetes service discovery
  # (kubernetes: the Prometheus Operator in test/e2e/kind.test.ts generates kubernetes_sd_configs).
  tags=""
  [ "$mod" = prometheus ] && tags="remove_all_sd,enable_kubernetes_sd"
  key=$(cat "tools/$mod/go.mod" "tools/$mod/go.sum" <(echo "$gover $name v3${tags:+ $tags}") | sha256sum | cut -c1-12)
  dest="$cache/$mod-$key"
  if [ ! -x "$dest/$out" ]; then
    echo "build-tools: building $name ($pkg, $gover) into $dest — the first build takes minutes"
    tmp=$(mktemp -d "$cache/.build-XXXXXX")
    start=$(date +%s)
    ldflags="-s -w"
    if [ "$name" = helm ]; then
      # What release builds stamp in: helm's version, and the Kubernetes version `helm template` assumes.
      hv=$(grep -oE 'helm.sh/helm/v3 v[0-9.]+' "tools/$mod/go.mod" | awk '{print $2}')
      kminor=$(grep -oE 'k8s.io/client-go v[0-9.]+' "tools/$mod/go.mod" | awk '{print $2}' | cut -d. -f2)
      ldflags="$ldflags -X helm.sh/helm/v3/internal/version.version=$hv -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$kminor"
    fi
    if [ "$mod" = kube ]; then
      # The version a release build stamps in (kubectl version, helm's kubeVersion checks read it).
      kv=$(grep -oE 'k8s.io/kubernetes v[0-9.]+' "tools/$mod/go.mod" | awk '{print $2}')
      kmaj=$(echo "${kv#v}" | cut -d. -f1); kmin=$(echo "${kv#v}" | cut -d. -f2)
      for pkgv in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        ldflags="$ldflags -X $pkgv.gitVersion=$kv -X $pkgv.gitMajor=$kmaj -X $pkgv.gitMinor=$kmin -X $pkgv.gitTreeState=clean"
      done
    fi
    if [ "$mod" = prometheus ] || [ "$mod" = alertmanager ] || [ "$mod" = compose ]; then
      # Stamp the module's version the way release builds do (`--version` reads it).
      pv=$(grep -oE "$(dirname "$(dirname "$pkg")")(/v2)? v[0-9][^[:space:]]*" "tools/$mod/go.mod" | head -1 | awk '{print $2}')
      case "$mod" in
        compose) ldflags="$ldflags -X github.com/docker/compose/v2/internal.Version=$pv" ;;
        # Prometheus v3.X.Y is Go module v0.3XX.Y.
        prometheus) pv=$(echo "$pv" | sed -E 's/^v0\.3(0?)([0-9]+)\./3.\2./')
          ldflags="$ldflags -X github.com/prometheus/common/version.Version=$pv" ;;
        *) ldflags="$ldflags -X github.com/prometheus/common/version.Version=${pv#v}" ;;
      esac
    fi
    (cd "tools/$mod" && GOFLAGS=-mod=mod CGO_ENABLED=0 nice -n 5 go build -trimpath -tags="$tags" -ldflags="$ldflags" -o "$tmp/$out" "$pkg")
    mkdir -p "$dest"
    mv "$tmp/$out" "$dest/$out"
    rmdir "$tmp" 2>/dev/null || rm -rf "$tmp"
    echo "build-tools: $name built in $(( $(date +%s) - start ))s"
  fi
  ln -sfn "$dest/$out" "$bin/$name"
done
