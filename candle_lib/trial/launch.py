"""A training job: one trial in this process, or, for ``strategy: multi_worker`` with
``resources.workers_per_trial`` above 1, its workers started by ``resources.worker_launcher``
(:mod:`candle_lib.hpc.workers`) and waited for.

The job process of a multi-worker trial only launches: each worker (``python -m
candle_lib.trial.worker``, :func:`worker_main`) places itself (its GPU, its copy of the dataset),
meets the others through a rendezvous directory inside the trial directory, and trains; the
chief writes the trial directory. A failed or killed worker fails the job (the launcher stops the
others), the checkpoint stays, and the retry resumes from it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import uuid
from pathlib import Path

from candle_lib.atomic import write_json

WORKERS_DIR = ".workers"  # inside the trial directory: the spec and the rendezvous of one launch


def run_trial_job(resources: dict, dataset_dir: Path, spec: dict, out_dir: Path, *, threads: int, init_model=None):
    """Train ``spec`` into ``out_dir`` as the config's ``resources`` say: in this process, or
    over its workers. Returns the trial's metrics."""
    from candle_lib.hpc.placement import place_trial
    from candle_lib.hpc.workers import workers_of

    workers = workers_of(spec, resources)
    if workers == 1:
        from candle_lib.trial.run import run_trial

        dataset = place_trial(resources, dataset_dir)
        return run_trial(dataset, spec, out_dir, threads=threads, init_model=init_model)
    return launch_workers(resources, dataset_dir, spec, Path(out_dir), workers, threads=threads, init_model=init_model)


def launch_workers(resources: dict, dataset_dir, spec: dict, out_dir: Path, workers: int, *, threads: int, init_model):
    """Start the ``workers`` of one trial with ``resources.worker_launcher`` and wait for them;
    the chief's metrics.json is the result. Raises :class:`candle_lib.hpc.workers.WorkersFailed`
    when one fails."""
    from candle_lib.hpc.workers import LOCAL_LAUNCHER, launcher_command, run_launched_workers, run_local_workers

    launch_dir = out_dir / WORKERS_DIR / uuid.uuid4().hex[:12]
    launch_dir.mkdir(parents=True)
    write_json(launch_dir / "spec.json", spec)
    write_json(launch_dir / "resources.json", resources)
    command = [sys.executable, "-m", "candle_lib.trial.worker", str(dataset_dir), str(launch_dir), str(out_dir)]
    command += ["--workers", str(workers), "--threads", str(threads)]
    if init_model is not None:
        command += ["--init-model", str(init_model)]
    template = resources.get("worker_launcher") or LOCAL_LAUNCHER
    print(f"multi-worker trial: {workers} workers, launcher {template}", flush=True)
    try:
        if template == LOCAL_LAUNCHER:
            run_local_workers(command, workers)
        else:
            run_launched_workers(launcher_command(template, workers, threads), command)
    finally:
        shutil.rmtree(out_dir / WORKERS_DIR, ignore_errors=True)
    return json.loads((out_dir / "metrics.json").read_text())


def worker_main(argv=None) -> int:
    """One worker of a multi-worker trial (started by :func:`launch_workers`'s launcher)."""
    import os
    import tempfile

    parser = argparse.ArgumentParser(prog="python -m candle_lib.trial.worker", description=worker_main.__doc__)
    parser.add_argument("dataset_dir", type=Path)
    parser.add_argument("launch_dir", type=Path)
    parser.add_argument("trial_dir", type=Path)
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--init-model", type=Path)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow starts: its cluster's INFO lines are noise

    from candle_lib.hpc.placement import place_trial
    from candle_lib.hpc.workers import rendezvous, tf_config, worker_from_env

    worker = worker_from_env(args.workers)
    spec = json.loads((args.launch_dir / "spec.json").read_text())
    resources = json.loads((args.launch_dir / "resources.json").read_text())
    os.environ["TF_CONFIG"] = tf_config(rendezvous(args.launch_dir / "rendezvous", worker), worker)

    def log(message: str) -> None:
        print(f"[worker {worker.rank}/{worker.size}] {message}", file=sys.stderr, flush=True)

    from candle_lib.trial.run import CHECKPOINT_DIR, run_trial

    dataset = place_trial(resources, args.dataset_dir)
    # the chief writes the trial directory; another worker writes its own files into a scratch one
    with tempfile.TemporaryDirectory(prefix=f"candle-worker-{worker.rank}-") as scratch:
        out_dir = args.trial_dir if worker.is_chief else Path(scratch)
        result = run_trial(
            dataset, spec, out_dir, threads=args.threads, log=log, init_model=args.init_model,
            worker=worker, checkpoint_dir=args.trial_dir / CHECKPOINT_DIR,
        )  # fmt: skip
    if not worker.is_chief:
        log(f"trained: {result['status']}")
    return 0
