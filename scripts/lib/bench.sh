# Sourced by the benchmarks.
#
# bench_binary [PATH] prints the comfydock binary to time: PATH made absolute when given, else
# the release build of this checkout (built first).
bench_binary() {
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  if [ -n "${1:-}" ]; then
    echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
  else
    cargo build --release --quiet --manifest-path "$root/Cargo.toml" >&2
    echo "$root/target/release/comfydock"
  fi
}

# bench_offline_env WORK: the environment every benchmark runs comfydock in: the uv on PATH (the
# pip-installed one first), wheels from WORK/wheels only, no network, no colours, a fixed git
# identity and no system git config.
bench_offline_env() {
  local uv_real
  uv_real=$(python3 -c 'import uv; print(uv.find_uv_bin())' 2>/dev/null || command -v uv)
  export PATH="$(dirname "$uv_real"):$PATH"
  export UV_OFFLINE=1 UV_FIND_LINKS="$1/wheels" UV_PYTHON_DOWNLOADS=never NO_COLOR=1
  export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.invalid
  export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.invalid
}

# The offline sources an environment is built from.
#
# bench_sources DIR N makes, in DIR:
#   wheels/         comfy-mini-dep and bench-dep-0 .. bench-dep-(N-1) (scripts/lib/wheels.py);
#   ComfyUI/        the miniature ComfyUI of fixtures/, a git repository tagged v0.1.0;
#   packs/pack-I    N node packs, git repositories, each providing BenchNodeI and requiring
#                   bench-dep-I.
bench_sources() {
  local dir=$1 nodes=$2 root i d
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  python3 "$root/scripts/lib/wheels.py" "$dir/wheels" "$nodes"
  cp -r "$root/fixtures/comfyui-mini" "$dir/ComfyUI"
  git -C "$dir/ComfyUI" init -q && git -C "$dir/ComfyUI" add -A && git -C "$dir/ComfyUI" commit -qm v1 && git -C "$dir/ComfyUI" tag v0.1.0
  for i in $(seq 0 $((nodes - 1))); do
    d="$dir/packs/pack-$i"
    mkdir -p "$d"
    printf "import bench_dep_%d\nNODE_CLASS_MAPPINGS = {'BenchNode%d': object}\n" "$i" "$i" >"$d/__init__.py"
    printf "bench-dep-%d>=1.0\n" "$i" >"$d/requirements.txt"
    git -C "$d" init -q && git -C "$d" add -A && git -C "$d" commit -qm v1
  done
}

# Writes COUNT model files of distinct small content into the workspace's models/loras, 1,000
# per folder.
bench_model_files() {
  python3 - "$COMFYDOCK_HOME/models/loras" "$1" <<'PY'
import os, sys
root, k = sys.argv[1], int(sys.argv[2])
for i in range(k):
    d = os.path.join(root, f"set{i // 1000}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"m{i}.safetensors"), "wb") as f:
        f.write(f"bench model {i}\n".encode() * 8)
PY
}

# Writes COUNT model files (bench_model_files), indexes them, and declares them all in ENV's
# manifest as checkpoints m-0 … (bench-speed.sh and bench-switch.sh).
bench_declared_models() {
  local env="$1" MODELS="$2"
  bench_model_files "$MODELS"
  "$BIN" model scan >/dev/null
  python3 - "$COMFYDOCK_HOME/.metadata/model_index.db" "$MODELS" >>"$env/.cec/pyproject.toml" <<'PY'
import sqlite3, sys
db, count = sys.argv[1], int(sys.argv[2])
rows = sqlite3.connect(db).execute(
    "SELECT h.hash_value, m.size FROM models m "
    "JOIN model_hashes h ON h.model_id = m.id AND h.hash_type = 'blake3' ORDER BY m.id LIMIT ?",
    (count,)).fetchall()
for n, (b3, size) in enumerate(rows):
    print(f'\n[tool.comfydock.models.m-{n}]\nhash = "blake3:{b3}"\nsize = {size}\ncategory = "checkpoints"\nfilename = "m-{n}.safetensors"')
PY
}
