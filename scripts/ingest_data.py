"""Adapter: read and validate the configured source; save it in the standard ingested form."""

from candle_lib.data.ingest import save_count_data
from candle_lib.data.sources import read_source
from candle_lib.logged_step import run_logged


def main(sm):
    data = read_source(sm.params.data, dict(sm.input))
    save_count_data(data, sm.output.values, sm.output.features, sm.output.samples)
    kind = "read counts" if data.counts.dtype.kind in "iu" else "normalized values"
    print(f"validated {data.counts.shape[0]} samples x {data.counts.shape[1]} features ({kind})")


run_logged(snakemake.log[0], main, snakemake)  # noqa: F821
