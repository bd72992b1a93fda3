#!/usr/bin/env bash
# `comfydock test` benchmark, release build, each figure a whole process (start-up included):
#   `test --level validate` of 20 tracked workflows (UI format: image -> sampler -> save chains
#   with a primitive and a reroute) on the miniature ComfyUI; goal <= ComfyUI's start-up + 1 s.
# Prints ComfyUI's start-up as comfydock measured it, the whole command, and the difference.
# Best and mean of BENCH_RUNS runs (default 5). COMFYDOCK_BIN=path skips the release build.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUNS=${BENCH_RUNS:-5}
COUNT=${BENCH_WORKFLOWS:-20}
. "$ROOT/scripts/lib/bench.sh"
BIN="$(bench_binary "${COMFYDOCK_BIN:-}")"
WORK="$(mktemp -d -t comfydock-bench-test-XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

bench_offline_env "$WORK"
export COMFYDOCK_HOME="$WORK/ws"

quiet() { "$@" >/dev/null 2>"$WORK/last.err" || { cat "$WORK/last.err" >&2; echo "failed: $*" >&2; exit 1; }; }

python3 "$ROOT/scripts/lib/wheels.py" "$WORK/wheels"
cp -r "$ROOT/fixtures/comfyui-mini" "$WORK/ComfyUI"
git -C "$WORK/ComfyUI" init -q && git -C "$WORK/ComfyUI" add -A && git -C "$WORK/ComfyUI" commit -qm v1 && git -C "$WORK/ComfyUI" tag v0.1.0
quiet "$BIN" init
quiet "$BIN" create bench --comfyui-repo "$WORK/ComfyUI" --comfyui v0.1.0
env_dir="$COMFYDOCK_HOME/environments/bench"

python3 - "$env_dir/ComfyUI/user/default/workflows" "$COUNT" <<'PY'
import json, os, sys
out, n = sys.argv[1], int(sys.argv[2])
os.makedirs(out, exist_ok=True)
for i in range(n):
    wf = {"version": 0.4, "nodes": [
        {"id": 1, "type": "SolidImage", "inputs": [{"name": "width", "type": "INT", "widget": {"name": "width"}, "link": 3}],
         "outputs": [{"name": "IMAGE", "type": "IMAGE", "links": [1]}], "widgets_values": [8, 8 + i, "red"]},
        {"id": 2, "type": "Reroute", "inputs": [{"name": "", "type": "*", "link": 1}], "outputs": [{"name": "", "type": "*", "links": [2]}]},
        {"id": 3, "type": "SaveImage", "inputs": [{"name": "images", "type": "IMAGE", "link": 2}], "widgets_values": [f"bench{i}"]},
        {"id": 4, "type": "PrimitiveNode", "outputs": [{"name": "INT", "type": "INT", "links": [3]}], "widgets_values": [16 + i, "fixed"]},
        {"id": 5, "type": "CheckpointLoaderSimple", "mode": 2, "widgets_values": ["absent.safetensors"]},
        {"id": 6, "type": "Note", "widgets_values": ["bench"]},
    ], "links": [[1, 1, 0, 2, 0, "IMAGE"], [2, 2, 0, 3, 0, "IMAGE"], [3, 4, 0, 1, 0, "INT"]], "extra": {}}
    json.dump(wf, open(os.path.join(out, f"flow {i:02}.json"), "w"))
PY
quiet "$BIN" workflow track --all

best="" total=0 start_best="" start_total=0
for _ in $(seq "$RUNS"); do
  s=$(date +%s%N)
  "$BIN" test --level validate --json >"$WORK/report.json" 2>"$WORK/last.err" || { cat "$WORK/last.err" "$WORK/report.json" >&2; exit 1; }
  e=$(date +%s%N)
  dt=$(((e - s) / 1000000))
  st=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["summary"]["passed"]==int(sys.argv[2]), r["summary"]; print(r["comfyui"]["started_in_ms"])' "$WORK/report.json" "$COUNT")
  total=$((total + dt)); start_total=$((start_total + st))
  if [ -z "$best" ] || [ "$dt" -lt "$best" ]; then best=$dt; start_best=$st; fi
done
echo "test --level validate, $COUNT workflows, $RUNS runs (ms):"
echo "  whole command      best $best   mean $((total / RUNS))"
echo "  ComfyUI start-up   (best run) $start_best   mean $((start_total / RUNS))"
echo "  beyond start-up    best $((best - start_best))   mean $(((total - start_total) / RUNS))   goal <= 1000"
