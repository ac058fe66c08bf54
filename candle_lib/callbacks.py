"""Keras callbacks of a trial: per-epoch history and log lines, NaN guard, wall-clock timeout."""

from __future__ import annotations

import math
import time

import keras


class TrialMonitor(keras.callbacks.Callback):
    """Records one history row per epoch, writes a progress line per epoch to ``log``, stops
    training when the loss becomes NaN/inf or when ``timeout`` seconds have passed, and keeps the
    reason in ``stop_reason``."""

    def __init__(self, epochs: int, timeout: float, log=print):
        super().__init__()
        self.epochs = epochs
        self.timeout = timeout
        self.log = log
        self.rows: list[dict] = []
        self.stop_reason: str | None = None
        self.start = time.monotonic()
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.epoch_start = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.stop_reason = f"loss became {float(loss)} at epoch {self.epoch + 1}, batch {batch + 1}"
            self.model.stop_training = True
        elif time.monotonic() - self.start > self.timeout:
            self.stop_reason = f"timeout: training exceeded {self.timeout:g} s at epoch {self.epoch + 1}"
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}}
        row["seconds"] = time.monotonic() - self.epoch_start
        self.rows.append(row)
        shown = " ".join(f"{k}={v:.4g}" for k, v in row.items() if k not in ("epoch", "seconds"))
        self.log(f"epoch {epoch + 1}/{self.epochs} {shown} ({row['seconds']:.1f}s)")
