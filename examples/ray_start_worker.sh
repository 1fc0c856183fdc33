#!/usr/bin/env bash
# Join this node to a running Ray head (see ray_start_head.sh).
#
#   HEAD_ADDRESS=10.0.0.1:6379 bash examples/ray_start_worker.sh
#
# Check that every node joined with all its GPUs before submitting:
#   thinkj preflight +recipe=thinkj_grpo ... --ray-address 10.0.0.1:6379
set -euo pipefail

: "${HEAD_ADDRESS:?set HEAD_ADDRESS to the ip:port of the Ray head, printed by ray_start_head.sh (e.g. HEAD_ADDRESS=10.0.0.1:6379)}"
NUM_GPUS="${NUM_GPUS:-8}"

command -v ray >/dev/null || { echo "ray_start_worker.sh: 'ray' not found; pip install thinkj-verl (brings ray) on this node" >&2; exit 1; }

NODE_IP_ARGS=()
# Optional: pin the interface this node is reached on, as for the head.
if [[ -n "${NODE_IP:-}" ]]; then NODE_IP_ARGS=(--node-ip-address="$NODE_IP"); fi

ray start --address="$HEAD_ADDRESS" --num-gpus="$NUM_GPUS" "${NODE_IP_ARGS[@]}"
