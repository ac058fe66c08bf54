"""Adapter: retrain the best configuration on train+val and evaluate once on the test split."""

import json
from pathlib import Path

from candle_lib.logged_step import run_logged
from candle_lib.process_exit import end_process
from candle_lib.search.methods import final_spec
from candle_lib.trial.launch import run_trial_job


def main(sm):
    best = json.loads(Path(sm.input.best).read_text())
    spec = final_spec(best, prepared=Path(sm.input.manifest).parent.name)
    resources, dataset = sm.config.get("resources", {}), Path(sm.input.manifest).parent
    run_trial_job(resources, dataset, spec, Path(sm.output.metrics).parent, threads=sm.threads)


run_logged(snakemake.log[0], main, snakemake)  # noqa: F821
end_process()  # without TensorFlow's teardown (1.4-1.9 s a job)
