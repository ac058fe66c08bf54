"""TensorFlow start-up for one trial process: thread counts, seeds, determinism, device,
mixed precision."""

from __future__ import annotations

import os

LOGICAL_CPUS_ENV = "CANDLE_LOGICAL_CPUS"  # split the CPU into N logical devices (tests of 'mirrored')


def configure_tensorflow(threads: int, seed: int, *, mixed_precision: bool = False, deterministic: bool = True) -> str:
    """Limit TF to the job's cores (so parallel trials on one node do not oversubscribe it),
    seed every generator, make ops deterministic (Keras turns XLA off under op determinism, so an
    XLA trial passes ``deterministic=False``: seeded, but not bit-reproducible), turn on float16
    compute when asked and a GPU is present; return the device used ('cpu' or 'gpu:N')."""
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
    gpus = tf.config.list_physical_devices("GPU")
    keras.mixed_precision.set_global_policy("mixed_float16" if mixed_precision and gpus else "float32")
    if not gpus:
        return "cpu"
    from candle_lib.hpc.gpu_slots import physical_device

    return f"gpu:{physical_device(int(gpus[0].name.rsplit(':', 1)[-1]))}"
