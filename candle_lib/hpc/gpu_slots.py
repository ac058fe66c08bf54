"""One GPU per trial process, chosen by the process itself.

Snakemake counts GPUs as a resource but never says *which* device a job may use. A trial that
runs beside others on one node therefore binds itself, once per process, before TensorFlow
starts:

- if a launcher already bound it (``srun --gpus=1``, ``jsrun -g1``, ``mpiexec`` with a
  per-rank affinity script, or the user), ``CUDA_VISIBLE_DEVICES`` / ``HIP_VISIBLE_DEVICES`` /
  ``ROCR_VISIBLE_DEVICES`` is set and is kept as it is;
- otherwise it takes the first free *slot*: one lock file per device in a node-local directory,
  held with ``flock`` for the life of the process. The kernel drops the lock when the process
  ends, killed or not, so no slot is ever left stale. It then sets ``CUDA_VISIBLE_DEVICES``
  (NVIDIA) or ``HIP_VISIBLE_DEVICES`` (AMD ROCm) to that device.

The physical device used is recorded in the trial's metrics (``device``: ``gpu:<n>``), via
:func:`physical_device`.
"""

from __future__ import annotations

import fcntl
import glob
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BINDING_VARIABLES = ("CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES")
VARIABLE_OF_VENDOR = {"nvidia": "CUDA_VISIBLE_DEVICES", "amd": "HIP_VISIBLE_DEVICES"}
COUNT_OVERRIDE = "CANDLE_GPU_COUNT"  # "<n>" or "<n>:<vendor>": GPUs of this node, when detection cannot see them
LOCK_DIR_ENV = "CANDLE_GPU_LOCK_DIR"


@dataclass(frozen=True)
class GpuInventory:
    count: int
    vendor: str  # "nvidia", "amd" or "none"


@dataclass
class Binding:
    """How this process got its device(s): 'launcher', 'slot', 'hidden' (CPU only) or 'none'."""

    how: str
    variable: str | None = None
    devices: tuple[int, ...] = ()
    lock_files: tuple[Path, ...] = ()
    _handles: tuple = ()

    def release(self) -> None:
        for handle in self._handles:
            handle.close()  # closing the descriptor drops the flock
        self._handles = ()

    def describe(self) -> str:
        if self.how == "slot":
            return (
                f"{self.variable}={','.join(map(str, self.devices))} (slot lock {', '.join(map(str, self.lock_files))})"
            )
        if self.how == "launcher":
            return f"{self.variable}={os.environ.get(self.variable, '')} (set by the launcher)"
        if self.how == "hidden":
            return "GPUs hidden (resources.gpus_per_trial = 0)"
        return "no GPU on this node"


def detect_gpus(root: str = "/") -> GpuInventory:
    """The GPUs of this node, without starting any GPU runtime: NVIDIA devices from
    /proc/driver/nvidia/gpus, AMD ones (each GCD of an MI250X counts) from the KFD topology.
    ``CANDLE_GPU_COUNT`` overrides (e.g. ``8:amd``)."""
    override = os.environ.get(COUNT_OVERRIDE)
    if override:
        count, _, vendor = override.partition(":")
        return GpuInventory(int(count), vendor or ("nvidia" if int(count) else "none"))
    nvidia = glob.glob(os.path.join(root, "proc/driver/nvidia/gpus/*"))
    if nvidia:
        return GpuInventory(len(nvidia), "nvidia")
    amd = 0
    for properties in glob.glob(os.path.join(root, "sys/class/kfd/kfd/topology/nodes/*/properties")):
        try:
            fields = dict(line.split()[:2] for line in Path(properties).read_text().splitlines() if line.strip())
        except (OSError, ValueError):
            continue
        if int(fields.get("simd_count", "0")) > 0:  # CPU agents have no SIMD units
            amd += 1
    return GpuInventory(amd, "amd") if amd else GpuInventory(0, "none")


