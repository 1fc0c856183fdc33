#!/usr/bin/env bash
# Submit a Think-J recipe (default: thinkj_grpo) to a running Ray cluster as a Ray job.
# The job ships a wheel built from THIS checkout (examples/build_wheel.sh) as its Ray working_dir
# and pip-installs it on every node, so verl finds our reward manager, reward functions, dataset
# and recipes in every worker, from the code you have here (the nodes need verl and its GPU
# stack already: pip install "thinkj-verl[gpu]", see the README).
#
#   RAY_ADDRESS=http://10.0.0.1:8265 MODEL_PATH=/shared/Qwen2.5-7B-Instruct \
#   TRAIN_FILES=/shared/pairs/train.jsonl VAL_FILES=/shared/pairs/val.jsonl \
#   OUTPUT_DIR=/shared/checkpoints/thinkj/grpo bash examples/submit_grpo.sh [extra main_ppo overrides...]
#
# OUTPUT_DIR must be an absolute folder on storage every node can write (each node saves its
# checkpoint shards there; a relative path would be a different folder on each node).
# Optional: RECIPE (thinkj_grpo; any name in recipes/recipe/), EXPERIMENT_NAME (RECIPE),
# PROJECT_NAME (thinkj), CRITIC_MODEL_PATH (MODEL_PATH; PPO recipes only),
# THINKJ_WHEEL (a wheel already built, instead of building one), THINKJ_PIP_SPEC (install this
# instead of a wheel of the checkout: a version pin, a wheel on shared storage or a git URL;
# several separated by spaces), THINKJ_INSTALL=none (install nothing: the nodes already hold
# this checkout), PYTHON (python3, builds the wheel), PREFLIGHT=1 (run
# `thinkj preflight` with the same overrides here first), DRY_RUN=1 (print the command only).
# Paths must be readable from every node (shared storage or hub ids).
set -euo pipefail

: "${RAY_ADDRESS:?set RAY_ADDRESS to the job server of the Ray head, e.g. RAY_ADDRESS=http://10.0.0.1:8265 (see ray_start_head.sh)}"
: "${MODEL_PATH:?set MODEL_PATH to the judge model to train (a path every node can read, or a hub id)}"
: "${TRAIN_FILES:?set TRAIN_FILES to the training pairs (jsonl/parquet on storage every node can read)}"
: "${VAL_FILES:?set VAL_FILES to the validation pairs (jsonl/parquet on storage every node can read)}"
: "${OUTPUT_DIR:?set OUTPUT_DIR to an absolute folder on storage every node can write, e.g. OUTPUT_DIR=/shared/checkpoints/thinkj/grpo}"
[[ "$OUTPUT_DIR" == /* ]] || { echo "submit_grpo.sh: OUTPUT_DIR must be an absolute path on shared storage (each node would write its own '$OUTPUT_DIR'), got '$OUTPUT_DIR'" >&2; exit 2; }

RECIPE="${RECIPE:-thinkj_grpo}"
PROJECT_NAME="${PROJECT_NAME:-thinkj}"
EXPERIMENT_NAME="${EXPERIMENT_NAME:-$RECIPE}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

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

# What every node installs: nothing when THINKJ_INSTALL=none (every node already has this
# checkout installed, as in examples/rehearse_two_nodes.sh), the pip specs asked for, else this
# checkout's wheel as the job's working_dir (Ray uploads it; the runtime env's pip installs it).
if [[ "${THINKJ_INSTALL:-wheel}" == "none" ]]; then
    RUNTIME_ENV="{}"
elif [[ -n "${THINKJ_PIP_SPEC:-}" ]]; then
    read -r -a PIP_SPECS <<<"$THINKJ_PIP_SPEC"  # split on spaces only: no globbing of "thinkj-verl[gpu]"
    RUNTIME_ENV="$(python3 -c 'import json, sys; print(json.dumps({"pip": sys.argv[1:]}))' "${PIP_SPECS[@]}")"
else
    STAGE="$(mktemp -d)"
    trap 'rm -rf "$STAGE"' EXIT
    if [[ -n "${THINKJ_WHEEL:-}" ]]; then
        [[ -f "$THINKJ_WHEEL" ]] || { echo "submit_grpo.sh: THINKJ_WHEEL '$THINKJ_WHEEL' is not a file; unset it to build a wheel of this checkout" >&2; exit 2; }
        cp "$THINKJ_WHEEL" "$STAGE/"
    else
        bash "$HERE/build_wheel.sh" "$STAGE" >/dev/null
    fi
    WHEEL="$(basename "$(ls "$STAGE"/*.whl)")"
    RUNTIME_ENV="$(python3 -c 'import json, sys; print(json.dumps({"working_dir": sys.argv[1], "pip": ["${RAY_RUNTIME_ENV_CREATE_WORKING_DIR}/" + sys.argv[2]]}))' "$STAGE" "$WHEEL")"
fi
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
