# Hyperparameter search: trials -> trials.tsv + best.json + plots -> retrain best on train+val
# -> test. A Bayesian search adds its rounds: each round's proposals (a UPF file, written by a
# checkpoint) come from every earlier round's results, so a dry run shows the next round and a
# rerun goes on from the last finished one.


wildcard_constraints:
    r=r"\d+",


checkpoint propose_round:
    input:
        unpack(get_earlier_rounds),
    output:
        upf=f"{ROUNDS_DIR}/round_{{r}}.upf",
    log:
        "results/logs/propose_round/round_{r}.log",
    conda:
        "../envs/data.yaml"
    params:
        round=lambda wildcards: int(wildcards.r),
        config=config,
    script:
        "../scripts/propose_round.py"


checkpoint aggregate_hpo:
    input:
        unpack(get_hpo_results),
    output:
        table="results/hpo/trials.tsv",
        best="results/hpo/best.json",
        plots=[hpo_plot(name) for name in STUDY.search_plot_names()],
    log:
        "results/logs/aggregate_hpo.log",
    conda:
        "../envs/data.yaml"
    params:
        trial_ids=lambda wildcards: hpo_trial_ids(),
        trials_root="results/trials",
        objective=config["hpo"]["objective"],
        varied=STUDY.searched_keys(),
        data_columns=STUDY.data_columns(),
    script:
        "../scripts/aggregate_hpo.py"


rule train_final:
    input:
        unpack(get_best_dataset),
        best="results/hpo/best.json",
    output:
        **{key: f"results/hpo/final/{name}" for key, name in TRIAL_FILES.items()},
    log:
        "results/hpo/final/train.log",
    benchmark:
        "results/benchmarks/hpo_final.tsv"
    retries: 1
    conda:
        TRAINING_ENV
    envmodules:
        *config["resources"]["envmodules"],
    threads: lambda wildcards: job_threads(config["resources"], final_workers(wildcards))
    resources:
        **TRAINING_MPI,
        mem_mb=job_memory(final_workers),
        gpus=job_gpus(final_workers),
        gpu=job_gpus(final_workers),
        tasks=lambda wildcards: job_tasks(config["resources"], final_workers(wildcards)),
    script:
        "../scripts/train_final.py"


rule hpo:
    input:
        rules.aggregate_hpo.output,
        rules.train_final.output.metrics,
        get_hpo_trials,
