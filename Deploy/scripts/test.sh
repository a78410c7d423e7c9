#!/usr/bin/env bash
# Installs whatever is missing, then builds and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/../.."
Deploy/scripts/setup.sh --test
log=$(mktemp)
rc=0
swift build --build-tests >"$log" 2>&1 || rc=$?
grep -E "warning:|error:" "$log" || true
if [ $rc != 0 ]; then tail -40 "$log"; echo "test: build failed" >&2; exit $rc; fi
if grep -q "warning:" "$log"; then
  echo "test: the build has warnings; the project keeps zero warnings." >&2
  exit 1
fi
exec swift test --skip-build "$@"
