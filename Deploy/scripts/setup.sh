#!/usr/bin/env bash
# Installs the Debian packages that building and testing PersonaBridge need and that are missing.
# Safe to run again; it skips what is present. The fake test servers are Python standard library only.
#   setup.sh                 build + run dependencies
#   setup.sh --test          also the test servers and tools (python3, openssl, ngIRCd, InspIRCd, Atheme,
#                            PostgreSQL, systemd-analyze), Synapse in .venv-synapse/ and kubernetes-validate
#                            in .venv-tools/ (pip)
#   setup.sh --list [--test] print the missing Debian packages and install nothing (used by .ci/run)
set -euo pipefail
cd "$(dirname "$0")/../.."

want_tests=0
list_only=0
for arg in "$@"; do
  case $arg in
    --test) want_tests=1 ;;
    --list) list_only=1 ;;
    *) echo "setup: unknown option $arg (use --test, --list)" >&2; exit 2 ;;
  esac
done

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else echo "setup: need root (or sudo) to run: $*" >&2; exit 1; fi
}

debs=(pkg-config libcurl4-openssl-dev libwebsockets-dev zlib1g-dev libsqlite3-dev libssl-dev)
[ $want_tests = 1 ] && debs+=(python3 openssl ngircd inspircd atheme-services postgresql systemd python3-venv)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# python3 may come from elsewhere (pyenv); any python3 on PATH will do (with venv + ensurepip for Synapse).
if [ ${#missing[@]} -gt 0 ] && command -v python3 >/dev/null; then
  has_venv=0; python3 -c 'import ensurepip, venv' >/dev/null 2>&1 && has_venv=1
  keep=(); for p in "${missing[@]}"; do
    [ "$p" = python3 ] && continue
    [ "$p" = python3-venv ] && [ $has_venv = 1 ] && continue
    keep+=("$p")
  done
  missing=("${keep[@]+"${keep[@]}"}")
fi
if [ $list_only = 1 ]; then
  echo "${missing[@]+"${missing[@]}"}"
  exit 0
fi
if ! command -v swift >/dev/null 2>&1; then
  echo "setup: Swift 6 is required and not on PATH (install it from swift.org, then run this again)." >&2
  exit 1
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Matrix integration tests run a real Synapse from a virtualenv at the repo root (gitignored via .venv*/).
if [ $want_tests = 1 ]; then
  venv=.venv-synapse
  if ! "$venv/bin/python" -c 'import synapse' >/dev/null 2>&1; then
    echo "setup: installing matrix-synapse into $venv (pip, about 30 s)"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check matrix-synapse
  fi
fi

# Python tools for the tests, from PyPI into a repo-local venv (the system Python stays untouched):
# prometheus-client parses /metrics, kubernetes-validate checks Deploy/kubernetes, discord.py runs the reference
# bot `pb-bench ingest` compares against (Tests/Servers/discordpy_reference.py).
pips=(prometheus-client kubernetes-validate==1.37.0 discord.py==2.7.*)
if [ $want_tests = 1 ]; then
  [ -x .venv-tools/bin/pip ] || python3 -m venv .venv-tools
  need=()
  for p in "${pips[@]}"; do
    .venv-tools/bin/pip show -q "${p%%==*}" >/dev/null 2>&1 || need+=("$p")
  done
  if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing into .venv-tools from PyPI: ${need[*]}"
    .venv-tools/bin/pip install -q --disable-pip-version-check "${need[@]}"
  fi
fi
