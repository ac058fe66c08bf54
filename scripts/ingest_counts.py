"""Adapter: read and validate counts, gene table and sample sheet; save them aligned."""

from candle_lib.ingest import ingest, save_count_data
from candle_lib.steps import run_logged


def main(sm):
    sheet = sm.params.sheet
    data = ingest(
        sm.input.counts,
        sm.input.genes,
        sm.input.samples,
        orientation=sm.params.orientation,
        id_column=sheet["id_column"],
        label_column=sheet["label_column"],
        group_column=sheet.get("group_column"),
    )
    save_count_data(data, sm.output.counts, sm.output.genes, sm.output.samples)
    print(f"validated {data.counts.shape[0]} samples x {data.counts.shape[1]} genes")


run_logged(snakemake.log[0], main, snakemake)  # noqa: F821
