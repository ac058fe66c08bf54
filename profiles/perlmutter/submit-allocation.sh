#!/usr/bin/env bash
# ALLOCATION mode on Perlmutter (4 A100 per node): submit one batch job of N nodes; inside it, Snakemake
# runs with profiles/perlmutter/allocation and starts every job as a background srun step
# (bin/candle-step), training jobs on one GPU each.
#   profiles/perlmutter/submit-allocation.sh [sbatch options] [-- snakemake options]
#   e.g. profiles/perlmutter/submit-allocation.sh -A PROJ123 -N 4 -t 2:00:00 -- --configfile my.yaml
# Site options, given before yours: --constraint=gpu --qos=regular --gpus-per-node=4 --exclusive
# (CANDLE_SBATCH_DEFAULTS replaces them). Run it from the directory the workflow should run in.
set -euo pipefail
# the batch system may run a copy of this script: the repository travels in CANDLE_HOME
repo=${CANDLE_HOME:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
export CANDLE_HOME=$repo
here=$repo/profiles/perlmutter
sbatch_defaults="--constraint=gpu --qos=regular --gpus-per-node=4 --exclusive"
# shellcheck source=../common/slurm-allocation.sh
source "$repo/profiles/common/slurm-allocation.sh"
