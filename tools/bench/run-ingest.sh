#!/usr/bin/env bash
# Release-build ingestion benchmark: starts vigil on a fresh SQLite file on loopback, runs
# tools/bench/ingest.py against it, stops vigil by PID. Extra arguments go to ingest.py.
# Usage: tools/bench/run-ingest.sh [--clients 4 --requests 50 ...]
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product vigil >/dev/null || { swift build -c release --product vigil 2>&1 | grep -E "error" >&2; exit 1; }
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
port=${VIGIL_BENCH_PORT:-19751}
.build/release/vigil serve --db "$work/bench.db" --port "$port" --log-level warning &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
python3 tools/bench/ingest.py --port "$port" "$@"
echo "database: $(du -sh "$work" | cut -f1) for $(sqlite3 "$work/bench.db" 'select count(*) from predictions' 2>/dev/null || echo '?') predictions"
