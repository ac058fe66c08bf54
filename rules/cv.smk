# Cross-validation: k folds of one configuration -> folds.tsv, summary, out-of-fold predictions.
# The configuration is the model section, or the HPO best (known once aggregate_hpo has run).

CV = config["cv"]


def cv_fold_trials(params, prep):
    n_folds = DATA_VARIANTS[prep]["splits"]["n_folds"]
    return cv_trials(params, prep, n_folds, CV["folds"])


def best_cv_trials():
    """The fold trials of the HPO best, once results/hpo/best.json exists ({} before)."""
    path = Path("results/hpo/best.json")
    if CV["params"] != "best" or not path.exists():
        return {}
    best = json.loads(path.read_text())
    return cv_fold_trials(cv_params(CV, config["model"], best), best["data"])


if CV["params"] == "best":
    LATER_TRIALS.append(best_cv_trials)
else:
    CV_TRIALS = register_trials(cv_fold_trials(cv_params(CV, config["model"]), PREP_ID))


def cv_trial_ids():
    if CV["params"] != "best":
        return CV_TRIALS
    checkpoints.aggregate_hpo.get()
    return list(best_cv_trials())


def cv_inputs(wildcards):
    ids = cv_trial_ids()
    prep = trial_spec_of(ids[0])["data"]
    return {
        "samples": prepared_files(prep)["samples"],
        "metrics": trial_files(ids, "metrics.json"),
        "predictions": trial_files(ids, "predictions.parquet"),
    }


def cv_folds_by_trial(wildcards):
    return {trial_spec_of(tid)["role"]["fold"]: tid for tid in cv_trial_ids()}


rule aggregate_cv:
    input:
        unpack(cv_inputs),
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
