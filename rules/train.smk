# Trials: one training per (hyperparameters, role, dataset), in a content-addressed directory.


rule train_trial:
    input:
        unpack(trial_dataset),
    output:
        params="results/trials/{trial_id}/params.json",
        metrics="results/trials/{trial_id}/metrics.json",
        history="results/trials/{trial_id}/history.csv",
        predictions="results/trials/{trial_id}/predictions.parquet",
        scaler="results/trials/{trial_id}/scaler.json",
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
        spec=lambda wildcards: TRIALS[wildcards.trial_id],
    script:
        "../scripts/train_trial.py"
