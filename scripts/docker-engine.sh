#!/usr/bin/env bash
# The Docker engine the container tests use (test/e2e/compose.test.ts, test/e2e/kind.test.ts).
#
#   scripts/docker-engine.sh start   install Debian's docker.io + docker-compose when absent, build the
#                                    `docker compose` v2 plugin from its pinned Go module when the CLI
#                                    has none, and start dockerd when no engine answers (then wait for it)
#   scripts/docker-engine.sh stop    stop the dockerd that `start` started, and nothing else
#
# A machine whose engine already answers `docker info` keeps using it; `stop` then does nothing.
# The pid of a daemon started here is kept in .cache/dockerd.pid (its log in .cache/dockerd.log), or in
# $DOCKER_ENGINE_STATE_DIR when set.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
state="${DOCKER_ENGINE_STATE_DIR:-$repo/.cache}"
pidfile="$state/dockerd.pid"
log="$state/dockerd.log"
mkdir -p "$state"

answers() { timeout 20 docker info --format '{{.ServerVersion}}' >/dev/null 2>&1; }

start() {
  bash scripts/install-deps.sh docker

  # `docker compose` (v2): Debian bookworm has only docker-compose 1.29, so the plugin is built from
  # its Go module (tools/compose) and linked where the docker CLI looks for plugins.
  if ! docker compose version >/dev/null 2>&1; then
    bash scripts/build-tools.sh docker-compose
    mkdir -p "$HOME/.docker/cli-plugins"
    ln -sfn "$(readlink -f "$repo/.cache/bin/docker-compose")" "$HOME/.docker/cli-plugins/docker-compose"
    docker compose version >/dev/null 2>&1 || { echo "docker-engine: the docker CLI does not load $HOME/.docker/cli-plugins/docker-compose" >&2; exit 1; }
  fi

  if answers; then
    echo "docker-engine: using the running engine ($(docker info --format 'Docker {{.ServerVersion}}, {{.Driver}}' 2>/dev/null))"
    return 0
  fi
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "docker-engine: dockerd $(cat "$pidfile") (started earlier by this script) does not answer yet"
  else
    echo "docker-engine: no engine answers; starting dockerd (log: $log)"
    # Its own session, so a Ctrl-C of the test run does not reach it before `stop` does.
    setsid dockerd >"$log" 2>&1 </dev/null &
    echo $! >"$pidfile"
  fi
  local pid
  pid=$(cat "$pidfile")
  for _ in $(seq 1 60); do
    if answers; then
      echo "docker-engine: dockerd $pid is up ($(docker info --format 'Docker {{.ServerVersion}}, {{.Driver}}'))"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 1
  done
  echo "docker-engine: dockerd did not come up; last lines of $log:" >&2
  tail -20 "$log" >&2 || true
  exit 1
}

stop() {
  [ -f "$pidfile" ] || return 0
  local pid
  pid=$(cat "$pidfile")
  rm -f "$pidfile"
  kill -0 "$pid" 2>/dev/null || return 0
  # Only our dockerd: the pid must still be a dockerd (not a recycled pid).
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] || return 0
  echo "docker-engine: stopping dockerd $pid"
  kill -TERM "$pid"
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.5
  done
  echo "docker-engine: dockerd $pid did not stop in 30s; killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: scripts/docker-engine.sh start|stop" >&2; exit 2 ;;
esac
