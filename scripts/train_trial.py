"""Adapter: train one trial into its content-addressed directory."""

from pathlib import Path

from candle_lib.hpc.placement import place_trial
from candle_lib.logged_step import run_logged
from candle_lib.trial.run import run_trial


def main(sm):
    dataset = place_trial(sm.config.get("resources", {}), Path(sm.input.manifest).parent)
    # a fine-tuning trial starts from the model its source trial saved beside its metrics
    init_model = Path(sm.input.init).parent / "model.keras" if "init" in sm.input.keys() else None
    run_trial(dataset, sm.params.spec, Path(sm.output.metrics).parent, threads=sm.threads, init_model=init_model)


run_logged(snakemake.log[0], main, snakemake)  # noqa: F821
