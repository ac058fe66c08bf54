# Trials: one training per (hyperparameters, role, dataset), in a content-addressed directory.
# With hpo.trials_per_job > 1 the unfinished trials of the search run in bundles (one job, one
# process, many trials), each trial still in its own directory; CV, UQ and training-data
# analysis trials are always one job each.


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
        "../envs/train.yaml"
    threads: config["resources"]["trial_threads"]
    resources:
        mem_mb=config["resources"]["trial_mem_mb"],
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
        log:
            "results/logs/bundles/{bundle}.log",
        benchmark:
            "results/benchmarks/bundles/{bundle}.tsv"
        retries: 1
        conda:
            "../envs/train.yaml"
        threads: config["resources"]["trial_threads"]
        resources:
            mem_mb=config["resources"]["trial_mem_mb"],
        params:
            specs=bundle_specs,
            trials_root="results/trials",
        script:
            "../scripts/train_bundle.py"
