"""Run one trial: load the prepared data, scale on training rows, build, train (resuming from a
checkpoint if one exists), evaluate, and write the trial directory of DESIGN.md section 3.

A trial whose loss diverges, that times out, or whose model code raises is a *result*: its
metrics.json says ``status: failed`` with the reason, and the function returns normally.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
import traceback
from pathlib import Path

import numpy as np
import pandas as pd

from candle_lib.atomic import write_json, write_table, write_text
from candle_lib.data.drug_prepared import is_drug_prepared, load_drug_prepared
from candle_lib.data.prepared import load_prepared
from candle_lib.data.row_reader import read_npy_rows
from candle_lib.errors import CandleInputError
from candle_lib.trial.feeds import (
    JoinedInputs,
    balanced_weights,
    eval_dataset,
    joined_eval_dataset,
    joined_training_dataset,
    steps_per_epoch,
    training_dataset,
)
from candle_lib.trial.roles import (
    add_feature_noise,
    noisy_label_codes,
    noisy_targets,
    role_rows,
)
from candle_lib.trial.scaling import fit_scaler, scale_in_place, scaler_to_json
from candle_lib.trial.spec import trial_id
from candle_lib.trial.tasks import ClassificationTask, task_for

CHECKPOINT_DIR = "checkpoint"
CONV_MODELS = ("nt3", "tc1")


EVAL_BATCH_ROWS = 256
EVAL_BATCH_BYTES = 4 * 2**20  # a prefetched evaluation batch is held a few times over


def _log_to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def evaluation_batch_size(batch_size: int, n_inputs: int) -> int:
    """Rows per validation/prediction batch: up to EVAL_BATCH_ROWS, as long as a batch of float32
    inputs stays within EVAL_BATCH_BYTES (wide data get smaller batches), never below the
    training batch size."""
    fitting = EVAL_BATCH_BYTES // max(1, 4 * n_inputs)
    return max(batch_size, min(EVAL_BATCH_ROWS, fitting))


def _optimizer(name: str, learning_rate: float):
    import keras

    classes = {"sgd": keras.optimizers.SGD, "adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop}
    return classes[name](learning_rate=learning_rate)


def _strategy(params: dict):
    """Data-parallel over all GPUs (or all logical CPUs when there is no GPU) for 'mirrored'."""
    import tensorflow as tf

    if params["strategy"] != "mirrored":
        return tf.distribute.get_strategy()
    gpus = tf.config.list_logical_devices("GPU")
    devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
    return tf.distribute.MirroredStrategy(devices=devices)


class TrialRun:
    """The state of one trial while it trains; see :func:`run_trial`."""

    def __init__(self, dataset_dir, spec: dict, out_dir: Path, threads: int, log, init_model=None):
        from candle_lib.trial.tf_setup import configure_tensorflow

        self.spec, self.params, self.role = spec, spec["params"], spec["role"]
        self.out_dir, self.log = out_dir, log
        self.init_model, self.model = init_model, None
        if "init" in self.role and init_model is None:
            raise CandleInputError(f"the role starts from trial {self.role['init']}: give its model.keras", where="role.init")
        self.dataset_dir = Path(dataset_dir)
        self.device = configure_tensorflow(
            threads, self.params["rng_seed"], mixed_precision=self.params["mixed_precision"], deterministic=not self.params["jit_compile"]
        )
        self.joined = is_drug_prepared(dataset_dir)
        self.data = load_drug_prepared(dataset_dir) if self.joined else load_prepared(dataset_dir)
        self.n_features = self.data.n_features if self.joined else self.data.matrix.shape[1]
        rows = role_rows(self.data.samples, self.role)
        self.train_rows, self.eval_rows, self.prefix = rows.train, rows.eval, rows.prefix
        self.extra = rows.extra  # split -> rows predicted (and scored) besides the eval rows
        self.predicted_rows = np.concatenate([self.eval_rows, *self.extra.values()]).astype(np.int64)
        encoding = self.data.manifest.get("preparation", {}).get("labels", {}).get("encoding", "one_hot")
        if self.joined and not (self.params["model"] == "dense" and self.params["task"] == "regression"):
            raise CandleInputError("drug-response data need model: dense and task: regression", where="params")
        if self.joined and "feature_noise" in self.role:
            raise CandleInputError("feature noise needs an expression dataset (drug responses join several feature tables)", where="role.feature_noise")
        self.task = task_for(self.params, list(self.data.classes), encoding, self.n_features)
        self.validate_during_training = self.role["eval"] != "test"  # the test split is seen once, at the end
        self.replicas = 0  # set when the model is built

    def feed(self):
        """The training and evaluation inputs, scaled by a scaler fitted on training rows."""
        if self.joined:
            return self._joined_feed()
        # the rows are read once, into memory TensorFlow then uses as it is, and scaled in place
        x_train = read_npy_rows(self.dataset_dir / "matrix.npy", self.train_rows)
        scaler = fit_scaler(self.params["scaling"], x_train)
        write_text(self.out_dir / "scaler.json", scaler_to_json(self.params["scaling"], scaler))
        scale_in_place(scaler, x_train)
        x_pred = scale_in_place(scaler, read_npy_rows(self.dataset_dir / "matrix.npy", self.predicted_rows))
        samples = self.data.samples
        if self.role.get("feature_noise"):
            add_feature_noise(x_train, float(self.role["feature_noise"]), self.role.get("noise_seed", 0))
        y_train = self.training_targets(samples.iloc[self.train_rows], x_train)
        n_eval = len(self.eval_rows)
        y_eval = self.task.targets(samples.iloc[self.eval_rows], x_pred[:n_eval])
        if self.params["model"] in CONV_MODELS:
            return ArrayFeed(x_train[..., None], y_train, x_pred[..., None], y_eval)
        return ArrayFeed(x_train, y_train, x_pred, y_eval)

    def training_targets(self, train_samples: pd.DataFrame, x_train: np.ndarray) -> np.ndarray:
        """The targets of the training rows, with the role's label noise (training rows only)."""
        share = self.role.get("label_noise")
        if not share:
            return self.task.targets(train_samples, x_train)
        seed = self.role.get("noise_seed", 0)
        if isinstance(self.task, ClassificationTask):
            noisy = train_samples.assign(label_code=noisy_label_codes(train_samples["label_code"].to_numpy(), len(self.data.classes), share, seed))
            return self.task.targets(noisy, x_train)
        return noisy_targets(self.task.targets(train_samples, x_train), share, seed)

    def _joined_feed(self):
        """Drug response: each feature matrix scaled on the rows that training responses use."""
        responses = self.data.samples
        scaled, saved = {}, {}
        for block, matrix in (("cell", self.data.cell), ("drug", self.data.drug)):
            used = np.unique(responses[f"{block}_row"].to_numpy()[self.train_rows])
            scaler = fit_scaler(self.params["scaling"], matrix[used])
            saved[block] = json.loads(scaler_to_json(self.params["scaling"], scaler))
            scaled[block] = scale_in_place(scaler, np.array(matrix, dtype=np.float32))
        write_json(self.out_dir / "scaler.json", saved)

        def inputs(rows):
            part = responses.iloc[rows]
            return JoinedInputs(scaled["cell"], scaled["drug"], part["cell_row"], part["drug_row"], part["dose"])

        y = responses["target"].to_numpy(np.float32)[:, None]
        y_train = y[self.train_rows]
        if self.role.get("label_noise"):
            y_train = noisy_targets(y_train, float(self.role["label_noise"]), self.role.get("noise_seed", 0))
        predicted = self.predicted_rows
        return JoinedFeed(inputs(self.train_rows), y_train, inputs(self.eval_rows), y[self.eval_rows], inputs(predicted), y[predicted])

    def sample_weights(self) -> np.ndarray | None:
        """Per-row weights of class_weight: balanced; None (all rows alike) otherwise."""
        if self.params["class_weight"] == "balanced" and isinstance(self.task, ClassificationTask):
            codes = self.data.samples["label_code"].to_numpy()[self.train_rows]
            return balanced_weights(codes, len(self.data.classes))
        return None

    def build(self, n_features: int):
        from candle_lib.models import build_model

        strategy = _strategy(self.params)
        self.replicas = strategy.num_replicas_in_sync
        with strategy.scope():
            model = build_model(self.params, n_features, self.task.n_outputs, output_activation=self.task.output_activation)
            optimizer = _optimizer(self.params["optimizer"], self.params["learning_rate"])
            model.compile(optimizer=optimizer, loss=self.task.loss, metrics=self.task.keras_metrics, jit_compile=self.params["jit_compile"])
            optimizer.build(model.trainable_variables)
        return model, optimizer

    def train(self, feed, monitor, tracker):
        from candle_lib.trial.callbacks import Checkpointer
        from candle_lib.trial.checkpoint import load_checkpoint, restore_checkpoint

        params = self.params
        model, optimizer = self.build(feed.model_input_width())
        self.model = model
        ckpt_dir = self.out_dir / CHECKPOINT_DIR
        fingerprint = trial_id(self.spec)
        start_epoch = 0
        state = load_checkpoint(ckpt_dir)
        if state is not None and state.get("fingerprint") != fingerprint:
            self.log("ignoring a checkpoint of another trial")
            shutil.rmtree(ckpt_dir)
            state = None
        if state is not None:
            best = restore_checkpoint(ckpt_dir, state, model, optimizer)
            tracker.load(state["tracker"], best)
            monitor.rows = state["history"]
            monitor.start = time.monotonic() - state["elapsed"]
            start_epoch = state["epoch"]
            self.log(f"resuming from the checkpoint at epoch {start_epoch}")
        elif self.init_model is not None:
            self.start_from(model, self.init_model)
        epochs = params["epochs"]
        batch = params["batch_size"]
        eval_batch = evaluation_batch_size(batch, feed.model_input_width())
        if start_epoch < epochs:
            checkpointer = Checkpointer(ckpt_dir, params["checkpoint_every"], epochs, monitor, tracker, fingerprint)
            model.fit(
                feed.training(self.sample_weights(), batch_size=batch, seed=params["rng_seed"], start_epoch=start_epoch, epochs=epochs),
                epochs=epochs,
                initial_epoch=start_epoch,
                steps_per_epoch=steps_per_epoch(feed.n_train, batch),
                validation_data=feed.evaluation(eval_batch) if self.validate_during_training else None,
                shuffle=False,  # the dataset shuffles, per epoch, from the seed
                verbose=0,
                callbacks=[monitor, tracker, checkpointer],
            )
        if params["early_stopping"] and tracker.best_weights is not None:
            model.set_weights(tracker.best_weights)
        return np.asarray(model.predict(feed.prediction(eval_batch), verbose=0), dtype=np.float64)

    def start_from(self, model, path) -> None:
        """Fine-tuning: start from the weights of a saved model of the same architecture."""
        import keras

        source = keras.saving.load_model(path, compile=False, safe_mode=True)
        model.set_weights(source.get_weights())
        self.log(f"starting from the weights of {path}")

    @property
    def saves_model(self) -> bool:
        return bool(self.role.get("save_model")) or self.role["kind"] == "final"


