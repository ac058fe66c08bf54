"""Adapter: MC-dropout passes of the saved member over its val and test rows."""

from pathlib import Path

from candle_lib.atomic import write_table
from candle_lib.logged_step import run_logged
from candle_lib.process_exit import end_process
from candle_lib.uq.mc_dropout import mc_dropout_predictions


def main(sm):
    from candle_lib.trial.tf_setup import configure_tensorflow

    configure_tensorflow(sm.threads, sm.params.seed)
    samples = mc_dropout_predictions(
        Path(sm.input.metrics).parent, Path(sm.input.manifest).parent, sm.params.passes, seed=sm.params.seed
    )
    write_table(sm.output.samples, samples)


run_logged(snakemake.log[0], main, snakemake)  # noqa: F821
end_process()  # without TensorFlow's teardown (1.4-1.9 s a job)
