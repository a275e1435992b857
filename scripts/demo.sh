#!/usr/bin/env bash
# One command from a fresh machine: install, build, start a real 3-member etcd on the guide's ports
# (2379/22379/32379) and the monitor with its API, /metrics and live dashboard on :8080. Ctrl-C stops all.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
npm run build --silent
exec node --import tsx scripts/demo.ts "$@"
