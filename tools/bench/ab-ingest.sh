#!/usr/bin/env bash
# A/B ingestion comparison of two vigil binaries, interleaved so machine noise hits both alike.
# Usage: tools/bench/ab-ingest.sh BIN_A BIN_B [pairs=3]
# Each run: a fresh SQLite file, tools/bench/ingest.py --clients 4 --requests 50, stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/../.."
a=$1; b=$2; pairs=${3:-3}
run() {
  local bin=$1 port=$2 work pid
  work=$(mktemp -d)
  "$bin" serve --db "$work/bench.db" --port "$port" --log-level warning &
  pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
  python3 tools/bench/ingest.py --port "$port" --clients 4 --requests 50 | grep predictions_per_second | tr -d ' ,'
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
for i in $(seq "$pairs"); do
  echo "pair $i A $(run "$a" 19760)"
  echo "pair $i B $(run "$b" 19761)"
done
