#!/usr/bin/env bash
# Records the functions the release bridge runs from start to idle into Sources/persona-bridge/hot-symbols.order,
# which the release link (Package.swift, `leanReleaseLink`) uses to place them together.
#
#   Deploy/scripts/hot-symbols.sh [rounds [swift build options…]]     (default 40; needs perf and python3, Linux)
#
# Each round relinks with the list so far, runs `persona-bridge run` against the in-repo fake Discord with five
# bound channels for ten seconds under `perf record -e page-faults -d`, and appends every function whose first
# instruction fetch faulted. The kernel maps up to 64 KB around each fault, so one round sees only one function
# per 64 KB of code; the list grows over rounds until hardly any new function faults. Rerun it after larger
# changes: names the code no longer has are skipped by the linker, new hot functions are simply left unplaced.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-40}
shift || true
build=(swift build -c release --static-swift-stdlib --product persona-bridge "$@")
command -v perf >/dev/null || { echo "hot-symbols: needs perf (Debian: apt-get install linux-perf)" >&2; exit 1; }
order=Sources/persona-bridge/hot-symbols.order
touch "$order"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

mkdir -p "$work/personas"
cp Bots/personas/*.toml "$work/personas/"
persona=$(basename "$(ls Bots/personas/*.toml | head -1)" .toml)
bin_dir=$("${build[@]}" --show-bin-path)

for round in $(seq "$rounds"); do
  rm -f "$bin_dir/persona-bridge"
  "${build[@]}" >"$work/build.log" 2>&1 || { tail -20 "$work/build.log"; exit 1; }

  python3 Tests/Servers/discord_server.py --port 0 --heartbeat-ms 41250 >"$work/server.out" 2>&1 &
  server=$!
  for _ in $(seq 50); do grep -q READY "$work/server.out" && break; sleep 0.2; done
  port=$(grep -oE 'rest=http://127.0.0.1:[0-9]+' "$work/server.out" | grep -oE '[0-9]+$')
  cat >"$work/bridge.toml" <<EOF
personas_dir = "personas"
[model]
provider = "openai-compatible"
base_url = "http://127.0.0.1:9/v1"
model = "M2-her"
api_key_env = "PB_HOT_KEY"
[storage]
path = "state/bridge.sqlite"
[platforms.discord]
token = "\${PB_HOT_TOKEN}"
api_base_url = "http://127.0.0.1:$port/api/v10"
slash_commands = "off"
EOF
  for channel in 301 302 303 304 305; do
    printf '[[channels]]\nplatform = "discord"\nserver = "900000000000000100"\nchannel = "900000000000000%s"\npersonas = ["%s"]\n' \
      "$channel" "$persona" >>"$work/bridge.toml"
  done
  rm -rf "$work/state"; mkdir -p "$work/state"
  (cd "$work" && PB_HOT_TOKEN=fake-bot-token PB_HOT_KEY=unused \
    perf record -q -e page-faults -c 1 -d -o perf.data -- "$bin_dir/persona-bridge" run --config bridge.toml \
    >bridge.out 2>&1) &
  runner=$!
  sleep 10
  # The bridge itself, not perf (whose command line holds the same words after `--`).
  pkill -INT -f "^$bin_dir/persona-bridge run --config bridge.toml" || true
  wait "$runner" 2>/dev/null || true
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true

  # An instruction fetch fault has the faulting address equal to the instruction pointer.
  perf script -i "$work/perf.data" -F addr,ip,sym,dso --no-demangle 2>/dev/null \
    | awk '$1 == $4 && index($3, "persona-bridge") && $2 != "[unknown]" { print $2 }' \
    >"$work/faults"
  if [ ! -s "$work/faults" ]; then
    echo "hot-symbols: the bridge ran no code of its own under perf; its output:" >&2
    tail -20 "$work/bridge.out" >&2
    exit 1
  fi
  before=$(wc -l <"$order")
  # The list so far, then the new names in the order they first faulted.
  cat "$order" "$work/faults" | awk 'NF && !seen[$0]++' >"$work/order"
  mv "$work/order" "$order"
  new=$(($(wc -l <"$order") - before))
  echo "round $round: $(wc -l <"$work/faults") code faults, $new new functions, $(wc -l <"$order") in $order"
  if [ "$new" -eq 0 ]; then break; fi
done
