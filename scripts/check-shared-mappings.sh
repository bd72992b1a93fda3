#!/usr/bin/env bash
# Ranking on the real ComfyUI-Manager data in ../shared (never read by `cargo test`): builds a
# node index from ../shared/reference/manager-full/ the way `registry update` does with no
# mappings configured, then checks the top pick for the node types the issue names and for the
# custom node types of the corpus workflows against ../shared/corpus/expected.json.
#
# Expected packs: the three named types (ImageResize+ and SimpleMath+: cubiq/ComfyUI_essentials;
# ImageResizeKJ: kijai/ComfyUI-KJNodes); for the corpus, a node's `aux_id` (owner/repo) or
# `cnr_id` stamp from `node_packs`, else the repository the workflow file comes from
# (corpus/workflows/manifest.tsv) when Manager's map lists the type for that repository; other
# types are listed as not judged.
#
# Exits 1 when a named type's top pick is wrong; prints the count of wrong top picks over the
# corpus. COMFYDOCK_BIN picks the binary (default: a debug build of this checkout).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
DATA="$SHARED/reference/manager-full"
CORPUS="$SHARED/corpus"
for f in "$DATA/extension-node-map.json" "$DATA/custom-node-list.json" "$CORPUS/expected.json"; do
  if [ ! -f "$f" ]; then
    echo "check-shared-mappings: $f is missing" >&2
    exit 1
  fi
done
if [ -z "${COMFYDOCK_BIN:-}" ]; then
  cargo build --quiet
  COMFYDOCK_BIN="$PWD/target/debug/comfydock"
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
SOURCE="$DATA"
if [ ! -f "$DATA/github-stats.json" ]; then
  # Without stats only the names can rank Manager's packs: say so, and check that ranking
  # with a synthetic stats file giving every repository 0 stars.
  echo "note: $DATA has no github-stats.json; ranking is checked with a synthetic one (0 stars everywhere)"
  SOURCE="$WORK/manager"
  mkdir -p "$SOURCE"
  ln -s "$(cd "$DATA" && pwd)/extension-node-map.json" "$SOURCE/"
  ln -s "$(cd "$DATA" && pwd)/custom-node-list.json" "$SOURCE/"
  python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); json.dump({u: {"stars": 0, "last_update": "2020-01-01 00:00:00", "author_account_age_days": 0} for u in m}, open(sys.argv[2], "w"))' \
    "$DATA/extension-node-map.json" "$SOURCE/github-stats.json"
fi
WS="$WORK/ws"
"$COMFYDOCK_BIN" --workspace "$WS" init >/dev/null 2>&1
env -u COMFYDOCK_MAPPINGS_URL COMFYDOCK_MANAGER_DATA_URL="$SOURCE" \
  "$COMFYDOCK_BIN" --workspace "$WS" -q registry update
"$COMFYDOCK_BIN" --workspace "$WS" registry status | sed 's/^/  /'

python3 - "$COMFYDOCK_BIN" "$WS" "$CORPUS" <<'EOF'
import json, subprocess, sys

bin_, ws, corpus = sys.argv[1:4]
expected = json.load(open(f"{corpus}/expected.json"))["files"]
source_repo = {}
for line in open(f"{corpus}/workflows/manifest.tsv"):
    cols = line.rstrip("\n").split("\t")
    if len(cols) >= 2 and cols[0] != "file":
        source_repo[cols[0]] = cols[1]

def providers(node_type):
    out = subprocess.run(
        [bin_, "--workspace", ws, "--offline", "node", "find", "--provides", node_type, "--json", "--limit", "50"],
        check=True, capture_output=True, text=True).stdout
    return json.loads(out)["providers"]

def repo_of(p):
    r = (p.get("repository") or p["pack_id"]).lower().rstrip("/")
    return r[:-4] if r.endswith(".git") else r

def gh(owner_repo):
    return "https://github.com/" + owner_repo.lower()

def top(ps):
    return ps[0] if ps else None

failures = 0
print("\nNamed node types:")
for node_type, want in [("ImageResize+", "cubiq/ComfyUI_essentials"),
                        ("SimpleMath+", "cubiq/ComfyUI_essentials"),
                        ("ImageResizeKJ", "kijai/ComfyUI-KJNodes")]:
    ps = providers(node_type)
    t = top(ps)
    ok = t is not None and repo_of(t) == gh(want)
    failures += not ok
    print(f"  {'ok   ' if ok else 'WRONG'} {node_type:16} top: {t['pack_id'] if t else '-'}  ({t['reason'] if t else 'no provider'})  expected {want}")

# Corpus: each (file, custom node type) judged once per distinct expectation.
judged = wrong = unjudged = missing = 0
unlisted = 0  # wrong because Manager's data does not list the expected pack at all
seen = set()
rows = []
for fname, f in sorted(expected.items()):
    for node_type in f["custom_node_types"]:
        stamps = [p for p in f["node_packs"].get(node_type, []) if p.get("cnr_id") != "comfy-core"]
        ps = providers(node_type)
        t = top(ps)
        want = None
        if stamps:
            s = stamps[0]
            want = ("aux", gh(s["aux_id"])) if s.get("aux_id") else ("cnr", s["cnr_id"].lower())
        else:
            src = source_repo.get(fname)
            if src and any(repo_of(p) == gh(src) for p in ps):
                want = ("aux", gh(src))
        key = (node_type, want)
        if key in seen:
            continue
        seen.add(key)
        if t is None:
            missing += 1
        if want is None:
            unjudged += 1
            rows.append(("-    ", node_type, t["pack_id"] if t else "-", "not judged"))
            continue
        judged += 1
        kind, value = want
        def matches(p):
            if kind == "aux":
                return repo_of(p) == value
            return p["pack_id"].lower() == value or repo_of(p).rsplit("/", 1)[-1] == value
        ok = t is not None and matches(t)
        wrong += not ok
        at = next((i + 1 for i, p in enumerate(ps) if matches(p)), None)
        unlisted += (not ok) and at is None
        note = "" if ok else (f" (listed at position {at})" if at else " (not among the providers)")
        rows.append(("ok   " if ok else "WRONG", node_type, t["pack_id"] if t else "-", f"expected {value}{note}"))

print("\nCorpus custom node types (distinct type/expectation pairs):")
for status, node_type, got, why in rows:
    print(f"  {status} {node_type:40} top: {got}  {why}")
print(f"\nCorpus: {judged} judged, {wrong} wrong top picks ({wrong - unlisted} ranked below another pack, {unlisted} whose expected pack Manager's data does not list), {unjudged} not judged, {missing} with no provider")
print(f"Named types: {failures} wrong top pick(s)")
sys.exit(1 if failures else 0)
EOF
