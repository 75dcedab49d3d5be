#!/usr/bin/env bash
# Release build: the Python client's caller cost and throughput (tools/bench/client.py), then
# `vigil import` of a generated 1 M-row CSV and NDJSON file, each against a fresh `vigil serve`
# on loopback, stopped by PID. Usage: tools/bench/run-client.sh [--rows 1000000]
set -euo pipefail
cd "$(dirname "$0")/../.."
rows=1000000
[ "${1:-}" = "--rows" ] && rows=$2
swift build -c release --product vigil >/dev/null || { swift build -c release --product vigil 2>&1 | grep -E "error" >&2; exit 1; }
work=$(mktemp -d)
pid=
stop() { [ -n "$pid" ] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }; pid=; }
trap 'stop; rm -rf "$work"' EXIT
port=${VIGIL_BENCH_PORT:-19761}
serve() {
  rm -f "$work"/bench.db*
  .build/release/vigil serve --db "$work/bench.db" --port "$port" --log-level warning &
  pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
}
url="http://127.0.0.1:$port"

serve
python3 tools/bench/client.py --url "$url"
stop

python3 - "$work" "$rows" <<'PY'
import random, sys
work, rows = sys.argv[1], int(sys.argv[2])
random.seed(1)
countries = ["DE", "FR", "US", "BR", "IN"]
with open(f"{work}/history.csv", "w") as csv, open(f"{work}/history.ndjson", "w") as nd:
    csv.write("id,model,timestamp,prediction,confidence,amount,country,segments.region,metrics.latency_ms\n")
    for i in range(rows):
        ts = 1796000000 + i // 20
        p = "fraud" if random.random() < 0.12 else "ok"
        c, a, l = random.random(), round(random.lognormvariate(3.8, 0.9), 2), round(random.random() * 40, 1)
        country = countries[i % 5]
        csv.write(f"r{i},fraud,{ts},{p},{c:.3f},{a},{country},eu,{l}\n")
        nd.write(f'{{"id":"n{i}","model":"fraud","timestamp":{ts},"prediction":"{p}","confidence":{c:.3f},'
                 f'"features":{{"amount":{a},"country":"{country}"}},"segments":{{"region":"eu"}},"metrics":{{"latency_ms":{l}}}}}\n')
PY
for format in csv ndjson; do
  serve
  start=$(date +%s.%N)
  .build/release/vigil import "$work/history.$format" --url "$url" 2>"$work/import.err" | head -1
  end=$(date +%s.%N)
  python3 -c "print(f'vigil import, $rows-row $format file: {$rows / ($end - $start):,.0f} rows/s ({$end - $start:.1f} s)')"
  stop
done
