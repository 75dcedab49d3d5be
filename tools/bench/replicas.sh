#!/usr/bin/env bash
# Ingestion on PostgreSQL with 1 and 2 replicas beside SQLite (issue 16): builds the release binary
# and the load generator, then runs tools/bench/replicas.py. Usage: tools/bench/replicas.sh [--predictions N] [--runs R]
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product vigil >/dev/null || { swift build -c release --product vigil 2>&1 | grep -E "error" >&2; exit 1; }
(cd tools/bench/loadgen && swift build -c release >/dev/null) || { (cd tools/bench/loadgen && swift build -c release 2>&1 | grep -E "error" >&2); exit 1; }
exec python3 tools/bench/replicas.py "$@"
