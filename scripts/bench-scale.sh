#!/usr/bin/env bash
# Scale benchmark: how the reconcile loop behaves on a big environment. Builds, offline, an
# environment with N node packs (git repositories made here, each with its own wheel), K model
# files in the workspace's model index of which M are declared in the environment, and G
# generations and W tracked workflows, then prints a table of wall times:
#   no-op `plan`, `status`, `apply` placing the M models, `rollback` (unlinking them, then
#   linking them again), a second environment applied from the store (nodes from the store, models
#   from the index, Python from uv's cache), and a no-change `model scan` of the K files.
#
#   scripts/bench-scale.sh                 # both sizes: small, then goal
#   scripts/bench-scale.sh small|goal      # one size
#   scripts/bench-scale.sh N M K G [W]     # any size
#
# Sizes: small = 10 nodes / 100 declared / 1,000 indexed / 20 generations / 20 workflows;
#        goal  = 100 nodes / 2,000 declared / 20,000 indexed / 230 generations / 200 workflows.
# GENERATIONS=N sets the generations of either size (building 230 takes minutes: each is an
# apply); the table says how many there were.
# COMFYDOCK_BIN=path runs another build (e.g. an older one, to compare); the default builds
# and runs the release binary. Each timed figure is the median of BENCH_RUNS (default 5) runs
# (rollbacks alternate away and back), except apply and the second environment, which change
# state and run once; each row has its goal (issue 25) and the 1-minute load average beside it.
# BENCH_KEEP=1 keeps the generated workspaces (the path is printed) for a closer look.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/scripts/lib/bench.sh"
RUNS=${BENCH_RUNS:-5}
BIN="$(bench_binary "${COMFYDOCK_BIN:-}")"
WORK="$(mktemp -d -t comfydock-bench-scale-XXXXXX)"
if [ -n "${BENCH_KEEP:-}" ]; then echo "workspace kept in $WORK" >&2; else trap 'rm -rf "$WORK"' EXIT; fi

# uv itself, not a version manager's shim (pyenv's costs ~0.5 s per call, which would drown
# what is measured here).
bench_offline_env "$WORK"

# ms CMD...: wall time of one run in milliseconds (output discarded; a failure stops the script).
ms() {
  local s e
  s=$(date +%s%N)
  "$@" >/dev/null 2>"$WORK/last.err" || { cat "$WORK/last.err" >&2; echo "failed: $*" >&2; exit 1; }
  e=$(date +%s%N)
  echo $(((e - s) / 1000000))
}
# med N...: the median of the numbers given.
med() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
# best CMD...: the median of $RUNS runs, in milliseconds (the name is older than the median).
best() {
  local ts=()
  for _ in $(seq "$RUNS"); do ts+=("$(ms "$@")"); done
  med "${ts[@]}"
}
# cpu CMD...: the median of $RUNS runs' CPU time (user + system, children included), in ms:
# the no-op plan's goal is stated in CPU, which the load beside it does not change.
cpu() {
  local ts=()
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f '%U %S' -o "$WORK/cpu" "$@" >/dev/null 2>"$WORK/last.err" || { cat "$WORK/last.err" >&2; exit 1; }
    ts+=("$(awk '{ printf "%d", ($1 + $2) * 1000 }' "$WORK/cpu")")
  done
  med "${ts[@]}"
}
load() { cut -d' ' -f1 /proc/loadavg; }
quiet() { "$@" >/dev/null 2>"$WORK/last.err" || { cat "$WORK/last.err" >&2; echo "failed: $*" >&2; exit 1; }; }

# Shared by both sizes: wheels for ComfyUI's requirement and one per node pack (up to 100 packs),
# the miniature ComfyUI and the node packs as git repositories.
setup_sources() {
  local nodes=$1
  bench_sources "$WORK" "$nodes"
}