def default_lock_dir() -> Path:
    """Node-local: /tmp (or $TMPDIR) is per node on every cluster, so slots never span nodes."""
    return Path(os.environ.get(LOCK_DIR_ENV) or Path(tempfile.gettempdir()) / f"candle-gpu-slots-{os.getuid()}")


def launcher_binding(env=None) -> str | None:
    """The variable a launcher or the user set to bind devices, if any."""
    env = os.environ if env is None else env
    return next((name for name in BINDING_VARIABLES if env.get(name) is not None), None)


def acquire_slot(
    lock_dir: Path, n_devices: int, per_trial: int = 1, *, timeout: float = 24 * 3600.0, poll: float = 0.5
) -> tuple[tuple[int, ...], tuple]:
    """Lock ``per_trial`` free devices out of ``n_devices`` (lock files ``gpu<i>.lock``); wait
    while all are taken. Returns (device indices, open lock handles)."""
    if per_trial > n_devices:
        raise ValueError(f"a trial asks for {per_trial} GPUs but this node has {n_devices}")
    lock_dir = Path(lock_dir)
    lock_dir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    while True:
        taken, handles = [], []
        for index in range(n_devices):
            handle = open(lock_dir / f"gpu{index}.lock", "a+")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            taken.append(index)
            handles.append(handle)
            if len(taken) == per_trial:
                return tuple(taken), tuple(handles)
        for handle in handles:  # not enough free devices: give back the partial set, wait
            handle.close()
        if time.monotonic() > deadline:
            raise TimeoutError(f"no free GPU slot in {lock_dir} after {timeout:.0f} s ({n_devices} devices)")
        time.sleep(poll)


_PROCESS_BINDING: Binding | None = None


def bind_gpu(resources: dict | None = None, *, env=None, inventory: GpuInventory | None = None) -> Binding:
    """Bind this process to its GPU(s) once, before TensorFlow starts; later calls return the
    same binding. ``resources`` is the config's ``resources`` section: ``gpus_per_trial``
    (default 1; 0 hides every GPU) and ``gpu_lock_dir`` (default: node-local temp dir)."""
    global _PROCESS_BINDING
    if _PROCESS_BINDING is not None:
        return _PROCESS_BINDING
    resources = resources or {}
    env = os.environ if env is None else env
    per_trial = int(resources.get("gpus_per_trial", 1))
    bound = launcher_binding(env)
    if bound is not None:
        binding = Binding("launcher", bound, tuple(parse_devices(env[bound])))
    else:
        inventory = inventory or detect_gpus()
        if inventory.count == 0:
            binding = Binding("none")
        elif per_trial == 0:
            variable = VARIABLE_OF_VENDOR.get(inventory.vendor, "CUDA_VISIBLE_DEVICES")
            env[variable] = ""
            binding = Binding("hidden", variable)
        else:
            lock_dir = Path(resources.get("gpu_lock_dir") or default_lock_dir())
            devices, handles = acquire_slot(lock_dir, inventory.count, per_trial)
            variable = VARIABLE_OF_VENDOR.get(inventory.vendor, "CUDA_VISIBLE_DEVICES")
            env[variable] = ",".join(map(str, devices))
            binding = Binding("slot", variable, devices, tuple(lock_dir / f"gpu{i}.lock" for i in devices), handles)
    _PROCESS_BINDING = binding
    return binding


def release_gpu() -> None:
    """Give the process's slot back (the end of the process does the same)."""
    global _PROCESS_BINDING
    if _PROCESS_BINDING is not None:
        _PROCESS_BINDING.release()
    _PROCESS_BINDING = None


def parse_devices(value: str) -> list[int]:
    """'0,3' -> [0, 3]; UUIDs or empty -> []."""
    return [int(part) for part in value.split(",") if part.strip().isdigit()]


def physical_device(logical_index: int, env=None) -> int:
    """The node's device number of the runtime's device ``logical_index`` (the runtime numbers
    the visible devices from 0)."""
    env = os.environ if env is None else env
    for name in BINDING_VARIABLES:
        if env.get(name):
            devices = parse_devices(env[name])
            if logical_index < len(devices):
                return devices[logical_index]
    return logical_index
