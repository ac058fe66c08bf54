"""Adapter: train one trial into its content-addressed directory."""

from pathlib import Path

from candle_lib.logged_step import run_logged
from candle_lib.process_exit import end_process
from candle_lib.trial.launch import run_trial_job


def main(sm):
    # a fine-tuning trial starts from the model its source trial saved beside its metrics
    init_model = Path(sm.input.init).parent / "model.keras" if "init" in sm.input.keys() else None
    resources, dataset = sm.config.get("resources", {}), Path(sm.input.manifest).parent
    out_dir = Path(sm.output.metrics).parent
    run_trial_job(resources, dataset, sm.params.spec, out_dir, threads=sm.threads, init_model=init_model)


run_logged(snakemake.log[0], main, snakemake)  # noqa: F821
end_process()  # without TensorFlow's teardown (1.4-1.9 s a job)
