"""GPU slot locks with fake device counts: one device per concurrent process, CUDA/HIP binding,
a launcher's binding kept, devices detected from driver files."""

from __future__ import annotations

import subprocess
import sys

import pytest

from candle_lib.hpc import gpu_slots
from candle_lib.hpc.gpu_slots import (
    GpuInventory,
    acquire_slot,
    bind_gpu,
    detect_gpus,
    physical_device,
    release_gpu,
)


@pytest.fixture
def clean_binding(monkeypatch):
    for name in gpu_slots.BINDING_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    release_gpu()
    yield
    release_gpu()


def test_slots_give_each_concurrent_process_its_own_device(tmp_path):
    """Four processes hold slots on a fake 4-device node: four different devices; a fifth waits."""
    code = (
        "import sys, time; from candle_lib.hpc.gpu_slots import acquire_slot\n"
        f"devices, handles = acquire_slot({str(tmp_path)!r}, 4)\n"
        "print(devices[0], flush=True); time.sleep(3)\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(4)]
    first = sorted(int(p.stdout.readline()) for p in procs)
    assert first == [0, 1, 2, 3]
    with pytest.raises(TimeoutError):
        acquire_slot(tmp_path, 4, timeout=0.5, poll=0.1)
    for p in procs:
        p.wait()
    devices, handles = acquire_slot(tmp_path, 4, timeout=5)  # freed when the processes ended
    assert devices == (0,)


def test_bind_sets_cuda_or_hip_visible_devices(tmp_path, clean_binding):
    env = {}
    binding = bind_gpu({"gpu_lock_dir": str(tmp_path)}, env=env, inventory=GpuInventory(8, "amd"))
    assert binding.how == "slot" and env == {"HIP_VISIBLE_DEVICES": "0"}
    assert bind_gpu({}, env={}) is binding  # once per process
    release_gpu()
    held = acquire_slot(tmp_path, 2)  # device 0 taken by someone else
    env = {}
    binding = bind_gpu({"gpu_lock_dir": str(tmp_path)}, env=env, inventory=GpuInventory(2, "nvidia"))
    assert env == {"CUDA_VISIBLE_DEVICES": "1"} and binding.devices == (1,)
    assert physical_device(0, env) == 1
    del held


def test_launcher_binding_is_kept_and_zero_hides_gpus(clean_binding):
    env = {"CUDA_VISIBLE_DEVICES": "3"}
    binding = bind_gpu({}, env=env, inventory=GpuInventory(4, "nvidia"))
    assert binding.how == "launcher" and binding.devices == (3,) and env == {"CUDA_VISIBLE_DEVICES": "3"}
    release_gpu()
    env = {}
    assert bind_gpu({"gpus_per_trial": 0}, env=env, inventory=GpuInventory(4, "nvidia")).how == "hidden"
    assert env == {"CUDA_VISIBLE_DEVICES": ""}
    release_gpu()
    assert bind_gpu({}, env={}, inventory=GpuInventory(0, "none")).how == "none"


def test_detect_gpus_from_driver_files(tmp_path, monkeypatch):
    monkeypatch.delenv("CANDLE_GPU_COUNT", raising=False)
    for i in range(4):
        (tmp_path / "proc/driver/nvidia/gpus" / f"0000:0{i}:00.0").mkdir(parents=True)
    assert detect_gpus(str(tmp_path)) == GpuInventory(4, "nvidia")
    amd = tmp_path / "amd"
    for node, simd in enumerate([0, 440, 440]):  # a CPU agent, then two GCDs
        (amd / f"sys/class/kfd/kfd/topology/nodes/{node}").mkdir(parents=True)
        (amd / f"sys/class/kfd/kfd/topology/nodes/{node}/properties").write_text(
            f"cpu_cores_count 8\nsimd_count {simd}\n"
        )
    assert detect_gpus(str(amd)) == GpuInventory(2, "amd")
    monkeypatch.setenv("CANDLE_GPU_COUNT", "8:amd")
    assert detect_gpus(str(tmp_path)) == GpuInventory(8, "amd")
