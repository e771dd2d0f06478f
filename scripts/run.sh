#!/usr/bin/env bash
# Set up and start renkou on a synthetic demo county (SQLite in ./var), at http://127.0.0.1:8000
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh app
exec .venv/bin/renkou serve --demo --persons "${RENKOU_DEMO_PERSONS:-100000}" "$@"
