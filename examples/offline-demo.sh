#!/usr/bin/env bash
# The main job of comfydock on a bundled, fully offline example: a miniature ComfyUI
# (fixtures/comfyui-mini, made into a git repository with a release tag), its Python
# requirement (fixtures/wheels) and a node pack (fixtures/node-packs/hello-pack, made into a
# git repository too). It creates an environment, declares the node, shows the plan, applies
# it, runs ComfyUI's quick test, and rolls back. Every comfydock command is printed first.
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
comfyui="$demo/ComfyUI.git"
if [ ! -d "$comfyui/.git" ]; then
  mkdir -p "$comfyui"
  cp -R fixtures/comfyui-mini/. "$comfyui/"
  g() { git -C "$comfyui" -c user.name=demo -c user.email=demo@example.invalid "$@"; }
  g init --quiet --initial-branch=master
  g add --all
  g commit --quiet -m "miniature ComfyUI 0.2.0"
  g tag v0.2.0
fi

pack="$demo/hello-pack.git"
if [ ! -d "$pack/.git" ]; then
  mkdir -p "$pack"
  cp -R fixtures/node-packs/hello-pack/. "$pack/"
  git -C "$pack" init --quiet --initial-branch=main
  git -C "$pack" add --all
  git -C "$pack" -c user.name=demo -c user.email=demo@example.invalid commit --quiet -m "hello-pack 1.0"
fi

# Offline: uv finds packages only in the bundled wheels folder.
export COMFYDOCK_HOME="$demo/workspace" UV_OFFLINE=1 UV_FIND_LINKS="$repo_root/fixtures/wheels"
step() { printf '\n$ comfydock %s\n' "$*"; "$bin" "$@"; }

step init
if [ ! -d "$COMFYDOCK_HOME/environments/demo" ]; then
  step create demo --comfyui-repo "$comfyui"
fi
step list
if ! grep -q hello-pack "$COMFYDOCK_HOME/environments/demo/.cec/pyproject.toml"; then
  step node add "$pack" --no-apply      # declare it: only the manifest changes
fi
step plan                                # what apply would do, Terraform style
step apply --yes                         # staged, journaled, recorded as a generation
step run -- --quick-test-for-ci          # ComfyUI loads the node
step log
step rollback --yes                      # back to the generation before, offline
step plan --detailed-exitcode            # in sync: exit code 0
printf '\nDone. Workspace: %s\n' "$COMFYDOCK_HOME"
