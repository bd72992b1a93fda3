#!/usr/bin/env bash
# Benchmark of the GitOps path on an environment with N node packs: the check `run --locked`
# adds before ComfyUI starts (lock freshness + a full observe/plan), `plan --format markdown`,
# and machine B's `pull --apply` of machine A's push through a bare repository (N packs added).
# Offline (wheels and git repositories made here), real uv and git.
#
#   scripts/bench-gitops.sh [NODES]             # default 30; release build
#   COMFYDOCK_BIN=target/debug/comfydock scripts/bench-gitops.sh   # an existing binary
set -euo pipefail
NODES="${1:-30}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/scripts/lib/bench.sh"
BIN="$(bench_binary "${COMFYDOCK_BIN:-}")"
WORK="$(mktemp -d -t comfydock-bench-XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

export UV_OFFLINE=1 UV_FIND_LINKS="$WORK/wheels" UV_PYTHON_DOWNLOADS=never NO_COLOR=1
export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.invalid
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.invalid
A="$WORK/ws-a" B="$WORK/ws-b"

bench_sources "$WORK" "$NODES"

ms() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); echo $(((e - s) / 1000000)); }
a() { COMFYDOCK_HOME="$A" "$BIN" -e prod "$@"; }
b() { COMFYDOCK_HOME="$B" "$BIN" -e prod "$@"; }

# Machine A: the environment, published to a bare repository.
COMFYDOCK_HOME="$A" "$BIN" init >/dev/null 2>&1
COMFYDOCK_HOME="$A" "$BIN" create prod --comfyui-repo "$WORK/ComfyUI" --comfyui v0.1.0 >/dev/null 2>&1
git init -q --bare "$WORK/gitops.git"
a remote add "$WORK/gitops.git" >/dev/null 2>&1
a push >/dev/null 2>&1
# Machine B: a clone of the repository, built from the lock.
COMFYDOCK_HOME="$B" "$BIN" init >/dev/null 2>&1
mkdir -p "$B/environments/prod"
git clone -q "$WORK/gitops.git" "$B/environments/prod/.cec"
b apply --locked --yes >/dev/null 2>&1

# A adds the packs and pushes them.
for i in $(seq 0 $((NODES - 1))); do a node add "$WORK/packs/pack-$i" --no-apply >/dev/null 2>&1; done
a apply --yes >/dev/null 2>&1
a push >/dev/null 2>&1

echo "binary: $BIN"
echo "environment: $NODES node packs, $((NODES + 1)) Python packages"
echo "pull --apply on machine B (fetch, fast-forward, apply $NODES packs + venv): $(ms b pull --apply) ms"
b run --locked -- --quick-test-for-ci | grep -q "BenchNode$((NODES - 1))" && echo "machine B runs all $NODES packs under run --locked"
# Python's start-up is noisy: the best of 5 of each, and the check alone (a refusal stops
# before Python starts).
best() { local m=999999 t; for _ in 1 2 3 4 5; do t=$(ms "$@"); [ "$t" -lt "$m" ] && m=$t; done; echo "$m"; }
plain=$(best b run -- --quick-test-for-ci)
locked=$(best b run --locked -- --quick-test-for-ci)
echo "run --quick-test-for-ci, best of 5: $plain ms; with --locked: $locked ms"
mkdir "$B/environments/prod/ComfyUI/custom_nodes/stray"
echo "run --locked refusing a drifted environment (the check alone, best of 5): $(best b run --locked) ms"
rmdir "$B/environments/prod/ComfyUI/custom_nodes/stray"
for run in 1 2 3; do echo "plan --format markdown, no changes (run $run): $(ms b plan --format markdown) ms"; done
echo "pull with nothing new: $(ms b pull) ms"
echo "log (generations + .cec history): $(ms b log) ms"
