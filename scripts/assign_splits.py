"""Adapter: the one split table (train/val/test, k folds, optional resampling columns)."""

import pandas as pd

from candle_lib.atomic import write_table
from candle_lib.data.split_table import build_split_table
from candle_lib.logged_step import run_logged


def main(sm):
    table = build_split_table(pd.read_parquet(sm.input.samples), sm.params.splits)
    write_table(sm.output[0], table)
    print(table["split"].value_counts().to_string())
    print(f"columns: {list(table.columns)}")


run_logged(snakemake.log[0], main, snakemake)  # noqa: F821
