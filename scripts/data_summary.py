"""Adapter: a prepared dataset's manifest and samples -> the report's data summary (JSON, an
HTML table page and the label-balance plot)."""

import json

import pandas as pd

from candle_lib.atomic import write_json, write_text
from candle_lib.logged_step import run_logged
from candle_lib.report.data_summary import (
    plot_label_balance,
    summarize_prepared,
    summary_html,
)


def main(sm):
    with open(sm.input.manifest) as handle:
        manifest = json.load(handle)
    summary = summarize_prepared(manifest, pd.read_parquet(sm.input.samples))
    write_json(sm.output.summary, summary)
    write_text(sm.output.table, summary_html(summary))
    plot_label_balance(summary, sm.output.plot)
    print(
        f"{summary['samples']} samples, {summary['genes_kept']} of {summary['genes_in']} genes, {summary['normalization']}"
    )


run_logged(snakemake.log[0], main, snakemake)  # noqa: F821
