#!/usr/bin/env bash
# Workflow analysis benchmark, release build, each figure a whole process (start-up included):
#   - one typical workflow (a 15 KB Wan 2.2 image-to-video UI file) analysed,  goal <= 20 ms
#   - the corpus analysed in one `comfydock analyze` call (30 files: goal <= 0.5 s)
# Reads the repository's corpus, fixtures/corpus (16 files), or BENCH_CORPUS (e.g. the 30-file one). Each figure is the best of
# BENCH_RUNS runs (default 20), with the mean beside it. No workspace is used.
set -euo pipefail

cd "$(dirname "$0")/.."
RUNS=${BENCH_RUNS:-20}
CORPUS=${BENCH_CORPUS:-fixtures/corpus/workflows}
[ -d "$CORPUS" ] || { echo "no corpus at $CORPUS (set BENCH_CORPUS)" >&2; exit 1; }
echo "building comfydock (release)..." >&2
cargo build --quiet --release
BIN=$PWD/target/release/comfydock

WORK=$(mktemp -d "${TMPDIR:-/tmp}/comfydock-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export COMFYDOCK_HOME=$WORK/no-workspace

now() { date +%s.%N; }
# timed CMD...: runs CMD $RUNS times (output discarded); prints "best mean" in milliseconds.
timed() {
  local best="" total=0 t0 t1 dt
  for _ in $(seq "$RUNS"); do
    t0=$(now); "$@" >/dev/null; t1=$(now)
    dt=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) * 1000 }')
    total=$(awk -v t="$total" -v d="$dt" 'BEGIN { printf "%.2f", t + d }')
    if [ -z "$best" ] || awk -v d="$dt" -v b="$best" 'BEGIN { exit !(d < b) }'; then best=$dt; fi
  done
  echo "$best $(awk -v t="$total" -v n="$RUNS" 'BEGIN { printf "%.2f", t / n }')"
}

typical=$CORPUS/ComfyUI_examples__image_to_video_wan22_14B.json
files=("$CORPUS"/*.json)
count=0; for f in "${files[@]}"; do [ "$(basename "$f")" = manifest.tsv ] || count=$((count + 1)); done

"$BIN" analyze "$typical" >/dev/null # warm the page cache
read -r one_best one_mean < <(timed "$BIN" analyze --json "$typical")
read -r all_best all_mean < <(timed "$BIN" analyze --json "${files[@]}")

printf '%-46s %10s %10s %9s\n' "workflow analysis (release, whole process)" "best" "mean" "goal"
printf '%-46s %7s ms %7s ms %9s\n' "one typical workflow ($(basename "$typical" | cut -c1-20)...)" "$one_best" "$one_mean" "<= 20 ms"
printf '%-46s %7s ms %7s ms %9s\n' "corpus, $count files in one call" "$all_best" "$all_mean" "<= 500 ms"
