#!/usr/bin/env bash
# Installs whatever is missing, builds, and starts a terminal chat with the demo personas.
# Needs OPENROUTER_API_KEY (or the key variable named in Bots/demo.toml).
set -euo pipefail
cd "$(dirname "$0")/../.."
Deploy/scripts/setup.sh
swift build -c release --product persona-bridge 2>&1 | grep -E "error|warning:" || true
exec "$(swift build -c release --show-bin-path)/persona-bridge" chat --config Bots/demo.toml "$@"
