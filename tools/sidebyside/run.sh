#!/usr/bin/env bash
# Runs tools/sidebyside/compare.py against a fresh release vigil on loopback (stopped by PID).
# Creates the Python venv on first use: tools/.venv-sidebyside from tools/sidebyside/requirements.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -x tools/.venv-sidebyside/bin/python ]; then
  python3 -m venv tools/.venv-sidebyside
  tools/.venv-sidebyside/bin/pip install -q -r tools/sidebyside/requirements.txt
fi
swift build -c release --product vigil >/dev/null || { swift build -c release --product vigil 2>&1 | grep -E "error" >&2; exit 1; }
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
port=${VIGIL_BENCH_PORT:-19753}
printf 'server: {max_body_bytes: 104857600}\nmodels:\n  sbs: {task: binary, positive_class: fraud, drift: {fine_bins: true}}\n' >"$work/vigil.yaml"
.build/release/vigil serve --config "$work/vigil.yaml" --db "$work/sbs.db" --port "$port" --log-level warning &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
tools/.venv-sidebyside/bin/python tools/sidebyside/compare.py --port "$port" "$@"
