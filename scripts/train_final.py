"""Adapter: retrain the best configuration on train+val and evaluate once on the test split."""

import json
from pathlib import Path

from candle_lib.hpc.placement import place_trial
from candle_lib.logged_step import run_logged
from candle_lib.search.methods import final_spec
from candle_lib.trial.run import run_trial


def main(sm):
    best = json.loads(Path(sm.input.best).read_text())
    spec = final_spec(best, prepared=Path(sm.input.manifest).parent.name)
    dataset = place_trial(sm.config.get("resources", {}), Path(sm.input.manifest).parent)
    run_trial(dataset, spec, Path(sm.output.metrics).parent, threads=sm.threads)


run_logged(snakemake.log[0], main, snakemake)  # noqa: F821
