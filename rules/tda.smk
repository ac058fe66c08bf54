# Training-data analysis: learning curves, train group x test group, transfer, AE vs PCA, noise.
# Every training is a registered trial (rules/train.smk), shared with the other workflows where
# it is the same; the tables below are rebuilt from the trial directories. The group analyses
# learn their groups from the prepared data (checkpoint tda_groups).
from candle_lib.tda.plan import plan_trials, tda_plan
from candle_lib.tda.settings import GROUP_ANALYSES, analyses, metric_of

TDA_DIR = "results/tda"
TDA_GROUPS = f"{TDA_DIR}/groups.json"
try:
    TDA_PLAN = tda_plan(config, PREP_ID)
    TDA_METRIC = metric_of(config)
    TDA_ANALYSES = analyses(config)
except CandleInputError as error:
    raise WorkflowError(f"invalid config: {error}") from None
register_trials(plan_trials(TDA_PLAN))
TDA_SCORING = {"metric": TDA_METRIC, "split": config["tda"]["split"]}
TDA_CURVES = {"learning_curve": "learning_curve", "noise_curve": "noise"}


@functools.cache
def _tda_group_plan(stamp):
    groups = json.loads(Path(TDA_GROUPS).read_text())["groups"]
    plan = tda_plan(config, PREP_ID, groups)
    return {a: plan[a] for a in GROUP_ANALYSES if a in plan}


def tda_group_plan():
    """The group analyses' plan once tda_groups has run, else {}."""
    path = Path(TDA_GROUPS)
    return _tda_group_plan(path.stat().st_mtime_ns) if path.exists() else {}


LATER_TRIALS.append(lambda: plan_trials(tda_group_plan()))


def tda_points(analysis):
    if analysis in GROUP_ANALYSES:
        checkpoints.tda_groups.get()
        return tda_group_plan()[analysis][0]
    return TDA_PLAN[analysis][0]


def tda_trial_inputs(analysis):
    """An analysis' trials (metrics and predictions), and the sample table for group scores."""

    def inputs(wildcards):
        name = TDA_CURVES.get(analysis, analysis)
        ids = list(dict.fromkeys(point["trial"] for point in tda_points(name)))
        files = {
            "metrics": trial_files(ids, "metrics.json"),
            "predictions": trial_files(ids, "predictions.parquet"),
        }
        if name in GROUP_ANALYSES:
            files.update(groups=TDA_GROUPS, samples=prepared_files(PREP_ID)["samples"])
        return files

    return inputs


def tda_plot(name, caption):
    return report(
        f"{TDA_DIR}/{name}.png",
        caption=f"../report/tda_{caption}.rst",
        category=REPORT_TDA,
        labels={"result": name.replace("_", " ")},
    )


def tda_outputs(analysis):
    """The files an analysis' target asks for."""
    return {
        "learning_curve": [f"{TDA_DIR}/learning_curve.tsv", f"{TDA_DIR}/learning_curve.png"],
        "noise": [f"{TDA_DIR}/noise_curve.tsv", f"{TDA_DIR}/noise_curve.png"],
        "group_matrix": [f"{TDA_DIR}/group_matrix.tsv", f"{TDA_DIR}/group_matrix.png"],
        "transfer": [f"{TDA_DIR}/transfer.tsv"],
        "representation": [f"{TDA_DIR}/representation.tsv"],
    }[analysis]


wildcard_constraints:
    curve="learning_curve|noise_curve",


checkpoint tda_groups:
    input:
        samples=prepared_files(PREP_ID)["samples"],
    output:
        TDA_GROUPS,
    log:
        "results/logs/tda/groups.log",
    conda:
        "../envs/data.yaml"
    params:
        wanted=config["tda"]["groups"],
    script:
        "../scripts/tda_groups.py"


rule tda_curve:
    input:
        unpack(lambda wildcards: tda_trial_inputs(wildcards.curve)(wildcards)),
    output:
        summary=f"{TDA_DIR}/{{curve}}.tsv",
        trials=f"{TDA_DIR}/{{curve}}_trials.tsv",
        plot=report(
            f"{TDA_DIR}/{{curve}}.png",
            caption="../report/tda_curve.rst",
            category=REPORT_TDA,
            labels={"result": "{curve}"},
        ),
    log:
        "results/logs/tda/{curve}.log",
    conda:
        "../envs/data.yaml"
    params:
        points=lambda wildcards: tda_points(TDA_CURVES[wildcards.curve]),
        by=lambda wildcards: (
            ["fraction"] if wildcards.curve == "learning_curve" else ["noise", "level"]
        ),
        trials_root="results/trials",
        **TDA_SCORING,
    script:
        "../scripts/tda_curve.py"


rule tda_group_matrix:
    input:
        unpack(tda_trial_inputs("group_matrix")),
    output:
        table=f"{TDA_DIR}/group_matrix.tsv",
        plot=tda_plot("group_matrix", "group_matrix"),
    log:
        "results/logs/tda/group_matrix.log",
    conda:
        "../envs/data.yaml"
    params:
        points=lambda wildcards: tda_points("group_matrix"),
        trials_root="results/trials",
        **TDA_SCORING,
    script:
        "../scripts/tda_group_matrix.py"


rule tda_transfer:
    input:
        unpack(tda_trial_inputs("transfer")),
    output:
        summary=f"{TDA_DIR}/transfer.tsv",
        trials=f"{TDA_DIR}/transfer_trials.tsv",
    log:
        "results/logs/tda/transfer.log",
    conda:
        "../envs/data.yaml"
    params:
        points=lambda wildcards: tda_points("transfer"),
        trials_root="results/trials",
        **TDA_SCORING,
    script:
        "../scripts/tda_transfer.py"


rule tda_representation:
    input:
        **prepared_files(PREP_ID),
        metrics=lambda wildcards: trial_files(
            [tda_points("representation")[0]["trial"]], "metrics.json"
        )[0],
    output:
        table=f"{TDA_DIR}/representation.tsv",
    log:
        "results/logs/tda/representation.log",
    conda:
        "../envs/train.yaml"
    params:
        split=config["tda"]["split"],
    script:
        "../scripts/tda_representation.py"


rule tda_learning_curve:
    input:
        tda_outputs("learning_curve"),


rule tda_noise:
    input:
        tda_outputs("noise"),


rule tda:
    input:
        [path for analysis in TDA_ANALYSES for path in tda_outputs(analysis)],
