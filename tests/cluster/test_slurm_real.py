"""A real SLURM (slurmctld + slurmd + munged on this machine, tests/cluster/slurm_cluster.py) runs
the tiny workflow to completion twice: in submit mode through `snakemake --profile` with the SLURM
executor plugin, and in allocation mode through `sbatch` of profiles/perlmutter/submit-allocation.sh.

The node declares two fake GPUs (GRES), so SLURM binds one per training job exactly as it does
real ones (CUDA_VISIBLE_DEVICES), and the trials record that binding in their logs.

Installs SLURM with apt when running as root (CI); skips with the reason elsewhere.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import REPO, tiny_config, write_config
from slurm_cluster import SlurmCluster, unavailable_reason

pytestmark = pytest.mark.workflow

SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    with SlurmCluster(tmp_path_factory.mktemp("slurm")) as running:
        yield running
    # daemons stopped by PID on leaving the with-block
    for proc in running.processes.values():
        assert proc.poll() is not None


def tiny(workdir: Path) -> Path:
    config = tiny_config()
    config["model"]["epochs"] = 2
    config["resources"]["trial_mem_mb"] = 500
    # the test cluster declares a GPU gres (so the launcher binds CUDA_VISIBLE_DEVICES) on a
    # machine without a GPU: train on the CPU on purpose, as a real CPU fallback would
    config["resources"]["gpu_fallback"] = "cpu"
    return write_config(workdir / "config.yaml", config)


def submit_profile(target: Path) -> Path:
    """profiles/perlmutter with the site's values that this cluster cannot honour swapped for its
    own: partition debug instead of the QOS and constraint, 1 core per GPU, a short poll, and
    squeue as status command (no accounting database, so sacct knows nothing)."""
    profile = yaml.safe_load((REPO / "profiles" / "perlmutter" / "config.yaml").read_text())
    profile["default-resources"] = {"slurm_partition": "debug", "runtime": 10, "mem_mb": 500, "cpus_per_gpu": 1}
    profile.update(
        {
            "slurm-status-command": "squeue",
            "slurm-init-seconds-before-status-checks": 1,
            "seconds-between-status-checks": 1,
            "latency-wait": 5,
            "max-jobs-per-timespan": "100/1s",
        }
    )
    target.mkdir(parents=True)
    (target / "config.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    return target


def assert_finished(workdir: Path) -> list[Path]:
    trials = sorted((workdir / "results" / "trials").iterdir())
    assert len(trials) == 2
    for trial in [*trials, workdir / "results" / "hpo" / "final"]:
        metrics = json.loads((trial / "metrics.json").read_text())
        assert metrics["status"] == "ok" and metrics["epochs_run"] == 2
    assert (workdir / "results" / "hpo" / "trials.tsv").exists()
    return trials


def bound_devices(log: Path) -> list[str]:
    return re.findall(r"placement: host \S+, CUDA_VISIBLE_DEVICES=(\d) \(set by the launcher\)", log.read_text())


def test_submit_mode_runs_the_workflow_through_sbatch(cluster, tmp_path):
    workdir = tmp_path / "run"
    workdir.mkdir()
    profile = submit_profile(tmp_path / "profile")
    started = time.monotonic()
    result = cluster.run(
        SNAKEMAKE,
        "--snakefile",
        str(REPO / "Snakefile"),
        "--profile",
        str(profile),
        "--configfile",
        str(tiny(workdir)),
        "--directory",
        str(workdir),
        timeout=600,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:] + cluster.logs()
    trials = assert_finished(workdir)
    print(f"submit mode through the SLURM plugin: {elapsed:.0f} s")
    # every job was a real SLURM job: the plugin's sbatch logs, and slurmctld's completion records
    completed = (cluster.root / "log" / "jobcomp.txt").read_text()
    jobs = re.findall(r"JobId=(\d+) .*?JobState=(\w+)", completed)
    # the 4 data rules ran as one group submission (profile `groups:`): 1 + 2 trials + aggregate + final
    assert len(jobs) >= 5 and {state for _, state in jobs} == {"COMPLETED"}
    # GPU per rule: each training job asked SLURM for one GPU and got it bound; the CPU build of
    # TensorFlow cannot use it, which the trial says before training on the CPU as allowed
    for trial in trials:
        assert bound_devices(trial / "trial.log") in (["0"], ["1"])
        assert "training on the CPU, as resources.gpu_fallback: cpu allows" in (trial / "trial.log").read_text()


def test_allocation_mode_runs_the_workflow_inside_one_sbatch_job(cluster, tmp_path):
    workdir = tmp_path / "run"
    workdir.mkdir()
    config = tiny(workdir)
    env = dict(cluster.env, CANDLE_SBATCH_DEFAULTS="--gpus-per-node=2", CANDLE_CPUS_PER_GPU="1")
    started = time.monotonic()
    result = cluster.run(
        "bash",
        str(REPO / "profiles" / "perlmutter" / "submit-allocation.sh"),
        "--wait",
        "--nodes=1",
        "--ntasks=2",
        "--cpus-per-task=1",
        "--mem=4000",
        "--time=10",
        "--",
        "--configfile",
        str(config),
        cwd=workdir,
        env=env,
        timeout=600,
    )
    elapsed = time.monotonic() - started
    outputs = list((workdir / "results" / "logs").glob("allocation-*.out"))
    assert len(outputs) == 1
    text = outputs[0].read_text()
    assert result.returncode == 0, result.stderr[-3000:] + text[-6000:] + cluster.logs()
    print(f"allocation mode through sbatch: {elapsed:.0f} s")
    assert re.search(r"allocation \d+: 1 node\(s\), 2 cores, 2 GPUs", text)
    trials = assert_finished(workdir)
    # one SLURM job only; every rule ran as a step of it, each trial bound to its own GPU
    completed = (cluster.root / "log" / "jobcomp.txt").read_text()
    job_id = re.search(r"allocation (\d+):", text).group(1)
    assert re.search(rf"JobId={job_id} .*JobState=COMPLETED", completed)
    for trial in trials:
        assert bound_devices(trial / "trial.log") in (["0"], ["1"])


def test_a_two_task_trial_runs_through_the_slurm_plugin(cluster, tmp_path):
    """strategy multi_worker over 2 workers in submit mode: the plugin submits the trial's job
    with 2 tasks, and the job's own srun starts the workers as those tasks (ranks from SLURM's
    variables); one trial, up to its search table."""
    workdir = tmp_path / "run"
    workdir.mkdir()
    config = tiny_config()
    config["model"] |= {"epochs": 2, "strategy": "multi_worker"}
    config["hpo"]["space"] = {"learning_rate": [0.01]}
    config["resources"] |= {
        "trial_mem_mb": 500,
        "gpus_per_trial": 0,
        "workers_per_trial": 2,
        "worker_launcher": "srun --kill-on-bad-exit=1 --ntasks={workers}",
    }
    profile = submit_profile(tmp_path / "profile")
    result = cluster.run(
        SNAKEMAKE,
        "results/hpo/trials.tsv",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--profile",
        str(profile),
        "--configfile",
        str(write_config(workdir / "config.yaml", config)),
        "--directory",
        str(workdir),
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:] + cluster.logs()
    (trial,) = (workdir / "results" / "trials").iterdir()
    metrics = json.loads((trial / "metrics.json").read_text())
    assert metrics["status"] == "ok" and metrics["workers"] == 2 and metrics["epochs_run"] == 2
    log = (trial / "trial.log").read_text()
    assert "multi-worker trial: 2 workers, launcher srun" in log
    assert "[worker 0/2] trial ok" in log and "[worker 1/2] trained: ok" in log
    assert not (trial / ".workers").exists()
