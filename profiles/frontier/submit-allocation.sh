#!/usr/bin/env bash
# ALLOCATION mode on Frontier (8 GCDs per node): submit one batch job of N nodes; inside it, Snakemake
# runs with profiles/frontier/allocation and starts every job as a background srun step
# (bin/candle-step), training jobs on one GPU each.
#   profiles/frontier/submit-allocation.sh [sbatch options] [-- snakemake options]
#   e.g. profiles/frontier/submit-allocation.sh -A PROJ123 -N 4 -t 2:00:00 -- --configfile my.yaml
# Site options, given before yours: --partition=batch --constraint=nvme --gpus-per-node=8 --exclusive
# (CANDLE_SBATCH_DEFAULTS replaces them). Run it from the directory the workflow should run in.
set -euo pipefail
# the batch system may run a copy of this script: the repository travels in CANDLE_HOME
repo=${CANDLE_HOME:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
export CANDLE_HOME=$repo
here=$repo/profiles/frontier
if [ "${1:-}" != --inside-allocation ]; then
    sbatch_args=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do sbatch_args+=("$1"); shift; done
    [ "${1:-}" = -- ] && shift
    mkdir -p results/logs
    # shellcheck disable=SC2086  # the site options are a word list
    exec sbatch --job-name=candle-allocation --output=results/logs/allocation-%j.out \
        ${CANDLE_SBATCH_DEFAULTS---partition=batch --constraint=nvme --gpus-per-node=8 --exclusive} "${sbatch_args[@]}" \
        "$here/submit-allocation.sh" --inside-allocation "$@"
fi
shift
# Inside the allocation: every node's cores and GPUs are Snakemake's to schedule.
nodes=${SLURM_JOB_NUM_NODES:-1}
cores=$(( ${SLURM_CPUS_ON_NODE:-1} * nodes ))
gpus=$(( ${SLURM_GPUS_ON_NODE:-0} * nodes ))
# each step asks for its cores' share of the node's memory (without --mem a step takes all of it
# and the steps run one at a time)
if [ -n "${SLURM_MEM_PER_NODE:-}" ] && [ -z "${CANDLE_MEM_PER_CPU:-}" ]; then
    export CANDLE_MEM_PER_CPU=$(( SLURM_MEM_PER_NODE / ${SLURM_CPUS_ON_NODE:-1} ))
fi
snakemake=$repo/.venv/bin/snakemake; [ -x "$snakemake" ] || snakemake=snakemake
[ -d "$repo/.venv/bin" ] && export PATH=$repo/.venv/bin:$PATH
echo "allocation ${SLURM_JOB_ID:-?}: $nodes node(s), $cores cores, $gpus GPUs"
# --jobs: at most one step per core at a time (bin/candle-step starts each job as an srun step)
exec "$snakemake" --snakefile "$repo/Snakefile" --profile "$here/allocation" \
    --jobs "$cores" --resources gpus="$gpus" "$@"
