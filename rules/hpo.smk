# Hyperparameter search: trials -> trials.tsv + best.json -> retrain best on train+val -> test.


rule aggregate_hpo:
    input:
        metrics=trial_files(HPO_TRIALS, "metrics.json"),
        params=trial_files(HPO_TRIALS, "params.json"),
    output:
        table="results/hpo/trials.tsv",
        best="results/hpo/best.json",
    log:
        "results/logs/aggregate_hpo.log",
    conda:
        "../envs/data.yaml"
    params:
        objective=config["hpo"]["objective"],
        varied=list(config["hpo"]["space"]),
    script:
        "../scripts/aggregate_hpo.py"


rule train_final:
    input:
        unpack(lambda wildcards: prepared_files(PREP_ID)),
        best=rules.aggregate_hpo.output.best,
    output:
        params="results/hpo/final/params.json",
        metrics="results/hpo/final/metrics.json",
        history="results/hpo/final/history.csv",
        predictions="results/hpo/final/predictions.parquet",
        scaler="results/hpo/final/scaler.json",
    log:
        "results/hpo/final/train.log",
    benchmark:
        "results/benchmarks/hpo_final.tsv"
    retries: 1
    conda:
        "../envs/train.yaml"
    threads: config["resources"]["trial_threads"]
    resources:
        mem_mb=config["resources"]["trial_mem_mb"],
    script:
        "../scripts/train_final.py"


rule hpo:
    input:
        rules.aggregate_hpo.output,
        rules.train_final.output.metrics,
