#!/usr/bin/env bash
# The two-node launch, rehearsed on ONE machine without a GPU: a real Ray cluster of two nodes
# on the loopback address (a head and a worker, one logical GPU each), the CPU backend on both,
# `thinkj preflight --ray-address` against it, then examples/submit_grpo.sh as a Ray job with
# +platform=cpu trainer.nnodes=2 trainer.n_gpus_per_node=1: one FSDP2 worker per node, one gloo
# process group across them, real training steps. Everything it started is stopped at the end.
#
#   MODEL_PATH=/path/to/small/model TRAIN_FILES=/abs/pairs_train.parquet \
#   VAL_FILES=/abs/pairs_val.parquet OUTPUT_DIR=/abs/out bash examples/rehearse_two_nodes.sh [overrides]
#
# Optional: RECIPE (thinkj_grpo), STEPS (1). It proves the placement, the cross-node process
# group, weight sync and the job path; not GPU memory, NCCL, vLLM or shared storage (see README).
set -euo pipefail

: "${MODEL_PATH:?set MODEL_PATH to a small local model folder (thinkj smoke builds one; so does thinkj_verl.tiny)}"
: "${TRAIN_FILES:?set TRAIN_FILES to an absolute pairs file}"
: "${VAL_FILES:?set VAL_FILES to an absolute pairs file}"
: "${OUTPUT_DIR:?set OUTPUT_DIR to an absolute folder for checkpoints and logs}"
RECIPE="${RECIPE:-thinkj_grpo}"
STEPS="${STEPS:-1}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3}"
command -v ray >/dev/null || { echo "rehearse_two_nodes.sh: 'ray' not found; activate the environment holding thinkj-verl" >&2; exit 1; }

# Ray's unix sockets need a short path.
WORK="$(mktemp -d /tmp/tj2n.XXXXXX)"
mkdir -p "$OUTPUT_DIR"
free_port() { "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
GCS_PORT="$(free_port)"
DASHBOARD_PORT="$(free_port)"

# Every Ray process inherits these: the CPU platform in each worker, no token auth between the
# two nodes (Ray 2.60 turns it on for a head and then refuses the second node).
# verl's file logger writes each step's metrics where the job's processes look (set before Ray starts).
export VERL_PLATFORM=cpu OMP_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 RAY_AUTH_MODE=disabled
export VERL_FILE_LOGGER_PATH="$OUTPUT_DIR/metrics.jsonl"
unset RAY_ADDRESS

cleanup() {
    # Stop only what this script started (`ray stop` would stop every Ray on the machine).
    pkill -f "$WORK" 2>/dev/null || true
    sleep 1
    pkill -9 -f "$WORK" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

NODE=(--node-ip-address=127.0.0.1 --num-cpus=8 --num-gpus=1 --disable-usage-stats)
ray start --head --port="$GCS_PORT" --temp-dir="$WORK/ray" --include-dashboard=true \
    --dashboard-host=127.0.0.1 --dashboard-port="$DASHBOARD_PORT" \
    --dashboard-agent-listen-port="$(free_port)" --ray-client-server-port="$(free_port)" \
    --min-worker-port=20000 --max-worker-port=20999 "${NODE[@]}" >"$OUTPUT_DIR/ray_head.log" 2>&1
ray start --address="127.0.0.1:$GCS_PORT" --dashboard-agent-listen-port="$(free_port)" \
    --min-worker-port=21000 --max-worker-port=21999 "${NODE[@]}" >"$OUTPUT_DIR/ray_worker.log" 2>&1
echo "rehearse_two_nodes.sh: two Ray nodes up (GCS 127.0.0.1:$GCS_PORT, jobs http://127.0.0.1:$DASHBOARD_PORT)"

CPU_TWO_NODES=(
    +platform=cpu trainer.nnodes=2 trainer.n_gpus_per_node=1
    "trainer.total_training_steps=$STEPS" "trainer.save_freq=$STEPS" "trainer.test_freq=$STEPS"
    # joining a running cluster: Ray refuses num_cpus/num_gpus in ray.init
    ray_kwargs.ray_init.num_cpus=null "~ray_kwargs.ray_init.num_gpus"
    trainer.logger=[console,file]
)
thinkj preflight --ray-address "127.0.0.1:$GCS_PORT" "+recipe=$RECIPE" \
    "data.train_files=$TRAIN_FILES" "data.val_files=$VAL_FILES" "actor_rollout_ref.model.path=$MODEL_PATH" \
    "${CPU_TWO_NODES[@]}"

RAY_ADDRESS="http://127.0.0.1:$DASHBOARD_PORT" THINKJ_INSTALL=none RECIPE="$RECIPE" \
    MODEL_PATH="$MODEL_PATH" TRAIN_FILES="$TRAIN_FILES" VAL_FILES="$VAL_FILES" OUTPUT_DIR="$OUTPUT_DIR/checkpoints" \
    bash "$HERE/submit_grpo.sh" "${CPU_TWO_NODES[@]}" "$@"
echo "rehearse_two_nodes.sh: done; metrics in $OUTPUT_DIR/metrics.jsonl, checkpoints in $OUTPUT_DIR/checkpoints"
