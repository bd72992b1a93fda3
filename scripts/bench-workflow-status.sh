#!/usr/bin/env bash
# Workflow tracking benchmark, release build, each figure a whole process (start-up included):
#   - `workflow status` with 200 tracked workflows, nothing changed,   goal <= 50 ms
#   - `workflow sync` with nothing to sync (same 200),                 seed goal < 1 s
#   - a no-op `plan` of that environment (workflows observed by fingerprint)
#   - `workflow track --all` of the 200 (once: analysis, lock, one apply)
# Workflows are 200 copies of a corpus file (fixtures/corpus, or BENCH_CORPUS) with distinct
# widget values, else a small generated one. Best and mean of BENCH_RUNS runs (default 20).
# COMFYDOCK_BIN=path skips the release build (e.g. target/debug/comfydock for a quick check).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUNS=${BENCH_RUNS:-20}
COUNT=${BENCH_WORKFLOWS:-200}
CORPUS=${BENCH_CORPUS:-$ROOT/fixtures/corpus/workflows}
. "$ROOT/scripts/lib/bench.sh"
BIN="$(bench_binary "${COMFYDOCK_BIN:-}")"
WORK="$(mktemp -d -t comfydock-bench-wf-XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

bench_offline_env "$WORK"
export COMFYDOCK_HOME="$WORK/ws"

quiet() { "$@" >/dev/null 2>"$WORK/last.err" || { cat "$WORK/last.err" >&2; echo "failed: $*" >&2; exit 1; }; }
now() { date +%s%N; }
# timed CMD...: "best mean" in milliseconds over $RUNS runs (output discarded).
timed() {
  local best="" total=0 s e dt
  for _ in $(seq "$RUNS"); do
    s=$(now); quiet "$@"; e=$(now)
    dt=$(((e - s) / 1000))
    total=$((total + dt))
    if [ -z "$best" ] || [ "$dt" -lt "$best" ]; then best=$dt; fi
  done
  awk -v b="$best" -v t="$total" -v n="$RUNS" 'BEGIN { printf "%.1f %.1f\n", b / 1000, t / n / 1000 }'
}

# The miniature ComfyUI of the tests, and the one wheel its requirements name.
python3 "$ROOT/scripts/lib/wheels.py" "$WORK/wheels"
cp -r "$ROOT/fixtures/comfyui-mini" "$WORK/ComfyUI"
git -C "$WORK/ComfyUI" init -q && git -C "$WORK/ComfyUI" add -A && git -C "$WORK/ComfyUI" commit -qm v1 && git -C "$WORK/ComfyUI" tag v0.1.0
quiet "$BIN" init
quiet "$BIN" create bench --comfyui-repo "$WORK/ComfyUI" --comfyui v0.1.0
env_dir="$COMFYDOCK_HOME/environments/bench"

template="$CORPUS/ComfyUI_examples__image_to_video_wan22_14B.json"
python3 - "$env_dir/ComfyUI/user/default/workflows" "$COUNT" "$template" <<'PY'
import json, os, sys
out, n, template = sys.argv[1], int(sys.argv[2]), sys.argv[3]
os.makedirs(out, exist_ok=True)
if os.path.isfile(template):
    base = json.load(open(template))
else:
    base = {"nodes": [{"id": 1, "type": "KSampler", "widgets_values": [0, "fixed", 20, 7.0, "euler", "normal", 1.0]}],
            "links": [], "version": 0.4}
for i in range(n):
    doc = json.loads(json.dumps(base))
    doc.setdefault("extra", {})["bench_copy"] = i
    with open(os.path.join(out, f"bench flow {i:03d}.json"), "w") as f:
        json.dump(doc, f)
PY
size=$(du -sh "$env_dir/ComfyUI/user/default/workflows" | cut -f1)

s=$(now); quiet "$BIN" workflow track --all; e=$(now)
track_ms=$(((e - s) / 1000000))
tracked=$("$BIN" workflow status --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(1 for w in d["workflows"] if w["state"] == "in sync"))')
[ "$tracked" = "$COUNT" ] || { echo "expected $COUNT workflows in sync, got $tracked" >&2; exit 1; }

read -r st_best st_mean < <(timed "$BIN" workflow status)
read -r js_best js_mean < <(timed "$BIN" workflow status --json)
read -r sy_best sy_mean < <(timed "$BIN" workflow sync)
read -r pl_best pl_mean < <(timed "$BIN" plan)

printf '%-52s %9s %9s %10s\n' "workflow tracking, $COUNT workflows ($size), $(basename "$(dirname "$BIN")")" "best" "mean" "goal"
printf '%-52s %6s ms %6s ms %10s\n' "workflow status, nothing changed" "$st_best" "$st_mean" "<= 50 ms"
printf '%-52s %6s ms %6s ms %10s\n' "workflow status --json, nothing changed" "$js_best" "$js_mean" ""
printf '%-52s %6s ms %6s ms %10s\n' "workflow sync, nothing to sync" "$sy_best" "$sy_mean" "< 1 s"
printf '%-52s %6s ms %6s ms %10s\n' "plan, no changes" "$pl_best" "$pl_mean" ""
printf '%-52s %6s ms %9s %10s\n' "workflow track --all (once: analyse, lock, apply)" "$track_ms" "" ""
