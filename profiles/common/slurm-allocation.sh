# The SLURM sites' allocation mode (sourced by profiles/<site>/submit-allocation.sh, which sets
# repo, here (the site's profile directory) and sbatch_defaults, the site options).
if [ "${1:-}" != --inside-allocation ]; then
    sbatch_args=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do sbatch_args+=("$1"); shift; done
    [ "${1:-}" = -- ] && shift
    mkdir -p results/logs
    # shellcheck disable=SC2086  # the site options are a word list
    exec sbatch --job-name=candle-allocation --output=results/logs/allocation-%j.out \
        ${CANDLE_SBATCH_DEFAULTS-$sbatch_defaults} "${sbatch_args[@]}" \
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
