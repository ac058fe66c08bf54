"""Adapter: train one trial into its content-addressed directory."""

from pathlib import Path

from candle_lib.placement import place_trial
from candle_lib.steps import run_logged
from candle_lib.training import run_trial


def main(sm):
    dataset = place_trial(sm.config.get("resources", {}), Path(sm.input.manifest).parent)
    run_trial(dataset, sm.params.spec, Path(sm.output.metrics).parent, threads=sm.threads)


run_logged(snakemake.log[0], main, snakemake)  # noqa: F821
