#!/usr/bin/env bash
# The paper's Table 8 ablation: one GRPO run per (format weight, strength weight) setting,
# submitted one after another to a running Ray cluster through submit_grpo.sh. The accuracy
# weight stays 1.0 as in the paper. Run names and output dirs come from the overrides:
# EXPERIMENT_NAME = RECIPE-fw<format weight>-sw<strength weight>, OUTPUT_DIR = OUTPUT_ROOT/<name>.
#
#   RAY_ADDRESS=http://10.0.0.1:8265 MODEL_PATH=... TRAIN_FILES=... VAL_FILES=... OUTPUT_ROOT=/shared/checkpoints/thinkj_table8 \
#   bash examples/sweep_table8.sh [extra main_ppo overrides for every run...]
#
# Optional: RECIPE (thinkj_grpo), OUTPUT_ROOT (required: an absolute folder on shared storage), BEST_STRENGTH (0.2:
# the strength weight of the format-weight rows; the paper's best is 0.2 for the 32B judge and
# 0.0 for the 8B judge), DRY_RUN=1 (print each job command only), and submit_grpo.sh's options.
set -euo pipefail

: "${RAY_ADDRESS:?set RAY_ADDRESS to the job server of the Ray head, e.g. RAY_ADDRESS=http://10.0.0.1:8265 (see ray_start_head.sh)}"
: "${MODEL_PATH:?set MODEL_PATH to the judge model to train (a path every node can read, or a hub id)}"
: "${TRAIN_FILES:?set TRAIN_FILES to the training pairs (jsonl/parquet on storage every node can read)}"
: "${VAL_FILES:?set VAL_FILES to the validation pairs (jsonl/parquet on storage every node can read)}"
: "${OUTPUT_ROOT:?set OUTPUT_ROOT to an absolute folder on storage every node can write, e.g. OUTPUT_ROOT=/shared/checkpoints/thinkj_table8}"
[[ "$OUTPUT_ROOT" == /* ]] || { echo "sweep_table8.sh: OUTPUT_ROOT must be an absolute path on shared storage (each node would write its own '$OUTPUT_ROOT'), got '$OUTPUT_ROOT'" >&2; exit 2; }

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# One wheel of this checkout for every run (unless THINKJ_PIP_SPEC or THINKJ_WHEEL says otherwise).
if [[ -z "${THINKJ_PIP_SPEC:-}" && -z "${THINKJ_WHEEL:-}" ]]; then
    WHEEL_DIR="$(mktemp -d)"
    trap 'rm -rf "$WHEEL_DIR"' EXIT
    THINKJ_WHEEL="$(bash "$HERE/build_wheel.sh" "$WHEEL_DIR")"
    export THINKJ_WHEEL
fi
export RECIPE="${RECIPE:-thinkj_grpo}"
BEST_STRENGTH="${BEST_STRENGTH:-0.2}"

# Table 8 rows: format weight 1.0 / 0.5 / 0.0 at the best strength weight, then strength
# weight 0.5 / 0.2 / 0.0 at format weight 1.0 (a row already run is not run twice).
SETTINGS=("1.0 $BEST_STRENGTH" "0.5 $BEST_STRENGTH" "0.0 $BEST_STRENGTH" "1.0 0.5" "1.0 0.2" "1.0 0.0")
declare -A DONE=()
for setting in "${SETTINGS[@]}"; do
    read -r format_weight strength_weight <<<"$setting"
    name="$RECIPE-fw$format_weight-sw$strength_weight"
    [[ -n "${DONE[$name]:-}" ]] && continue
    DONE[$name]=1
    echo "== $name" >&2
    EXPERIMENT_NAME="$name" OUTPUT_DIR="$OUTPUT_ROOT/$name" bash "$HERE/submit_grpo.sh" \
        "reward.custom_reward_function.reward_kwargs.format_weight=$format_weight" \
        "reward.custom_reward_function.reward_kwargs.strength_weight=$strength_weight" \
        "$@"
done
