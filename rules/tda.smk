# Training-data analysis: learning curves, train group x test group, transfer, AE vs PCA, noise.
# Every training is a registered trial (rules/train.smk), shared with the other workflows where
# it is the same; the tables below are rebuilt from the trial directories. The group analyses
# learn their groups from the prepared data (checkpoint tda_groups). The plan and the input
# functions are in candle_lib.study and rules/common.smk ("Training-data analysis").


wildcard_constraints:
    curve="learning_curve|noise_curve",


# groups come from a sample sheet: expression data only
if not DRUG_RESPONSE:

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
        unpack(lambda wildcards: get_tda_trial_inputs(wildcards.curve)(wildcards)),
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
        **TDA_SCORING,
        points=lambda wildcards: tda_points(TDA_CURVES[wildcards.curve]),
        by=lambda wildcards: (
            ["fraction"] if wildcards.curve == "learning_curve" else ["noise", "level"]
        ),
        trials_root="results/trials",
    script:
        "../scripts/tda_curve.py"


rule tda_group_matrix:
    input:
        unpack(get_tda_trial_inputs("group_matrix")),
    output:
        table=f"{TDA_DIR}/group_matrix.tsv",
        plot=tda_plot("group_matrix"),
    log:
        "results/logs/tda/group_matrix.log",
    conda:
        "../envs/data.yaml"
    params:
        **TDA_SCORING,
        points=lambda wildcards: tda_points("group_matrix"),
        trials_root="results/trials",
    script:
        "../scripts/tda_group_matrix.py"


rule tda_transfer:
    input:
        unpack(get_tda_trial_inputs("transfer")),
    output:
        summary=f"{TDA_DIR}/transfer.tsv",
        trials=f"{TDA_DIR}/transfer_trials.tsv",
    log:
        "results/logs/tda/transfer.log",
    conda:
        "../envs/data.yaml"
    params:
        **TDA_SCORING,
        points=lambda wildcards: tda_points("transfer"),
        trials_root="results/trials",
    script:
        "../scripts/tda_transfer.py"


rule tda_representation:
    input:
        **prepared_files(PREP_ID),
        metrics=get_tda_representation_metrics,
    output:
        table=f"{TDA_DIR}/representation.tsv",
    log:
        "results/logs/tda/representation.log",
    conda:
        TRAINING_ENV
    envmodules:
        *config["resources"]["envmodules"],
    resources:
        gpus=KERAS_GPUS,
        gpu=KERAS_GPUS,
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
        get_tda_trials,
