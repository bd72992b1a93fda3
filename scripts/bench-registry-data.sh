#!/usr/bin/env bash
# Measures the registry data pipeline on loopback: a generated registry (default 3,000 packs,
# 5 versions each = 15,000 versions, 10 node classes per version = 150,000 node entries) served
# by `comfydock registry serve`; a full `registry cache build` (node classes of every version),
# a refresh with nothing changed (its request count: the goal is one per pack page),
# `registry mappings build`, `registry update` into the node index, and `node find --provides`.
#
#   scripts/bench-registry-data.sh [PACKS] [VERSIONS_PER_PACK] [NODES_PER_VERSION]
#
# COMFYDOCK_BIN picks the binary (default: target/release/comfydock, built if missing).
set -euo pipefail
PACKS=${1:-3000}
VERSIONS=${2:-5}
NODES=${3:-10}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${COMFYDOCK_BIN:-$ROOT/target/release/comfydock}
[ -x "$BIN" ] || (cd "$ROOT" && cargo build -q --release)
WORK=$(mktemp -d)
trap 'kill "${SERVER:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
export COMFYDOCK_HOME=$WORK/ws NO_COLOR=1

python3 - "$WORK/registry" "$PACKS" "$VERSIONS" "$NODES" <<'PY'
import json, os, sys
out, n, nv, nn = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
os.makedirs(out, exist_ok=True)
packs = []
for i in range(n):
    pid = f"bench-pack-{i:04d}"
    versions = []
    for k in range(nv):
        v = f"1.{k}.0"
        nodes = []
        for j in range(nn):
            # Every 50th pack shares node types with its neighbour: several providers per key.
            owner = i - (i % 2) if i % 50 < 2 else i
            inputs = {"required": {"image": ["IMAGE"], f"w{j}": ["INT", {"default": 0}]},
                      "optional": {"mode": [["a", "b"]]}}
            nodes.append({"comfy_node_name": f"Bench{owner}Node{j}", "category": "bench",
                          "input_types": json.dumps(inputs), "return_types": "[\"IMAGE\"]",
                          "return_names": "[\"image\"]", "output_is_list": [False],
                          "function": "run", "deprecated": False, "experimental": False})
        versions.append({"node_version": {"id": f"{pid}-{v}", "node_id": pid, "version": v,
                         "createdAt": f"2025-{1 + k % 12:02d}-01T00:00:00Z", "dependencies": ["numpy"],
                         "deprecated": False, "downloadUrl": "", "status": "NodeVersionStatusActive"},
                         "comfy_nodes": nodes})
    packs.append({"node": {"id": pid, "name": f"Bench Pack {i}", "downloads": i * 7,
                           "github_stars": i % 50, "repository": f"https://github.com/bench/{pid}",
                           "status": "NodeStatusActive"}, "versions": versions})
json.dump({"format": "comfydock-registry-snapshot", "format_version": 1, "packs": packs},
          open(os.path.join(out, "registry-snapshot.json"), "w"))
PY

"$BIN" init >/dev/null 2>&1
"$BIN" registry serve --snapshot "$WORK/registry" --addr 127.0.0.1:0 >"$WORK/url" 2>/dev/null &
SERVER=$!
for _ in $(seq 600); do [ -s "$WORK/url" ] && break; sleep 0.1; done
export COMFYDOCK_REGISTRY_URL=$(head -1 "$WORK/url")

now() { date +%s.%N; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.0f", (b-a)*1000}'; }
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))$2)" "$1"; }

s=$(now); "$BIN" registry cache build --out "$WORK/cache" --max-versions 0 --concurrency 8 --json >"$WORK/full.json" 2>/dev/null; e=$(now)
FULL_MS=$(ms "$s" "$e"); FULL_REQ=$(field "$WORK/full.json" "['requests']")
NODE_ENTRIES=$(field "$WORK/full.json" "['counts']['comfy_nodes']")
s=$(now); "$BIN" registry cache build --out "$WORK/cache" --max-versions 0 --concurrency 8 --json >"$WORK/again.json" 2>/dev/null; e=$(now)
AGAIN_MS=$(ms "$s" "$e"); AGAIN_REQ=$(field "$WORK/again.json" "['requests']")
PAGES=$(( (PACKS + 99) / 100 ))
s=$(now); "$BIN" registry mappings build --cache "$WORK/cache" --out "$WORK/node_mappings.json" --max-versions 0 2>/dev/null; e=$(now)
MAP_MS=$(ms "$s" "$e")
KEYS=$(field "$WORK/node_mappings.json" "['stats']['signatures']")
s=$(now); "$BIN" registry update --from "$WORK/node_mappings.json" >/dev/null 2>&1; e=$(now)
UPD_MS=$(ms "$s" "$e")
best=999999
for q in Bench10Node3 Bench1500Node0 Bench0Node9 Bench2999Node5 NoSuchNode; do
  s=$(now); "$BIN" node find --provides "$q" >/dev/null 2>&1; e=$(now)
  t=$(ms "$s" "$e"); [ "$t" -lt "$best" ] && best=$t
  all="${all:-} $t"
done

printf '%-44s %12s %s\n' "measure" "value" "goal"
printf '%-44s %12s %s\n' "registry: packs / versions / node entries" "$PACKS/$((PACKS*VERSIONS))/$NODE_ENTRIES" ""
printf '%-44s %9s ms %s\n' "cache build, full (3 phases, all versions)" "$FULL_MS" "$FULL_REQ requests"
printf '%-44s %9s ms %s\n' "cache build, nothing changed" "$AGAIN_MS" "$AGAIN_REQ requests (goal: $PAGES pack pages)"
printf '%-44s %9s ms %s\n' "mappings build ($KEYS keys)" "$MAP_MS" "<= 3000 ms"
printf '%-44s %9s ms %s\n' "registry update (into node_index.db)" "$UPD_MS" "<= 2000 ms"
printf '%-44s %9s ms %s\n' "node find --provides (best of 5; all:$all)" "$best" "<= 20 ms"
