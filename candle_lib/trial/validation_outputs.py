"""The model's outputs of a trial's last validation pass, so that its prediction of the same rows
need not run the model over them again.

After the last epoch Keras validates on the eval rows, and the trial then predicts the same rows
with the same weights in the same batches: the same outputs, computed twice. :class:`ValidationOutputs`
keeps the outputs of each validation pass as Keras' own ``test_step`` computes them (it hands
them to ``compute_metrics``), and :meth:`ValidationOutputs.current` gives them back only while
the model still has the weights they came from: no training batch since, and the weights
restored after early stopping, if any, those of that same epoch. The validation metrics, the
history and every callback are exactly as before: Keras' own ``test_step`` runs unchanged.
"""

from __future__ import annotations

import numpy as np

from candle_lib.trial.lean_keras import import_keras

keras = import_keras()


class ValidationOutputs(keras.callbacks.Callback):
    """Keeps the ``n_rows`` outputs of every validation pass of ``model.fit``; see the module.

    :meth:`attach` installs it on a model before ``fit`` (it wraps the model's ``test_step`` and
    ``compute_metrics`` for the validation function to hand over its outputs) and
    :meth:`detach` takes the wrappers off after ``fit``."""

    def __init__(self, n_rows: int):
        super().__init__()
        self.n_rows = n_rows
        self.parts: list[np.ndarray] = []
        self.epoch: int | None = None  # 1-based epoch of the weights the kept outputs came from
        self._in_test_step = False

    # ----------------------------------------------------------------------- wrappers --

    def attach(self, model) -> ValidationOutputs:
        test_step, compute_metrics = model.test_step, model.compute_metrics

        def kept_test_step(data):
            self._in_test_step = True  # while TensorFlow traces the validation step
            try:
                return test_step(data)
            finally:
                self._in_test_step = False

        def kept_compute_metrics(x, y, y_pred, sample_weight=None):
            if self._in_test_step:
                self._keep_in_graph(y_pred)
            return compute_metrics(x, y, y_pred, sample_weight=sample_weight)

        model.test_step, model.compute_metrics = kept_test_step, kept_compute_metrics
        model.make_test_function(force=True)  # traced with the wrappers at the first validation
        return self

    @staticmethod
    def detach(model) -> None:
        for name in ("test_step", "compute_metrics"):
            model.__dict__.pop(name, None)
        model.make_test_function(force=True)

    def _keep_in_graph(self, y_pred) -> None:
        """Send the batch's outputs to :meth:`_keep` from the traced step (an op TensorFlow runs
        because it is stateful). Outputs of several tensors are not kept."""
        import tensorflow as tf

        if not tf.is_tensor(y_pred) or not y_pred.dtype.is_floating:
            return
        tf.numpy_function(self._keep, [y_pred], tf.int64, stateful=True, name="keep_validation_outputs")

    def _keep(self, outputs: np.ndarray) -> np.int64:
        self.parts.append(np.array(outputs, dtype=np.float64))
        return np.int64(len(self.parts))

    # ---------------------------------------------------------------------- callbacks --

    def on_test_begin(self, logs=None):
        self.parts, self.epoch = [], None

    def on_train_batch_begin(self, batch, logs=None):
        self.parts, self.epoch = [], None  # the weights change: the kept outputs are stale

    def on_epoch_end(self, epoch, logs=None):
        if sum(len(part) for part in self.parts) == self.n_rows:
            self.epoch = epoch + 1

    # ------------------------------------------------------------------------- result --

    def current(self, weights_epoch: int | None) -> np.ndarray | None:
        """The kept outputs (float64, one row per eval row, in order) if they came from the
        weights of epoch ``weights_epoch`` (1-based; None: the weights training ended with);
        None when they did not, or when none are kept."""
        if self.epoch is None or (weights_epoch is not None and weights_epoch != self.epoch):
            return None
        return np.concatenate(self.parts)
