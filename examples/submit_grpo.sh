#!/usr/bin/env bash
# Submit a Think-J recipe (default: thinkj_grpo) to a running Ray cluster as a Ray job.
# The job's runtime environment pip-installs thinkj-verl on every node, so verl finds our
# reward manager, reward functions, dataset and recipes in every worker.
#
#   RAY_ADDRESS=http://10.0.0.1:8265 MODEL_PATH=/shared/Qwen2.5-7B-Instruct \
#   TRAIN_FILES=/shared/pairs/train.jsonl VAL_FILES=/shared/pairs/val.jsonl \
#   bash examples/submit_grpo.sh [extra main_ppo overrides...]
#
# Optional: RECIPE (thinkj_grpo; any name in recipes/recipe/), EXPERIMENT_NAME (RECIPE),
# PROJECT_NAME (thinkj), OUTPUT_DIR (checkpoints/PROJECT_NAME/EXPERIMENT_NAME),
# CRITIC_MODEL_PATH (MODEL_PATH; PPO recipes only), THINKJ_PIP_SPEC (thinkj-verl: a version pin,
# a wheel on shared storage or a git URL; several separated by spaces), PREFLIGHT=1 (run
# `thinkj preflight` with the same overrides here first), DRY_RUN=1 (print the command only).
# Paths must be readable from every node (shared storage or hub ids).
set -euo pipefail

: "${RAY_ADDRESS:?set RAY_ADDRESS to the job server of the Ray head, e.g. RAY_ADDRESS=http://10.0.0.1:8265 (see ray_start_head.sh)}"
: "${MODEL_PATH:?set MODEL_PATH to the judge model to train (a path every node can read, or a hub id)}"
: "${TRAIN_FILES:?set TRAIN_FILES to the training pairs (jsonl/parquet on storage every node can read)}"
: "${VAL_FILES:?set VAL_FILES to the validation pairs (jsonl/parquet on storage every node can read)}"

RECIPE="${RECIPE:-thinkj_grpo}"
PROJECT_NAME="${PROJECT_NAME:-thinkj}"
EXPERIMENT_NAME="${EXPERIMENT_NAME:-$RECIPE}"
OUTPUT_DIR="${OUTPUT_DIR:-checkpoints/$PROJECT_NAME/$EXPERIMENT_NAME}"
THINKJ_PIP_SPEC="${THINKJ_PIP_SPEC:-thinkj-verl}"

OVERRIDES=(
    "+recipe=$RECIPE"
    "data.train_files=$TRAIN_FILES"
    "data.val_files=$VAL_FILES"
    "actor_rollout_ref.model.path=$MODEL_PATH"
    "trainer.project_name=$PROJECT_NAME"
    "trainer.experiment_name=$EXPERIMENT_NAME"
    "trainer.default_local_dir=$OUTPUT_DIR"
)
case "$RECIPE" in
    thinkj_ppo*) OVERRIDES+=("critic.model.path=${CRITIC_MODEL_PATH:-$MODEL_PATH}") ;;
esac
OVERRIDES+=("$@")

# shellcheck disable=SC2086  # THINKJ_PIP_SPEC is a space-separated list on purpose
RUNTIME_ENV="$(python3 -c 'import json, sys; print(json.dumps({"pip": sys.argv[1:]}))' $THINKJ_PIP_SPEC)"
JOB=(ray job submit --address "$RAY_ADDRESS" --runtime-env-json "$RUNTIME_ENV"
     -- python3 -m verl.trainer.main_ppo "${OVERRIDES[@]}")

if [[ "${DRY_RUN:-0}" == "1" ]]; then
    printf '%q ' "${JOB[@]}"
    echo
    exit 0
fi

if [[ "${PREFLIGHT:-0}" == "1" ]]; then
    thinkj preflight "${OVERRIDES[@]}"
fi

command -v ray >/dev/null || { echo "submit_grpo.sh: 'ray' not found; pip install thinkj-verl here to get the ray CLI" >&2; exit 1; }
"${JOB[@]}"
