#!/usr/bin/env bash
# Measures the registry path end to end on loopback: a generated snapshot of N packs served by
# `comfydock registry serve`, `node find` cold (network) and warm (cache), `--offline`, and
# `registry snapshot` copying the whole mirror (archives included), and `node add` of one pack
# and of 20 packs at once into an environment of the bundled miniature ComfyUI. Validates both snapshot
# files against schema/registry-snapshot.schema.json when Python's jsonschema is installed.
#
#   scripts/bench-registry.sh [PACKS]        (default 300; builds the debug binary if needed)
set -euo pipefail
N=${1:-300}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${COMFYDOCK_BIN:-$ROOT/target/debug/comfydock}
[ -x "$BIN" ] || (cd "$ROOT" && cargo build -q)
WORK=$(mktemp -d)
trap 'kill "${SERVER:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
export COMFYDOCK_HOME=$WORK/ws NO_COLOR=1

python3 "$ROOT/scripts/lib/snapshot.py" "$WORK/snap" "$N"

"$BIN" init 2>/dev/null
"$BIN" registry serve --snapshot "$WORK/snap" --addr 127.0.0.1:0 >"$WORK/url" 2>/dev/null &
SERVER=$!
for _ in $(seq 100); do [ -s "$WORK/url" ] && break; sleep 0.05; done
export COMFYDOCK_REGISTRY_URL=$(head -1 "$WORK/url")

t() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); awk -v a="$s" -v b="$e" 'BEGIN{printf "%7.0f ms", (b-a)*1000}'; }
echo "packs in mirror:                 $N ($(du -sh "$WORK/snap" | cut -f1))"
echo "node find (cold, 20 results):    $(t "$BIN" node find bench)"
echo "node find (warm cache):          $(t "$BIN" node find bench)"
echo "node find --offline:             $(t "$BIN" --offline node find bench)"
echo "registry snapshot (all packs):   $(t "$BIN" registry snapshot --out "$WORK/copy")"
echo "registry snapshot (again, reuse):$(t "$BIN" registry snapshot --out "$WORK/copy")"
echo "archives copied:                 $(find "$WORK/copy/archives" -type f | wc -l)"

# node add into a real environment (the offline miniature ComfyUI, as in examples/offline-demo.sh).
if [ "$N" -ge 21 ] && command -v uv >/dev/null 2>&1; then
  mkdir -p "$WORK/ComfyUI.git" && cp -R "$ROOT/fixtures/comfyui-mini/." "$WORK/ComfyUI.git/"
  g() { git -C "$WORK/ComfyUI.git" -c user.name=bench -c user.email=bench@example.invalid "$@"; }
  g init -q && g add -A && g commit -qm mini && g tag v0.2.0
  UV_OFFLINE=1 UV_FIND_LINKS="$ROOT/fixtures/wheels" "$BIN" create bench --comfyui-repo "$WORK/ComfyUI.git" >/dev/null 2>&1
  many=$(seq -f "bench-pack-%04g" 1 20 | tr '\n' ' ')
  echo "node add, 1 pack:                $(t env UV_OFFLINE=1 "$BIN" node add bench-pack-0000)"
  # shellcheck disable=SC2086
  echo "node add, 20 packs at once:      $(t env UV_OFFLINE=1 "$BIN" node add $many)"
  echo "plan after (no changes):         $(t "$BIN" plan)"
  echo "packs installed:                 $(ls "$COMFYDOCK_HOME/environments/bench/ComfyUI/custom_nodes" | grep -c bench-pack)"
fi
if python3 -c 'import jsonschema' 2>/dev/null; then
  python3 - "$ROOT/schema/registry-snapshot.schema.json" "$WORK/snap/registry-snapshot.json" "$WORK/copy/registry-snapshot.json" <<'PY'
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
for f in sys.argv[2:]:
    jsonschema.validate(json.load(open(f)), schema)
print("schema:                          both snapshot files valid")
PY
fi
