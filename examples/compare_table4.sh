#!/usr/bin/env bash
# The paper's Table 4 comparison: GRPO vs PPO vs Reinforce++ on the same data and model, each
# with its Table 11 settings, submitted one after another through submit_grpo.sh.
# Run names are the recipe names; output dirs OUTPUT_ROOT/<recipe>.
#
#   RAY_ADDRESS=http://10.0.0.1:8265 MODEL_PATH=... TRAIN_FILES=... VAL_FILES=... OUTPUT_ROOT=/shared/checkpoints/thinkj_table4 \
#   bash examples/compare_table4.sh [extra main_ppo overrides for every run...]
#
# Optional: NODES (2; 1 runs the *_1node variants on a single 8-GPU node, same global batch),
# OUTPUT_ROOT (required: an absolute folder on shared storage), CRITIC_MODEL_PATH (MODEL_PATH, for PPO),
# DRY_RUN=1 (print each job command only), and submit_grpo.sh's options.
set -euo pipefail

: "${RAY_ADDRESS:?set RAY_ADDRESS to the job server of the Ray head, e.g. RAY_ADDRESS=http://10.0.0.1:8265 (see ray_start_head.sh)}"
: "${MODEL_PATH:?set MODEL_PATH to the judge model to train (a path every node can read, or a hub id)}"
: "${TRAIN_FILES:?set TRAIN_FILES to the training pairs (jsonl/parquet on storage every node can read)}"
: "${VAL_FILES:?set VAL_FILES to the validation pairs (jsonl/parquet on storage every node can read)}"
: "${OUTPUT_ROOT:?set OUTPUT_ROOT to an absolute folder on storage every node can write, e.g. OUTPUT_ROOT=/shared/checkpoints/thinkj_table4}"
[[ "$OUTPUT_ROOT" == /* ]] || { echo "compare_table4.sh: OUTPUT_ROOT must be an absolute path on shared storage (each node would write its own '$OUTPUT_ROOT'), got '$OUTPUT_ROOT'" >&2; exit 2; }

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

case "${NODES:-2}" in
    2) SUFFIX="" ;;
    1) SUFFIX="_1node" ;;
    *) echo "compare_table4.sh: NODES must be 2 (the paper's 2 x 8 GPUs) or 1 (one 8-GPU node), got '${NODES}'" >&2; exit 2 ;;
esac

# One wheel of this checkout for every run (unless THINKJ_PIP_SPEC or THINKJ_WHEEL says otherwise).
if [[ -z "${THINKJ_PIP_SPEC:-}" && -z "${THINKJ_WHEEL:-}" ]]; then
    WHEEL_DIR="$(mktemp -d)"
    trap 'rm -rf "$WHEEL_DIR"' EXIT
    THINKJ_WHEEL="$(bash "$HERE/build_wheel.sh" "$WHEEL_DIR")"
    export THINKJ_WHEEL
fi

for algorithm in thinkj_grpo thinkj_ppo thinkj_reinforce_pp; do
    recipe="$algorithm$SUFFIX"
    echo "== $recipe" >&2
    RECIPE="$recipe" EXPERIMENT_NAME="$recipe" OUTPUT_DIR="$OUTPUT_ROOT/$recipe" \
        bash "$HERE/submit_grpo.sh" "$@"
done
