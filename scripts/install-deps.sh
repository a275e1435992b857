#!/usr/bin/env bash
# Install what a fresh machine lacks (Debian packages, npm packages). Idempotent and quiet when warm.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || need+=(etcd-client)
for pkg in "$@"; do
  case "$pkg" in
    prometheus) command -v promtool >/dev/null 2>&1 || need+=(prometheus) ;;
    alertmanager) command -v amtool >/dev/null 2>&1 || need+=(prometheus-alertmanager) ;;
    chromium) command -v chromium >/dev/null 2>&1 || need+=(chromium) ;;
    openssl) command -v openssl >/dev/null 2>&1 || need+=(openssl) ;;
    # The advice tests slow a member's fsyncs with strace (test/helpers/faults.ts).
    strace) command -v strace >/dev/null 2>&1 || need+=(strace) ;;
    # The container tests: Debian's Docker engine and docker-compose 1.29 (scripts/docker-engine.sh), and
    # debootstrap for the offline test base image (scripts/images.sh).
    docker)
      command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
      command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose) ;;
    debootstrap) command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap) ;;
  esac
done
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing Debian packages: ${need[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need[@]}"
  # Debian's etcd-server package starts a system etcd on 2379 where systemd runs; the demo and tests start their own.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet etcd 2>/dev/null; then $SUDO systemctl disable --now etcd || true; fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
