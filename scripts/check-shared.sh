#!/usr/bin/env bash
# Checks against the team's data in ../shared (never read by `cargo test`, which must pass on a
# fresh clone): the workflow-analysis tests run again over the 30-file corpus and its oracle,
# and resolution ranks ComfyUI-Manager's full node map right (scripts/check-shared-mappings.sh).
# `.ci/run` runs this after `cargo test` when ../shared exists.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
if [ ! -f "$SHARED/corpus/expected.json" ]; then
  echo "check-shared: no corpus at $SHARED/corpus" >&2
  exit 1
fi
COMFYDOCK_CORPUS_DIR=$(cd "$SHARED/corpus" && pwd) \
  cargo test --test it -- --exact \
  workflow::corpus_matches_the_oracle \
  workflow::json_output_follows_its_schema \
  workflow::garbage_gets_a_diagnostic_and_exit_1 \
  workflow::no_panic::mutated_corpus_files_never_panic
bash scripts/check-shared-mappings.sh
