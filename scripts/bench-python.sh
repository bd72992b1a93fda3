#!/usr/bin/env bash
# Benchmark of the Python side on an environment with 30 node packs, each with its own
# requirement: the time of a no-change `apply`, and of a rollback (venv symlink flip plus the
# node folders). Release build, offline (wheels and git repositories made here), real uv.
#
#   scripts/bench-python.sh [NODES]        # default 30
#   COMFYDOCK_BIN=path scripts/bench-python.sh   # an existing binary instead of the release build
set -euo pipefail
NODES="${1:-30}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/scripts/lib/bench.sh"
BIN="$(bench_binary "${COMFYDOCK_BIN:-}")"
WORK="$(mktemp -d -t comfydock-bench-XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

export COMFYDOCK_HOME="$WORK/ws" UV_OFFLINE=1 UV_FIND_LINKS="$WORK/wheels" UV_PYTHON_DOWNLOADS=never NO_COLOR=1
export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.invalid
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.invalid

# Wheels: ComfyUI's own requirement and one package per node pack.
bench_sources "$WORK" "$NODES"

"$BIN" init >/dev/null 2>&1
"$BIN" create bench --comfyui-repo "$WORK/ComfyUI" --comfyui v0.1.0 >/dev/null 2>&1
for i in $(seq 0 $((NODES - 1))); do
  "$BIN" node add "$WORK/packs/pack-$i" --no-apply >/dev/null 2>&1
done
"$BIN" apply --yes >/dev/null 2>&1
"$BIN" run -- --quick-test-for-ci | grep -q "BenchNode$((NODES - 1))"

ms() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); echo $(((e - s) / 1000000)); }
echo "environment: $NODES node packs, $((NODES + 1)) Python packages"
for run in 1 2 3; do echo "no-change apply (run $run): $(ms "$BIN" apply --yes) ms"; done
# Generation 1 has no nodes; 2 has them all. Each rollback flips the venv symlink and moves
# the node folders; the indexes are unreachable (find-links removed) to prove no network is used.
mv "$WORK/wheels" "$WORK/wheels-gone"
echo "rollback to the empty generation (remove $NODES packs, flip venv): $(ms "$BIN" rollback 1 --yes) ms"
echo "rollback to the full generation (place $NODES packs, flip venv):  $(ms "$BIN" rollback 2 --yes) ms"
"$BIN" run -- --quick-test-for-ci | grep -q "BenchNode$((NODES - 1))" && echo "after rollback: ComfyUI imports all $NODES packs"
