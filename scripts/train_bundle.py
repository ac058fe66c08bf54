"""Adapter: train a bundle of trials one after another, each into its own directory."""

from pathlib import Path

from candle_lib.steps import run_logged
from candle_lib.training import run_bundle


def main(sm):
    dataset = Path(sm.input.manifest).parent
    trials_root = Path(sm.output[0]).parents[1]  # results/trials
    run_bundle(dataset, sm.params.specs, trials_root, threads=sm.threads)


run_logged(snakemake.log[0], main, snakemake)  # noqa: F821
