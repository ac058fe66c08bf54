"""TensorFlow start-up for one trial process: thread counts, seeds, determinism, device."""

from __future__ import annotations

import os


def configure_tensorflow(threads: int, seed: int) -> str:
    """Limit TF to the job's cores (so parallel trials on one node do not oversubscribe it),
    seed every generator, make CPU ops deterministic; return the device used ('cpu' or 'gpu:N')."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(max(1, threads))
        tf.config.threading.set_inter_op_parallelism_threads(max(1, threads))
    except RuntimeError:  # already initialized in this process (e.g. tests): keep its setting
        pass
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    gpus = tf.config.list_physical_devices("GPU")
    return f"gpu:{gpus[0].name.rsplit(':', 1)[-1]}" if gpus else "cpu"
