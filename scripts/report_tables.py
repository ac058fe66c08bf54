"""Adapter: trials.tsv, best.json and the final model's metrics -> HTML tables for the report."""

import json

import pandas as pd

from candle_lib.atomic import write_text
from candle_lib.logged_step import run_logged
from candle_lib.search.pages import final_page, trials_page


def main(sm):
    with open(sm.input.best) as handle:
        best = json.load(handle)
    with open(sm.input.final) as handle:
        final = json.load(handle)
    with open(sm.input.final_params) as handle:
        final_params = json.load(handle)["params"]
    write_text(sm.output.trials, trials_page(pd.read_csv(sm.input.trials, sep="\t"), best))
    write_text(sm.output.final, final_page(final, final_params))


run_logged(snakemake.log[0], main, snakemake)  # noqa: F821
