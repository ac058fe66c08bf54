# Trials: one training per (hyperparameters, role, dataset), in a content-addressed directory.
# With hpo.trials_per_job > 1 the unfinished trials of the search run in bundles (one job, one
# process, many trials), each trial still in its own directory; CV, UQ and training-data
# analysis trials are always one job each.


# GPUs, declared here once: every rule that trains or predicts with Keras (train_trial,
# train_bundle, train_final, uq_mc_dropout, tda_representation, predict_samples) asks for
# gpus=KERAS_GPUS and gpu=KERAS_GPUS in its resources, and no profile names a rule for it.
# KERAS_GPUS is resources.gpus_per_trial, at most what this run may use (--resources gpus=N:
# profiles/local counts this machine's GPUs, so a laptop asks for none; allocation mode passes the
# allocation's; submit mode sets no limit). Snakemake counts `gpus`, and the PBS and
# allocation-mode submit commands read it; the SLURM executor turns `gpu` into sbatch --gpus.
_GPU_LIMIT = workflow.global_resources.get("gpus")  # a Resource (Snakemake 9) or an int
_GPU_LIMIT = getattr(_GPU_LIMIT, "value", _GPU_LIMIT)
KERAS_GPUS = config["resources"]["gpus_per_trial"]
if _GPU_LIMIT is not None:
    KERAS_GPUS = min(KERAS_GPUS, _GPU_LIMIT)


TRAINING_MPI = mpi_resource(config["resources"])
TRAINING_ENV = f"../envs/train{'-cuda' if config['resources']['tensorflow'] == 'cuda' else ''}.yaml"


rule train_trial:
    input:
        unpack(get_trial_inputs),
    output:
        **{
            key: f"results/trials/{{trial_id}}/{name}"
            for key, name in TRIAL_FILES.items()
        },
    log:
        "results/trials/{trial_id}/trial.log",
    benchmark:
        "results/benchmarks/trials/{trial_id}.tsv"
    retries: 1
    conda:
        TRAINING_ENV
    envmodules:
        *config["resources"]["envmodules"],
    threads: lambda wildcards: job_threads(config["resources"], trial_workers(wildcards))
    resources:
        **TRAINING_MPI,
        mem_mb=job_memory(trial_workers),
        gpus=job_gpus(trial_workers),
        gpu=job_gpus(trial_workers),
        tasks=lambda wildcards: job_tasks(config["resources"], trial_workers(wildcards)),
    params:
        spec=lambda wildcards: trial_spec_of(wildcards.trial_id),
    script:
        "../scripts/train_trial.py"


if TRIALS_PER_JOB > 1:

    rule train_bundle:
        input:
            unpack(get_bundle_dataset),
        output:
            record=bundle_record("{bundle}"),
            done=temp(bundle_done("{bundle}")),
        log:
            "results/logs/bundles/{bundle}.log",
        benchmark:
            "results/benchmarks/bundles/{bundle}.tsv"
        retries: 1
        conda:
            TRAINING_ENV
        envmodules:
            *config["resources"]["envmodules"],
        threads: config["resources"]["trial_threads"]
        resources:
            mem_mb=config["resources"]["trial_mem_mb"],
            gpus=KERAS_GPUS,
            gpu=KERAS_GPUS,
        params:
            specs=bundle_specs,
            trials_root="results/trials",
        script:
            "../scripts/train_bundle.py"
