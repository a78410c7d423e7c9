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
if [ $# -gt 0 ]; then exec swift test --skip-build "$@"; fi
# Tests whose subject is timing run on their own after the rest: the lateness tests (how late a streamed reply's
# text lands) measure the in-process bridge, which shares its cooperative thread pool with every suite of the
# parallel run; the slash-command and button tests, which the fake Discord holds to Discord's 3 s interaction
# deadline (the security suite's moderator checks, `/why`, the reply buttons, `/persona import`, `/me` and `/scene`); and the Matrix
# rate-limit test, which must stream fast enough for Synapse's `rc_message` to push back. The linked-scene test streams
# one reply into the fake Discord, ngIRCd and Synapse at once, three servers beside the bridge: it runs here too.
# The proxy tests (DiscordProxyTests) hold messages for a fixed wait that a copy must beat.
timed='LinkedSceneIntegrationTests|DiscordStreamingTests|DiscordProxyTests|DiscordFeatureTests|DiscordThreadSceneTests|DiscordScenePlayerTests|DiscordSecurityTests|DiscordControlsTests|DiscordReactionControlsTests|DiscordCardImportTests|MatrixRateLimitTests'
# Swift Testing starts every test of the run at once on a cooperative pool as wide as the machine's cores. On a
# 2-core machine that also builds something else, each of 550 tests then got a sliver of the pool: a test's own step
# waited behind hundreds of others' until its 60 s wait for an event ran out (fresh-clone runs saw a trivial test take
# 66 s). At most 8 tests at a time keeps each one's wall time close to its own work; the run takes about as long.
export SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH="${SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH:-8}"
swift test --skip-build --skip "$timed"
exec swift test --skip-build --filter "$timed"
