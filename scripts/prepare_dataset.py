"""Adapter: normalize, transform, filter and encode into one prepared dataset variant."""

from pathlib import Path

import pandas as pd

from candle_lib.dataset import prepare_matrix, write_prepared
from candle_lib.ingest import load_count_data
from candle_lib.steps import run_logged


def main(sm):
    data_config = sm.params.data
    sheet = data_config["sample_sheet"]
    data = load_count_data(sm.input.counts, sm.input.genes, sm.input.samples)
    options = {key: data_config[key] for key in ("normalization", "transform", "filters", "labels")}
    matrix, samples, features, summary = prepare_matrix(
        data,
        pd.read_parquet(sm.input.splits),
        options,
        id_column=sheet["id_column"],
        label_column=sheet["label_column"],
        group_column=sheet.get("group_column"),
    )
    prep = Path(sm.output.matrix).parent.name
    write_prepared(Path(sm.output.matrix).parent, matrix, samples, features, {"prep_id": prep, "preparation": options, **summary})
    print(f"{prep}: {matrix.shape[0]} samples x {matrix.shape[1]} features; {summary}")


run_logged(snakemake.log[0], main, snakemake)  # noqa: F821
