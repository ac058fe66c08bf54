"""One trial over several worker processes (``strategy: multi_worker``): who this process is, where
the others are, and how the job starts them.

The environment contract (docs/clusters.md, "One trial over several workers"):

- **Rank and size** come from the launcher that started the process: ``CANDLE_WORKER_RANK`` /
  ``CANDLE_WORKERS`` (set by the ``local`` launcher, or by hand for any other launcher), else
  SLURM's ``SLURM_PROCID`` / ``SLURM_NTASKS`` (srun), Open MPI's ``OMPI_COMM_WORLD_RANK`` /
  ``OMPI_COMM_WORLD_SIZE``, PMI's ``PMI_RANK`` / ``PMI_SIZE`` (MPICH, Cray PALS on Polaris) or
  jsrun's ``JSM_NAMESPACE_RANK`` / ``JSM_NAMESPACE_SIZE``.
- **Where the others are** is agreed through a rendezvous directory on the shared file system
  (the trial directory): each worker takes a free port on its host and writes ``host:port`` to
  ``rank-<r>.json``; once all have written, every worker builds the same ``TF_CONFIG``.
  TensorFlow's own SlurmClusterResolver gives every task of a node the fixed ports 8888 + k, so
  two trials sharing a node would collide; the rendezvous works the same under any launcher.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from candle_lib.atomic import write_json
from candle_lib.errors import CandleInputError

RANK_VARIABLES = (  # (rank, size) variables, in the order they are looked for
    ("CANDLE_WORKER_RANK", "CANDLE_WORKERS"),
    ("SLURM_PROCID", "SLURM_NTASKS"),
    ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),
    ("PMI_RANK", "PMI_SIZE"),
    ("JSM_NAMESPACE_RANK", "JSM_NAMESPACE_SIZE"),
)
RENDEZVOUS_TIMEOUT = 600.0  # seconds a worker waits for the others to start (a busy launcher can be slow)
LOCAL_LAUNCHER = "local"


def workers_of(spec: dict, resources: dict) -> int:
    """How many worker processes train this trial: ``resources.workers_per_trial`` for a trial of
    strategy multi_worker, else 1 (a model run out of process trains in one process)."""
    from candle_lib.params.specs import COMMAND_MODELS, model_form

    params = spec["params"]
    if params.get("strategy") != "multi_worker" or model_form(params["model"]) in COMMAND_MODELS:
        return 1
    return int(resources.get("workers_per_trial", 1))


def launched(resources: dict) -> bool:
    """Whether the workers of a multi-worker trial are started by a launcher command (srun,
    mpiexec, jsrun: each a task of the job, its threads its own), not as local processes."""
    return resources.get("worker_launcher", LOCAL_LAUNCHER) != LOCAL_LAUNCHER


def job_threads(resources: dict, workers: int) -> int:
    """A training job's threads: every local worker's, or one task's under a launcher (the
    scheduler gives each task its own; see :func:`job_tasks`)."""
    return resources["trial_threads"] * (1 if launched(resources) else workers)


def job_tasks(resources: dict, workers: int) -> int:
    """A training job's tasks for the scheduler (sbatch --ntasks): one per launched worker."""
    return workers if launched(resources) else 1


def mpi_resource(resources: dict) -> dict:
    """The ``mpi`` resource of training rules when workers are launched: the SLURM job-step
    executor then runs the job's command as it is (not under ``srun -n1``), so the job's own
    launcher starts the tasks; absent otherwise."""
    if resources.get("workers_per_trial", 1) > 1 and launched(resources):
        return {"mpi": shlex.split(resources["worker_launcher"])[0]}
    return {}


@dataclass(frozen=True)
class Worker:
    """This process's place among the ``size`` workers of one trial; rank 0 is the chief."""

    rank: int
    size: int

    @property
    def is_chief(self) -> bool:
        return self.rank == 0

    @property
    def share(self) -> tuple[int, int]:
        return self.rank, self.size


