#!/usr/bin/env bash
# Release-build window benchmark: starts vigil on a fresh SQLite file on loopback with three
# models, runs tools/bench/windows.py against it, stops vigil by PID.
# Usage: tools/bench/run-windows.sh [--clients 4 --checkpoints 1000000,5000000,10000000 ...]
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product vigil >/dev/null || { swift build -c release --product vigil 2>&1 | grep -E "error" >&2; exit 1; }
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
port=${VIGIL_BENCH_PORT:-19752}
cat >"$work/vigil.yaml" <<YAML
evaluation_interval: 5s
models:
  model0: {task: binary, positive_class: fraud, segments: [region, tier, [region, tier]]}
  model1: {task: binary, positive_class: fraud, segments: [region, tier]}
  model2: {task: binary, positive_class: fraud, segments: [region]}
YAML
.build/release/vigil serve --config "$work/vigil.yaml" --db "$work/bench.db" --port "$port" --log-level warning &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
python3 tools/bench/windows.py --port "$port" --pid "$pid" "$@"
echo
echo "database: $(du -sh "$work/bench.db" | cut -f1)"
echo "bucket rows (resolution 1 = minute, 2 = hour): count, bytes, bytes per model"
sqlite3 "$work/bench.db" "SELECT resolution, count(*), sum(length(data)), sum(length(data)) / count(DISTINCT model_id) FROM buckets GROUP BY resolution"
