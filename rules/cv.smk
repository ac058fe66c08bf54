# Cross-validation: k folds of one configuration -> folds.tsv, summary, out-of-fold predictions.
# The configuration is the model section, or the HPO best (known once aggregate_hpo has run).


rule aggregate_cv:
    input:
        unpack(get_cv_inputs),
    output:
        folds="results/cv/folds.tsv",
        summary="results/cv/summary.tsv",
        oof="results/cv/oof_predictions.parquet",
        plot=report(
            "results/cv/plots/fold_metric.png",
            caption="../report/cv_fold_metric.rst",
            category=REPORT_CV,
        ),
    log:
        "results/logs/aggregate_cv.log",
    conda:
        "../envs/data.yaml"
    params:
        folds=cv_folds_by_trial,
        trials_root="results/trials",
        metric=CV["metric"] or config["hpo"]["objective"]["metric"],
    script:
        "../scripts/aggregate_cv.py"


rule cv:
    input:
        rules.aggregate_cv.output,
        get_cv_trials,
        "results/report/cv/summary.html",
        "results/report/cv/folds.html",
