"""Where a training process runs on its node: its GPU (candle_lib.hpc.gpu_slots) and the copy of the
prepared dataset it reads (candle_lib.hpc.staging). Called once at the start of every training
process, before TensorFlow starts.

The GPU it bound is remembered for the process (:func:`bound_gpu`): TensorFlow's start-up
(:func:`candle_lib.trial.tf_setup.configure_tensorflow`) checks that it can see it, as
``resources.gpu_fallback`` says (:func:`candle_lib.hpc.devices.require_visible_gpu`)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from candle_lib.hpc.devices import BoundGpu, names_a_device
from candle_lib.hpc.gpu_slots import Binding, bind_gpu
from candle_lib.hpc.staging import stage_prepared

_BOUND_GPU: BoundGpu | None = None


def place_trial(resources: dict | None, dataset: Path) -> Path:
    """Bind this process's GPU and stage the dataset as ``resources`` (the config's section)
    says; return the dataset directory to read. Prints one line for the trial's log."""
    global _BOUND_GPU
    resources = resources or {}
    binding = bind_gpu(resources)
    _BOUND_GPU = gpu_of_binding(binding, resources.get("gpu_fallback", "error"))
    print(f"placement: host {socket.gethostname()}, {binding.describe()}", flush=True)
    return stage_prepared(dataset, resources.get("local_storage"))


def gpu_of_binding(binding: Binding, fallback: str = "error", env=None) -> BoundGpu | None:
    """The GPU a launcher's or a slot's binding gives this process, if its variable names one."""
    env = os.environ if env is None else env
    if binding.how not in ("launcher", "slot") or binding.variable is None:
        return None
    value = env.get(binding.variable, "")
    return BoundGpu(binding.variable, value, fallback) if names_a_device(value) else None


def bound_gpu() -> BoundGpu | None:
    """The GPU :func:`place_trial` bound to this process (None: none, or not placed)."""
    return _BOUND_GPU


def forget_placement() -> None:
    """Forget the bound GPU (a process that places several trials in turn, and tests)."""
    global _BOUND_GPU
    _BOUND_GPU = None
