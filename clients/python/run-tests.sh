#!/usr/bin/env bash
# Runs the Python client's tests against the real vigil binary.
#
# Usage: clients/python/run-tests.sh [pytest arguments...]
# Environment:
#   VIGIL_BINARY       the vigil to start (default .build/debug/vigil; build it with `swift build`)
#   CLIENT_VENV        the virtualenv, created on first use and reused while requirements-test.txt
#                      is unchanged (default .build/client-venv; .build is ignored by git)
#   CLIENT_TEST_TIMEOUT seconds the whole run may take before it is stopped and fails (default 600)
# Exit status: pytest's own (0 when every test passed), 124 when the timeout passed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"

requirements=$here/requirements-test.txt
venv=${CLIENT_VENV:-.build/client-venv}
stamp="$venv/.requirements.sha256"
wanted=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ ! -x "$venv/bin/pytest" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check --no-input -r "$requirements"
  echo "$wanted" >"$stamp"
fi
venv=$(cd "$venv" && pwd)
export VIGIL_BINARY=${VIGIL_BINARY:-$root/.build/debug/vigil}
# -p no:cacheprovider: no .pytest_cache in the tree.
cd "$here"
exec timeout --kill-after=10 "${CLIENT_TEST_TIMEOUT:-600}" \
  "$venv/bin/python" -m pytest -p no:cacheprovider -q -rs tests "$@"