def worker_from_env(expected: int, env=None) -> Worker:
    """This process's rank among ``expected`` workers, from the first launcher variables set.
    A launcher that started another number of processes is an error naming the setting."""
    env = os.environ if env is None else env
    for rank_name, size_name in RANK_VARIABLES:
        if rank_name in env and size_name in env:
            rank, size = int(env[rank_name]), int(env[size_name])
            if size != expected:
                raise CandleInputError(
                    f"the launcher started {size} worker(s) ({size_name}={size}), the trial needs {expected}: "
                    "check resources.worker_launcher",
                    where="resources.workers_per_trial",
                )
            return Worker(rank, size)
    if expected == 1:
        return Worker(0, 1)
    names = ", ".join(f"{rank}/{size}" for rank, size in RANK_VARIABLES)
    raise CandleInputError(
        f"a worker of a {expected}-worker trial found no rank in its environment (looked for {names})",
        where="resources.worker_launcher",
    )


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def rendezvous(directory: Path, worker: Worker, *, timeout: float = RENDEZVOUS_TIMEOUT, host: str | None = None):
    """The ``host:port`` of every worker, in rank order, once all have written theirs into
    ``directory``; raises TimeoutError (the machine's error: the job fails and is retried) when
    some never do."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    host = host or socket.gethostname()
    write_json(directory / f"rank-{worker.rank}.json", {"host": host, "port": _free_port(host), "pid": os.getpid()})
    deadline = time.monotonic() + timeout
    paths = [directory / f"rank-{rank}.json" for rank in range(worker.size)]
    while not all(path.exists() for path in paths):
        if time.monotonic() > deadline:
            missing = [rank for rank, path in enumerate(paths) if not path.exists()]
            raise TimeoutError(f"workers {missing} of {worker.size} did not start within {timeout:g} s")
        time.sleep(0.1)
    return [f"{entry['host']}:{entry['port']}" for entry in (json.loads(path.read_text()) for path in paths)]


def tf_config(addresses: list[str], worker: Worker) -> str:
    """The TF_CONFIG of ``worker`` in a cluster of ``addresses``."""
    return json.dumps({"cluster": {"worker": addresses}, "task": {"type": "worker", "index": worker.rank}})


def launcher_command(template: str, workers: int, threads: int) -> list[str]:
    """The launcher's words of ``resources.worker_launcher`` (e.g. ``srun --ntasks={workers}``),
    its ``{workers}`` and ``{threads}`` filled in."""
    try:
        words = shlex.split(template.format(workers=workers, threads=threads))
    except (KeyError, IndexError, ValueError) as exc:
        raise CandleInputError(
            f"{template!r} is not a launcher command ({exc}); its fields are {{workers}} and {{threads}}",
            where="resources.worker_launcher",
        ) from None
    if not words:
        raise CandleInputError("is empty: give local or a launcher command", where="resources.worker_launcher")
    return words


class WorkersFailed(OSError):
    """A worker of a multi-worker trial stopped with an error or was killed: the machine's
    failure (an :class:`OSError`), so the job fails and its retry resumes from the checkpoint."""


def _streams() -> dict:
    """stdout/stderr for a worker: this process's current ones (a job's log file, which Snakemake's
    script redirects in Python only), where they are files; else inherited."""
    streams = {}
    for name in ("stdout", "stderr"):
        try:
            streams[name] = getattr(sys, name).fileno()
        except (AttributeError, OSError, ValueError):  # a capture without a file behind it
            streams[name] = None
    return streams


def _stop(processes: list[subprocess.Popen], grace: float = 10.0) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_local_workers(command: list[str], workers: int, *, poll: float = 0.2, env=None) -> None:
    """Start ``workers`` copies of ``command`` on this host, ranks in CANDLE_WORKER_RANK /
    CANDLE_WORKERS; when one fails, stop the others (a worker left alone would wait for its
    peers' collectives) and raise :class:`WorkersFailed`."""
    base = dict(os.environ if env is None else env)
    sys.stdout.flush()
    processes = [
        subprocess.Popen(
            command, env=base | {"CANDLE_WORKER_RANK": str(rank), "CANDLE_WORKERS": str(workers)}, **_streams()
        )
        for rank in range(workers)
    ]
    try:
        while any(process.poll() is None for process in processes):
            failed = [rank for rank, process in enumerate(processes) if process.poll() not in (None, 0)]
            if failed:
                codes = {rank: processes[rank].returncode for rank in failed}
                raise WorkersFailed(f"worker(s) {failed} of {workers} stopped (exit codes {codes})")
            time.sleep(poll)
        codes = {rank: process.returncode for rank, process in enumerate(processes) if process.returncode}
        if codes:
            raise WorkersFailed(f"worker(s) {sorted(codes)} of {workers} stopped (exit codes {codes})")
    finally:
        _stop(processes)


def run_launched_workers(launcher: list[str], command: list[str]) -> None:
    """Run ``command`` under a launcher that starts the ranks itself (srun, mpiexec, jsrun);
    a failure of any rank is the launcher's non-zero exit."""
    sys.stdout.flush()
    completed = subprocess.run([*launcher, *command], check=False, **_streams())
    if completed.returncode != 0:
        raise WorkersFailed(f"the workers' launcher {launcher[0]} exited with code {completed.returncode}")
