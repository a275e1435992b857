#!/usr/bin/env bash
# One command from a fresh machine: install, build, start a real 3-member etcd on the guide's ports
# (2379/22379/32379) and the monitor with its API, /metrics and live dashboard on :8080. Ctrl-C stops all.
#
# Shutdown order, whatever signal arrives and whoever sends it: the monitor first (so :8080 is free), then
# etcd. The demo runs in its own session, so a Ctrl-C at the terminal reaches only this script, which
# passes it on; scripts/demo.ts then stops the monitor, waits for it, and stops the members.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# Build unless dist/ is newer than everything it is built from.
if [ ! -f dist/cli/main.js ] || [ -n "$(find src web scripts/build-dashboard.ts package.json tsconfig.build.json -newer dist/cli/main.js -print -quit)" ]; then
  npm run build --silent
fi

setsid node --import tsx scripts/demo.ts "$@" &
demo=$!
forward() { kill -TERM "$demo" 2>/dev/null || true; }
trap forward INT TERM HUP QUIT
rc=0
while kill -0 "$demo" 2>/dev/null; do
  wait "$demo" && rc=0 || rc=$?
done
exit "$rc"
