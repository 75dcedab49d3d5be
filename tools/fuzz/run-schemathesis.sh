#!/usr/bin/env bash
# Fuzzes a running vigil against the OpenAPI document it serves (/openapi.yaml) with Schemathesis:
# every check (5xx, status codes, content types, response schemas and headers, schema-valid
# requests accepted, schema-violating ones rejected, undeclared methods 405 with Allow, auth).
# Starts nothing itself: the caller runs vigil and passes its base URL.
#
# Usage: tools/fuzz/run-schemathesis.sh BASE_URL [extra schemathesis arguments...]
#   e.g. tools/fuzz/run-schemathesis.sh http://127.0.0.1:8080 -H 'Authorization: Bearer s3cret'
# Environment:
#   FUZZ_EXAMPLES  test cases per operation (default 200)
#   FUZZ_SEED      generator seed (default 1, so a CI failure reproduces; "random" for a fresh one)
#   FUZZ_TIMEOUT   seconds the whole run may take before it is stopped and fails (default 300: clean
#                  runs took up to 155 s on the 2-core CI machine beside the other suites)
#   FUZZ_VENV      the virtualenv, created on first use and reused while requirements.txt is
#                  unchanged (default .build/fuzz-venv; .build is ignored by git)
#   FUZZ_REPORT    directory for a JUnit report (default: none)
# Exit status: schemathesis' own (0 when no check failed), 124 when FUZZ_TIMEOUT passed.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
base=${1:?usage: tools/fuzz/run-schemathesis.sh BASE_URL [schemathesis arguments...]}
shift

requirements=tools/fuzz/requirements.txt
venv=${FUZZ_VENV:-.build/fuzz-venv}
stamp="$venv/.requirements.sha256"
wanted=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ ! -x "$venv/bin/schemathesis" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check --no-input -r "$requirements"
  echo "$wanted" >"$stamp"
fi
venv=$(cd "$venv" && pwd)

seed=${FUZZ_SEED:-1}
seed_args=()
[ "$seed" = random ] || seed_args=(--seed "$seed")
report_args=()
if [ -n "${FUZZ_REPORT:-}" ]; then
  mkdir -p "$FUZZ_REPORT"
  report_args=(--report junit --report-dir "$(cd "$FUZZ_REPORT" && pwd)")
fi

# Schemathesis keeps a crash cache in ./.schemathesis: run it in a scratch directory, so no run
# leaves files in the tree or depends on an earlier one.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cd "$scratch"

# --generation-database none: no .hypothesis folder in the tree, and every run starts from the
# seed alone. No --max-time: in 4.x it repeats fuzzing until the budget is spent; `timeout`
# bounds the run instead. One worker: Python 3.11's ast module keeps its recursion depth in
# state shared by threads, and Hypothesis parsing lambdas in two workers at once fails with
# "AST constructor recursion depth mismatch".
timeout --kill-after=10 "${FUZZ_TIMEOUT:-300}" \
  "$venv/bin/schemathesis" --config-file "$root/tools/fuzz/schemathesis.toml" run "$base/openapi.yaml" \
  --url "$base" \
  --checks all \
  --max-examples "${FUZZ_EXAMPLES:-200}" \
  "${seed_args[@]}" \
  --generation-database none \
  --request-timeout 10 \
  --workers 1 \
  --no-color \
  --output-truncate true \
  "${report_args[@]}" \
  "$@"
