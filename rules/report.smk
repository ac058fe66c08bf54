# The report (`snakemake --report report.html`): every result flagged with report() and a
# caption under report/ joins it, by category, with the workflow graph. This module adds the
# data summary and HTML tables of the search and the final test metrics; the plots of the
# search, CV, UQ and training-data analysis are flagged where they are made.


report: "../report/workflow.rst"


if not DRUG_RESPONSE:

    rule data_summary:
        input:
            manifest=prepared_files(SUMMARY_PREP)["manifest"],
            samples=prepared_files(SUMMARY_PREP)["samples"],
        output:
            summary="results/report/data_summary.json",
            table=report(
                "results/report/data_summary.html",
                caption="../report/data_summary.rst",
                category=REPORT_DATA,
                labels={"result": "data summary"},
            ),
            plot=report(
                "results/report/label_balance.png",
                caption="../report/label_balance.rst",
                category=REPORT_DATA,
                labels={"result": "label balance"},
            ),
        log:
            "results/logs/data_summary.log",
        conda:
            "../envs/data.yaml"
        script:
            "../scripts/data_summary.py"


rule report_tables:
    input:
        trials="results/hpo/trials.tsv",
        best="results/hpo/best.json",
        final=rules.train_final.output.metrics,
        final_params=rules.train_final.output.params,
    output:
        trials=report(
            "results/report/hpo_trials.html",
            caption="../report/hpo_trials.rst",
            category=REPORT_HPO,
            labels={"result": "trials table"},
        ),
        final=report(
            "results/report/final_metrics.html",
            caption="../report/final_metrics.rst",
            category=REPORT_FINAL,
            labels={"result": "test metrics"},
        ),
    log:
        "results/logs/report_tables.log",
    conda:
        "../envs/data.yaml"
    script:
        "../scripts/report_tables.py"


# A result table of CV, UQ or training-data analysis as an HTML page in the report, under its
# stage's category (each stage's target asks for the pages of its tables).
for stage, category in (("cv", REPORT_CV), ("uq", REPORT_UQ), ("tda", REPORT_TDA)):

    rule:
        name:
            f"{stage}_table_page"
        input:
            table=f"results/{stage}/{{table}}.tsv",
        output:
            page=report(
                f"results/report/{stage}/{{table}}.html",
                caption="../report/result_table.rst",
                category=category,
                labels={"result": "{table}"},
            ),
        log:
            f"results/logs/table_page/{stage}_{{table}}.log",
        wildcard_constraints:
            table="[a-z_]+",
        conda:
            "../envs/data.yaml"
        params:
            title=f"{stage}: {{table}}",
        script:
            "../scripts/table_page.py"


# the data summary and the search's tables: built by the default target (all)
SUMMARY_REPORT_FILES = [
    *rules.report_tables.output,
    *([] if DRUG_RESPONSE else rules.data_summary.output),
]


# Every stage the report shows: `snakemake report` runs them all, then
# `snakemake report --report report.html` puts them in one file.
rule report:
    input:
        SUMMARY_REPORT_FILES,
        rules.hpo.input,
        rules.cv.input,
        rules.uq.input if UQ is not None else [],
        rules.tda.input,
