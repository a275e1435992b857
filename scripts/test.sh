#!/usr/bin/env bash
# Install everything the tests need, then run them all: types, lint, build, unit, integration and e2e
# tests against real etcd (3.4, 3.5, 3.6), a real kube-apiserver, Prometheus tools and Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh prometheus alertmanager openssl chromium
# Pinned Go-built binaries (cached in ~/.cache/etcd-monitor; minutes on a fresh machine, seconds warm).
bash scripts/build-tools.sh
npm test
