# CANDLE on Snakemake: data preparation, trials, hyperparameter search and aggregation.
# Preview the plan with `snakemake -n`; see README.md for the targets and the config.


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/train.smk"
include: "rules/hpo.smk"
include: "rules/cv.smk"
include: "rules/uq.smk"
include: "rules/tda.smk"
include: "rules/infer.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        rules.hpo.input,
        SUMMARY_REPORT_FILES,
