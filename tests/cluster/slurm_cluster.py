"""A real single-node SLURM for the tests: munged, slurmctld and slurmd on localhost, each started
in the foreground by this module (so its PID is known) with every file, socket and port private
to one temporary directory, and stopped by PID.

No accounting database: ``sacct`` answers nothing useful, so Snakemake's SLURM plugin is told to
poll ``squeue`` (MinJobAge is 300 s, at least 3x the polling interval, so a finished job stays
visible to squeue long enough). Two fake GPUs (GRES files /dev/null and /dev/zero) let SLURM bind
a device per job step exactly as it does real GPUs: it sets CUDA_VISIBLE_DEVICES.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / ".ci" / "install-slurm.sh"
BINARIES = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "srun")
FAKE_GPUS = ("/dev/null", "/dev/zero")
MARKER = "# written by tests/cluster/slurm_cluster.py; removed when its cluster stops\n"


def unavailable_reason() -> str | None:
    """None when a SLURM can be started here (installing it with apt as root if needed)."""
    if all(shutil.which(b) for b in BINARIES):
        return None
    if os.geteuid() != 0:
        return "SLURM is not installed and installing it needs root (run .ci/install-slurm.sh as root)"
    if not shutil.which("apt-get"):
        return "SLURM is not installed and there is no apt-get to install it (Debian: .ci/install-slurm.sh)"
    result = subprocess.run(["bash", str(INSTALL)], capture_output=True, text=True, timeout=600)
    if result.returncode != 0 or not all(shutil.which(b) for b in BINARIES):
        return f".ci/install-slurm.sh failed ({result.returncode}): {result.stderr[-2000:]}"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise RuntimeError("no MemTotal in /proc/meminfo")


class SlurmCluster:
    """``with SlurmCluster(root) as cluster:`` -- ``cluster.env`` is the environment for
    sbatch/squeue/snakemake (it points SLURM_CONF at this cluster)."""

    def __init__(self, root: Path, *, cpus: int | None = None):
        self.root = Path(root)
        self.cpus = cpus or os.cpu_count() or 1
        self.node = socket.gethostname().split(".")[0]
        self.processes: dict[str, subprocess.Popen] = {}
        self.wrote_default = False
        self.conf = self.root / "etc" / "slurm.conf"
        self.munge_socket = self.root / "munge" / "munge.socket"
        self.env = dict(os.environ, SLURM_CONF=str(self.conf))
        for name in ("SLURM_JOB_ID", "SLURM_JOBID"):  # not inside some outer allocation
            self.env.pop(name, None)

    def write_config(self) -> None:
        for sub in ("etc", "state", "spool", "log", "munge"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.root / "munge", 0o755)
        r = self.root
        self.conf.write_text(
            f"""ClusterName=candletest
SlurmctldHost={self.node}
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={self.munge_socket}
CredType=cred/munge
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool
SlurmctldPidFile={r}/slurmctld.pid
SlurmdPidFile={r}/slurmd.pid
SlurmctldLogFile={r}/log/slurmctld.log
SlurmdLogFile={r}/log/slurmd.log
JobCompType=jobcomp/filetxt
JobCompLoc={r}/log/jobcomp.txt
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
MinJobAge=300
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=500
GresTypes=gpu
NodeName={self.node} CPUs={self.cpus} RealMemory={int(_memory_mb() * 0.9)} Gres=gpu:{len(FAKE_GPUS)} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""
        )
        # The SLURM plugin's job step drops SLURM_* variables (SLURM_CONF too) before its inner
        # srun, which then reads the default /etc/slurm/slurm.conf: put this cluster's there too,
        # unless a real one exists (removed again by stop()).
        default = Path("/etc/slurm/slurm.conf")
        if not default.exists() and default.parent.is_dir():
            default.write_text(MARKER + self.conf.read_text())
            (default.parent / "gres.conf").write_text(
                MARKER + f"NodeName={self.node} Name=gpu File={','.join(FAKE_GPUS)}\n"
            )
            self.wrote_default = True
        (r / "etc" / "gres.conf").write_text(f"NodeName={self.node} Name=gpu File={','.join(FAKE_GPUS)}\n")

    def _start(self, name: str, argv: list[str]) -> None:
        log = open(self.root / "log" / f"{name}.out", "w")
        self.processes[name] = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
        )

    def start(self, timeout: float = 60.0) -> SlurmCluster:
        self.write_config()
        key = self.root / "munge" / "munge.key"
        subprocess.run(["mungekey", "--create", "--keyfile", str(key), "--force"], check=True, capture_output=True)
        os.chmod(key, 0o600)
        self._start(
            "munged",
            [
                "munged",
                "--foreground",
                "--force",
                f"--socket={self.munge_socket}",
                f"--key-file={key}",
                f"--pid-file={self.root / 'munge' / 'munged.pid'}",
                f"--seed-file={self.root / 'munge' / 'seed'}",
                f"--log-file={self.root / 'log' / 'munged.log'}",
            ],
        )
        self._wait(lambda: self.munge_socket.exists(), timeout, "munged's socket")
        self._start("slurmctld", ["slurmctld", "-D", "-f", str(self.conf)])
        self._start("slurmd", ["slurmd", "-D", "-f", str(self.conf)])
        self._wait(self._node_idle, timeout, "the node to come up idle")
        return self

    def _node_idle(self) -> bool:
        for name, proc in self.processes.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited ({proc.returncode}):\n{self.logs()}")
        result = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], capture_output=True, text=True, env=self.env)
        return result.returncode == 0 and result.stdout.strip() == "idle"

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what}:\n{self.logs()}")
            time.sleep(0.2)

    def logs(self) -> str:
        out = []
        for path in sorted((self.root / "log").glob("*")):
            out.append(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(out)

    def stop(self) -> None:
        """Stop the daemons by PID (slurmd, slurmctld, then munged); kill what does not stop."""
        if self.processes.get("slurmctld") and self.processes["slurmctld"].poll() is None:
            self.run("scancel", "--full", f"--user={os.getuid()}", timeout=30)  # no job outlives the cluster
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self.processes.pop(name, None)
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if self.wrote_default:
            for name in ("slurm.conf", "gres.conf"):
                path = Path("/etc/slurm") / name
                if path.exists() and path.read_text().startswith(MARKER):
                    path.unlink()
            self.wrote_default = False

    def run(self, *argv: str, **kwargs) -> subprocess.CompletedProcess:
        kwargs.setdefault("env", self.env)
        return subprocess.run(list(argv), capture_output=True, text=True, **kwargs)

    def __enter__(self) -> SlurmCluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()
