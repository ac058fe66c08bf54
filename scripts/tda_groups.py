"""Adapter: the groups the group-wise trainings use (results/tda/groups.json)."""

import pandas as pd

from candle_lib.atomic import write_json
from candle_lib.logged_step import run_logged
from candle_lib.tda.groups import usable_groups


def main(sm):
    groups, left_out = usable_groups(pd.read_parquet(sm.input.samples), sm.params.wanted)
    write_json(sm.output[0], {"groups": groups, "left_out": left_out})
    print(f"groups: {groups}; left out: {left_out}")


run_logged(snakemake.log[0], main, snakemake)  # noqa: F821
