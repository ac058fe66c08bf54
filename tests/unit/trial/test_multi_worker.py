"""One trial over two worker processes on localhost (strategy multi_worker, the local launcher):
the same model as one process with the same global batch; a killed worker fails the job, and
its retry resumes from the chief's checkpoint to the same result; a timeout stops every worker.

The global batch of 7 rows splits 3/4 between the workers, and the last batch of the 36
training rows (1 row) leaves one worker without rows: the per-row factors of
``feeds.worker_share`` must make every step's gradient that of the whole batch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from candle_lib.params.specs import resolve_params
from candle_lib.trial.spec import HOLDOUT, trial_spec

MODEL = {
    "model": "dense",
    "dense": [16],
    "dropout": 0.0,  # each worker draws its own dropout masks: only a model without dropout is the same
    "epochs": 15,
    "batch_size": 7,
    "optimizer": "adam",
    "scaling": "standard",
    "checkpoint_every": 1,
}
RESOURCES = {"workers_per_trial": 2, "worker_launcher": "local", "gpus_per_trial": 0, "trial_threads": 1}
JOB = (
    "import json, sys; from pathlib import Path; from candle_lib.trial.launch import run_trial_job; "
    "run_trial_job(json.loads(sys.argv[1]), Path(sys.argv[2]), json.loads(Path(sys.argv[3]).read_text()), "
    "Path(sys.argv[4]), threads=1)"
)


def spec_of(prepared, **changes):
    return trial_spec(resolve_params(MODEL | changes), role=HOLDOUT, data=prepared.name)


def start_job(prepared, spec, out, resources=RESOURCES):
    spec_path = out.parent / f"{out.name}.spec.json"
    spec_path.write_text(json.dumps(spec))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.Popen(
        [sys.executable, "-c", JOB, json.dumps(resources), str(prepared), str(spec_path), str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def run_job(prepared, spec, out, resources=RESOURCES) -> str:
    job = start_job(prepared, spec, out, resources)
    output, _ = job.communicate(timeout=300)
    assert job.returncode == 0, output[-4000:]
    return output


def predictions(out: Path) -> np.ndarray:
    table = pd.read_parquet(out / "predictions.parquet")
    return table[[c for c in table.columns if c.startswith("prob_")]].to_numpy()


@pytest.fixture(scope="module")
def runs(tiny_prepared, tmp_path_factory):
    """The same trial trained by one process (model.fit) and by two workers."""
    from candle_lib.trial.run import run_trial

    root = tmp_path_factory.mktemp("multi_worker")
    one = run_trial(tiny_prepared, spec_of(tiny_prepared, strategy="default"), root / "one")
    output = run_job(tiny_prepared, spec_of(tiny_prepared, strategy="multi_worker"), root / "two")
    return {"root": root, "one": root / "one", "two": root / "two", "one_metrics": one, "log": output}


def test_two_workers_train_the_model_one_process_trains(runs):
    one, two = runs["one_metrics"], json.loads((runs["two"] / "metrics.json").read_text())
    assert two["status"] == "ok" and two["workers"] == 2 and two["replicas"] == 2 and two["epochs_run"] == 15
    assert one["workers"] == 1
    # float32 sums in another order over 15 epochs x 6 steps: agreement to 1e-5 (measured ~1e-7)
    np.testing.assert_allclose(predictions(runs["two"]), predictions(runs["one"]), atol=1e-5)
    assert two["metrics"]["val_loss"] == pytest.approx(one["metrics"]["val_loss"], abs=1e-5)
    # the validation loss of every epoch, computed on each worker's share and summed
    history = [pd.read_csv(runs[name] / "history.csv") for name in ("one", "two")]
    np.testing.assert_allclose(history[1]["val_loss"], history[0]["val_loss"], atol=1e-5)


def test_only_the_chief_writes_the_trial_directory(runs):
    names = {path.name for path in runs["two"].iterdir()}
    assert names == {"params.json", "scaler.json", "history.csv", "predictions.parquet", "metrics.json"}
    assert "[worker 1/2] trained: ok" in runs["log"] and "[worker 0/2] trial ok" in runs["log"]


def worker_pid(rank: int) -> int | None:
    """The pid of the local worker of ``rank`` (its environment says which)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            env = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"candle_lib.trial.worker" in command and f"CANDLE_WORKER_RANK={rank}".encode() in env:
            return int(entry.name)
    return None


def checkpoint_epoch(out: Path) -> int:
    try:
        return json.loads((out / "checkpoint" / "state.json").read_text())["epoch"]
    except (OSError, ValueError, KeyError):
        return 0


def test_a_killed_worker_fails_the_job_and_the_retry_resumes_to_the_same_result(runs, tiny_prepared):
    out = runs["root"] / "killed"
    spec = spec_of(tiny_prepared, strategy="multi_worker")
    job = start_job(tiny_prepared, spec, out)
    deadline = time.monotonic() + 240
    while checkpoint_epoch(out) < 3 and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    pid = worker_pid(1)
    assert job.poll() is None and pid is not None, "the trial ended before its worker could be killed"
    os.kill(pid, signal.SIGKILL)
    output, _ = job.communicate(timeout=120)
    assert job.returncode != 0 and "WorkersFailed" in output
    assert not (out / "metrics.json").exists() and checkpoint_epoch(out) >= 3
    assert worker_pid(0) is None  # the chief was stopped with it
    resumed = run_job(tiny_prepared, spec, out)
    assert "resuming from the checkpoint at epoch" in resumed
    np.testing.assert_allclose(predictions(out), predictions(runs["two"]), atol=1e-6)
    assert not (out / "checkpoint").exists() and not (out / ".workers").exists()


def test_a_timeout_stops_every_worker(runs, tiny_prepared):
    out = runs["root"] / "timeout"
    run_job(tiny_prepared, spec_of(tiny_prepared, strategy="multi_worker", epochs=100000, timeout=2), out)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"] == "failed" and metrics["failure_reason"].startswith("timeout")
    assert 0 < metrics["epochs_run"] < 100000
