"""Adapter: predict new samples with one production bundle or an ensemble of them."""

from pathlib import Path

from candle_lib.atomic import write_table
from candle_lib.deploy.predict import predict_samples
from candle_lib.logged_step import run_logged
from candle_lib.process_exit import end_process
from candle_lib.trial.tf_setup import configure_tensorflow


def main(sm):
    configure_tensorflow(sm.threads, 0)
    bundles = [Path(path).parent for path in sm.input.bundles]
    table = predict_samples(bundles, sm.input.samples, fmt=sm.params.format, orientation=sm.params.orientation)
    write_table(sm.output[0], table)
    print(f"{len(table)} samples predicted -> {sm.output[0]}")


run_logged(snakemake.log[0], main, snakemake)  # noqa: F821
end_process()  # without TensorFlow's teardown (1.4-1.9 s a job)
