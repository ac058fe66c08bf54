"""A whole-tree SIGKILL of a running study, then ``snakemake --unlock`` and the same command
again, ends with the results of a clean run: byte for byte, but for the wall-time fields. And a
failed trial moved aside by ``candle retry-failed`` is the one trial the next run re-runs.

One tiny study (2 trials, 3 epochs) runs twice through Snakemake: once to completion (the clean
run), once killed (Snakemake and every job it started, one process group) while a trial holds a
checkpoint, then unlocked and run again. The profile's ``rerun-incomplete: true`` (profiles/local)
is passed as ``--rerun-incomplete``: the killed jobs' outputs are not taken as done.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import planned_jobs, snakemake, snakemake_command, tiny_config, write_config

# what a run writes that measures time, not the study: compared without it
TIMING_COLUMNS = ("wall_seconds", "seconds")
# the final model's files compared byte for byte, and those compared but for timing
BYTE_IDENTICAL = ("hpo/best.json", "hpo/final/params.json", "hpo/final/predictions.parquet", "hpo/final/scaler.json")
BUT_FOR_TIMING = ("hpo/trials.tsv", "hpo/final/metrics.json", "hpo/final/history.csv")
TRIAL_BYTE_IDENTICAL = ("params.json", "predictions.parquet", "scaler.json")
TRIAL_BUT_FOR_TIMING = ("metrics.json", "history.csv")
TARGET = "hpo"  # trials, aggregate, best, final model (the report pages are not the point here)


def study_config(directory: Path) -> Path:
    # batch_size 4: 9 steps an epoch, so a trial holds a checkpoint long enough to be caught
    return write_config(directory / "config.yaml", tiny_config(model={"batch_size": 4, "epochs": 3}))


def without_timing(path: Path) -> list[str]:
    """The file's lines with the timing fields left out: a JSON line of one, a column of a table."""
    lines = path.read_text().splitlines()
    if path.suffix == ".json":
        return [line for line in lines if not line.strip().startswith(tuple(f'"{c}"' for c in TIMING_COLUMNS))]
    sep = "\t" if path.suffix == ".tsv" else ","
    header = lines[0].split(sep)
    keep = [i for i, name in enumerate(header) if name not in TIMING_COLUMNS]
    assert len(keep) < len(header), f"{path}: no timing column"
    return [sep.join(row.split(sep)[i] for i in keep) for row in lines]


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("clean")
    snakemake(workdir, study_config(workdir), TARGET, "--rerun-incomplete")
    return workdir / "results"


def checkpoints(results: Path) -> list[Path]:
    return list((results / "trials").glob("*/checkpoint/state.json"))


def living_in_group(group: int, wait: float = 10.0) -> list[int]:
    """Processes of process group ``group`` that are not dead (zombies, not yet reaped, are)."""
    deadline = time.monotonic() + wait
    while True:
        living = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:  # ended meanwhile
                continue
            if int(fields[2]) == group and fields[0] not in "ZX":
                living.append(int(stat.parent.name))
        if not living or time.monotonic() > deadline:
            return living
        time.sleep(0.05)


def test_a_sigkilled_study_run_again_ends_byte_identical_to_a_clean_run(clean, tmp_path):
    workdir = tmp_path
    config = study_config(workdir)
    results = workdir / "results"
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    run = subprocess.Popen(
        snakemake_command(workdir, config, TARGET, "--rerun-incomplete"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=environment,
        start_new_session=True,  # Snakemake and its jobs: one process group, killed at once
    )
    deadline = time.monotonic() + 300
    while not checkpoints(results) and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    assert run.poll() is None, "the study ended before a trial held a checkpoint: make the trials longer"
    held = checkpoints(results)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    assert held, "no trial reached its first checkpoint within 300 s"
    assert not (results / "hpo" / "final" / "metrics.json").exists()
    assert living_in_group(run.pid) == []  # nothing of the killed tree is left running
    killed_trial = held[0].parent.parent

    snakemake(workdir, config, "--unlock")
    snakemake(workdir, config, TARGET, "--rerun-incomplete")

    assert "resuming from the checkpoint at epoch" in (killed_trial / "trial.log").read_text()
    for name in BYTE_IDENTICAL:
        assert (results / name).read_bytes() == (clean / name).read_bytes(), name
    for name in BUT_FOR_TIMING:
        assert without_timing(results / name) == without_timing(clean / name), name
    trials = sorted(p.name for p in (clean / "trials").iterdir())
    assert len(trials) == 2 and sorted(p.name for p in (results / "trials").iterdir()) == trials
    for trial in trials:
        assert not (results / "trials" / trial / "checkpoint").exists()
        for name in TRIAL_BYTE_IDENTICAL:
            assert (results / "trials" / trial / name).read_bytes() == (clean / "trials" / trial / name).read_bytes()
        for name in TRIAL_BUT_FOR_TIMING:
            assert without_timing(results / "trials" / trial / name) == without_timing(clean / "trials" / trial / name)


def test_retry_failed_makes_the_next_run_re_run_exactly_the_failed_trial(clean, tmp_path):
    from candle_lib import cli

    workdir = tmp_path / "study"
    shutil.copytree(clean.parent, workdir, symlinks=True)
    results, config = workdir / "results", workdir / "config.yaml"
    failed = sorted((results / "trials").iterdir())[0]
    # a full disk, recorded as a failed trial the way it was before infrastructure errors raised
    metrics = json.loads((failed / "metrics.json").read_text())
    metrics.update(status="failed", failure_reason="OSError: [Errno 28] No space left on device", metrics={})
    (failed / "metrics.json").write_text(json.dumps(metrics))
    before = planned_jobs(snakemake(workdir, config, TARGET, "--rerun-incomplete", "--dry-run"))
    assert "train_trial" not in before  # a recorded failure is never re-run by itself

    assert cli.main(["retry-failed", str(results)]) == 0
    assert [p.name.split(".")[0] for p in (results / "trials" / ".failed").iterdir()] == [failed.name]
    after = planned_jobs(snakemake(workdir, config, TARGET, "--rerun-incomplete", "--dry-run"))
    assert after["train_trial"] == 1 and after["aggregate_hpo"] == 1
