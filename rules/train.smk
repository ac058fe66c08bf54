# Trials: one training per (hyperparameters, role, dataset), in a content-addressed directory.
# With hpo.trials_per_job > 1 the unfinished trials of a search run in bundles (one job, one
# process, many trials), each trial still in its own directory.

if TRIALS_PER_JOB == 1:

    rule train_trial:
        input:
            unpack(trial_dataset),
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

else:
    for bundle, members in BUNDLES.items():

        rule:
            name:
                bundle.replace("-", "_")
            input:
                **prepared_files(TRIALS[members[0]]["data"]),
            output:
                [trial_files(members, name) for name in TRIAL_FILES.values()],
            log:
                f"results/logs/bundles/{bundle}.log",
            benchmark:
                f"results/benchmarks/bundles/{bundle}.tsv"
            retries: 1
            conda:
                "../envs/train.yaml"
            threads: config["resources"]["trial_threads"]
            resources:
                mem_mb=config["resources"]["trial_mem_mb"],
            params:
                specs={tid: TRIALS[tid] for tid in members},
            script:
                "../scripts/train_bundle.py"