# run_size LABEL N M K G W: builds one workspace of that size and prints its table row by row.
run_size() {
  local label=$1 nodes=$2 declared=$3 indexed=$4 gens=$5 workflows=${6:-0}
  export COMFYDOCK_HOME="$WORK/ws-$label"
  local env="$COMFYDOCK_HOME/environments/bench"
  echo "[$label] building: $nodes nodes, $declared declared models, $indexed indexed, $gens generations..." >&2
  quiet "$BIN" init
  quiet "$BIN" create bench --comfyui-repo "$WORK/ComfyUI" --comfyui v0.1.0
  # The node packs, written into the manifest at once (one resolve, one uv lock).
  for i in $(seq 0 $((nodes - 1))); do
    printf '\n[tool.comfydock.nodes.pack-%d]\nsource = "git"\nrepository = "%s"\n' "$i" "$WORK/packs/pack-$i" >>"$env/.cec/pyproject.toml"
  done
  # K model files of distinct content, 1,000 per folder; indexed by a first scan.
  bench_model_files "$indexed"
  quiet "$BIN" model scan
  # The model that makes generations: declared, applied, then rolled back and forth.
  python3 - "$COMFYDOCK_HOME/.metadata/model_index.db" 0 1 toggle >>"$env/.cec/pyproject.toml" <<'PY'
import sqlite3, sys
db, first, count, prefix = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rows = sqlite3.connect(db).execute(
    "SELECT h.hash_value, m.size, l.path FROM model_locations l JOIN models m ON m.id = l.model_id "
    "JOIN model_hashes h ON h.model_id = m.id AND h.hash_type = 'blake3' ORDER BY m.id LIMIT ? OFFSET ?",
    (count, first)).fetchall()
for n, (b3, size, path) in enumerate(rows):
    name = f"{prefix}-{n}" if count > 1 else prefix
    print(f'\n[tool.comfydock.models.{name}]\nhash = "blake3:{b3}"\nsize = {size}\ncategory = "loras"\nfilename = "{name}.safetensors"')
PY
  quiet "$BIN" apply --yes
  local with_toggle
  with_toggle=$("$BIN" log --json | python3 -c 'import json,sys; print(max(g["number"] for g in json.load(sys.stdin)["generations"]))')
  local count=$with_toggle
  while [ "$count" -lt "$gens" ]; do
    quiet "$BIN" rollback --yes
    quiet "$BIN" rollback "$with_toggle" --yes
    count=$((count + 2))
  done

  # W workflows saved in ComfyUI, tracked (into .cec/workflows and the manifest) and applied.
  if [ "$workflows" -gt 0 ]; then
    python3 - "$env/ComfyUI/user/default/workflows" "$workflows" <<'PY'
import json, os, sys
out, w = sys.argv[1], int(sys.argv[2])
os.makedirs(out, exist_ok=True)
for i in range(w):
    nodes = [{"id": 1, "type": "CheckpointLoaderSimple", "widgets_values": ["missing.safetensors"]},
             {"id": 2, "type": "CLIPTextEncode", "widgets_values": [f"prompt {i}"]},
             {"id": 3, "type": "KSampler", "widgets_values": [i, "fixed", 20, 7.0, "euler", "normal", 1.0]},
             {"id": 4, "type": "SaveImage", "widgets_values": [f"bench{i}"]}]
    json.dump({"last_node_id": 4, "last_link_id": 0, "nodes": nodes, "links": [], "version": 0.4},
              open(os.path.join(out, f"wf-{i:03d}.json"), "w"))
PY
    quiet "$BIN" workflow track --all
    quiet "$BIN" apply --yes
  fi

  # Declare M models (other files of the index) and apply: the lock first, so that the timed
  # apply is the placing of the links (plus the no-change parts of the loop).
  python3 - "$COMFYDOCK_HOME/.metadata/model_index.db" 1 "$declared" m >>"$env/.cec/pyproject.toml" <<'PY'
import sqlite3, sys
db, first, count, prefix = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rows = sqlite3.connect(db).execute(
    "SELECT h.hash_value, m.size FROM models m "
    "JOIN model_hashes h ON h.model_id = m.id AND h.hash_type = 'blake3' ORDER BY m.id LIMIT ? OFFSET ?",
    (count, first)).fetchall()
for n, (b3, size) in enumerate(rows):
    print(f'\n[tool.comfydock.models.{prefix}-{n}]\nhash = "blake3:{b3}"\nsize = {size}\ncategory = "checkpoints"\nfilename = "{prefix}-{n}.safetensors"')
PY
  quiet "$BIN" lock
  local c_plan t_apply t_plan t_status t_scan t_rb_out t_rb_in t_second placed generations
  t_apply=$(ms "$BIN" apply --yes)
  placed=$(find "$env/.comfydock/models/checkpoints/" -name 'm-*.safetensors' | wc -l)
  generations=$("$BIN" log --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["generations"]))')
  t_plan=$(best "$BIN" plan --detailed-exitcode)
  c_plan=$(cpu "$BIN" plan --detailed-exitcode)
  t_status=$(best "$BIN" status)
  t_scan=$(best "$BIN" model scan)
  local live
  live=$("$BIN" log --json | python3 -c 'import json,sys; print(max(g["number"] for g in json.load(sys.stdin)["generations"]))')
  local outs=() ins=()
  for _ in $(seq "$RUNS"); do
    outs+=("$(ms "$BIN" rollback --yes)")
    ins+=("$(ms "$BIN" rollback "$live" --yes)")
    live=$("$BIN" log --json | python3 -c 'import json,sys; print(max(g["number"] for g in json.load(sys.stdin)["generations"]))')
  done
  t_rb_out=$(med "${outs[@]}")
  t_rb_in=$(med "${ins[@]}")
  # A second environment from the store: the same .cec, applied as it is.
  quiet "$BIN" create second --comfyui-repo "$WORK/ComfyUI" --comfyui v0.1.0
  local second="$COMFYDOCK_HOME/environments/second"
  cp "$env/.cec/pyproject.toml" "$env/.cec/comfydock.lock" "$env/.cec/uv.lock" "$second/.cec/"
  if [ -d "$env/.cec/workflows" ]; then cp -r "$env/.cec/workflows" "$second/.cec/"; fi
  t_second=$(ms "$BIN" -e second apply --yes --frozen)
  quiet "$BIN" use bench

  local tracked
  tracked=$(find "$env/.cec/workflows" -name '*.json' 2>/dev/null | wc -l)
  printf '\n%s: %d nodes, %d declared models (%d placed), %d indexed, %d generations, %d tracked workflows\n' \
    "$label" "$nodes" "$declared" "$placed" "$indexed" "$generations" "$tracked"
  local l
  l=$(load)
  printf '  %-44s %8s   %-26s load %s\n' "no-op plan" "$t_plan ms" "goal <= 100 ms wall" "$l"
  printf '  %-44s %8s   %-26s load %s\n' "no-op plan, CPU (user + system)" "$c_plan ms" "goal <= 30 ms CPU" "$l"
  printf '  %-44s %8s   %-26s load %s\n' "status" "$t_status ms" "" "$l"
  printf '  %-44s %8s   %-26s load %s\n' "apply placing $declared models" "$t_apply ms" "(once)" "$l"
  printf '  %-44s %8s   %-26s load %s\n' "rollback (unlink $declared models)" "$t_rb_out ms" "goal <= 100 ms" "$l"
  printf '  %-44s %8s   %-26s load %s\n' "rollback (link $declared models again)" "$t_rb_in ms" "goal <= 100 ms" "$l"
  printf '  %-44s %8s   %-26s load %s\n' "second environment from the store" "$t_second ms" "goal <= 500 ms + uv (once)" "$l"
  printf '  %-44s %8s   %-26s load %s\n' "model scan, no change ($indexed files)" "$t_scan ms" "" "$l"
}

echo "comfydock scale benchmark: $BIN, $(nproc) cores, median of $RUNS where repeatable; load average beside each row" >&2
case "${1:-both}" in
  small) setup_sources 10; run_size small 10 100 1000 "${GENERATIONS:-20}" 20 ;;
  goal) setup_sources 100; run_size goal 100 2000 20000 "${GENERATIONS:-230}" 200 ;;
  both) setup_sources 100; run_size small 10 100 1000 "${GENERATIONS:-20}" 20; run_size goal 100 2000 20000 "${GENERATIONS:-230}" 200 ;;
  *) setup_sources "$1"; run_size custom "$1" "$2" "$3" "$4" "${5:-0}" ;;
esac
