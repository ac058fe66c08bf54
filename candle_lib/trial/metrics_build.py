"""The compiled metrics of a Keras model built before training, so its training step is traced
once, not twice (issue 18: the fixed cost of a trial in a bundle).

Without a distribution strategy Keras builds the metrics given to ``compile`` (their variables)
inside the first trace of the training step, and TensorFlow traces a function a second time when
its first trace made variables: half of the training function's tracing, 0.2-0.6 s a trial
measured by bench/bench_bundle_overhead.py. The metric variables are not model variables (not
in checkpoints), and fit resets them at the start of every epoch.
"""

from __future__ import annotations

import numpy as np


def build_compiled_metrics(model) -> None:
    """Build ``model``'s compiled metrics now, on one row of zeros, then reset them. Only a model
    of one output of known shape; any other is left to Keras (built in the first trace)."""
    metrics = getattr(model, "_compile_metrics", None)
    if metrics is None or metrics.built or len(model.outputs) != 1:
        return
    tail = tuple(model.outputs[0].shape[1:])
    if not all(isinstance(size, int) for size in tail):
        return
    row = np.zeros((1, *tail), dtype="float32")
    try:
        model.compute_metrics(None, row, row)
    except Exception:  # noqa: BLE001 -- a metric that needs other targets: built in the first trace, as by default
        return
    finally:
        model.reset_metrics()
