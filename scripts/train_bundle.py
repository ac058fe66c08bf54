"""Adapter: train a bundle of trials one after another, each into its own directory; record
each trial's status in the bundle's record (results/hpo/bundles/<bundle>.json)."""

from pathlib import Path

from candle_lib.atomic import write_json
from candle_lib.hpc.placement import place_trial
from candle_lib.logged_step import run_logged
from candle_lib.process_exit import end_process
from candle_lib.trial.run import run_bundle


def main(sm):
    dataset = place_trial(sm.config.get("resources", {}), Path(sm.input.manifest).parent)
    statuses = run_bundle(dataset, sm.params.specs, Path(sm.params.trials_root), threads=sm.threads)
    write_json(sm.output.record, statuses)
    Path(sm.output.done).touch()  # the stamp a target asks for when a trial of the bundle is incomplete


run_logged(snakemake.log[0], main, snakemake)  # noqa: F821
end_process()  # without TensorFlow's teardown (1.4-1.9 s a job)
