"""A trial killed with SIGKILL mid-training resumes from its last checkpoint and ends with the
metrics of an uninterrupted run; data-parallel training over logical CPU devices."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from conftest import make_prepared

from candle_lib.params.specs import resolve_params
from candle_lib.trial.spec import HOLDOUT, trial_spec

RUNNER = "import json, sys; from candle_lib.trial.run import run_trial; run_trial(sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3])"
MODEL = {
    "conv": [8, 10, 1],
    "pool": [5],
    "dense": [16],
    "dropout": 0.3,
    "epochs": 150,
    "batch_size": 8,
    "optimizer": "adam",
    "scaling": "standard",
    "checkpoint_every": 1,
    "reduce_lr": 5,
}


def start_trial(dataset, spec_path, out, env=None):
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **(env or {}))
    return subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(dataset), str(spec_path), str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )


def checkpoint_epoch(out) -> int:
    try:
        return json.loads((out / "checkpoint" / "state.json").read_text())["epoch"]
    except (OSError, ValueError, KeyError):
        return 0


def kill_after_checkpoint(dataset, spec_path, out, epoch: int) -> int:
    """Start a trial, SIGKILL it once its checkpoint reaches ``epoch``; the epoch it reached."""
    proc = start_trial(dataset, spec_path, out)
    deadline = time.monotonic() + 240
    while checkpoint_epoch(out) < epoch and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, "the trial ended before it could be killed; make it longer"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "metrics.json").exists()  # nothing that looks complete
    return checkpoint_epoch(out)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_prepared(
        tmp_path_factory.mktemp("resume") / "prep-00000001", n_patients=120, n_genes=400, top_variance=200
    )


def test_sigkilled_trial_resumes_and_matches_an_uninterrupted_run(dataset, tmp_path):
    spec = trial_spec(resolve_params(MODEL), role=HOLDOUT, data=dataset.name)
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(spec))

    killed = tmp_path / "killed"
    reached = kill_after_checkpoint(dataset, spec_path, killed, 10)
    assert 10 <= reached < MODEL["epochs"]

    resumed = start_trial(dataset, spec_path, killed)
    _, log = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, log[-3000:]
    assert "resuming from the checkpoint at epoch" in log

    reference = tmp_path / "reference"
    uninterrupted = start_trial(dataset, spec_path, reference)
    _, reference_log = uninterrupted.communicate(timeout=600)
    assert uninterrupted.returncode == 0, reference_log[-3000:]
    assert "resuming" not in reference_log

    a = json.loads((killed / "metrics.json").read_text())
    b = json.loads((reference / "metrics.json").read_text())
    assert a["status"] == b["status"] == "ok"
    assert a["metrics"] == b["metrics"]  # exactly equal on CPU
    assert a["epochs_run"] == b["epochs_run"] == MODEL["epochs"]
    columns = [c for c in pd.read_csv(reference / "history.csv").columns if c != "seconds"]
    pd.testing.assert_frame_equal(
        pd.read_csv(killed / "history.csv")[columns], pd.read_csv(reference / "history.csv")[columns]
    )
    pd.testing.assert_frame_equal(
        pd.read_parquet(killed / "predictions.parquet"), pd.read_parquet(reference / "predictions.parquet")
    )
    assert not (killed / "checkpoint").exists()  # removed once the trial is complete


def test_mirrored_strategy_trains_over_two_logical_cpus(dataset, tmp_path):
    spec = trial_spec(resolve_params(MODEL, {"epochs": 3, "strategy": "mirrored"}), role=HOLDOUT, data=dataset.name)
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(spec))
    proc = start_trial(dataset, spec_path, tmp_path / "out", env={"CANDLE_LOGICAL_CPUS": "2"})
    _, log = proc.communicate(timeout=300)
    assert proc.returncode == 0, log[-3000:]
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["status"] == "ok", metrics["failure_reason"]
    assert metrics["replicas"] == 2
