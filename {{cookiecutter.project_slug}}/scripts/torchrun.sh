#!/usr/bin/env bash
# Distributed training on machines without SLURM: run this on every machine, with the same
# NODES, MAIN_ADDR and MAIN_PORT and each machine's own NODE_RANK (0 on MAIN_ADDR's machine).
#
#   NODES=2 NODE_RANK=0 MAIN_ADDR=10.0.0.1 scripts/torchrun.sh --trainer.max_epochs=50   # machine 0
#   NODES=2 NODE_RANK=1 MAIN_ADDR=10.0.0.1 scripts/torchrun.sh --trainer.max_epochs=50   # machine 1
#
# Arguments go to `fit` after the ddp and multinode presets. torchrun starts PROCS_PER_NODE
# processes on each machine (default: one per visible GPU); Lightning reads ranks and world size
# from torchrun, and the multinode preset reads the node count.
#
# Exposure: torchrun's rendezvous store listens on MAIN_PORT on every interface of machine 0 (and
# the processes open further ports to each other); it authenticates nobody, so whoever reaches the
# port can join or break the job. Keep the machines on a private network (a cluster's, a VPN), or
# let a firewall admit only the job's machines to it (docs/security.md).
set -euo pipefail

NODES="${NODES:-1}"
NODE_RANK="${NODE_RANK:-0}"
MAIN_ADDR="${MAIN_ADDR:-127.0.0.1}"  # an address of machine 0 that every machine can reach
MAIN_PORT="${MAIN_PORT:-29500}"      # a free TCP port on machine 0
PYTHON="${PYTHON:-python}"
if [[ -z "${PROCS_PER_NODE:-}" ]]; then
    PROCS_PER_NODE="$("$PYTHON" -c 'import torch; print(max(torch.cuda.device_count(), 1))')"
fi

exec "$PYTHON" -m torch.distributed.run \
    --nnodes="$NODES" --node_rank="$NODE_RANK" --nproc_per_node="$PROCS_PER_NODE" \
    --master_addr="$MAIN_ADDR" --master_port="$MAIN_PORT" \
    -m {{ cookiecutter.package_name }} fit --preset ddp --preset multinode "$@"
