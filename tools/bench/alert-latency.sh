#!/usr/bin/env bash
# Release-build alert latency benchmark: vigil on a fresh SQLite file with a drift rule whose
# webhook points at tools/bench/alert_latency.py's receiver; stopped by PID.
# Usage: tools/bench/alert-latency.sh [INTERVAL_SECONDS FOR_SECONDS EPISODES]  (default 5 10 10)
set -euo pipefail
cd "$(dirname "$0")/../.."
interval=${1:-5}
for_=${2:-10}
episodes=${3:-10}
swift build -c release --product vigil >/dev/null || { swift build -c release --product vigil 2>&1 | grep -E "error" >&2; exit 1; }
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
port=${VIGIL_BENCH_PORT:-19754}
receiver=$((port + 1))
cat >"$work/vigil.yaml" <<YAML
evaluation_interval: ${interval}s
alerts:
  - {name: AmountDrift, model: "*", metric: feature_drift_psi, feature: amount, op: ">", threshold: 0.2,
     window: 5m, for: ${for_}s, min_samples: 50, notify: [hook]}
notifiers:
  hook: {type: webhook, url: "http://127.0.0.1:$receiver/hook"}
YAML
.build/release/vigil serve --config "$work/vigil.yaml" --db "$work/bench.db" --port "$port" --log-level warning &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
python3 tools/bench/alert_latency.py --port "$port" --receiver-port "$receiver" --episodes "$episodes" \
  --interval "$interval" --for "$for_"
