"""Adapter: the autoencoder trial's reconstruction beside PCA and the training mean."""

from pathlib import Path

from candle_lib.atomic import write_table
from candle_lib.logged_step import run_logged
from candle_lib.process_exit import end_process
from candle_lib.tda.representation import representation_table


def main(sm):
    table = representation_table(Path(sm.input.metrics).parent, Path(sm.input.manifest).parent, sm.params.split)
    write_table(sm.output.table, table)
    print(table.to_string(index=False))


run_logged(snakemake.log[0], main, snakemake)  # noqa: F821
end_process()  # without TensorFlow's teardown (1.4-1.9 s a job)
