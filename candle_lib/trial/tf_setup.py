"""TensorFlow start-up for one trial process: thread counts, seeds, determinism, device,
mixed precision."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

LOGICAL_CPUS_ENV = "CANDLE_LOGICAL_CPUS"  # split the CPU into N logical devices (tests of 'mirrored')


@dataclass(frozen=True)
class TrialDevice:
    """What a trial runs on: ``device`` ('cpu' or 'gpu:N', the node's device number), the Keras
    ``precision`` policy, and the ``tensorflow`` build {version, build}."""

    device: str
    precision: str
    tensorflow: dict


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def configure_tensorflow(
    threads: int, seed: int, *, mixed_precision=False, deterministic: bool = True, log=_stderr
) -> TrialDevice:
    """Limit TF to the job's cores (so parallel trials on one node do not oversubscribe it),
    seed every generator, make ops deterministic (Keras turns XLA off under op determinism, so an
    XLA trial passes ``deterministic=False``: seeded, but not bit-reproducible), check that a GPU
    the placement bound is visible (:func:`candle_lib.hpc.devices.require_visible_gpu`), set the
    mixed precision policy the ``mixed_precision`` setting gives on the visible GPUs
    (:func:`candle_lib.hpc.devices.mixed_precision_policy`); return what the trial runs on."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(max(1, threads))
        tf.config.threading.set_inter_op_parallelism_threads(max(1, threads))
        logical = int(os.environ.get(LOGICAL_CPUS_ENV, "0"))
        if logical > 1:
            cpu = tf.config.list_physical_devices("CPU")[0]
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * logical)
    except RuntimeError:  # already initialized in this process (e.g. tests): keep its setting
        pass
    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    else:  # a trial process starts without it; this undoes an earlier trial's in the same process
        from tensorflow.python.framework import config as framework_config

        framework_config.disable_op_determinism()
    from candle_lib.hpc.devices import mixed_precision_policy, require_visible_gpu, tensorflow_build, visible_gpus
    from candle_lib.hpc.gpu_slots import physical_device
    from candle_lib.hpc.placement import bound_gpu

    build, gpus = tensorflow_build(), visible_gpus()
    require_visible_gpu(bound_gpu(), len(gpus), build, log)
    precision = mixed_precision_policy(mixed_precision, gpus)
    keras.mixed_precision.set_global_policy(precision)
    device = f"gpu:{physical_device(gpus[0]['index'])}" if gpus else "cpu"
    return TrialDevice(device, precision, {"version": build["version"], "build": build["build"]})
