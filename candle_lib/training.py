"""Run one trial: load the prepared data, scale on training rows, build, train, evaluate, and
write the trial directory of DESIGN.md section 3.

A trial whose loss diverges, that times out, or whose model code raises is a *result*: its
metrics.json says ``status: failed`` with the reason, and the function returns normally.
"""

from __future__ import annotations

import sys
import time
import traceback
from pathlib import Path

import numpy as np
import pandas as pd

from .atomic import write_json, write_table, write_text
from .dataset import load_prepared
from .labels import one_hot
from .metrics import classification_metrics
from .scaling import apply_scaler, fit_scaler, scaler_to_json


def _log_to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _optimizer(name: str, learning_rate: float):
    import keras

    classes = {"sgd": keras.optimizers.SGD, "adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop}
    return classes[name](learning_rate=learning_rate)


def _predictions_frame(samples: pd.DataFrame, classes: list[str], probabilities: np.ndarray) -> pd.DataFrame:
    frame = samples[["sample_id", "split", "label", "label_code"]].reset_index(drop=True).copy()
    codes = probabilities.argmax(axis=1) if len(probabilities) else np.zeros(0, dtype=np.int64)
    frame["pred_code"] = codes.astype(np.int64)
    frame["pred_label"] = [classes[c] for c in codes]
    for k, name in enumerate(classes):
        frame[f"prob_{name}"] = probabilities[:, k].astype(np.float64) if len(probabilities) else []
    return frame


def _train_and_predict(data, params, train_rows, eval_rows, role, monitor, out_dir):
    """Fit the scaler and the model; return eval probabilities."""
    import keras

    from .models import build_model

    scaler = fit_scaler(params["scaling"], data.matrix[train_rows])
    write_text(out_dir / "scaler.json", scaler_to_json(params["scaling"], scaler))
    x_train = apply_scaler(scaler, data.matrix[train_rows])[..., None]
    x_eval = apply_scaler(scaler, data.matrix[eval_rows])[..., None]
    n_classes = len(data.classes)
    codes = data.samples["label_code"].to_numpy()
    y_train = one_hot(codes[train_rows], n_classes)
    model = build_model(params, x_train.shape[1], n_classes)
    model.compile(optimizer=_optimizer(params["optimizer"], params["learning_rate"]), loss="categorical_crossentropy", metrics=["accuracy"])
    # The held-out test split is never shown during training; validation data only for holdout.
    validation = (x_eval, one_hot(codes[eval_rows], n_classes)) if role["eval"] != "test" else None
    model.fit(
        x_train,
        y_train,
        batch_size=params["batch_size"],
        epochs=params["epochs"],
        validation_data=validation,
        shuffle=True,
        verbose=0,
        callbacks=[monitor],
    )
    keras.backend.clear_session(free_memory=False)
    return np.asarray(model.predict(x_eval, batch_size=max(256, params["batch_size"]), verbose=0), dtype=np.float64)


def run_trial(dataset_dir, spec: dict, out_dir, *, threads: int = 1, log=_log_to_stderr) -> dict:
    """Train and evaluate one trial; write params.json, scaler.json, history.csv,
    predictions.parquet and, last, metrics.json into ``out_dir``. Returns the metrics dict."""
    from .callbacks import TrialMonitor
    from .tf_setup import configure_tensorflow

    started = time.monotonic()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    params, role = spec["params"], spec["role"]
    write_json(out_dir / "params.json", spec)
    device = configure_tensorflow(threads, params["rng_seed"])
    data = load_prepared(dataset_dir)
    train_rows, eval_rows = data.rows(tuple(role["train"])), data.rows(role["eval"])
    codes = data.samples["label_code"].to_numpy()
    log(f"trial: {len(train_rows)} training rows, {len(eval_rows)} {role['eval']} rows, {data.matrix.shape[1]} features, device {device}")

    monitor = TrialMonitor(params["epochs"], params["timeout"], log=log)
    status, reason, probabilities = "ok", None, np.zeros((0, len(data.classes)))
    try:
        probabilities = _train_and_predict(data, params, train_rows, eval_rows, role, monitor, out_dir)
        reason = monitor.stop_reason
        if reason is None and not np.all(np.isfinite(probabilities)):
            reason = "predictions are not finite"
    except Exception as exc:  # noqa: BLE001 -- a model error is a trial result, not a crash
        reason = f"{type(exc).__name__}: {exc}"
        log(traceback.format_exc())
    if reason is not None:
        status = "failed"
        log(f"trial failed: {reason}")

    finite = len(probabilities) == len(eval_rows) and bool(np.all(np.isfinite(probabilities)))
    metrics = classification_metrics(role["eval"], codes[eval_rows], probabilities, codes[train_rows]) if finite else {}
    shown_rows = eval_rows if finite else eval_rows[:0]
    write_table(out_dir / "predictions.parquet", _predictions_frame(data.samples.iloc[shown_rows], data.classes, probabilities[: len(shown_rows)]))
    write_table(out_dir / "history.csv", pd.DataFrame(monitor.rows, columns=None if monitor.rows else ["epoch"]))
    loss_name = f"{role['eval']}_loss"
    result = {
        "status": status,
        "failure_reason": reason,
        "objective": {"metric": loss_name, "direction": "minimize", "value": metrics.get(loss_name)},
        "metrics": metrics,
        "epochs_run": len(monitor.rows),
        "wall_seconds": round(time.monotonic() - started, 3),
        "role": role["kind"],
        "n_train": int(len(train_rows)),
        "n_eval": int(len(eval_rows)),
        "device": device,
        "threads": threads,
    }
    write_json(out_dir / "metrics.json", result)
    log(f"trial {status}: " + ", ".join(f"{k}={v:.4g}" for k, v in metrics.items() if isinstance(v, float)))
    return result
