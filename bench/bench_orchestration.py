"""Orchestration overhead per trial: Snakemake + this workflow around trials that do nothing.

Issue 5 asks for at most 10 ms of orchestration per trial in a search of 4,000 trivial trials
(plain Snakemake, measured on this machine, costs ~120 ms per job with its ILP scheduler and ~24 ms
with the greedy one). This bench copies the workflow (Snakefile, rules/, scripts/, config/) into
a temporary directory and replaces the three training adapters (scripts/train_trial.py,
train_bundle.py, train_final.py) by ones that write a trial directory's files and train nothing,
so what is timed is the orchestration alone: parsing and planning the search, building the DAG,
scheduling, starting jobs, and aggregating the trial directories (trials.tsv, best.json, plots).
The prepared dataset is built first and not timed.

In the same run it times, each in a fresh working directory:

  plain      plain Snakemake: a Snakefile of N jobs that each `touch` one file, plus one job
             gathering them (the greedy scheduler), the per-job floor of Snakemake itself;
  per-trial  this workflow with hpo.trials_per_job: 1 (one job per trial), greedy scheduler;
  bundled    this workflow with hpo.trials_per_job: K (default 200), greedy scheduler.

and reports seconds per trial (wall / N) and the ratio to plain Snakemake. --check exits 1
when bundled exceeds 10 ms per trial. The full run also times `snakemake -n` of
config/examples/hpo_grid_11664.yaml (issue 5: under 20 s).

    .venv/bin/python bench/bench_orchestration.py                 # 4,000 trials (bundled), 400 (per-trial, plain),
                                                                  # and the dry run of the 11,664-trial example
    .venv/bin/python bench/bench_orchestration.py --quick         # 400 / 100 trials, a smoke run
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 0.010

# A trial that does nothing: it writes the files of its trial directory (DESIGN.md section 3)
# with an objective taken from its learning rate, so aggregation has something to rank.
TRIVIAL_TRIAL = """
import json
from pathlib import Path


def write_trial(out_dir, spec):
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "params.json").write_text(json.dumps(spec))
    value = abs(spec["params"]["learning_rate"] - 0.01)
    metrics = {"status": "ok", "failure_reason": None, "metrics": {"val_loss": value}, "epochs_run": 0, "wall_seconds": 0.0}
    (out_dir / "history.csv").write_text("epoch\\n")
    (out_dir / "predictions.parquet").write_bytes(b"")
    (out_dir / "scaler.json").write_text("{}")
    (out_dir / "trial.log").write_text("trivial trial\\n")
    (out_dir / "metrics.json").write_text(json.dumps(metrics))
"""

ADAPTERS = {
    "train_trial.py": "write_trial(Path(snakemake.output.metrics).parent, snakemake.params.spec)\n",
    "train_bundle.py": (
        "for trial_id, spec in snakemake.params.specs.items():\n"
        "    write_trial(Path(snakemake.params.trials_root) / trial_id, spec)\n"
        "Path(snakemake.output.record).write_text(json.dumps({t: 'ok' for t in snakemake.params.specs}))\n"
    ),
    "train_final.py": (
        "best = json.loads(Path(snakemake.input.best).read_text())\n"
        "write_trial(Path(snakemake.output.metrics).parent, {**best, 'role': {'kind': 'final'}})\n"
    ),
}

PLAIN_SNAKEFILE = """
N = int(config["n_jobs"])


rule all:
    input:
        "gathered.txt",


rule gather:
    input:
        expand("jobs/{i}.txt", i=range(N)),
    output:
        "gathered.txt",
    shell:
        "ls jobs | wc -l > {output}"


rule job:
    output:
        "jobs/{i}.txt",
    shell:
        "touch {output}"
