#!/usr/bin/env bash
# Fleet benchmark: what a second machine costs with a shared store in object storage.
#
# Machine A builds an environment of NODES git node packs and MODELS models of MB megabytes
# each (downloaded from a local HTTP server), pushes what its lock needs to an S3 bucket (moto's
# server on 127.0.0.1, as the tests use) and exports a bundle. Then, each into a fresh
# workspace:
#   machine B imports the bundle with the remote store and the original sources gone
#     (git repositories moved away, the HTTP server stopped): everything comes from the bucket;
#   machine C imports it with no remote store, from the original sources (the baseline).
# Prints the wall time of the push and of each import, and what each import downloaded.
#
#   scripts/bench-fleet.sh [NODES] [MODELS] [MB]        # default 20, 5, 64
#   BENCH_BIN=target/debug/comfydock scripts/bench-fleet.sh   # skip the release build
# Needs moto (`pip install "moto[server]"`, as .ci/run installs it), uv and git.
set -euo pipefail
NODES="${1:-20}"
MODELS="${2:-5}"
MB="${3:-64}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/scripts/lib/bench.sh"
BIN="$(bench_binary "${BENCH_BIN:-}")"
WORK="$(mktemp -d -t comfydock-bench-fleet-XXXXXX)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

export UV_OFFLINE=1 UV_FIND_LINKS="$WORK/wheels" UV_PYTHON_DOWNLOADS=never NO_COLOR=1
export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.invalid
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.invalid
now() { date +%s%N; }
secs() { python3 -c "print(f'{($2 - $1) / 1e9:.2f}')"; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_http() {
  for _ in $(seq 100); do
    curl -sf -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "no answer from $1" >&2
  exit 1
}
quiet() { "$@" >"$WORK/last.out" 2>&1 || { cat "$WORK/last.out" >&2; echo "failed: $*" >&2; exit 1; }; }

# The bucket: moto's S3 server.
S3_PORT=$(free_port)
if command -v moto_server >/dev/null 2>&1; then
  moto_server -H 127.0.0.1 -p "$S3_PORT" >/dev/null 2>&1 &
else
  python3 -m moto.server -H 127.0.0.1 -p "$S3_PORT" >/dev/null 2>&1 &
fi
PIDS+=($!)
wait_http "http://127.0.0.1:$S3_PORT/"
curl -sf -X PUT "http://127.0.0.1:$S3_PORT/fleet" >/dev/null
export AWS_ENDPOINT_URL="http://127.0.0.1:$S3_PORT" AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench
export AWS_REGION=us-east-1 AWS_ALLOW_HTTP=true

# Sources: wheels, the miniature ComfyUI, node packs as git repositories, models over HTTP.
bench_sources "$WORK" "$NODES"
SRC="$WORK"
mkdir -p "$SRC/models"
for i in $(seq 0 $((MODELS - 1))); do
  head -c $((MB * 1024 * 1024)) /dev/urandom >"$SRC/models/model-$i.safetensors"
done
HTTP_PORT=$(free_port)
python3 -m http.server -b 127.0.0.1 -d "$SRC/models" "$HTTP_PORT" >"$WORK/http.log" 2>&1 &
HTTP_PID=$!
PIDS+=($HTTP_PID)
wait_http "http://127.0.0.1:$HTTP_PORT/"

# Machine A: build, push, export.
export COMFYDOCK_HOME="$WORK/machine-a"
quiet "$BIN" init
quiet "$BIN" create bench --comfyui-repo "$SRC/ComfyUI" --comfyui v0.1.0
for i in $(seq 0 $((NODES - 1))); do quiet "$BIN" node add "$SRC/packs/pack-$i" --no-apply; done
for i in $(seq 0 $((MODELS - 1))); do
  quiet "$BIN" model add "http://127.0.0.1:$HTTP_PORT/model-$i.safetensors" --category checkpoints --no-apply
done
quiet "$BIN" apply --yes
export COMFYDOCK_STORE_REMOTE="s3://fleet/comfy"
t0=$(now); quiet "$BIN" store push --models; t1=$(now)
push_s=$(secs "$t0" "$t1")
quiet "$BIN" export -o "$WORK/bench.tar.gz"

# Machine C (baseline): no remote store, everything from the original sources.
unset COMFYDOCK_STORE_REMOTE
export COMFYDOCK_HOME="$WORK/machine-c"
quiet "$BIN" init
served_before=$(grep -c '" 200 ' "$WORK/http.log" || true)
t0=$(now); quiet "$BIN" import "$WORK/bench.tar.gz"; t1=$(now)
sources_s=$(secs "$t0" "$t1")
served_c=$(($(grep -c '" 200 ' "$WORK/http.log" || true) - served_before))

# Machine B: the remote store, the original sources gone.
kill "$HTTP_PID"
mv "$SRC/packs" "$SRC/packs.gone"
export COMFYDOCK_STORE_REMOTE="s3://fleet/comfy"
export COMFYDOCK_HOME="$WORK/machine-b"
quiet "$BIN" init
t0=$(now); quiet "$BIN" import "$WORK/bench.tar.gz"; t1=$(now)
remote_s=$(secs "$t0" "$t1")
from_remote=$(grep -c "from the remote store" "$WORK/last.out" || true)
"$BIN" -e bench run -- --quick-test-for-ci | grep -q "BenchNode$((NODES - 1))"

echo "fleet: $NODES git node packs, $MODELS models of $MB MiB; binary: $BIN; 2 cores, moto on 127.0.0.1"
echo "store push --models (machine A):          ${push_s} s"
echo "import from the original sources (C):      ${sources_s} s  ($NODES git fetches, $served_c model downloads over HTTP)"
echo "import from the remote store (B):          ${remote_s} s  (sources gone; $from_remote line(s) say 'from the remote store')"
