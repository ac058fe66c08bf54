"""Keras callbacks of a trial. Their state is saved in checkpoints, so a resumed trial behaves
exactly like an uninterrupted one (Keras' own EarlyStopping/ReduceLROnPlateau reset their state
at the start of every fit call, so they cannot be resumed)."""

from __future__ import annotations

import math
import threading
import time

import numpy as np

from candle_lib.trial.checkpoint import checkpoint_arrays, save_checkpoint
from candle_lib.trial.lean_keras import import_keras

keras = import_keras()


class TrialMonitor(keras.callbacks.Callback):
    """One history row and one log line per epoch; stops training when the loss becomes NaN/inf
    or when ``timeout`` seconds of training (summed over restarts) have passed, keeping the
    reason in ``stop_reason``."""

    def __init__(self, epochs: int, timeout: float, log=print, elapsed_before: float = 0.0, rows=None):
        super().__init__()
        self.epochs = epochs
        self.timeout = timeout
        self.log = log
        self.rows: list[dict] = list(rows or [])
        self.stop_reason: str | None = None
        self.start = time.monotonic() - elapsed_before
        self.epoch = 0

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.epoch_start = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.stop_reason = f"loss became {float(loss)} at epoch {self.epoch + 1}, batch {batch + 1}"
            self.model.stop_training = True
        elif self.elapsed() > self.timeout:
            self.stop_reason = f"timeout: training exceeded {self.timeout:g} s at epoch {self.epoch + 1}"
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}}
        row["learning_rate"] = float(self.model.optimizer.learning_rate.numpy())  # the rate this epoch used
        row["seconds"] = time.monotonic() - self.epoch_start
        self.rows.append(row)
        shown = " ".join(f"{k}={v:.4g}" for k, v in row.items() if k not in ("epoch", "seconds"))
        self.log(f"epoch {epoch + 1}/{self.epochs} {shown} ({row['seconds']:.1f}s)")


class PlateauTracker(keras.callbacks.Callback):
    """Best-model tracking, early stopping and ReduceLROnPlateau in one resumable callback.

    Watches ``monitor`` (val_loss, or loss without validation data). On improvement it records
    the best epoch and keeps the best weights; after ``early_stopping`` epochs without improvement
    it stops training; after ``reduce_lr`` such epochs it halves the learning rate.
    """

    def __init__(self, monitor: str, early_stopping: int = 0, reduce_lr: int = 0, log=print):
        super().__init__()
        self.monitor = monitor
        self.early_stopping = early_stopping
        self.reduce_lr = reduce_lr
        self.log = log
        self.best = math.inf
        self.best_epoch = 0
        self.wait = 0
        self.lr_wait = 0
        self.best_weights: list[np.ndarray] | None = None
        self.stopped_early = False

    def state(self) -> dict:
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait, "lr_wait": self.lr_wait}

    def load(self, state: dict, best_weights: list[np.ndarray] | None) -> None:
        self.best, self.best_epoch = state["best"], state["best_epoch"]
        self.wait, self.lr_wait = state["wait"], state["lr_wait"]
        self.best_weights = best_weights

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not math.isfinite(value):
            return
        if value < self.best:
            self.best, self.best_epoch, self.wait, self.lr_wait = float(value), epoch + 1, 0, 0
            if self.early_stopping:  # the best weights are restored only when training stops early
                self.best_weights = None  # the old copy goes before the new one is made
                self.best_weights = [np.array(v) for v in self.model.weights]
            return
        self.wait += 1
        self.lr_wait += 1
        if self.reduce_lr and self.lr_wait >= self.reduce_lr:
            optimizer = self.model.optimizer
            optimizer.learning_rate.assign(float(optimizer.learning_rate.numpy()) * 0.5)
            self.lr_wait = 0
            self.log(f"epoch {epoch + 1}: learning rate reduced to {float(optimizer.learning_rate.numpy()):.3g}")
        if self.early_stopping and self.wait >= self.early_stopping:
            self.stopped_early = True
            self.model.stop_training = True
            self.log(
                f"epoch {epoch + 1}: early stopping, best {self.monitor}={self.best:.4g} at epoch {self.best_epoch}"
            )


class Checkpointer(keras.callbacks.Callback):
    """Save a checkpoint every ``every`` epochs (and at the last epoch), written in the background.

    At the end of the epoch the arrays are taken as they are (:func:`checkpoint_arrays`, no copy)
    with the history and the callbacks' state, and a thread writes them while training goes on:
    training does not wait for the disk. A checkpoint is started only once the one before it is
    written; :meth:`wait` (at the end of training, and by the trial whatever way training ends)
    waits for the one in flight and raises its error (a full disk), as writing it in place would.
    A kill while one is written leaves the previous one (the write is atomic)."""

    def __init__(
        self, directory, every: int, epochs: int, monitor: TrialMonitor, tracker: PlateauTracker, fingerprint: str
    ):
        super().__init__()
        self.directory = directory
        self.every = every
        self.epochs = epochs
        self.monitor = monitor
        self.tracker = tracker
        self.fingerprint = fingerprint
        self._writer: threading.Thread | None = None
        self._error: BaseException | None = None

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        if self.every and (done % self.every == 0 or done == self.epochs) and not self.model.stop_training:
            self.wait()
            extra = {
                "fingerprint": self.fingerprint,
                "history": [dict(row) for row in self.monitor.rows],
                # the state is written with sorted keys: the column order of history.csv kept apart
                "history_columns": list(self.monitor.rows[-1]) if self.monitor.rows else [],
                "elapsed": self.monitor.elapsed(),
                "tracker": self.tracker.state(),
            }
            arrays = checkpoint_arrays(self.model, self.model.optimizer, self.tracker.best_weights)
            self._writer = threading.Thread(
                target=self._write, args=(arrays, done, extra), name=f"checkpoint-{done}", daemon=False
            )
            self._writer.start()

    def _write(self, arrays: list, epoch: int, extra: dict) -> None:
        try:
            save_checkpoint(self.directory, arrays, epoch=epoch, extra=extra)
        except BaseException as exc:  # noqa: BLE001 -- raised in the training thread by wait()
            self._error = exc

    def on_train_end(self, logs=None):
        self.wait()

    def wait(self) -> None:
        """Wait for the checkpoint being written, if any; raise the error its writing met."""
        if self._writer is not None:
            self._writer.join()
            self._writer = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error