class ArrayFeed:
    """Rows held as arrays (expression matrices): batches gathered from the training rows."""

    def __init__(self, x_train, y_train, x_pred, y_eval):
        """``x_pred``: the eval rows (the first len(y_eval)), then any rows only predicted."""
        self.x_train, self.y_train, self.x_pred, self.y_eval = x_train, y_train, x_pred, y_eval
        self.x_eval = x_pred[: len(y_eval)]
        self.n_train = len(x_train)

    def model_input_width(self) -> int:
        return self.x_train.shape[1]

    def training(self, weights, **schedule):
        return training_dataset(self.x_train, self.y_train, weights, **schedule)

    def evaluation(self, batch_size):
        return eval_dataset(self.x_eval, self.y_eval, batch_size=batch_size)

    def prediction(self, batch_size):
        return eval_dataset(self.x_pred, None, batch_size=batch_size)

    def eval_features(self) -> np.ndarray:
        return self.x_pred.reshape(len(self.x_pred), -1)


class JoinedFeed:
    """Drug responses: every batch assembled from the join indices."""

    def __init__(self, train: JoinedInputs, y_train, evaluate: JoinedInputs, y_eval, predict: JoinedInputs, y_predict):
        self.train, self.y_train, self.evaluate, self.y_eval = train, y_train, evaluate, y_eval
        self.predict, self.y_predict = predict, y_predict  # the eval rows, then any rows only predicted
        self.n_train = len(train)

    def model_input_width(self) -> int:
        return int(self.train.n_cell_features + self.train.n_drug_features + 1)

    def training(self, weights, **schedule):
        return joined_training_dataset(self.train, self.y_train, weights, **schedule)

    def evaluation(self, batch_size):
        return joined_eval_dataset(self.evaluate, self.y_eval, batch_size=batch_size)

    def prediction(self, batch_size):
        return joined_eval_dataset(self.predict, self.y_predict, batch_size=batch_size).map(lambda x, y: x)

    def eval_features(self):
        return None


