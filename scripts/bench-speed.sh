#!/usr/bin/env bash
# Issue #25 "Speed at the limit": each row of the issue's table, its figure beside its goal and
# the load average at the time, on the release build.
#
#   1. `model scan` with nothing changed over FILES files (default 100,000), against `find` over
#      the same tree (goal: <= 1.5x find);
#   2. the first index of those files, against `b3sum` over the same files (goal: <= 2x), and
#      of a tenth of them (goal: linear, so the ratio of the two stays near 10);
#   3. `registry snapshot` of PACKS packs (default 300) from `registry serve` on loopback
#      (goal: <= 2 s);
#   4. `rollback` unlinking and relinking MODELS placed models (default 2,000): threads made
#      (clone3) per rollback (goal: a bounded pool, not one per model).
#
# Wall times are the median of BENCH_RUNS runs (default 5). With strace installed, each row also
# prints the system calls that tell where the time goes (writes, reads, fsyncs, threads), from one
# more run under `strace -c -f`: those counts do not depend on the machine's load.
#
#   scripts/bench-speed.sh [scan|snapshot|rollback|all]
#   COMFYDOCK_BIN=path scripts/bench-speed.sh      # another build, to compare
#   FILES=20000 PACKS=100 MODELS=500 scripts/bench-speed.sh   # smaller
#   BENCH_KEEP=1 scripts/bench-speed.sh rollback               # keep the workspaces (path printed)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/scripts/lib/bench.sh"
RUNS=${BENCH_RUNS:-5}
FILES=${FILES:-100000}
PACKS=${PACKS:-300}
MODELS=${MODELS:-2000}
WHAT=${1:-all}
BIN="$(bench_binary "${COMFYDOCK_BIN:-}")"
export PATH="$HOME/.cargo/bin:$PATH"
WORK="$(mktemp -d -t comfydock-bench-speed-XXXXXX)"
SERVER=""
cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; fi
  if [ -n "${BENCH_KEEP:-}" ]; then echo "workspaces kept in $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
export NO_COLOR=1

load() { cut -d' ' -f1 /proc/loadavg; }
now_ns() { date +%s%N; }
# secs CMD...: wall time of one run in seconds (output discarded; a failure stops the script).
secs() {
  local s e
  s=$(now_ns)
  "$@" >/dev/null 2>"$WORK/last.err" || { cat "$WORK/last.err" >&2; echo "failed: $*" >&2; exit 1; }
  e=$(now_ns)
  awk -v d=$((e - s)) 'BEGIN { printf "%.3f\n", d / 1e9 }'
}
# median CMD...: the median of $RUNS runs in seconds; $BEFORE_EACH runs (untimed) before each.
median() {
  local ts=() i
  for i in $(seq "$RUNS"); do
    if [ -n "${BEFORE_EACH:-}" ]; then eval "$BEFORE_EACH"; fi
    ts+=("$(secs "$@")")
  done
  printf '%s\n' "${ts[@]}" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
# syscalls NAMES CMD...: one run of CMD under strace -c -f; prints "name=count" for each of the
# comma-separated NAMES (0 when not called).
syscalls() {
  local names=$1
  shift
  if ! command -v strace >/dev/null; then echo "(strace not installed)"; return; fi
  strace -f -c -o "$WORK/strace.txt" "$@" >/dev/null 2>"$WORK/last.err" || { cat "$WORK/last.err" >&2; exit 1; }
  awk -v names="$names" '
    BEGIN { n = split(names, want, ","); for (i = 1; i <= n; i++) c[want[i]] = 0 }
    $NF in c { c[$NF] = ($4 ~ /^[0-9]+$/) ? $4 : $5 }
    END { for (i = 1; i <= n; i++) printf "%s%s=%d", (i > 1 ? " " : ""), want[i], c[want[i]]; print "" }' "$WORK/strace.txt"
}
# rows_digest DB: a digest of every row of the index's models and model_locations tables.
rows_digest() {
  python3 -c '
import hashlib, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
h = hashlib.sha256()
for t, k in (("models", "id"), ("model_locations", "path")):
    for r in c.execute(f"SELECT * FROM {t} ORDER BY {k}"):
        h.update(repr(r).encode())
print(h.hexdigest())' "$1"
}
row() { printf '  %-46s %9s   %-28s load %s\n' "$1" "$2" "$3" "$(load)"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }

echo "comfydock speed benchmark: $BIN, $(nproc) cores, median of $RUNS runs; load average (1 min) beside each row" >&2

bench_scan() {
  export COMFYDOCK_HOME="$WORK/ws-scan"
  "$BIN" init >/dev/null 2>&1
  local root="$COMFYDOCK_HOME/models/loras" small="$WORK/ws-scan10"
  echo "[scan] writing $FILES files of 128 bytes (1,000 per folder)..." >&2
  python3 - "$root" "$FILES" <<'PY'
import os, sys
root, k = sys.argv[1], int(sys.argv[2])
for i in range(k):
    d = os.path.join(root, f"set{i // 1000:03d}")
    if i % 1000 == 0:
        os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"m{i}.safetensors"), "wb") as f:
        f.write(f"bench model {i}\n".encode().ljust(128, b"."))
