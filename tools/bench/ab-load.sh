#!/usr/bin/env bash
# A/B of two vigil binaries with the low-CPU load generator, interleaved so machine noise hits
# both alike (alternating which goes first). Each run: a fresh SQLite file, 200 batches of 1,000 predictions from 4 connections,
# then labels for every one of them (tools/bench/bodies.py, tools/bench/loadgen), stopped by PID.
# Usage: tools/bench/ab-load.sh BIN_A BIN_B [pairs=3]
set -euo pipefail
cd "$(dirname "$0")/../.."
a=$1; b=$2; pairs=${3:-3}
(cd tools/bench/loadgen && swift build -c release >/dev/null)
load=tools/bench/loadgen/.build/release/vigil-load
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 tools/bench/bodies.py predictions --requests 208 --out "$work/p.bodies"
python3 tools/bench/bodies.py labels --requests 208 --out "$work/l.bodies"
rate() { python3 -c 'import json, sys; r = json.load(sys.stdin); print(round(r["items_per_second"]) if r["ok"] == r["requests"] else "FAILED")'; }
run() {
  local bin=$1 port=$2 pid
  rm -f "$work"/bench.db*
  "$bin" serve --db "$work/bench.db" --port "$port" --log-level warning &
  pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
  p=$("$load" --port "$port" --bodies "$work/p.bodies" --connections 4 --warmup 2 --items-per-body 1000 | rate)
  l=$("$load" --port "$port" --path /v1/labels --bodies "$work/l.bodies" --connections 4 --warmup 2 --items-per-body 1000 | rate)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  # Every prediction and label must be stored, not only answered 200.
  stored=$(python3 -c 'import sqlite3, sys; print(*sqlite3.connect(sys.argv[1]).execute("SELECT count(*), count(labeled_at) FROM predictions").fetchone())' "$work/bench.db")
  [ "$stored" = "208000 208000" ] || p="FAILED(stored: $stored)"
  echo "predictions/s $p labels/s $l"
}
for i in $(seq "$pairs"); do
  # Alternate which binary goes first, so a drift of the machine within a pair hits both.
  if [ $((i % 2)) = 1 ]; then
    echo "pair $i A $(run "$a" 19780)"; echo "pair $i B $(run "$b" 19781)"
  else
    echo "pair $i B $(run "$b" 19781)"; echo "pair $i A $(run "$a" 19780)"
  fi
done
