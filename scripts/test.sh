#!/usr/bin/env bash
# Install everything the tests need, then run them all: types, lint, build, unit and integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh prometheus alertmanager openssl
npm test
