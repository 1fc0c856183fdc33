#!/usr/bin/env bash
# The paper's Table 4 comparison: GRPO vs PPO vs Reinforce++ on the same data and model, each
# with its Table 11 settings, submitted one after another through submit_grpo.sh.
# Run names are the recipe names; output dirs OUTPUT_ROOT/<recipe>.
#
#   RAY_ADDRESS=http://10.0.0.1:8265 MODEL_PATH=... TRAIN_FILES=... VAL_FILES=... \
#   bash examples/compare_table4.sh [extra main_ppo overrides for every run...]
#
# Optional: NODES (2; 1 runs the *_1node variants on a single 8-GPU node, same global batch),
# OUTPUT_ROOT (checkpoints/thinkj_table4), CRITIC_MODEL_PATH (MODEL_PATH, for PPO),
# DRY_RUN=1 (print each job command only), and submit_grpo.sh's options.
set -euo pipefail

: "${RAY_ADDRESS:?set RAY_ADDRESS to the job server of the Ray head, e.g. RAY_ADDRESS=http://10.0.0.1:8265 (see ray_start_head.sh)}"
: "${MODEL_PATH:?set MODEL_PATH to the judge model to train (a path every node can read, or a hub id)}"
: "${TRAIN_FILES:?set TRAIN_FILES to the training pairs (jsonl/parquet on storage every node can read)}"
: "${VAL_FILES:?set VAL_FILES to the validation pairs (jsonl/parquet on storage every node can read)}"

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUTPUT_ROOT="${OUTPUT_ROOT:-checkpoints/thinkj_table4}"
case "${NODES:-2}" in
    2) SUFFIX="" ;;
    1) SUFFIX="_1node" ;;
    *) echo "compare_table4.sh: NODES must be 2 (the paper's 2 x 8 GPUs) or 1 (one 8-GPU node), got '${NODES}'" >&2; exit 2 ;;
esac

for algorithm in thinkj_grpo thinkj_ppo thinkj_reinforce_pp; do
    recipe="$algorithm$SUFFIX"
    echo "== $recipe" >&2
    RECIPE="$recipe" EXPERIMENT_NAME="$recipe" OUTPUT_DIR="$OUTPUT_ROOT/$recipe" \
        bash "$HERE/submit_grpo.sh" "$@"
done