"""


def copy_workflow(target: Path) -> Path:
    target.mkdir(parents=True)
    for name in ("Snakefile", "rules", "scripts", "config", "envs"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, target / name)
        elif source.exists():
            shutil.copy2(source, target / name)
    shutil.copytree(REPO / "candle_lib", target / "candle_lib")
    for name, body in ADAPTERS.items():
        (target / "scripts" / name).write_text(TRIVIAL_TRIAL + body)
    return target


def search_config(n_trials: int, per_job: int) -> dict:
    """The default config with tiny data and a grid of n_trials points (learning rate x dropout)."""
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["data"]["synthetic"].update({"n_patients": 40, "n_genes": 200, "seed": 3})
    config["data"]["filters"].update({"min_nonzero_samples": 5, "top_variance": 100})
    n_dropout = 10 if n_trials % 10 == 0 else 1
    config["hpo"] = {
        "method": "grid",
        "objective": {"metric": "val_loss", "direction": "minimize"},
        "space": {
            "learning_rate": {"type": "log", "low": 1e-4, "high": 0.1, "n": n_trials // n_dropout},
            "dropout": {"type": "float", "low": 0.0, "high": 0.5, "n": n_dropout},
        },
        "trials_per_job": per_job,
    }
    return config


def snakemake(workflow: Path, workdir: Path, *args: str) -> float:
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(workflow / "Snakefile"),
        "--directory",
        str(workdir),
        "--cores",
        "2",
        "--scheduler",
        "greedy",
        "--quiet",
        "all",
        *args,
    ]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(workflow))
    start = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=7200)
    seconds = time.monotonic() - start
    if done.returncode != 0:
        raise RuntimeError(f"snakemake failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
    return seconds


def time_search(workflow: Path, base: Path, name: str, n_trials: int, per_job: int) -> float:
    workdir = base / name
    workdir.mkdir()
    config = workdir / "config.yaml"
    config.write_text(yaml.safe_dump(search_config(n_trials, per_job), sort_keys=False))
    # the prepared dataset is not orchestration: built first, untimed
    snakemake(workflow, workdir, "--configfile", str(config), "--until", "prepare_dataset")
    seconds = snakemake(workflow, workdir, "--configfile", str(config))
    found = len(list((workdir / "results" / "trials").iterdir()))
    if found != n_trials:
        raise RuntimeError(f"{name}: {found} trial directories, expected {n_trials}")
    return seconds


def time_dry_run(base: Path, config: Path) -> float:
    """Seconds of `snakemake -n` of the real workflow with ``config`` in an empty directory."""
    workdir = Path(tempfile.mkdtemp(dir=base, prefix="dry_"))
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(config),
        "-n",
        "--quiet",
        "all",
    ]
    start = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    seconds = time.monotonic() - start
    if done.returncode != 0:
        raise RuntimeError(f"dry run of {config} failed:\n{done.stderr[-3000:]}")
    return seconds


def time_plain(base: Path, n_jobs: int) -> float:
    workdir = base / "plain"
    workdir.mkdir()
    (workdir / "Snakefile").write_text(PLAIN_SNAKEFILE)
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(workdir / "Snakefile"),
        "--directory",
        str(workdir),
        "--cores",
        "2",
        "--scheduler",
        "greedy",
        "--config",
        f"n_jobs={n_jobs}",
        "--quiet",
        "all",
    ]
    start = time.monotonic()
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=7200)
    return time.monotonic() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="400 bundled / 100 per-trial trials")
    parser.add_argument("--trials", type=int, help="trials of the bundled search (default 4,000)")
    parser.add_argument(
        "--per-trial-trials", type=int, help="trials of the one-job-per-trial search and plain jobs (default 400)"
    )
    parser.add_argument(
        "--per-job", type=int, default=200, help="hpo.trials_per_job of the bundled search (default 200)"
    )
    parser.add_argument(
        "--check", action="store_true", help=f"exit 1 when bundled exceeds {TARGET_SECONDS * 1000:.0f} ms per trial"
    )
    args = parser.parse_args(argv)
    n_bundled = args.trials or (400 if args.quick else 4000)
    n_single = args.per_trial_trials or (100 if args.quick else 400)

    base = Path(tempfile.mkdtemp(prefix="bench_orchestration_"))
    try:
        workflow = copy_workflow(base / "workflow")
        print(
            f"bench_orchestration: trivial trials, 2 cores, greedy scheduler; bundled {n_bundled} trials x {args.per_job} per job, "
            f"per-trial {n_single} trials, plain Snakemake {n_single} jobs",
            flush=True,
        )
        plain = time_plain(base, n_single)
        single = time_search(workflow, base, "single", n_single, 1)
        bundled = time_search(workflow, base, "bundled", n_bundled, args.per_job)
        floor = plain / n_single
        print(f"\n{'run':34s} {'trials':>7s} {'wall s':>8s} {'ms/trial':>9s} {'vs plain':>9s}")
        for label, n, seconds in (
            ("plain Snakemake (touch jobs)", n_single, plain),
            ("workflow, 1 trial per job", n_single, single),
            (f"workflow, {args.per_job} trials per job", n_bundled, bundled),
        ):
            print(f"{label:34s} {n:7d} {seconds:8.1f} {1000 * seconds / n:9.1f} {seconds / n / floor:8.2f}x")
        if not args.quick:
            try:
                dry = time_dry_run(base, REPO / "config" / "examples" / "hpo_grid_11664.yaml")
                print(f"\ndry run of config/examples/hpo_grid_11664.yaml (11,664 trials): {dry:.1f} s (target < 20 s)")
            except RuntimeError as exc:
                print(f"\n{exc}")
        per_trial = bundled / n_bundled
        ok = per_trial <= TARGET_SECONDS
        print(
            f"\nbundled: {1000 * per_trial:.1f} ms per trial, {'OK' if ok else 'MISSED'} (target <= {TARGET_SECONDS * 1000:.0f} ms; "
            f"wall includes planning, DAG, jobs, aggregation of {n_bundled} trial directories and plots)"
        )
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 1 if (args.check and not ok) else 0


if __name__ == "__main__":
    sys.exit(main())