def run_trial(dataset_dir, spec: dict, out_dir, *, threads: int = 1, log=_log_to_stderr, init_model=None) -> dict:
    """Train and evaluate one trial; write params.json, scaler.json, history.csv,
    predictions.parquet, model.keras (roles that save the model, see :mod:`.roles`) and, last,
    metrics.json into ``out_dir``. Returns the metrics dict. ``init_model``: the saved model
    whose weights a fine-tuning role (``init``) starts from.

    If ``out_dir/checkpoint`` holds a checkpoint of this same trial (e.g. the job was killed),
    training resumes from it and ends with the metrics of an uninterrupted run.
    """
    from candle_lib.trial.callbacks import PlateauTracker, TrialMonitor

    started = time.monotonic()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(out_dir / "params.json", spec)
    run = TrialRun(dataset_dir, spec, out_dir, threads, log, init_model=init_model)
    params, role = run.params, run.role
    log(f"trial: {len(run.train_rows)} training rows, {len(run.eval_rows)} {run.prefix} rows, {run.n_features} features, device {run.device}")

    monitor = TrialMonitor(params["epochs"], params["timeout"], log=log)
    tracker = PlateauTracker("val_loss" if run.validate_during_training else "loss", params["early_stopping"], params["reduce_lr"], log=log)
    x_eval = np.zeros((0, run.n_features), dtype=np.float32)
    outputs = np.zeros((0, run.task.n_outputs))
    reason = None
    try:
        feed = run.feed()
        outputs = run.train(feed, monitor, tracker)
        x_eval = feed.eval_features()
        reason = monitor.stop_reason
        if reason is None and not np.all(np.isfinite(outputs)):
            reason = "predictions are not finite"
        if reason is None and run.saves_model:
            run.model.save(out_dir / "model.keras")
    except Exception as exc:  # noqa: BLE001 -- a model error is a trial result, not a crash
        reason = f"{type(exc).__name__}: {exc}"
        log(traceback.format_exc())
    status = "ok" if reason is None else "failed"
    if reason:
        log(f"trial failed: {reason}")

    samples = run.data.samples
    finite = len(outputs) == len(run.predicted_rows) and bool(np.all(np.isfinite(outputs)))
    shown = run.predicted_rows if finite else run.predicted_rows[:0]
    metrics = _scores(run, x_eval, outputs) if finite else {}
    shown_x = None if x_eval is None else x_eval[: len(shown)]
    write_table(out_dir / "predictions.parquet", run.task.predictions(samples.iloc[shown], shown_x, outputs[: len(shown)]))
    write_table(out_dir / "history.csv", pd.DataFrame(monitor.rows, columns=None if monitor.rows else ["epoch"]))
    loss_name = f"{run.prefix}_loss" if isinstance(run.task, ClassificationTask) else f"{run.prefix}_mse"
    result = {
        "status": status,
        "failure_reason": reason,
        "objective": {"metric": loss_name, "direction": "minimize", "value": metrics.get(loss_name)},
        "metrics": metrics,
        "epochs_run": len(monitor.rows),
        "best_epoch": tracker.best_epoch or None,
        "stopped_early": tracker.stopped_early,
        "wall_seconds": round(time.monotonic() - started, 3),
        "role": role["kind"],
        "n_train": int(len(run.train_rows)),
        "n_eval": int(len(run.eval_rows)),
        "device": run.device,
        "replicas": run.replicas,
        "threads": threads,
    }
    write_json(out_dir / "metrics.json", result)
    shutil.rmtree(out_dir / CHECKPOINT_DIR, ignore_errors=True)
    log(f"trial {status}: " + ", ".join(f"{k}={v:.4g}" for k, v in metrics.items() if isinstance(v, float)))
    return result


