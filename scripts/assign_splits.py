"""Adapter: assign train/val/test and k folds, stratified by label and grouped."""

import pandas as pd

from candle_lib.atomic import write_table
from candle_lib.splits import assign_splits
from candle_lib.steps import run_logged


def main(sm):
    sheet = pd.read_parquet(sm.input.samples)
    columns = sm.params.sheet
    group = columns.get("group_column")
    table = assign_splits(
        sheet[columns["id_column"]],
        sheet[columns["label_column"]],
        sheet[group] if group else None,
        **sm.params.splits,
    )
    write_table(sm.output[0], table)
    print(table["split"].value_counts().to_string())


run_logged(snakemake.log[0], main, snakemake)  # noqa: F821
