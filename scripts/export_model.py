"""Adapter: a finished trial's model.keras and its fitted preprocessing into a production bundle."""

from pathlib import Path

from candle_lib.deploy.export import export_bundle, ingested_kind
from candle_lib.logged_step import run_logged
from candle_lib.process_exit import end_process


def main(sm):
    trial = Path(sm.input.trial).parent
    record = export_bundle(
        trial,
        Path(sm.input.manifest).parent,
        sm.input.genes,
        Path(sm.output.model).parent,
        source=sm.params.source,
        ingested=ingested_kind(sm.input.values),
    )
    print(
        f"{trial} -> {Path(sm.output.model).parent}: {record['normalization']}/{record['transform']}, {len(record['features'])} features"
    )


run_logged(snakemake.log[0], main, snakemake)  # noqa: F821
end_process()  # without TensorFlow's teardown (1.4-1.9 s a job)