def _scores(run: TrialRun, x_pred, outputs: np.ndarray) -> dict:
    """Metrics of the eval rows (prefix val/test), then of each further predicted split."""
    samples = run.data.samples
    train_samples = samples.iloc[run.train_rows]
    parts = {run.prefix: run.eval_rows, **run.extra}
    metrics, start = {}, 0
    for prefix, rows in parts.items():
        stop = start + len(rows)
        if len(rows):
            part_x = None if x_pred is None else x_pred[start:stop]
            metrics.update(run.task.metrics(prefix, samples.iloc[rows], part_x, outputs[start:stop], train_samples))
        start = stop
    return metrics


def run_bundle(dataset_dir, specs: dict, trials_root, *, threads: int = 1, log=_log_to_stderr) -> dict:
    """Run several trials of one prepared dataset one after another in this process (a bundle,
    ``hpo.trials_per_job``): each into ``trials_root/<trial id>`` with its own trial.log. A
    finished one (metrics.json newer than the dataset) is left as it is; its status is read back.
    Returns {trial id: status}."""
    from candle_lib.search.bundles import is_finished

    statuses = {}
    for position, (trial_id, spec) in enumerate(specs.items(), start=1):
        out_dir = Path(trials_root) / trial_id
        if is_finished(out_dir, Path(dataset_dir) / "manifest.json"):
            statuses[trial_id] = json.loads((out_dir / "metrics.json").read_text())["status"]
            log(f"[{position}/{len(specs)}] {trial_id}: finished before, not run again")
            continue
        out_dir.mkdir(parents=True, exist_ok=True)
        with open(out_dir / "trial.log", "a", buffering=1) as trial_log:

            def to_trial_log(message, handle=trial_log):
                print(message, file=handle)

            result = run_trial(dataset_dir, spec, out_dir, threads=threads, log=to_trial_log)
        statuses[trial_id] = result["status"]
        value = result["objective"]["value"]
        log(f"[{position}/{len(specs)}] {trial_id}: {result['status']}, {result['objective']['metric']}={value}")
    return statuses
