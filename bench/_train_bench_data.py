"""Shared data and models of the training benches (bench_train_throughput.py, bench_plugin.py,
bench_train_memory.py); the driver of the two speed benches is bench/_train_bench_driver.py.

- :func:`build_prepared` writes a prepared dataset directory (candle_lib.data.prepared.write_prepared)
  of log2(FPKM-UQ + 1)-like float32 values with a two-class signal, stratified train/val/test
  splits from candle_lib.splits.assign_splits and labels encoded by candle_lib.data.labels, so that
  candle_lib.trial.run.run_trial reads it as it reads any prepared dataset;
- :func:`bench_params` resolves the hyperparameters of the benched models (candle_lib.params.specs);
- :func:`rss_status` / :class:`RssSampler` read the process's memory from /proc/self/status.

The benches run every measured training in a fresh subprocess (``--worker``), so no TensorFlow
state (graphs, allocator pools, thread pools) leaks from one measurement into the next.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]

# The benched model families. "dense" is the dense DNN of CANDLE's hyperparameter table; "nt3"
# is NT3's 1D-CNN layout (two conv layers, pooling, two dense layers) with fewer filters than
# CANDLE's 128, so that an epoch on 2 CPU cores takes seconds rather than minutes.
MODELS = {
    "dense": {"model": "dense", "dense": [256, 64], "dropout": 0.1},
    "nt3": {"model": "nt3", "conv": [16, 20, 1, 16, 10, 1], "pool": [1, 10], "dense": [200, 20], "dropout": 0.1},
}


def bench_params(model: str, **changes) -> dict:
    """Resolved hyperparameters of a benched model (NT3 defaults otherwise: sgd, batch 20,
    maxabs scaling, checkpoint every epoch)."""
    from candle_lib.params.specs import resolve_params

    return resolve_params(MODELS[model], changes)


def make_values(rows: int, cols: int, codes: np.ndarray, seed: int = 0) -> np.ndarray:
    """log2(FPKM-UQ + 1)-like float32 values: ~30% zeros, the rest in about 0..15; the first
    5% of the features are shifted by +1 in class 1 (a learnable signal)."""
    rng = np.random.default_rng(seed)
    out = np.empty((rows, cols), dtype=np.float32)
    signal = max(1, cols // 20)
    for start in range(0, rows, 100):
        stop = min(rows, start + 100)
        block = np.log2(1.0 + rng.lognormal(1.0, 1.5, (stop - start, cols)))
        block[rng.random(block.shape) < 0.3] = 0.0
        block[:, :signal] += codes[start:stop, None]
        out[start:stop] = block
    return out


def build_prepared(directory, n_train: int, n_features: int, *, eval_fraction: float = 0.1, seed: int = 0) -> dict:
    """Write a prepared dataset with about ``n_train`` training rows and ``n_features``
    features, ``eval_fraction`` of all rows in val and as many in test (0.1: 80/10/10; the
    project's default config has 0.2: 60/20/20); return a summary (rows per split, bytes of
    the training rows)."""
    from candle_lib.data.labels import encode_ordinal, fit_classes
    from candle_lib.data.prepared import write_prepared
    from candle_lib.data.split_methods import assign_splits

    directory = Path(directory)
    n_rows = int(round(n_train / (1.0 - 2 * eval_fraction)))
    ids = np.array([f"S{i:06d}" for i in range(n_rows)])
    labels = np.where(np.arange(n_rows) % 2 == 0, "normal", "tumor")
    classes = fit_classes(labels)
    codes = encode_ordinal(labels, classes)
    splits = assign_splits(
        ids, labels, None, test_fraction=eval_fraction, val_fraction=eval_fraction, n_folds=3, seed=seed
    )
    samples = pd.DataFrame(
        {
            "sample_id": ids,
            "label": labels,
            "label_code": codes,
            "group": ids,
            "split": splits["split"].to_numpy(),
            "fold": splits["fold"].to_numpy(),
        }
    )
    features = pd.DataFrame({"feature_id": [f"G{j:06d}" for j in range(n_features)]})
    matrix = make_values(n_rows, n_features, codes, seed)
    preparation = {"normalization": "none", "transform": "none", "filters": {}, "labels": {"encoding": "one_hot"}}
    counts = samples["split"].value_counts().to_dict()
    write_prepared(
        directory, matrix, samples, features, {"preparation": preparation, "classes": classes, "split_counts": counts}
    )
    n_tr = int(counts.get("train", 0))
    n_val = int(counts.get("val", 0))
    return {
        "rows": n_rows,
        "features": n_features,
        "split_counts": counts,
        "train_bytes": n_tr * n_features * 4,
        "val_bytes": n_val * n_features * 4,
    }


def rss_status() -> dict:
    """VmRSS, VmHWM, RssAnon, RssFile of this process in bytes (from /proc/self/status)."""
    out = {}
    with open("/proc/self/status") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem"):
                out[key] = int(value.split()[0]) * 1024
    return out


class RssSampler:
    """Polls /proc/self/status every ``interval`` s in a thread; keeps the largest VmRSS seen
    and its RssAnon/RssFile split, and the largest RssAnon and RssFile seen on their own."""

    def __init__(self, interval: float = 0.005):
        self.interval = interval
        self.peak = {"VmRSS": 0, "RssAnon": 0, "RssFile": 0}
        self.max_anon = 0
        self.max_file = 0
        self.stage = "start"
        self.peak_stage = "start"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.sample()
            time.sleep(self.interval)

    def sample(self):
        s = rss_status()
        if s["VmRSS"] > self.peak["VmRSS"]:
            self.peak = {k: s[k] for k in ("VmRSS", "RssAnon", "RssFile")}
            self.peak_stage = self.stage
        self.max_anon = max(self.max_anon, s["RssAnon"])
        self.max_file = max(self.max_file, s["RssFile"])

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.sample()


def bare_inputs(params: dict, dataset):
    """What a bare ``model.fit`` of the benches trains on: the prepared dataset's train and val
    rows scaled as a trial scales them (fitted on the training rows), with the channel axis a
    conv model needs, and their targets. Returns (task, x_train, y_train, x_val, y_val)."""
    from candle_lib.data.prepared import load_prepared
    from candle_lib.trial.run import CONV_MODELS
    from candle_lib.trial.scaling import apply_scaler, fit_scaler
    from candle_lib.trial.tasks import task_for

    data = load_prepared(dataset)
    train, val = data.rows("train"), data.rows("val")
    scaler = fit_scaler(params["scaling"], data.matrix[train])
    x_train, x_val = apply_scaler(scaler, data.matrix[train]), apply_scaler(scaler, data.matrix[val])
    if params["model"] in CONV_MODELS:
        x_train, x_val = x_train[..., None], x_val[..., None]
    task = task_for(params, data.classes, "one_hot", data.matrix.shape[1])
    y_train, y_val = task.targets(data.samples.iloc[train], x_train), task.targets(data.samples.iloc[val], x_val)
    return task, x_train, y_train, x_val, y_val


def timed_fit(net, x_train, y_train, x_val, y_val, *, batch_size: int, epochs: int):
    """A bare ``net.fit`` (shuffled, validating every epoch); returns (its history, the seconds
    of each epoch from epoch begin to epoch end)."""
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.monotonic()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.monotonic() - self.start)

    timer = EpochTimer()
    fitted = net.fit(
        x_train,
        y_train,
        batch_size=batch_size,
        epochs=epochs,
        shuffle=True,
        validation_data=(x_val, y_val),
        verbose=0,
        callbacks=[timer],
    )
    return fitted.history, timer.seconds
