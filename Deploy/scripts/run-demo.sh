#!/usr/bin/env bash
# Installs whatever is missing, builds, and starts a terminal chat with the demo personas.
# Needs OPENROUTER_API_KEY (or the key variable named in Bots/demo.toml); extra arguments go to `chat`.
set -euo pipefail
cd "$(dirname "$0")/../.."
Deploy/scripts/setup.sh
log=$(mktemp)
echo "Building persona-bridge (release; the first build takes a few minutes)..."
# Statically linked Swift runtime and Foundation, as the container builds it (Package.swift, `leanReleaseLink`).
if ! swift build -c release --static-swift-stdlib --product persona-bridge >"$log" 2>&1; then
  tail -40 "$log"
  echo "run-demo: the build failed (full log: $log)" >&2
  exit 1
fi
exec "$(swift build -c release --static-swift-stdlib --show-bin-path)/persona-bridge" chat --config Bots/demo.toml "$@"
