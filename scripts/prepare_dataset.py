"""Adapter: normalize, transform, filter and encode into one prepared dataset variant."""

from pathlib import Path

import pandas as pd

from candle_lib.data.ingest import load_count_data
from candle_lib.data.prepared import prepare_matrix, write_prepared
from candle_lib.logged_step import run_logged


def main(sm):
    data = load_count_data(sm.input.values, sm.input.features, sm.input.samples)
    options = sm.params.options
    group = "group" if "group" in data.samples.columns else None
    matrix, samples, features, summary = prepare_matrix(
        data,
        pd.read_parquet(sm.input.splits),
        options,
        id_column="sample_id",
        label_column="label",
        group_column=group,
        gene_list=sm.input.get("gene_list"),
    )
    prep = Path(sm.output.matrix).parent.name
    write_prepared(
        Path(sm.output.matrix).parent, matrix, samples, features, {"prep_id": prep, "preparation": options, **summary}
    )
    print(f"{prep}: {matrix.shape[0]} samples x {matrix.shape[1]} features; {summary}")


run_logged(snakemake.log[0], main, snakemake)  # noqa: F821
