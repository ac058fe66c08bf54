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


# The trial of RUNNER, logging to out/log.txt, but the checkpoint of epoch WRITING is slow: once
# its first array is written it marks the file "in-flight" and waits to be killed.
SLOW_WRITER = """
import json, sys, threading, time
from pathlib import Path
from candle_lib.trial import checkpoint
from candle_lib.trial.run import run_trial

WRITING, out = int(sys.argv[4]), Path(sys.argv[3])
write_blocks, log = checkpoint._write_npy_blocks, open(out / "log.txt", "a", buffering=1)

def slow_blocks(handle, value):
    write_blocks(handle, value)
    if threading.current_thread().name == f"checkpoint-{WRITING}":
        (out / "in-flight").touch()
        time.sleep(600)

checkpoint._write_npy_blocks = slow_blocks
run_trial(sys.argv[1], json.load(open(sys.argv[2])), out, log=lambda message: print(message, file=log))
"""


def wait_for(condition, proc, seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None and condition(), "the trial ended, or took too long"


def test_a_trial_killed_while_a_checkpoint_is_written_resumes_from_the_one_before(dataset, tmp_path):
    """Checkpoints are written in a thread while training goes on; a SIGKILL in the middle of
    one leaves the checkpoint before it, and the resumed trial ends as an uninterrupted one."""
    spec = trial_spec(resolve_params(MODEL, {"epochs": 6}), role=HOLDOUT, data=dataset.name)
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(spec))
    reference = tmp_path / "reference"
    uninterrupted = start_trial(dataset, spec_path, reference)  # meanwhile
    killed = tmp_path / "killed"
    killed.mkdir()
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    command = [sys.executable, "-c", SLOW_WRITER, str(dataset), str(spec_path), str(killed), "3"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment)
    wait_for((killed / "in-flight").exists, proc)
    # training went on while the checkpoint of epoch 3 was being written: epoch 4 ended
    wait_for(lambda: "epoch 4/6" in (killed / "log.txt").read_text(), proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert checkpoint_epoch(killed) == 2  # the complete one before
    files = sorted(p.name for p in (killed / "checkpoint").iterdir())
    assert files[0].startswith(".variables-000003.npz.tmp-") and files[1:] == ["state.json", "variables-000002.npz"]
    assert "epoch 5/6" not in (killed / "log.txt").read_text()  # the next checkpoint waited for this one
    assert not (killed / "metrics.json").exists()

    resumed = start_trial(dataset, spec_path, killed)
    _, log = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, log[-3000:]
    assert "resuming from the checkpoint at epoch 2" in log
    _, reference_log = uninterrupted.communicate(timeout=600)
    assert uninterrupted.returncode == 0, reference_log[-3000:]
    a = json.loads((killed / "metrics.json").read_text())
    b = json.loads((reference / "metrics.json").read_text())
    assert a["metrics"] == b["metrics"] and a["epochs_run"] == b["epochs_run"] == 6  # exactly equal on CPU
    pd.testing.assert_frame_equal(
        pd.read_parquet(killed / "predictions.parquet"), pd.read_parquet(reference / "predictions.parquet")
    )
