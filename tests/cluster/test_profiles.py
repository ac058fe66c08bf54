"""Cluster profiles: a dry run with every profile; the exact submission commands that the LSF and
PBS allocation scripts produce (LSF and PBS cannot run here, so bsub/qsub are stand-ins that record
their argv); the exact launcher commands (srun, jsrun, mpiexec stand-ins) of allocation mode's
background steps and their status/cancel commands. (GPU slot locks and node-local staging with
fake device counts are in tests/unit/hpc/.)"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, planned_jobs, tiny_config, write_config

PROFILES = [
    "local",
    "summit",
    "frontier",
    "perlmutter",
    "polaris",
    "summit/allocation",
    "frontier/allocation",
    "perlmutter/allocation",
    "polaris/allocation",
]


@pytest.mark.parametrize("profile", PROFILES)
def test_dry_run_with_every_profile(profile, tmp_path):
    config = write_config(tmp_path / "config.yaml", tiny_config())
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "snakemake"),
            "--snakefile",
            str(REPO / "Snakefile"),
            "--profile",
            str(REPO / "profiles" / profile),
            "--configfile",
            str(config),
            "--directory",
            str(tmp_path),
            "-n",
            "--cores",
            "4",
            "--resources",
            "gpus=2",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert planned_jobs(result)["train_trial"] == 2
    assert not (tmp_path / "results").exists()


def fake_commands(directory: Path, names) -> Path:
    """Executables that append their argv (one JSON list per line) to calls.jsonl and print a job id."""
    directory.mkdir()
    for name in names:
        path = directory / name
        path.write_text(
            f"#!{sys.executable}\nimport json, sys\n"
            f"open({str(directory / 'calls.jsonl')!r}, 'a').write(json.dumps(sys.argv) + '\\n')\n"
            "print('Job <4242> is submitted to queue <batch>.' if sys.argv[0].endswith('bsub') else '4242.polaris-pbs-01')\n"
        )
        path.chmod(0o755)
    return directory


def calls(directory: Path) -> list[list[str]]:
    import json

    return [json.loads(line) for line in (directory / "calls.jsonl").read_text().splitlines()]


def test_summit_allocation_script_submits_this_bsub(tmp_path):
    fakes = fake_commands(tmp_path / "bin", ["bsub"])
    script = REPO / "profiles" / "summit" / "submit-allocation.sh"
    env = dict(os.environ, PATH=f"{fakes}:{os.environ['PATH']}")
    subprocess.run(
        ["bash", str(script), "-P", "MED123", "-nnodes", "4", "-W", "120", "--", "--configfile", "my.yaml"],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    (argv,) = calls(fakes)
    assert argv[1:] == [
        "-J",
        "candle-allocation",
        "-o",
        "results/logs/allocation-%J.out",
        "-cwd",
        str(tmp_path),
        "-q",
        "batch",
        "-alloc_flags",
        "NVME",
        "-P",
        "MED123",
        "-nnodes",
        "4",
        "-W",
        "120",
        str(script),
        "--inside-allocation",
        "--configfile",
        "my.yaml",
    ]


def test_polaris_allocation_script_submits_this_qsub(tmp_path):
    fakes = fake_commands(tmp_path / "bin", ["qsub"])
    script = REPO / "profiles" / "polaris" / "submit-allocation.sh"
    env = dict(os.environ, PATH=f"{fakes}:{os.environ['PATH']}")
    env.pop("CANDLE_INSIDE_ALLOCATION", None)
    env.pop("CANDLE_HOME", None)
    subprocess.run(
        [
            "bash",
            str(script),
            "-A",
            "MED123",
            "-l",
            "select=4:system=polaris",
            "-l",
            "walltime=2:00:00",
            "--",
            "--configfile",
            "my.yaml",
        ],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    (argv,) = calls(fakes)
    assert argv[1:] == [
        "-N",
        "candle-allocation",
        "-j",
        "oe",
        "-o",
        "results/logs/",
        "-q",
        "prod",
        "-l",
        "filesystems=home:eagle",
        "-A",
        "MED123",
        "-l",
        "select=4:system=polaris",
        "-l",
        "walltime=2:00:00",
        "-v",
        f"CANDLE_INSIDE_ALLOCATION=1,CANDLE_HOME={REPO},CANDLE_WORKDIR={tmp_path},CANDLE_SNAKEMAKE_ARGS=--configfile my.yaml",
        str(script),
    ]


def test_slurm_allocation_scripts_submit_this_sbatch(tmp_path):
    fakes = fake_commands(tmp_path / "bin", ["sbatch"])
    env = dict(os.environ, PATH=f"{fakes}:{os.environ['PATH']}")
    env.pop("CANDLE_SBATCH_DEFAULTS", None)
    expected_site = {
        "frontier": ["--partition=batch", "--constraint=nvme", "--gpus-per-node=8", "--exclusive"],
        "perlmutter": ["--constraint=gpu", "--qos=regular", "--gpus-per-node=4", "--exclusive"],
    }
    for site, site_options in expected_site.items():
        script = REPO / "profiles" / site / "submit-allocation.sh"
        subprocess.run(
            ["bash", str(script), "-A", "MED123", "-N", "4", "-t", "2:00:00"],
            cwd=tmp_path,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        assert calls(fakes)[-1][1:] == [
            "--job-name=candle-allocation",
            "--output=results/logs/allocation-%j.out",
            *site_options,
            "-A",
            "MED123",
            "-N",
            "4",
            "-t",
            "2:00:00",
            str(script),
            "--inside-allocation",
        ]


# --- allocation mode: each job a background launcher step (cluster-generic submit/status/cancel) ---

STEP_COMMON = REPO / "profiles" / "common" / "bin"


def launcher_stand_ins(directory: Path, names, exit_code: int = 0) -> Path:
    """Stand-ins for srun/jsrun/mpiexec: record their argv (one JSON list per line) and exit with
    exit_code, after a moment, without running the job script."""
    directory.mkdir()
    for name in names:
        path = directory / name
        path.write_text(
            f"#!{sys.executable}\nimport json, sys, time\n"
            f"open({str(directory / 'calls.jsonl')!r}, 'a').write(json.dumps(sys.argv) + '\\n')\n"
            f"time.sleep(0.5); sys.exit({exit_code})\n"
        )
        path.chmod(0o755)
    return directory


def start_step(site: str, threads: int, gpus: int, env: dict, cwd: Path) -> str:
    result = subprocess.run(
        [str(REPO / "profiles" / site / "bin" / "candle-step"), str(threads), str(gpus), "job.sh"],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    )
    (step,) = result.stdout.split()  # one line: the step id, printed at once
    return step


def step_status(step: str, env: dict, cwd: Path) -> str:
    return subprocess.run(
        [str(STEP_COMMON / "candle-step-status"), step], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def finished(step: str, env: dict, cwd: Path) -> str:
    for _ in range(100):
        status = step_status(step, env, cwd)
        if status != "running":
            return status
        time.sleep(0.1)
    raise AssertionError(f"step {step} still running")


@pytest.mark.parametrize(
    "site, launcher, gpu_argv, cpu_argv",
    [
        (
            "perlmutter",
            "srun",
            [
                "--exact",
                "--nodes=1",
                "--ntasks=1",
                "--cpus-per-task=16",
                "--mem-per-cpu=1000",
                "--gpus-per-task=1",
                "--gpu-bind=none",
                "job.sh",
            ],
            ["--exact", "--nodes=1", "--ntasks=1", "--cpus-per-task=3", "--mem-per-cpu=1000", "job.sh"],
        ),
        (
            "frontier",
            "srun",
            [
                "--exact",
                "--nodes=1",
                "--ntasks=1",
                "--cpus-per-task=7",
                "--mem-per-cpu=1000",
                "--gpus-per-task=1",
                "--gpu-bind=closest",
                "job.sh",
            ],
            ["--exact", "--nodes=1", "--ntasks=1", "--cpus-per-task=3", "--mem-per-cpu=1000", "job.sh"],
        ),
        (
            "summit",
            "jsrun",
            [
                "--nrs",
                "1",
                "--tasks_per_rs",
                "1",
                "--cpu_per_rs",
                "7",
                "--gpu_per_rs",
                "1",
                "--rs_per_host",
                "1",
                "--bind",
                "packed:7",
                "--smpiargs=off",
                "job.sh",
            ],
            [
                "--nrs",
                "1",
                "--tasks_per_rs",
                "1",
                "--cpu_per_rs",
                "3",
                "--gpu_per_rs",
                "0",
                "--rs_per_host",
                "1",
                "--smpiargs=off",
                "job.sh",
            ],
        ),
        (
            "polaris",
            "mpiexec",
            [
                "-n",
                "1",
                "--ppn",
                "1",
                "--hosts",
                "x3001c0s7b0n0",
                "--cpu-bind",
                "depth",
                "--depth",
                "8",
                "--env",
                "CUDA_VISIBLE_DEVICES=0",
                "job.sh",
            ],
            ["-n", "1", "--ppn", "1", "--cpu-bind", "depth", "--depth", "3", "job.sh"],
        ),
    ],
)
def test_allocation_steps_run_this_launcher_in_the_background(site, launcher, gpu_argv, cpu_argv, tmp_path):
    """bin/candle-step <threads> <gpus> <jobscript> (the cluster-generic submit command) starts the
    site's launcher with exactly this argv, returns a step id at once, and candle-step-status
    follows the step: running, then success (or failed when the launcher fails)."""
    work = tmp_path / "work"
    work.mkdir()
    nodefile = tmp_path / "nodefile"
    nodefile.write_text("x3001c0s7b0n0\nx3001c0s7b0n0\nx3001c0s13b0n0\n")
    env = dict(
        os.environ,
        CANDLE_MEM_PER_CPU="1000",
        PBS_NODEFILE=str(nodefile),
        PBS_JOBID=f"test-{os.getpid()}-{site}",
        PYTHONPATH=str(REPO),
    )
    for name in ("CANDLE_CPUS_PER_GPU", "CANDLE_STEP_DIR", "CANDLE_GPUS_PER_NODE"):
        env.pop(name, None)
    ok = launcher_stand_ins(tmp_path / "ok", [launcher])
    env_ok = dict(env, PATH=f"{ok}:{os.path.dirname(sys.executable)}:{os.environ['PATH']}")
    gpu_step = start_step(site, 3, 1, env_ok, work)
    assert step_status(gpu_step, env_ok, work) == "running"
    assert finished(gpu_step, env_ok, work) == "success"
    cpu_step = start_step(site, 3, 0, env_ok, work)
    assert finished(cpu_step, env_ok, work) == "success"
    assert [argv[1:] for argv in calls(ok)] == [gpu_argv, cpu_argv]
    steps = work / ".snakemake" / "candle-steps"
    assert (steps / f"{gpu_step}.exit").read_text() == "0\n"
    # a failing launcher (or job) is a failed step
    bad = launcher_stand_ins(tmp_path / "bad", [launcher], exit_code=3)
    env_bad = dict(env, PATH=f"{bad}:{os.path.dirname(sys.executable)}:{os.environ['PATH']}")
    assert finished(start_step(site, 1, 0, env_bad, work), env_bad, work) == "failed"


def test_allocation_step_cancel_and_a_killed_step(tmp_path):
    """candle-step-cancel ends a running step's process group; a step killed before it wrote its
    exit code reads as failed, never as running forever."""
    slow = tmp_path / "slow"
    slow.mkdir()
    (slow / "srun").write_text("#!/bin/sh\nexec sleep 60\n")
    (slow / "srun").chmod(0o755)
    env = dict(os.environ, PATH=f"{slow}:{os.environ['PATH']}")
    step = start_step("perlmutter", 1, 0, env, tmp_path)
    assert step_status(step, env, tmp_path) == "running"
    subprocess.run([str(STEP_COMMON / "candle-step-cancel"), step], cwd=tmp_path, env=env, check=True, timeout=10)
    assert finished(step, env, tmp_path) == "failed"
    pid = int((tmp_path / ".snakemake" / "candle-steps" / f"{step}.pid").read_text())
    for _ in range(50):
        if not Path(f"/proc/{pid}").exists() or " Z " in Path(f"/proc/{pid}/stat").read_text():
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the cancelled step still runs")
