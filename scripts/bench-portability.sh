#!/usr/bin/env bash
# Benchmark of moving an environment: an environment with NODES git node packs (each with its
# own requirement) and WORKFLOWS tracked workflow files is exported, then imported into a fresh
# workspace (nothing in its store or caches: git fetches, uv installs from the wheel folder) and
# again under another name (store and uv cache warm). Prints the bundle's size and the wall time
# of each step. Offline: wheels and git repositories are made here; real git and uv.
#
#   scripts/bench-portability.sh [NODES] [WORKFLOWS]     # default 30, 200
#   BENCH_BIN=target/debug/comfydock scripts/bench-portability.sh   # skip the release build
set -euo pipefail
NODES="${1:-30}"
WORKFLOWS="${2:-200}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/scripts/lib/bench.sh"
BIN="$(bench_binary "${BENCH_BIN:-}")"
WORK="$(mktemp -d -t comfydock-bench-XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

export COMFYDOCK_HOME="$WORK/ws" UV_OFFLINE=1 UV_FIND_LINKS="$WORK/wheels" UV_PYTHON_DOWNLOADS=never NO_COLOR=1
export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.invalid
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.invalid

bench_sources "$WORK" "$NODES"

"$BIN" init >/dev/null 2>&1
"$BIN" create bench --comfyui-repo "$WORK/ComfyUI" --comfyui v0.1.0 >/dev/null 2>&1
for i in $(seq 0 $((NODES - 1))); do
  "$BIN" node add "$WORK/packs/pack-$i" --no-apply >/dev/null 2>&1
done
"$BIN" apply --yes >/dev/null 2>&1
CEC="$COMFYDOCK_HOME/environments/bench/.cec"
for i in $(seq 0 $((WORKFLOWS - 1))); do
  python3 -c "import json,sys; print(json.dumps({'nodes': [{'id': n, 'type': 'BenchNode%d' % (n % $NODES), 'widgets_values': ['x' * 200]} for n in range(40)]}))" > "$CEC/workflows/flow-$i.json"
done

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

t0=$(now); "$BIN" export -o "$WORK/bench.tar.gz" >/dev/null; t1=$(now)
export_s=$(secs "$t0" "$t1")
cec_bytes=$(du -sb --exclude=.git "$CEC" | cut -f1)
bundle_bytes=$(stat -c %s "$WORK/bench.tar.gz")

export COMFYDOCK_HOME="$WORK/ws-b"
"$BIN" init >/dev/null 2>&1
t0=$(now); "$BIN" import "$WORK/bench.tar.gz" >/dev/null 2>&1; t1=$(now)
cold_s=$(secs "$t0" "$t1")
t0=$(now); "$BIN" import "$WORK/bench.tar.gz" --name again >/dev/null 2>&1; t1=$(now)
warm_s=$(secs "$t0" "$t1")
"$BIN" -e again run -- --quick-test-for-ci | grep -q "BenchNode$((NODES - 1))"

echo "environment: $NODES git node packs, $WORKFLOWS workflows; binary: $BIN"
echo "export:                          ${export_s} s  (.cec ${cec_bytes} bytes -> bundle ${bundle_bytes} bytes, tar.gz)"
echo "import, fresh workspace:         ${cold_s} s  (git fetch of ComfyUI and every pack, uv install, verify, final plan)"
echo "import, same workspace again:    ${warm_s} s  (store and uv cache warm)"
