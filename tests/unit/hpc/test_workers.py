"""The workers of a multi-worker trial: their ranks from each launcher's variables, the rendezvous
through files, the launcher command, starting local workers (and stopping them all when one
fails), and what a training job asks the scheduler for."""

from __future__ import annotations

import json
import sys
import threading
import time

import pytest

from candle_lib.errors import CandleInputError
from candle_lib.hpc.workers import (
    Worker,
    WorkersFailed,
    job_tasks,
    job_threads,
    launcher_command,
    mpi_resource,
    rendezvous,
    run_local_workers,
    tf_config,
    worker_from_env,
    workers_of,
)


@pytest.mark.parametrize(
    "env",
    [
        {"CANDLE_WORKER_RANK": "1", "CANDLE_WORKERS": "3"},
        {"SLURM_PROCID": "1", "SLURM_NTASKS": "3"},
        {"OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "3"},
        {"PMI_RANK": "1", "PMI_SIZE": "3"},
        {"JSM_NAMESPACE_RANK": "1", "JSM_NAMESPACE_SIZE": "3"},
    ],
)
def test_rank_and_size_come_from_each_launchers_variables(env):
    worker = worker_from_env(3, env)
    assert worker == Worker(1, 3) and not worker.is_chief and worker.share == (1, 3)


def test_a_launcher_that_started_another_number_of_workers_is_an_error():
    with pytest.raises(CandleInputError, match=r"started 2 worker\(s\) \(SLURM_NTASKS=2\), the trial needs 4"):
        worker_from_env(4, {"SLURM_PROCID": "0", "SLURM_NTASKS": "2"})


def test_no_rank_in_the_environment_is_an_error_unless_the_trial_has_one_worker():
    assert worker_from_env(1, {}) == Worker(0, 1)
    with pytest.raises(CandleInputError, match="found no rank in its environment"):
        worker_from_env(2, {"PATH": "/bin"})


def test_the_rendezvous_gives_every_worker_the_same_addresses_in_rank_order(tmp_path):
    found = {}

    def meet(rank):
        found[rank] = rendezvous(tmp_path, Worker(rank, 3), host="127.0.0.1")

    threads = [threading.Thread(target=meet, args=(rank,)) for rank in (2, 0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert found[0] == found[1] == found[2]
    ports = [json.loads((tmp_path / f"rank-{rank}.json").read_text())["port"] for rank in range(3)]
    assert found[0] == [f"127.0.0.1:{port}" for port in ports]
    config = json.loads(tf_config(found[0], Worker(2, 3)))
    assert config == {"cluster": {"worker": found[0]}, "task": {"type": "worker", "index": 2}}


def test_a_worker_that_never_comes_times_the_rendezvous_out_naming_it(tmp_path):
    with pytest.raises(TimeoutError, match=r"workers \[1, 2\] of 3 did not start within 0.3 s"):
        rendezvous(tmp_path, Worker(0, 3), timeout=0.3, host="127.0.0.1")


def test_the_launcher_command_fills_in_workers_and_threads():
    assert launcher_command("srun --ntasks={workers} -c {threads}", 4, 2) == ["srun", "--ntasks=4", "-c", "2"]
    with pytest.raises(CandleInputError, match=r"resources.worker_launcher: 'srun -n \{tasks\}' is not a launcher"):
        launcher_command("srun -n {tasks}", 2, 1)


def test_local_workers_get_their_ranks(tmp_path):
    script = "import os, pathlib, sys; pathlib.Path(sys.argv[1], os.environ['CANDLE_WORKER_RANK']).write_text(os.environ['CANDLE_WORKERS'])"
    run_local_workers([sys.executable, "-c", script, str(tmp_path)], 3, poll=0.05)
    assert {path.name: path.read_text() for path in tmp_path.iterdir()} == {"0": "3", "1": "3", "2": "3"}


def test_a_failing_worker_stops_the_others_at_once(tmp_path):
    # rank 1 fails at once; rank 0 would write its file after 60 s: it is stopped long before
    script = (
        "import os, pathlib, sys, time\n"
        "if os.environ['CANDLE_WORKER_RANK'] == '1': sys.exit(3)\n"
        "time.sleep(60); pathlib.Path(sys.argv[1], 'finished').touch()"
    )
    started = time.monotonic()
    with pytest.raises(WorkersFailed, match=r"worker\(s\) \[1\] of 2 stopped \(exit codes \{1: 3\}\)"):
        run_local_workers([sys.executable, "-c", script, str(tmp_path)], 2, poll=0.05)
    assert time.monotonic() - started < 20
    assert not (tmp_path / "finished").exists()


def test_a_training_job_asks_for_all_its_workers():
    spec = {"params": {"strategy": "multi_worker", "model": "nt3"}}
    local = {"trial_threads": 2, "workers_per_trial": 3, "worker_launcher": "local"}
    srun = {"trial_threads": 2, "workers_per_trial": 3, "worker_launcher": "srun --ntasks={workers}"}
    assert workers_of(spec, local) == 3 and workers_of({"params": {"strategy": "mirrored", "model": "nt3"}}, local) == 1
    assert workers_of({"params": {"strategy": "multi_worker", "model": "command"}}, local) == 1
    # local workers share the job's node: its threads are all of theirs; launched ones are tasks
    assert (job_threads(local, 3), job_tasks(local, 3)) == (6, 1)
    assert (job_threads(srun, 3), job_tasks(srun, 3)) == (2, 3)
    assert mpi_resource(srun) == {"mpi": "srun"}
    assert mpi_resource(local) == {} and mpi_resource({**srun, "workers_per_trial": 1}) == {}
