#!/usr/bin/env bash
# Every DESIGN §8 row in one run, beside the Python anchors (issue 13): builds the release binary
# and the load generator (tools/bench/loadgen), creates the anchors' venvs on first use
# (tools/.venv-whylogs; tools/.venv-sidebyside through tools/sidebyside/run.sh), then runs
# tools/bench/all.py, which prints the markdown tables that BENCHMARKS.md records.
# About 20 minutes on a 2-core machine. Usage: tools/bench/all.sh [--quick] [--only ingest,single] ...
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product vigil >/dev/null || { swift build -c release --product vigil 2>&1 | grep -E "error" >&2; exit 1; }
(cd tools/bench/loadgen && swift build -c release >/dev/null) || { (cd tools/bench/loadgen && swift build -c release 2>&1 | grep -E "error" >&2); exit 1; }
if [ ! -x tools/.venv-whylogs/bin/python ]; then
  python3 -m venv tools/.venv-whylogs
  tools/.venv-whylogs/bin/pip install -q -r tools/bench/requirements-whylogs.txt
fi
if [ ! -x tools/.venv-sidebyside/bin/python ]; then
  python3 -m venv tools/.venv-sidebyside
  tools/.venv-sidebyside/bin/pip install -q -r tools/sidebyside/requirements.txt
fi
exec python3 tools/bench/all.py "$@"
