"""Adapter: fine-tuned vs from-scratch vs source-only, per pair of groups and fraction."""

import pandas as pd

from candle_lib.atomic import write_table
from candle_lib.logged_step import run_logged
from candle_lib.tda.transfer import transfer_tables


def main(sm):
    p = sm.params
    summary, trials = transfer_tables(p.points, p.trials_root, pd.read_parquet(sm.input.samples), p.metric, p.split)
    write_table(sm.output.summary, summary)
    write_table(sm.output.trials, trials)
    print(summary.to_string(index=False))


run_logged(snakemake.log[0], main, snakemake)  # noqa: F821
