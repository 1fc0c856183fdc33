#!/usr/bin/env bash
# Start the Ray head on node 0 of the cluster (the paper's runs: 2 nodes x 8 GPUs).
#
#   HEAD_IP=10.0.0.1 bash examples/ray_start_head.sh
#
# Then on every other node:  HEAD_ADDRESS=10.0.0.1:6379 bash examples/ray_start_worker.sh
# and submit from anywhere:  RAY_ADDRESS=http://10.0.0.1:8265 ... bash examples/submit_grpo.sh
#
# HEAD_IP is required: on machines with several network interfaces Ray may otherwise bind one
# the workers cannot reach, a common cause of workers that never join.
set -euo pipefail

: "${HEAD_IP:?set HEAD_IP to the IP address of this node as the worker nodes reach it (e.g. HEAD_IP=10.0.0.1)}"
RAY_PORT="${RAY_PORT:-6379}"
DASHBOARD_PORT="${DASHBOARD_PORT:-8265}"
NUM_GPUS="${NUM_GPUS:-8}"

command -v ray >/dev/null || { echo "ray_start_head.sh: 'ray' not found; pip install thinkj-verl (brings ray) on this node" >&2; exit 1; }

ray start --head \
    --node-ip-address="$HEAD_IP" \
    --port="$RAY_PORT" \
    --num-gpus="$NUM_GPUS" \
    --dashboard-host=0.0.0.0 \
    --dashboard-port="$DASHBOARD_PORT"

echo "head up. On each worker node: HEAD_ADDRESS=$HEAD_IP:$RAY_PORT bash examples/ray_start_worker.sh"
echo "submit jobs with:             RAY_ADDRESS=http://$HEAD_IP:$DASHBOARD_PORT bash examples/submit_grpo.sh"
