#!/usr/bin/env bash
# comfydock on a real ComfyUI with real node packs (not run by CI: it needs torch from PyPI,
# about 6 GB, and the packs' repositories). Creates a workspace in a temporary folder, an
# environment at COMFYUI (a ComfyUI git repository) and TAG, adds each pack of PACKS (git
# repositories; `PACK:run` runs its install.py), checks ComfyUI's quick test imports every pack,
# then tracks the workflows of scripts/real-workflows/ (built from ComfyUI's own nodes and the
# essentials and KJNodes packs; no model files needed) and runs them with `comfydock test
# --level run`, printing the timings.
#
#   COMFYUI=~/src/ComfyUI TAG=v0.3.64 PACKS="~/src/ComfyUI_essentials ~/src/ComfyUI-KJNodes" \
#     bash scripts/check-real-comfyui.sh
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
: "${COMFYUI:?set COMFYUI to a ComfyUI git repository}"
TAG=${TAG:-}
BIN=${COMFYDOCK_BIN:-}
if [ -z "$BIN" ]; then
  cargo build --quiet --release --manifest-path "$ROOT/Cargo.toml"
  BIN="$ROOT/target/release/comfydock"
fi
WORK=${WORK:-$(mktemp -d -t comfydock-real-XXXXXX)}
export COMFYDOCK_HOME="$WORK/ws"
t() { local s; s=$(date +%s.%N); "$@"; echo "  ($(echo "$(date +%s.%N) - $s" | bc) s: comfydock ${*:2})" >&2; }
"$BIN" init >/dev/null
t "$BIN" create real --comfyui-repo "$COMFYUI" ${TAG:+--comfyui "$TAG"} | tail -1
for p in ${PACKS:-}; do
  case "$p" in
    *:run) t "$BIN" node add --run-install "${p%:run}" | tail -1 ;;
    *) t "$BIN" node add "$p" | tail -1 ;;
  esac
done
"$BIN" run -- --cpu --quick-test-for-ci 2>&1 | grep -E "seconds" || true
"$BIN" verify | tail -1
for f in "$ROOT"/scripts/real-workflows/*.json; do
  "$BIN" workflow import "$f" --name "$(basename "$f" .json)" | tail -1
done
t "$BIN" test --level validate
t "$BIN" test --level run --junit "$WORK/report.xml"
echo "workspace: $WORK"
