#!/usr/bin/env bash
# Issue #25, "switch a generation by one rename": the rows about placed models, each the median
# of BENCH_RUNS runs (default 5) with the 1-minute load average beside it, on the release build.
#
#   1. `rollback` away from MODELS placed models (default 2,000) and back to them (goal: <= 0.1 s
#      whatever the number of models: one switch of the model tree link);
#   2. a second environment with the same models, applied --frozen from the store (goal:
#      <= 0.5 s plus uv; `uv sync` is timed alone beside it);
#   3. the no-op `plan` with those models placed (goal: <= 100 ms wall);
#   4. `node add` of one git pack with no Python requirements (uv has nothing to do) in a
#      small environment, removed again between runs (goal: <= 50 ms plus uv).
#
# With strace installed, the rollback and node add rows also print the system calls that say
# where the time goes (symlink, link, rename, fsync, threads, processes), from one more run under
# `strace -c -f`.
#
#   scripts/bench-switch.sh
#   COMFYDOCK_BIN=path scripts/bench-switch.sh     # another build, to compare
#   MODELS=500 BENCH_RUNS=3 scripts/bench-switch.sh
#   BENCH_KEEP=1 scripts/bench-switch.sh           # keep the workspace (path printed)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/scripts/lib/bench.sh"
RUNS=${BENCH_RUNS:-5}
MODELS=${MODELS:-2000}
BIN="$(bench_binary "${COMFYDOCK_BIN:-}")"
export PATH="$HOME/.cargo/bin:$PATH"
WORK="$(mktemp -d -t comfydock-bench-switch-XXXXXX)"
cleanup() { if [ -n "${BENCH_KEEP:-}" ]; then echo "workspace kept in $WORK" >&2; else rm -rf "$WORK"; fi; }
trap cleanup EXIT
export NO_COLOR=1
bench_offline_env "$WORK"
export COMFYDOCK_HOME="$WORK/ws"

load() { cut -d' ' -f1 /proc/loadavg; }
secs() {
  local s e
  s=$(date +%s%N)
  "$@" >/dev/null 2>"$WORK/last.err" || { cat "$WORK/last.err" >&2; echo "failed: $*" >&2; exit 1; }
  e=$(date +%s%N)
  awk -v d=$((e - s)) 'BEGIN { printf "%.3f\n", d / 1e9 }'
}
med() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
row() { printf '  %-48s %9s   %-30s load %s\n' "$1" "$2" "$3" "$4"; }
syscalls() {
  if ! command -v strace >/dev/null; then echo "(strace not installed)"; return; fi
  strace -f -c -o "$WORK/strace.txt" "$@" >/dev/null 2>"$WORK/last.err" || { cat "$WORK/last.err" >&2; exit 1; }
  awk 'BEGIN { split("symlink,symlinkat,link,linkat,rename,renameat,renameat2,fsync,fdatasync,clone3,clone", w, ","); for (i in w) c[w[i]] = 0 }
    $NF in c { c[$NF] = ($4 ~ /^[0-9]+$/) ? $4 : $5 }
    END { printf "symlink=%d link=%d rename=%d fsync=%d threads(clone3)=%d processes(clone)=%d\n", c["symlink"] + c["symlinkat"], c["link"] + c["linkat"], c["rename"] + c["renameat"] + c["renameat2"], c["fsync"] + c["fdatasync"], c["clone3"], c["clone"] }' "$WORK/strace.txt"
}

echo "comfydock switch benchmark: $BIN, $(nproc) cores, median of $RUNS runs, $MODELS models" >&2
bench_sources "$WORK" 0
"$BIN" init >/dev/null 2>&1
"$BIN" create bench --comfyui-repo "$WORK/ComfyUI" --comfyui v0.1.0 >/dev/null 2>&1
env="$COMFYDOCK_HOME/environments/bench"
bench_declared_models "$env" "$MODELS"
"$BIN" lock >/dev/null 2>&1
t_apply=$(secs "$BIN" apply --yes)
live=$("$BIN" log --json | python3 -c 'import json,sys; print(max(g["number"] for g in json.load(sys.stdin)["generations"]))')
without=$((live - 1))

outs=() ins=() plans=()
for i in $(seq "$RUNS"); do
  outs+=("$(secs "$BIN" rollback "$without" --yes)")
  ins+=("$(secs "$BIN" rollback "$live" --yes)")
  plans+=("$(secs "$BIN" plan --detailed-exitcode)")
done
load_rb=$(load)
sc_out=$(syscalls "$BIN" rollback "$without" --yes)
sc_in=$(syscalls "$BIN" rollback "$live" --yes)

# A second environment with the same .cec, applied as it is: nodes and models from the store.
seconds=() uvs=()
for i in $(seq "$RUNS"); do
  "$BIN" create "second$i" --comfyui-repo "$WORK/ComfyUI" --comfyui v0.1.0 >/dev/null 2>&1
  second="$COMFYDOCK_HOME/environments/second$i"
  cp "$env/.cec/pyproject.toml" "$env/.cec/comfydock.lock" "$env/.cec/uv.lock" "$second/.cec/"
  seconds+=("$(secs "$BIN" -e "second$i" apply --yes --frozen)")
  # What uv alone costs there: a sync of the same lock into a fresh venv from its cache.
  uvs+=("$(secs env -C "$env/.cec" UV_PROJECT_ENVIRONMENT="$WORK/uv-alone-$i" UV_CACHE_DIR="$COMFYDOCK_HOME/uv_cache" UV_PYTHON_INSTALL_DIR="$COMFYDOCK_HOME/uv/python" uv sync --frozen --all-groups -q)")
done
load_second=$(load)

# node add of one pack that needs nothing from uv, in an environment of its own; removed again
# (untimed) so that each run adds it anew.
plain="$WORK/packs/plain"
mkdir -p "$plain"
printf "NODE_CLASS_MAPPINGS = {'PlainNode': object}\n" >"$plain/__init__.py"
git -C "$plain" init -q && git -C "$plain" add -A && git -C "$plain" commit -qm v1
"$BIN" create nodes --comfyui-repo "$WORK/ComfyUI" --comfyui v0.1.0 >/dev/null 2>&1
adds=()
for i in $(seq "$RUNS"); do
  adds+=("$(secs "$BIN" -e nodes node add "$plain")")
  "$BIN" -e nodes node remove plain >/dev/null 2>&1
done
load_add=$(load)
sc_add=$(syscalls "$BIN" -e nodes node add "$plain")
"$BIN" use bench >/dev/null 2>&1

echo
echo "switch, $MODELS placed models (apply placing them once: ${t_apply} s)"
row "rollback away from them" "$(med "${outs[@]}") s" "goal <= 0.1 s" "$load_rb"
echo "    syscalls: $sc_out"
row "rollback back to them" "$(med "${ins[@]}") s" "goal <= 0.1 s" "$load_rb"
echo "    syscalls: $sc_in"
row "no-op plan" "$(med "${plans[@]}") s" "goal <= 0.1 s wall" "$load_rb"
row "second environment from the store" "$(med "${seconds[@]}") s" "goal <= 0.5 s + uv" "$load_second"
row "  of which uv sync alone (same lock, cached)" "$(med "${uvs[@]}") s" "" "$load_second"
echo
row "node add of one pack (uv has nothing to do)" "$(med "${adds[@]}") s" "goal <= 0.05 s + uv" "$load_add"
echo "    syscalls: $sc_add"
