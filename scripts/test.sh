#!/usr/bin/env bash
# Install everything the tests need, then run them all: types, lint, build, unit, integration and e2e
# tests against real etcd (3.4, 3.5, 3.6), a real kube-apiserver, Prometheus tools, Chromium and a real
# Docker engine (the guide's compose stack, the chart on kind).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh prometheus alertmanager openssl strace chromium docker debootstrap
# Pinned Go-built binaries (cached in ~/.cache/etcd-monitor; minutes on a fresh machine, seconds warm).
bash scripts/build-tools.sh
# The Docker engine: the running one, or a dockerd started here and stopped again when the tests end.
bash scripts/docker-engine.sh start
trap 'bash scripts/docker-engine.sh stop' EXIT
# Offline images under the names docker-compose-full.yml uses (cached by content hash; seconds warm).
bash scripts/images.sh
npm test
