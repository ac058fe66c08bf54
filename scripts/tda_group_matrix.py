"""Adapter: the train group x test group table and its heatmap."""

import json
from pathlib import Path

import pandas as pd

from candle_lib.atomic import atomic_path, write_table
from candle_lib.logged_step import run_logged
from candle_lib.tda.group_matrix import group_matrix_table, group_matrix_wide
from candle_lib.tda.plots import plot_group_matrix


def main(sm):
    p = sm.params
    groups = json.loads(Path(sm.input.groups).read_text())["groups"]
    table = group_matrix_table(p.points, p.trials_root, pd.read_parquet(sm.input.samples), groups, p.metric, p.split)
    write_table(sm.output.table, table)
    wide = group_matrix_wide(table)
    with atomic_path(sm.output.plot) as path:
        plot_group_matrix(wide, p.metric, p.split, path)
    print(wide.to_string())


run_logged(snakemake.log[0], main, snakemake)  # noqa: F821