PY
  # A tenth of them, in a workspace of its own, for the linearity check.
  COMFYDOCK_HOME=$small "$BIN" init >/dev/null 2>&1
  mkdir -p "$small/models/loras"
  for d in "$root"/set*; do
    n=${d##*/set}
    if [ $((10#$n % 10)) -eq 0 ]; then cp -r "$d" "$small/models/loras/"; fi
  done
  find "$root" -type f >/dev/null # warm
  local t_find t_find_stat t_b3 t_first t_first10 t_noop
  t_find=$(median find "$root" -type f)
  # find reading what a scan reads of each file (size, mtime, inode, device: one stat each).
  t_find_stat=$(median find "$root" -type f -printf '%s %T@ %i %D\n')
  BEFORE_EACH='rm -f "$COMFYDOCK_HOME"/.metadata/model_index.db*'
  t_first=$(median "$BIN" model scan)
  t_first10=$(COMFYDOCK_HOME=$small median "$BIN" model scan)
  local sc_first
  eval "$BEFORE_EACH"
  sc_first=$(syscalls pwrite64,pread64,fsync,fdatasync "$BIN" model scan)
  unset BEFORE_EACH
  if command -v b3sum >/dev/null; then
    t_b3=$(median sh -c "find '$root' -type f -print0 | xargs -0 b3sum")
  else
    t_b3=""
  fi
  local index_rows
  index_rows=$(rows_digest "$COMFYDOCK_HOME/.metadata/model_index.db")
  t_noop=$(median "$BIN" model scan)
  local sc_noop after
  sc_noop=$(syscalls pwrite64,pread64,fsync,fdatasync "$BIN" model scan)
  after=$(rows_digest "$COMFYDOCK_HOME/.metadata/model_index.db")
  echo
  echo "model scan, $FILES files"
  row "find over the same tree (names)" "${t_find} s" ""
  row "find, with a stat per file" "${t_find_stat} s" ""
  row "model scan, nothing changed" "${t_noop} s" "goal <= 0.4 s, 1.5x find+stat: $(ratio "$t_noop" "$t_find_stat")"
  echo "    syscalls: $sc_noop"
  echo "    rows of models and model_locations unchanged by the rescans: $([ "$index_rows" = "$after" ] && echo yes || echo no)"
  if [ -n "$t_b3" ]; then
    row "b3sum over the same files" "${t_b3} s" ""
    row "first index" "${t_first} s" "goal <= 2x b3sum: $(ratio "$t_first" "$t_b3")"
  else
    row "first index" "${t_first} s" "(b3sum not installed)"
  fi
  row "first index of a tenth of the files" "${t_first10} s" "linear: x$(awk -v a="$t_first" -v b="$t_first10" 'BEGIN { printf "%.1f", a / b }') for x10 files"
  echo "    syscalls: $sc_first"
}

bench_snapshot() {
  export COMFYDOCK_HOME="$WORK/ws-snap"
  "$BIN" init >/dev/null 2>&1
  echo "[snapshot] generating a mirror of $PACKS packs..." >&2
  python3 "$ROOT/scripts/lib/snapshot.py" "$WORK/snap" "$PACKS"
  "$BIN" registry serve --snapshot "$WORK/snap" --addr 127.0.0.1:0 >"$WORK/url" 2>/dev/null &
  SERVER=$!
  for _ in $(seq 100); do [ -s "$WORK/url" ] && break; sleep 0.05; done
  export COMFYDOCK_REGISTRY_URL
  COMFYDOCK_REGISTRY_URL=$(head -1 "$WORK/url")
  # Each run a fresh copy and a cold API cache: every request goes to the mirror.
  BEFORE_EACH='rm -rf "$WORK/copy" "$COMFYDOCK_HOME"/.metadata/api_cache.db*'
  local t_snap sc_snap copied
  t_snap=$(median "$BIN" registry snapshot --out "$WORK/copy")
  eval "$BEFORE_EACH"
  sc_snap=$(syscalls fsync,fdatasync,connect,clone3 "$BIN" registry snapshot --out "$WORK/copy")
  unset BEFORE_EACH
  copied=$(find "$WORK/copy/archives" -type f | wc -l)
  kill "$SERVER" 2>/dev/null || true
  SERVER=""
  echo
  echo "registry snapshot, $PACKS packs ($copied archives copied)"
  row "registry snapshot (fresh copy)" "${t_snap} s" "goal <= 2 s"
  echo "    syscalls: $sc_snap"
}

bench_rollback() {
  export COMFYDOCK_HOME="$WORK/ws-rb"
  local env="$COMFYDOCK_HOME/environments/bench"
  bench_offline_env "$WORK"
  echo "[rollback] an environment with $MODELS declared models..." >&2
  bench_sources "$WORK" 0
  "$BIN" init >/dev/null 2>&1
  "$BIN" create bench --comfyui-repo "$WORK/ComfyUI" --comfyui v0.1.0 >/dev/null 2>&1
  bench_declared_models "$env" "$MODELS"
  "$BIN" apply --yes >/dev/null 2>&1
  local live without
  live=$("$BIN" log --json | python3 -c 'import json,sys; print(max(g["number"] for g in json.load(sys.stdin)["generations"]))')
  without=$((live - 1))
  local outs=() ins=() i
  for i in $(seq "$RUNS"); do
    outs+=("$(secs "$BIN" rollback "$without" --yes)")
    ins+=("$(secs "$BIN" rollback "$live" --yes)")
  done
  med() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
  local sc_out sc_in
  sc_out=$(syscalls clone3,clone,rt_sigprocmask,fsync "$BIN" rollback "$without" --yes)
  sc_in=$(syscalls clone3,clone,rt_sigprocmask,fsync "$BIN" rollback "$live" --yes)
  echo
  echo "rollback, $MODELS placed models"
  row "rollback (unlink them)" "$(med "${outs[@]}") s" ""
  echo "    syscalls: $sc_out"
  row "rollback (link them again)" "$(med "${ins[@]}") s" "goal: threads bounded"
  echo "    syscalls: $sc_in"
}

case "$WHAT" in
  scan) bench_scan ;;
  snapshot) bench_snapshot ;;
  rollback) bench_rollback ;;
  all) bench_scan; bench_snapshot; bench_rollback ;;
  *) echo "usage: $0 [scan|snapshot|rollback|all]" >&2; exit 1 ;;
esac
