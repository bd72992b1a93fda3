#!/usr/bin/env bash
# Model hashing and indexing benchmark, release build. Prints side by side, in one run:
#   - blake3 throughput of `comfydock model scan` and of `b3sum` on the same files (2 GiB),
#   - the time to index 200 new files,
#   - the time of a no-change rescan of 10,000 files.
# Files are in the page cache for every timed run (both tools read the same warm bytes), and each
# figure is the best of BENCH_RUNS runs (default 3). BENCH_GIB changes the throughput data size.
# Installs b3sum with `cargo install b3sum` when it is missing.
set -euo pipefail

cd "$(dirname "$0")/.."
GIB=${BENCH_GIB:-2}
RUNS=${BENCH_RUNS:-3}

if ! command -v b3sum >/dev/null; then
  echo "installing b3sum (cargo install b3sum)..." >&2
  cargo install --quiet b3sum
fi
export PATH="$HOME/.cargo/bin:$PATH"
echo "building comfydock (release)..." >&2
cargo build --quiet --release
BIN=$PWD/target/release/comfydock

WORK=$(mktemp -d "${TMPDIR:-/tmp}/comfydock-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

now() { date +%s.%N; }
# best_of CMD...: runs CMD $RUNS times (output discarded), prints the shortest wall time in seconds.
best_of() {
  local best="" t0 t1 dt
  for _ in $(seq "$RUNS"); do
    [ -n "${BEFORE_EACH:-}" ] && eval "$BEFORE_EACH"
    t0=$(now); "$@" >/dev/null; t1=$(now)
    dt=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
    if [ -z "$best" ] || awk -v d="$dt" -v b="$best" 'BEGIN { exit !(d < b) }'; then best=$dt; fi
  done
  echo "$best"
}
json_field() { sed -n "s/.*\"$1\": \([0-9]*\).*/\1/p"; }

# 1. Throughput: GIB GiB in 256 MiB files.
ws=$WORK/throughput
COMFYDOCK_HOME=$ws "$BIN" init 2>/dev/null
data=$ws/models/checkpoints
mkdir -p "$data"
echo "writing ${GIB} GiB of test data..." >&2
files=$((GIB * 4))
for i in $(seq 1 "$files"); do head -c 256M /dev/urandom >"$data/model-$i.safetensors"; done
cat "$data"/* >/dev/null # warm the page cache
b3sum "$data"/* >/dev/null
b3_time=$(best_of b3sum "$data"/*)
BEFORE_EACH='rm -f "$ws"/.metadata/model_index.db*'
cd_time=$(COMFYDOCK_HOME=$ws best_of "$BIN" model scan --json)
unset BEFORE_EACH
rm -f "$ws"/.metadata/model_index.db*
hashed=$(COMFYDOCK_HOME=$ws "$BIN" model scan --json | json_field bytes_hashed) # proves the timed runs hashed everything
bytes=$((GIB * 1024 * 1024 * 1024))

# 2. Index 200 new files (1 MiB each) into an empty index.
ws2=$WORK/new200
COMFYDOCK_HOME=$ws2 "$BIN" init 2>/dev/null
mkdir -p "$ws2/models/loras"
head -c 200M /dev/urandom >"$WORK/src200"
split -b 1M -a 3 -d --additional-suffix=.safetensors "$WORK/src200" "$ws2/models/loras/lora-"
rm "$WORK/src200"
cat "$ws2"/models/loras/* >/dev/null
BEFORE_EACH='rm -f "$ws2"/.metadata/model_index.db*'
new_time=$(COMFYDOCK_HOME=$ws2 best_of "$BIN" model scan)
unset BEFORE_EACH
new_count=$(COMFYDOCK_HOME=$ws2 "$BIN" model list --json | grep -c '"blake3"')

# 3. No-change rescan of 10,000 files (4 KiB each, in 10 folders).
ws3=$WORK/rescan
COMFYDOCK_HOME=$ws3 "$BIN" init 2>/dev/null
for d in $(seq 0 9); do
  dir=$ws3/models/loras/set$d
  mkdir -p "$dir"
  head -c 4000K /dev/urandom | split -b 4K -a 4 -d --additional-suffix=.safetensors - "$dir/f"
done
COMFYDOCK_HOME=$ws3 "$BIN" model scan >/dev/null
rescan_time=$(COMFYDOCK_HOME=$ws3 best_of "$BIN" model scan --json)
rescan_json=$(COMFYDOCK_HOME=$ws3 "$BIN" model scan --json)
seen=$(echo "$rescan_json" | json_field files_seen)
rehashed=$(echo "$rescan_json" | json_field files_hashed)

awk -v gib="$GIB" -v files="$files" -v bytes="$bytes" -v b3="$b3_time" -v cd="$cd_time" -v hashed="$hashed" \
  -v nt="$new_time" -v nc="$new_count" -v rt="$rescan_time" -v seen="$seen" -v rh="$rehashed" \
  -v cores="$(nproc)" -v runs="$RUNS" -v b3v="$(b3sum --version)" 'BEGIN {
  g = 1024 * 1024 * 1024
  printf "comfydock model benchmark: release build, %d cores, best of %d runs, page cache warm\n\n", cores, runs
  printf "blake3 throughput on the same %d GiB (%d files of 256 MiB)\n", gib, files
  printf "  %-28s %7.3f s  %6.2f GiB/s\n", b3v, b3, bytes / b3 / g
  printf "  %-28s %7.3f s  %6.2f GiB/s  (%.2f GiB hashed per scan)\n", "comfydock model scan", cd, bytes / cd / g, hashed / g
  printf "  ratio comfydock / b3sum      %.2fx   (goal >= 0.90x)\n\n", b3 / cd
  printf "index 200 new files (1 MiB each)        %7.3f s  (%d models indexed)\n", nt, nc
  printf "no-change rescan of %5d files         %7.3f s  (files hashed: %d; goal <= 0.300 s)\n", seen, rt, rh
}'
