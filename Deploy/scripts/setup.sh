#!/usr/bin/env bash
# Installs what building and testing PersonaBridge needs and is missing: Debian packages and the
# Python packages the loopback test servers use. Safe to run again; it skips what is present.
#   setup.sh          build + run dependencies
#   setup.sh --test   also the test servers' dependencies
set -euo pipefail
cd "$(dirname "$0")/../.."

want_tests=0
[ "${1:-}" = "--test" ] && want_tests=1

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else echo "setup: need root (or sudo) to run: $*" >&2; exit 1; fi
}

if ! command -v swift >/dev/null 2>&1; then
  echo "setup: Swift 6 is required and not on PATH (install it from swift.org, then run this again)." >&2
  exit 1
fi

debs=(pkg-config libcurl4-openssl-dev libwebsockets-dev zlib1g-dev libsqlite3-dev)
[ $want_tests = 1 ] && debs+=(python3 python3-pip openssl ngircd)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# python3/pip may come from elsewhere (pyenv); do not install Debian's copy over a working one.
if [ ${#missing[@]} -gt 0 ] && command -v python3 >/dev/null && python3 -m pip --version >/dev/null 2>&1; then
  keep=(); for p in "${missing[@]}"; do case $p in python3|python3-pip) ;; *) keep+=("$p");; esac; done
  missing=("${keep[@]+"${keep[@]}"}")
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ $want_tests = 1 ] && [ -f Tests/Servers/requirements.txt ]; then
  if ! python3 - <<'PY' 2>/dev/null
import importlib, sys
reqs = [l.split("==")[0].split(">=")[0].strip() for l in open("Tests/Servers/requirements.txt") if l.strip() and not l.startswith("#")]
names = {"matrix-synapse": "synapse"}
for r in reqs:
    importlib.import_module(names.get(r, r).replace("-", "_"))
PY
  then
    echo "setup: installing Python packages for the test servers"
    python3 -m pip install --quiet --disable-pip-version-check -r Tests/Servers/requirements.txt
  fi
fi
