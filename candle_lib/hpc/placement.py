"""Where a training process runs on its node: its GPU (candle_lib.hpc.gpu_slots) and the copy of the
prepared dataset it reads (candle_lib.hpc.staging). Called once at the start of every training
process, before TensorFlow starts."""

from __future__ import annotations

import socket
from pathlib import Path

from candle_lib.hpc.gpu_slots import bind_gpu
from candle_lib.hpc.staging import stage_prepared


def place_trial(resources: dict | None, dataset: Path) -> Path:
    """Bind this process's GPU and stage the dataset as ``resources`` (the config's section)
    says; return the dataset directory to read. Prints one line for the trial's log."""
    resources = resources or {}
    binding = bind_gpu(resources)
    print(f"placement: host {socket.gethostname()}, {binding.describe()}", flush=True)
    return stage_prepared(dataset, resources.get("local_storage"))
