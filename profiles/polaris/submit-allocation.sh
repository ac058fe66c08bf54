#!/usr/bin/env bash
# ALLOCATION mode on Polaris (PBS Pro, 4 A100 per node): submit one batch job of N nodes; inside
# it, Snakemake runs on the first node with profiles/polaris/allocation and starts every job in
# the background with mpiexec (bin/candle-step), a training job on one free (node, GPU) slot.
#   profiles/polaris/submit-allocation.sh [qsub options] [-- snakemake options]
#   e.g. profiles/polaris/submit-allocation.sh -A PROJ123 -l select=4:system=polaris -l walltime=2:00:00
# Site options, given before yours: -q prod -l filesystems=home:eagle (CANDLE_QSUB_DEFAULTS replaces them).
set -euo pipefail
# PBS runs a copy of this script: the repository travels in CANDLE_HOME
repo=${CANDLE_HOME:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
here=$repo/profiles/polaris
if [ -z "${CANDLE_INSIDE_ALLOCATION:-}" ]; then
    qsub_args=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do qsub_args+=("$1"); shift; done
    [ "${1:-}" = -- ] && shift
    mkdir -p results/logs
    # qsub runs a script without arguments: the snakemake options travel in the environment
    # shellcheck disable=SC2086  # the site options are a word list
    exec qsub -N candle-allocation -j oe -o results/logs/ \
        ${CANDLE_QSUB_DEFAULTS--q prod -l filesystems=home:eagle} "${qsub_args[@]}" \
        -v "CANDLE_INSIDE_ALLOCATION=1,CANDLE_HOME=$repo,CANDLE_WORKDIR=$PWD,CANDLE_SNAKEMAKE_ARGS=$*" "$here/submit-allocation.sh"
fi
cd "$CANDLE_WORKDIR"
nodes=$(sort -u "$PBS_NODEFILE" | wc -l)
snakemake=$repo/.venv/bin/snakemake; [ -x "$snakemake" ] || snakemake=snakemake
export PATH=$repo/.venv/bin:$PATH
echo "allocation ${PBS_JOBID:-?}: $nodes node(s)"
# --jobs: at most one step per core at a time (bin/candle-step starts each job with mpiexec, in the background)
# shellcheck disable=SC2086  # the snakemake options are a word list
exec "$snakemake" --snakefile "$repo/Snakefile" --profile "$here/allocation" \
    --jobs $(( nodes * ${CANDLE_CORES_PER_NODE:-32} )) --resources gpus=$(( nodes * ${CANDLE_GPUS_PER_NODE:-4} )) \
    ${CANDLE_SNAKEMAKE_ARGS:-}
