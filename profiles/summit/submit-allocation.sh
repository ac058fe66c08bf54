#!/usr/bin/env bash
# ALLOCATION mode on Summit (LSF; the template for other LSF sites): submit one batch job of N
# nodes; inside it, Snakemake runs on the launch node with profiles/summit/allocation and starts
# every job in the background with jsrun (bin/candle-step; training jobs: one resource set of 7 cores + 1 GPU; 6 per node).
#   profiles/summit/submit-allocation.sh [bsub options] [-- snakemake options]
#   e.g. profiles/summit/submit-allocation.sh -P PROJ123 -nnodes 4 -W 120 -- --configfile my.yaml
# Site options, given before yours: -q batch -alloc_flags NVME (CANDLE_BSUB_DEFAULTS replaces them).
set -euo pipefail
# the batch system may run a copy of this script: the repository travels in CANDLE_HOME
repo=${CANDLE_HOME:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
export CANDLE_HOME=$repo
here=$repo/profiles/summit
if [ "${1:-}" != --inside-allocation ]; then
    bsub_args=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do bsub_args+=("$1"); shift; done
    [ "${1:-}" = -- ] && shift
    mkdir -p results/logs
    # shellcheck disable=SC2086  # the site options are a word list
    exec bsub -J candle-allocation -o results/logs/allocation-%J.out -cwd "$PWD" \
        ${CANDLE_BSUB_DEFAULTS--q batch -alloc_flags NVME} "${bsub_args[@]}" \
        "$here/submit-allocation.sh" --inside-allocation "$@"
fi
shift
# Inside the allocation: LSB_HOSTS lists the launch node once, then each compute node once per core.
nodes=$(tr ' ' '\n' <<<"${LSB_MCPU_HOSTS:-}" | awk 'NR % 2 == 1 && $1 !~ /batch|login/' | wc -l)
nodes=$(( nodes > 0 ? nodes : 1 ))
snakemake=$repo/.venv/bin/snakemake; [ -x "$snakemake" ] || snakemake=snakemake
echo "allocation ${LSB_JOBID:-?}: $nodes node(s), $(( nodes * 42 )) cores, $(( nodes * 6 )) GPUs"
[ -d "$repo/.venv/bin" ] && export PATH=$repo/.venv/bin:$PATH
# --jobs: at most one step per core at a time (bin/candle-step starts each job with jsrun, in the background)
exec "$snakemake" --snakefile "$repo/Snakefile" --profile "$here/allocation" \
    --jobs $(( nodes * ${CANDLE_CORES_PER_NODE:-42} )) --resources gpus=$(( nodes * ${CANDLE_GPUS_PER_NODE:-6} )) "$@"
