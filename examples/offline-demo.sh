#!/usr/bin/env bash
# The main job of comfydock on a bundled, fully offline example: a miniature ComfyUI
# (fixtures/comfyui-mini, made into a git repository with a release tag), its Python
# requirement (fixtures/wheels) and a node pack (fixtures/node-packs/hello-pack, made into a
# git repository too, reached as https://github.com/comfydock-demo/hello-pack through git's
# insteadOf). A workflow shared as a PNG is analysed, imported and resolved (the pack it needs
# is found in ComfyUI-Manager-format node data and added), applied, and tested on the
# miniature ComfyUI; then a pack update that breaks the workflow is applied with --test and
# switches itself back. Every comfydock command is printed first.
#
#   bash examples/offline-demo.sh            # a fresh temporary workspace
#   DEMO_DIR=/tmp/cd bash examples/offline-demo.sh
set -euo pipefail
repo_root=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo_root"

if ! command -v uv >/dev/null 2>&1; then
  echo "uv is needed: install it with 'pip install uv'" >&2
  exit 1
fi
cargo build --quiet
bin="$repo_root/target/debug/comfydock"

demo=${DEMO_DIR:-$(mktemp -d -t comfydock-demo-XXXXXX)}
mkdir -p "$demo"
git_demo() { git -c user.name=demo -c user.email=demo@example.invalid "$@"; }
comfyui="$demo/ComfyUI.git"
if [ ! -d "$comfyui/.git" ]; then
  mkdir -p "$comfyui"
  cp -R fixtures/comfyui-mini/. "$comfyui/"
  git_demo -C "$comfyui" init --quiet --initial-branch=master
  git_demo -C "$comfyui" add --all
  git_demo -C "$comfyui" commit --quiet -m "miniature ComfyUI 0.2.0"
  git_demo -C "$comfyui" tag v0.2.0
fi

pack="$demo/hello-pack"
if [ ! -d "$pack/.git" ]; then
  mkdir -p "$pack"
  cp -R fixtures/node-packs/hello-pack/. "$pack/"
  git_demo -C "$pack" init --quiet --initial-branch=main
  git_demo -C "$pack" add --all
  git_demo -C "$pack" commit --quiet -m "hello-pack 1.0"
fi

# The pack's public address, served from the folder above (as an air-gapped mirror would be).
export GIT_CONFIG_GLOBAL="$demo/gitconfig"
git config --file "$GIT_CONFIG_GLOBAL" url."file://$demo/".insteadOf https://github.com/comfydock-demo/

# Node data in ComfyUI-Manager's formats, as `registry update` reads them with no set-up.
data="$demo/manager-data"
mkdir -p "$data"
url=https://github.com/comfydock-demo/hello-pack
cat > "$data/extension-node-map.json" <<EOF
{"$url": [["HelloNode", "HelloTint"], {"title_aux": "Hello pack"}]}
EOF
cat > "$data/github-stats.json" <<EOF
{"$url": {"stars": 7, "last_update": "2026-11-01 10:00:00", "author_account_age_days": 400}}
EOF
cat > "$data/custom-node-list.json" <<EOF
{"custom_nodes": [{"author": "demo", "title": "Hello pack", "reference": "$url", "files": ["$url"],
  "install_type": "git-clone", "description": "the offline demo's pack"}]}
EOF

# A workflow shared as an image: the UI workflow in a PNG's `workflow` text chunk, as ComfyUI saves it.
png="$demo/hello-flow.png"
python3 - "$repo_root/examples/hello-flow.json" "$png" <<'EOF'
import struct, sys, zlib
workflow = open(sys.argv[1], "rb").read()
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
pixel = zlib.compress(b"\x00\x00\x00\xff")
png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
       + chunk(b"tEXt", b"workflow\x00" + workflow) + chunk(b"IDAT", pixel) + chunk(b"IEND", b""))
open(sys.argv[2], "wb").write(png)
EOF

# Offline: uv finds packages only in the bundled wheels folder.
export COMFYDOCK_HOME="$demo/workspace" UV_OFFLINE=1 UV_FIND_LINKS="$repo_root/fixtures/wheels"
step() { printf '\n$ comfydock %s\n' "$*"; "$bin" "$@"; }

step init
if [ ! -d "$COMFYDOCK_HOME/environments/demo" ]; then
  step create demo --comfyui-repo "$comfyui"
fi
step list
step config set manager_data_url "$data"
step registry update                     # node mappings from Manager-format data, no server of ours
step analyze "$png"                      # what the shared workflow needs
if ! grep -q hello-flow "$COMFYDOCK_HOME/environments/demo/.cec/pyproject.toml"; then
  step workflow import "$png" --name hello-flow
fi
step workflow resolve hello-flow --auto  # adds the pack that provides HelloTint, locks, applies
step test --level run                    # ComfyUI starts once; the workflow is imported, validated and run
step log

# The pack's next version limits `strength` below what the workflow uses.
sed -i 's/"max": 1.0/"max": 0.25/' "$pack/__init__.py"
git_demo -C "$pack" commit --quiet -am "hello-pack 2.0: strength at most 0.25"
step node update hello-pack --no-apply   # the new pin, not applied yet
step plan
if step apply --yes --test; then          # applied, tested, and switched back when a workflow breaks
  echo "unexpected: the broken update stayed" >&2
  exit 1
fi
step log                                 # the update and the generation that undid it
step plan --detailed-exitcode            # back in sync with the reviewed state: exit code 0
printf '\nDone. Workspace: %s\n' "$COMFYDOCK_HOME"
